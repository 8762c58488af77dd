"""Individual ratings (MovieLens 100K, ITM-Rec, synthetic): every model cross-validated on the
same folds, with its metrics, times, memory and plots."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold

from . import models as registry
from . import report
from .evaluate import evaluate_fold, evaluate_profiling_baseline

PROFILING_BASELINE = "Profiling baseline (LogReg)"


def load(dataset, *, data_home=None, seed=0, size=20_000):
    """``(X, y)`` of a dataset's individual ratings."""
    from sk_grouprec.datasets import load_itm_rec, load_movielens_100k, make_group_ratings

    if dataset == "ml-100k":
        return load_movielens_100k(data_home=data_home, return_X_y=True)
    if dataset == "itm-rec":
        return load_itm_rec(data_home=data_home, return_X_y=True)
    if dataset == "synthetic":
        return make_group_ratings(n_users=max(60, size // 40), n_items=max(40, size // 60),
                                  n_groups=6, n_ratings=size, random_state=seed)
    raise ValueError(f"no individual ratings for dataset {dataset!r}")


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


def model_names(args):
    """The chosen models, then (``--compare-surprise``) Surprise's versions of the baselines."""
    names = list(args.models)
    if args.compare_surprise:
        if not registry.surprise_available():
            raise SystemExit("--compare-surprise needs Surprise: pip install -e '.[bench]'")
        names += [f"Surprise:{n}" for n in args.models if n in registry.BASELINES]
    return names


def run(args, output):
    """Cross-validate every model on individual ratings; return the per-fold table."""
    X, y = load(args.dataset, data_home=args.data_home, seed=args.seed, size=args.size)
    names = model_names(args)
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
    text = report.write_outputs(folds, summary, f"{args.dataset}: individual ratings",
                                protocol_text(args), output, started=args.started)
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
    report.plot_group_profiles(profiles, grouped["group_id"].to_numpy(),
                               output / "group_profiles_tsne.png", seed=seed)
