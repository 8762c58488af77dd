"""The benchmark: the DMTL paper's tables, reproduced side by side with the baselines.

Usage (from the repository root)::

    python benchmarks/run.py                            # MovieLens 100K, 5-fold CV, every model
    python benchmarks/run.py --dataset itm-rec          # ITM-Rec: individual and group ratings
    python benchmarks/run.py --protocol canonical       # MovieLens u1..u5 splits
    python benchmarks/run.py --models DMTL,SVDpp --folds 2
    python benchmarks/run.py --compare-surprise         # add Surprise's own implementations
    python benchmarks/run.py --dataset scale --sizes 100000,1000000,5000000
    python benchmarks/run.py --ablation                 # each multi-task option of DMTL alone
    python benchmarks/run.py --models "DMTL[sharing=mmoe,lambda_profile=0.5],SVDpp"

Every fold's metrics go to ``<output>/folds.csv`` and ``folds.json``; the summary (mean ± std
over folds) is printed and written to ``<output>/report.md`` with the command, date, machine
and versions; plots (metrics per model, DMTL training curves, t-SNE of the group profiles)
go beside them. Metric definitions: ``sk_grouprec.metrics`` (Precision/Recall@10 under the
Surprise-FAQ protocol and the hit-based one, threshold 3.5; NDCG@10 with linear gains).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from grouprec_bench import models as registry  # noqa: E402
from grouprec_bench import report  # noqa: E402
from grouprec_bench.evaluate import evaluate_fold, evaluate_profiling_baseline  # noqa: E402
from grouprec_bench.groups import evaluate_itm_rec_groups  # noqa: E402
from grouprec_bench.scale import run_scale  # noqa: E402

DATASETS = ("ml-100k", "itm-rec", "synthetic", "scale")
PROFILING_BASELINE = "Profiling baseline (LogReg)"


def load(dataset, *, data_home=None, seed=0, size=20_000):
    """``(X, y)`` of a dataset's individual ratings."""
    from sk_grouprec.datasets import load_itm_rec, load_movielens_100k, make_group_ratings

    if dataset == "ml-100k":
        return load_movielens_100k(data_home=data_home, return_X_y=True)
    if dataset == "itm-rec":
        return load_itm_rec(data_home=data_home, return_X_y=True)
    if dataset == "synthetic":
        n_users = max(60, size // 40)
        return make_group_ratings(
            n_users=n_users, n_items=max(40, size // 60), n_groups=6, n_ratings=size, random_state=seed
        )
    raise ValueError(f"unknown dataset {dataset!r}")


def splits(X, y, args):
    """Yield ``(fold, X_train, X_test, y_train, y_test)`` under the chosen protocol."""
    y = pd.Series(np.asarray(y, dtype=float))
    if args.protocol == "canonical":
        if args.dataset != "ml-100k":
            raise SystemExit("--protocol canonical exists for ml-100k only (u1..u5)")
        from sk_grouprec.datasets import load_movielens_100k_split

        for fold, name in enumerate(("u1", "u2", "u3", "u4", "u5")[: args.folds]):
            X_train, X_test, y_train, y_test = load_movielens_100k_split(name, data_home=args.data_home)
            yield fold, X_train, X_test, y_train, y_test
        return
    cv = KFold(n_splits=args.n_splits, shuffle=True, random_state=args.seed)
    for fold, (train, test) in enumerate(cv.split(X)):
        if fold >= args.folds:
            break
        yield fold, X.iloc[train], X.iloc[test], y.iloc[train], y.iloc[test]


def protocol_text(args):
    if args.protocol == "canonical":
        return f"canonical MovieLens splits u1..u{args.folds} (80/20, disjoint test sets)"
    return (
        f"KFold(n_splits={args.n_splits}, shuffle=True, random_state={args.seed}) over rating rows, "
        f"first {args.folds} fold(s); the same folds for every model. Precision/Recall@10: "
        "Surprise-FAQ protocol and hit-based (threshold 3.5); NDCG@10 linear gains."
    )


def progress(total, description):
    try:
        from tqdm.auto import tqdm
    except ImportError:  # the bench extra is optional for the smoke test
        return _PlainProgress(total, description)
    return tqdm(total=total, desc=description, unit="fit", file=sys.stderr)


class _PlainProgress:
    def __init__(self, total, description):
        self.total, self.done, self.description = total, 0, description

    def set_postfix_str(self, text):
        print(f"[{self.done}/{self.total}] {self.description}: {text}", file=sys.stderr, flush=True)

    def update(self, n=1):
        self.done += n

    def close(self):
        pass


def run_individual(args, output):
    """Cross-validate every model on individual ratings; return the per-fold table."""
    X, y = load(args.dataset, data_home=args.data_home, seed=args.seed, size=args.size)
    names = list(args.models)
    if args.compare_surprise:
        if not registry.surprise_available():
            raise SystemExit("--compare-surprise needs Surprise: pip install -e '.[bench]'")
        names += [f"Surprise:{n}" for n in args.models if n in registry.BASELINES]
    with_profiling = any(n.startswith("DMTL") for n in names)
    fold_list = list(splits(X, y, args))
    bar = progress(len(fold_list) * (len(names) + with_profiling), f"{args.dataset}")
    rows, last_dmtl, last_test = [], None, None
    for fold, X_train, X_test, y_train, y_test in fold_list:
        for name in names:
            bar.set_postfix_str(f"{name} fold {fold + 1}")
            model = registry.build(name, args.seed, quick=args.quick, dataset=args.dataset)
            row, fitted = evaluate_fold(model, X_train, y_train, X_test, y_test)
            rows.append({"model": name, "fold": fold, **row})
            if name == "DMTL" or (last_dmtl is None and name.startswith("DMTL")):
                last_dmtl, last_test = fitted, X_test
            bar.update()
        if with_profiling:
            bar.set_postfix_str(f"profiling baseline fold {fold + 1}")
            row = evaluate_profiling_baseline(
                X_train, X_test, seed=args.seed, n_groups=registry.N_GROUPS.get(args.dataset, 20)
            )
            rows.append({"model": PROFILING_BASELINE, "fold": fold, **row})
            bar.update()
    bar.close()
    folds = pd.DataFrame(rows)
    summary = report.summary_table(folds)
    title = f"{args.dataset}: individual ratings"
    text = report.write_outputs(folds, summary, title, protocol_text(args), output)
    print(text)
    if not args.no_plots:
        report.plot_metrics(summary, output / "metrics.png")
        if last_dmtl is not None:
            plot_dmtl(last_dmtl, last_test, output, seed=args.seed)
    return folds


def plot_dmtl(pipeline, X_test, output, *, seed=0, max_points=3000):
    """Training curves and the t-SNE map of z_g from the last fold's fitted DMTL."""
    dmtl = pipeline[-1]
    report.plot_training_curves(dmtl.history_, output / "dmtl_training_curves.png")
    sample = X_test.sample(min(max_points, len(X_test)), random_state=seed)
    grouped = pipeline[:-1].transform(sample)
    profiles = dmtl.group_profile(grouped)
    report.plot_group_profiles(profiles, grouped["group_id"].to_numpy(), output / "group_profiles_tsne.png", seed=seed)


def split_models(text):
    """Split a comma-separated model list, keeping commas inside ``DMTL[...]``."""
    names, depth, current = [], 0, ""
    for char in text:
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            names.append(current.strip())
            current = ""
        else:
            current += char
    names.append(current.strip())
    return [n for n in names if n]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=DATASETS, default="ml-100k")
    parser.add_argument("--models", default=None,
                        help="comma-separated: DMTL, DMTL[param=value,...] variants and baseline "
                             "class names (default: DMTL and every baseline)")
    parser.add_argument("--ablation", action="store_true",
                        help="run the paper's DMTL and each multi-task option alone "
                             "(sharing, task_refinement, task_weighting, lambda_profile=0, no attention)")
    parser.add_argument("--protocol", choices=("kfold", "canonical"), default="kfold")
    parser.add_argument("--n-splits", type=int, default=5, help="k of k-fold (default 5)")
    parser.add_argument("--folds", type=int, default=None, help="run only the first N folds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compare-surprise", action="store_true",
                        help="add Surprise's implementations of the chosen baselines (bench extra)")
    parser.add_argument("--data-home", default=None, help="folder with ml-100k/ and itm-rec/")
    parser.add_argument("--output", default=None, help="output folder (default benchmarks/output/<dataset>)")
    parser.add_argument("--size", type=int, default=20_000, help="ratings of the synthetic dataset")
    parser.add_argument("--sizes", default="100000,1000000,5000000",
                        help="rating counts of --dataset scale (comma-separated)")
    parser.add_argument("--quick", action="store_true", help="few epochs: a smoke run, not a result")
    parser.add_argument("--no-plots", action="store_true")
    args = parser.parse_args(argv)
    args.models_given = args.models is not None
    if args.models is None:
        args.models = ",".join(registry.ABLATION_MODELS if args.ablation else registry.DEFAULT_MODELS)
    args.models = split_models(args.models)
    for name in args.models:
        registry.build(name, args.seed)  # fail early on a misspelt model
    args.folds = args.n_splits if args.folds is None else min(args.folds, args.n_splits)
    return args


def main(argv=None):
    args = parse_args(argv)
    default_name = args.dataset + ("-ablation" if args.ablation else "")
    output = Path(args.output) if args.output else HERE / "output" / default_name
    start = time.perf_counter()
    if args.dataset == "scale":
        sizes = [int(s) for s in args.sizes.split(",")]
        models = args.models if args.models_given else registry.SCALE_DEFAULT
        run_scale(sizes, output, models=models, seed=args.seed, quick=args.quick)
    else:
        folds = run_individual(args, output)
        if args.dataset == "itm-rec" and not args.ablation:
            evaluate_itm_rec_groups(args, folds, output / "groups")
    print(f"\nfinished in {time.perf_counter() - start:.0f} s; outputs in {output}", file=sys.stderr)


if __name__ == "__main__":
    main()
