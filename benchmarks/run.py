"""The benchmark: the DMTL paper's tables, reproduced side by side with the baselines.

The one entry point of the benchmarks (``record_results.py`` runs it to write RESULTS.md).
Usage (from the repository root)::

    python benchmarks/run.py                            # MovieLens 100K, 5-fold CV, every model
    python benchmarks/run.py --dataset itm-rec          # ITM-Rec: individual and group ratings
    python benchmarks/run.py --protocol canonical       # MovieLens u1..u5 splits
    python benchmarks/run.py --models DMTL,SVDpp --folds 2
    python benchmarks/run.py --compare-surprise         # add Surprise's own implementations
    python benchmarks/run.py --ablation                 # each multi-task option of DMTL alone
    python benchmarks/run.py --models "DMTL[sharing=mmoe,lambda_profile=0.5],SVDpp"
    python benchmarks/run.py --dataset scale            # fit time against 100K, 1M, 5M ratings
    python benchmarks/run.py --dataset scale --sizes 20000,100000 --surprise-sizes 20000
    python benchmarks/run.py --dataset scale --batching  # DMTL's automatic batch size, held out
    python benchmarks/run.py --dataset implicit         # top-N baselines beside `implicit`
    python benchmarks/run.py --dataset mafengwo         # real groups, implicit feedback, top-N
    python benchmarks/run.py --dataset mafengwo --validation  # how DMTL's ranking defaults were chosen
    python benchmarks/run.py --dataset mafengwo --seeds 0,1,2,3,4,5,6,7,8,9  # DMTL's spread over seeds
    python benchmarks/run.py --dataset mafengwo --negatives-validation  # DMTL's negatives, 3 splits
    python benchmarks/run.py --dataset mafengwo --dropout-validation  # DMTL's dropout, 3 splits
    python benchmarks/run.py --dataset mafengwo --blend-validation  # the DMTL + EASE blend's weights
    python benchmarks/run.py --dataset group-folder --folder PATH  # the Mafengwo table on any folder
    python benchmarks/run.py --dataset group-folder --folder PATH --validation  # its validation split

Every fold's metrics go to ``<output>/folds.csv`` and ``folds.json``; the summary (mean ± std
over folds) is printed and written to ``<output>/report.md`` with the command, date, machine,
versions and wall time; plots go beside them. Metric definitions: ``sk_grouprec.metrics``
(Precision/Recall@10 under the Surprise-FAQ protocol and the hit-based one, threshold 3.5;
NDCG@10 with linear gains).

Datasets are registered in :data:`DATASETS`: a name, the function that runs it
(``run(args, output)``, writing ``report.md`` under ``output``) and, optionally, a function
adding the dataset's own command-line options.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from grouprec_bench import implicit_compare, mafengwo, ratings, scale  # noqa: E402
from grouprec_bench import models as registry  # noqa: E402
from grouprec_bench.groups import evaluate_itm_rec_groups  # noqa: E402


@dataclass(frozen=True)
class Dataset:
    """One ``--dataset`` choice: ``run(args, output)`` and its own options, if any."""

    run: Callable
    help: str
    add_arguments: Callable | None = None


def run_itm_rec(args, output):
    """ITM-Rec: individual ratings, then (unless ``--ablation``) the real groups' ratings."""
    folds = ratings.run(args, output)
    if not args.ablation:
        evaluate_itm_rec_groups(args, folds, output / "groups")


def scale_arguments(parser):
    group = parser.add_argument_group("--dataset scale")
    group.add_argument("--sizes", default="100000,1000000,5000000",
                       help="rating counts, comma-separated (default 100000,1000000,5000000)")
    group.add_argument("--surprise-sizes", default=",".join(map(str, scale.SURPRISE_SIZES)),
                       help="sizes at which Surprise's SVD++ runs beside ours (default "
                            "100000,1000000; empty: never)")
    group.add_argument("--threads", type=int, default=1, help="torch threads per fit (default 1)")
    group.add_argument("--batching", action="store_true",
                       help="instead: held-out RMSE and speed of DMTL's automatic batch size at "
                            "the second of --sizes (default 1,000,000 ratings)")


def mafengwo_arguments(parser):
    group = parser.add_argument_group("--dataset mafengwo and --dataset group-folder")
    group.add_argument("--folder", default=None, metavar="PATH",
                       help="--dataset group-folder: a folder in the AGREE/ConsRec layout "
                            "(sk_grouprec.datasets.load_group_folder), e.g. CAMRa2011")
    group.add_argument("--validation", action="store_true",
                       help="compare GroupDMTLRecommender settings on a validation split of "
                            "the train files (how its defaults were chosen) instead")
    group.add_argument("--negatives-validation", action="store_true",
                       help="compare DMTL's negative sampling and weighting over validation "
                            "splits 0, 1, 2 of the train files instead")
    group.add_argument("--dropout-validation", action="store_true",
                       help="compare DMTL's ranking dropout (default 0.5, and 0.0) over "
                            "validation splits of the train files (--split-seeds) instead")
    group.add_argument("--split-seeds", type=lambda text: [int(v) for v in text.split(",")],
                       default=[0, 1, 2], metavar="0,1,2",
                       help="--dropout-validation: the validation split seeds (default 0,1,2)")
    group.add_argument("--blend-validation", action="store_true",
                       help="compare the weights of BlendedRecommender(DMTL + EASE) on "
                            "validation splits of the train files instead")
    group.add_argument("--seeds", type=lambda text: [int(v) for v in text.split(",")],
                       default=None, metavar="0,1,2,3",
                       help="fit the default ranking DMTL once per random_state and report "
                            "the spread of its test figures instead")


#: ``--dataset`` choices; a new benchmark adds one entry (and a section of record_results.py)
DATASETS = {
    "ml-100k": Dataset(ratings.run, "MovieLens 100K individual ratings"),
    "itm-rec": Dataset(run_itm_rec, "ITM-Rec individual ratings and real groups"),
    "synthetic": Dataset(ratings.run, "make_group_ratings at --size ratings (smoke runs)"),
    "scale": Dataset(scale.run, "fit time and memory against data size", scale_arguments),
    "mafengwo": Dataset(mafengwo.run, "Mafengwo real groups, implicit feedback: top-N, sampled "
                        "and full-catalogue protocols, published AGREE/ConsRec rows",
                        mafengwo_arguments),
    "group-folder": Dataset(mafengwo.run, "the mafengwo tables (and options) on any folder in "
                            "the AGREE/ConsRec layout given by --folder, without published rows"),
    "implicit": Dataset(implicit_compare.run,
                        "top-N baselines beside the implicit package (Mafengwo, MovieLens implicit)"),
}


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


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=tuple(DATASETS), default="ml-100k",
                        help="; ".join(f"{name}: {d.help}" for name, d in DATASETS.items()))
    parser.add_argument("--models", default=None,
                        help="comma-separated: DMTL, DMTL[param=value,...] variants and baseline "
                             "class names (default: DMTL and every baseline; scale: DMTL,SVDpp)")
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
    parser.add_argument("--output", default=None,
                        help="output folder (default benchmarks/output/<dataset>)")
    parser.add_argument("--size", type=int, default=20_000, help="ratings of --dataset synthetic")
    parser.add_argument("--quick", action="store_true", help="few epochs: a smoke run, not a result")
    parser.add_argument("--no-plots", action="store_true")
    for dataset in DATASETS.values():
        if dataset.add_arguments is not None:
            dataset.add_arguments(parser)
    return parser


def parse_args(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if (args.dataset == "group-folder") != (args.folder is not None):
        parser.error("--folder PATH goes with --dataset group-folder, and only with it")
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
    args.started = time.perf_counter()
    default_name = args.dataset + ("-ablation" if args.ablation else "")
    output = Path(args.output) if args.output else HERE / "output" / default_name
    DATASETS[args.dataset].run(args, output)
    print(f"\nfinished in {time.perf_counter() - args.started:.0f} s; outputs in {output}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
