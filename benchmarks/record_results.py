"""Record benchmark sections into ``benchmarks/RESULTS.md``, one section at a time or all.

Usage (from the repository root)::

    python benchmarks/record_results.py --list                 # sections, status, cost
    python benchmarks/record_results.py --section ml-100k      # re-record one section
    python benchmarks/record_results.py --section itm-rec --section ml-100k-canonical
    python benchmarks/record_results.py --all                  # every section (scale: long)
    python benchmarks/record_results.py --all --skip-scale
    python benchmarks/record_results.py --section ml-100k --reuse   # from the last run's files

A section runs ``benchmarks/run.py`` with the arguments of :data:`SECTIONS` (output in
``benchmarks/output/<section>/``) and replaces its own block of RESULTS.md; the other
sections are kept as they are, so sections can be recorded at different times. Each block
names the command, date, machine, load, versions and wall time of its run. Every number
comes from the report files of that run; the prose is fixed text of this script and the
comparisons are computed, not typed.

A new section is one :class:`Section` entry in :data:`SECTIONS` (usually running a new
``--dataset`` of run.py, registered in its ``DATASETS``).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from grouprec_bench.report import load_average  # noqa: E402

RESULTS = HERE / "RESULTS.md"
FIGURES = HERE / "figures"
#: numbers reported in the DMTL paper (arXiv 2504.06274), protocol unpublished
PAPER = {"ml-100k": {"precision@10": 0.6867, "recall@10": 0.8063},
         "itm-rec": {"precision@10": 0.3182, "recall@10": 0.9306}}
#: the order of the pictures a run leaves in its output folder (others follow by name); all
#: are copied to figures/<section>-<name>
PICTURES = ("metrics.png", "dmtl_training_curves.png", "group_profiles_tsne.png", "fit_time.png",
            "hr_at_k.png")


def paper_comparison(dataset):
    """A function writing the comparison of DMTL's numbers with the paper's on ``dataset``."""

    def compare(output):
        folds = pd.read_csv(output / "folds.csv")
        dmtl = folds[folds["model"] == "DMTL"]
        if dmtl.empty:
            return ""
        lines = ["", "**Against the paper** (the paper does not publish its protocol; ours is stated above):",
                 "", "| metric | paper | ours, Surprise-FAQ protocol | ours, hit protocol | ours vs paper |",
                 "|---|---|---|---|---|"]
        for metric, reported in PAPER[dataset].items():
            faq, hit = dmtl[metric].mean(), dmtl[f"hit_{metric}"].mean()
            verdict = ("below the paper under both protocols" if max(faq, hit) < reported
                       else "at or above the paper under at least one protocol")
            lines.append(f"| {metric} | {reported:.4f} | {faq:.4f} | {hit:.4f} | {verdict} |")
        return "\n".join(lines) + "\n"

    return compare


def surprise_comparison(output):
    """Speed-up and RMSE difference of each baseline against Surprise's implementation."""
    folds = pd.read_csv(output / "folds.csv")
    theirs = folds[folds["model"].str.startswith("Surprise:")]
    if theirs.empty:
        return ""
    lines = ["", "**Against Surprise 1.1.5** (same folds, same run; speed-up = Surprise's fit+predict "
             "time per fold over ours):", "", "| model | RMSE ours | RMSE Surprise | ΔRMSE | speed-up |",
             "|---|---|---|---|---|"]
    for name, rows in theirs.groupby("model", sort=False):
        ours = folds[folds["model"] == name.split(":", 1)[1]]
        if ours.empty:
            continue
        speed = (rows["fit_time"] + rows["predict_time"]).mean() / (ours["fit_time"] + ours["predict_time"]).mean()
        lines.append(f"| {ours['model'].iloc[0]} | {ours['rmse'].mean():.4f} | {rows['rmse'].mean():.4f} | "
                     f"{ours['rmse'].mean() - rows['rmse'].mean():+.4f} | {speed:.1f}x |")
    return "\n".join(lines) + "\n"


def ablation_verdicts(output, tolerance=1.0):
    """One line per option: better, worse or no clear difference than the paper's model,
    judged per metric by the mean difference against the standard error over folds."""
    folds = pd.read_csv(output / "folds.csv")
    base = folds[folds["model"] == "DMTL"].set_index("fold")
    lines = ["", "**What helped and what did not** (difference to the paper's `DMTL` on the same folds; "
             "\"no clear difference\" when the mean paired difference is within one standard error):", ""]
    for name, rows in folds[folds["model"].str.startswith("DMTL[")].groupby("model", sort=False):
        rows = rows.set_index("fold")
        parts = []
        for metric, better_low in (("rmse", True), ("ndcg@10", False), ("precision@10", False), ("profile_f1", False)):
            if metric not in rows or rows[metric].isna().all():
                continue
            diff = (rows[metric] - base[metric]).dropna()
            se = diff.std(ddof=1) / max(len(diff), 1) ** 0.5 if len(diff) > 1 else float("inf")
            if abs(diff.mean()) <= tolerance * se:
                verdict = "no clear difference"
            else:
                improved = diff.mean() < 0 if better_low else diff.mean() > 0
                verdict = "better" if improved else "worse"
            parts.append(f"{metric} {diff.mean():+.4f} ({verdict})")
        fit = rows["fit_time"].mean() / base["fit_time"].mean()
        lines.append(f"- `{name}`: " + "; ".join(parts) + f"; fit time x{fit:.2f}")
    return "\n".join(lines) + "\n"


def group_report(output):
    """The group-rating table a run wrote under ``groups/`` (ITM-Rec)."""
    path = output / "groups" / "report.md"
    return "\n" + path.read_text() if path.exists() else ""


@dataclass(frozen=True)
class Section:
    """One block of RESULTS.md: the run.py arguments that produce it, the computed additions
    below its report (functions of the output folder returning markdown), the environment
    variables of the run and a rough cost (for ``--list``)."""

    title: str
    arguments: tuple
    additions: tuple[Callable, ...] = ()
    environment: tuple[tuple[str, str], ...] = ()
    cost: str = ""


ONE_THREAD = (("OMP_NUM_THREADS", "1"), ("MKL_NUM_THREADS", "1"))
#: the sections of RESULTS.md, in the order they appear
SECTIONS = {
    "ml-100k": Section("MovieLens 100K, 5-fold cross-validation",
                       ("--dataset", "ml-100k", "--compare-surprise"),
                       (paper_comparison("ml-100k"), surprise_comparison), cost="about 5 min"),
    "ml-100k-canonical": Section("MovieLens 100K, canonical splits u1..u5",
                                 ("--dataset", "ml-100k", "--protocol", "canonical",
                                  "--models", "DMTL,SVDpp,KNNBaseline"), cost="about 1.5 min"),
    "itm-rec": Section("ITM-Rec", ("--dataset", "itm-rec"),
                       (paper_comparison("itm-rec"), group_report), cost="about 1.5 min"),
    "ml-100k-ablation": Section("Ablation of the multi-task options, MovieLens 100K",
                                ("--dataset", "ml-100k", "--ablation"), (ablation_verdicts,),
                                cost="about 20 min"),
    "itm-rec-ablation": Section("Ablation of the multi-task options, ITM-Rec individual ratings",
                                ("--dataset", "itm-rec", "--ablation"), (ablation_verdicts,),
                                cost="about 1 min"),
    "implicit": Section("Top-N baselines on implicit feedback, beside the implicit package",
                        ("--dataset", "implicit"), environment=ONE_THREAD, cost="about 3 min"),
    "mafengwo": Section("Mafengwo: top-N for real groups from implicit feedback",
                        ("--dataset", "mafengwo"), environment=ONE_THREAD, cost="about 5 min"),
    "mafengwo-validation": Section("Mafengwo: validation split of the train files (DMTL's ranking "
                                   "defaults)", ("--dataset", "mafengwo", "--validation"),
                                   environment=ONE_THREAD, cost="about 20 min"),
    "mafengwo-negatives-validation": Section("Mafengwo: DMTL's negatives on validation splits",
                                             ("--dataset", "mafengwo", "--negatives-validation"),
                                             environment=ONE_THREAD, cost="about 14 min"),
    "mafengwo-dropout-validation": Section("Mafengwo: DMTL's dropout on validation splits",
                                           ("--dataset", "mafengwo", "--dropout-validation"),
                                           environment=ONE_THREAD, cost="about 4 min"),
    "mafengwo-blend-validation": Section("Mafengwo: weights of the DMTL + EASE blend on "
                                         "validation splits",
                                         ("--dataset", "mafengwo", "--blend-validation"),
                                         environment=ONE_THREAD, cost="about 3 min"),
    "mafengwo-seeds": Section("Mafengwo: the default ranking DMTL over model seeds",
                              ("--dataset", "mafengwo", "--seeds", "0,1,2,3,4,5,6,7,8,9"),
                              environment=ONE_THREAD, cost="about 8 min"),
    "scale": Section("Scale: DMTL and SVD++ against the number of ratings",
                     ("--dataset", "scale"), environment=ONE_THREAD,
                     cost="about 15 min"),
    "scale-batching": Section("Scale: DMTL's automatic batch size on held-out synthetic ratings",
                              ("--dataset", "scale", "--batching"), environment=ONE_THREAD,
                              cost="about 3 min"),
}

INTRO = """# Benchmark results

Written by `python benchmarks/record_results.py`, one section at a time
(`--section <name>`) or all of them (`--all`); `--list` shows the sections. Each section
names the exact `benchmarks/run.py` command it ran, with its date, machine, load, versions
and wall time. Nothing here is typed by hand: re-recording a section rewrites its block and
keeps the others. Per-fold values are in `benchmarks/output/<section>/folds.csv` after a run.

Metric definitions are those of `sk_grouprec.metrics`: Precision/Recall@10 under the
Surprise-FAQ protocol (`precision@10`, `recall@10`: recommended = in the user's top 10 of
their test items *and* estimate >= 3.5; relevant = true rating >= 3.5) and the hit-based
protocol (`hit_precision@10`, `hit_recall@10`: every top-10 test item counts as recommended;
users without a relevant test item left out); NDCG@10 with the true rating as gain. Profiling
scores are macro averages over the KMeans groups of the pipeline's own grouper. Times are
seconds per fold (fit includes KMeans for DMTL); memory is the peak increase of resident
memory during fit and predict. The scale section runs with one thread (`OMP_NUM_THREADS=1`,
`torch.set_num_threads(1)`), each fit alone in its own process.
"""

_BLOCK = re.compile(r"<!-- section (?P<name>[\w.-]+) -->\n(?P<body>.*?)<!-- end section (?P=name) -->\n?",
                    re.DOTALL)


def read_blocks(path):
    """``{section: block text}`` of an existing RESULTS.md, in file order."""
    if not path.exists():
        return {}
    return {m["name"]: m["body"] for m in _BLOCK.finditer(path.read_text())}


def write_results(path, blocks):
    """The intro, then the known sections in :data:`SECTIONS` order, then any others."""
    order = [name for name in SECTIONS if name in blocks] + [n for n in blocks if n not in SECTIONS]
    parts = [INTRO]
    for name in order:
        parts.append(f"\n<!-- section {name} -->\n{blocks[name].strip()}\n<!-- end section {name} -->\n")
    path.write_text("".join(parts))


def run_command(name):
    """The run.py command of a section, relative to the repository root."""
    return ["benchmarks/run.py", *SECTIONS[name].arguments, "--output", f"benchmarks/output/{name}"]


def run(name):
    """Run a section's benchmark from the repository root; return (seconds, load before)."""
    section = SECTIONS[name]
    command = run_command(name)
    env = {**os.environ, **dict(section.environment)}
    print("+", " ".join(f"{k}={v}" for k, v in section.environment), "python", " ".join(command),
          flush=True)
    load = load_average()
    start = time.perf_counter()
    subprocess.run([sys.executable, *command], check=True, env=env, cwd=REPO)
    return time.perf_counter() - start, load


def copy_figures(name, output, old_block=""):
    """Replace the section's figures (those its previous block links to) with the pictures
    of its output folder, as ``figures/<section>-<picture>``; return the new links."""
    for old in re.findall(r"\]\(figures/([^)]+)\)", old_block):
        (FIGURES / old).unlink(missing_ok=True)
    links = []
    for picture in sorted(output.glob("*.png"), key=lambda p: (PICTURES + (p.name,)).index(p.name)):
        target = FIGURES / f"{name}-{picture.name}"
        FIGURES.mkdir(exist_ok=True)
        target.write_bytes(picture.read_bytes())
        links.append(f"\n![{name} {picture.name}](figures/{target.name})\n")
    return links


def block(name, wall_time=None, load=None, old_block=""):
    """The markdown block of a section from its output folder."""
    section = SECTIONS[name]
    output = HERE / "output" / name
    env = " ".join(f"{k}={v}" for k, v in section.environment)
    ran = f"`{env + ' ' if env else ''}python {' '.join(run_command(name))}`"
    date = f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC"
    if wall_time is None:
        recorded = (f"Assembled with `python benchmarks/record_results.py --section {name} --reuse` "
                    f"on {date} from the outputs of {ran}")
    else:
        recorded = (f"Recorded with `python benchmarks/record_results.py --section {name}` on {date}, "
                    f"which ran {ran} (wall time {wall_time:.0f} s; load average before the run, "
                    f"1/5/15 min: {load})")
    parts = [f"## {section.title}\n", recorded + ".\n", (output / "report.md").read_text()]
    parts += [addition(output) for addition in section.additions]
    parts += copy_figures(name, output, old_block)
    return "\n".join(parts)


def list_sections(path):
    recorded = read_blocks(path)
    for name, section in SECTIONS.items():
        status = "recorded" if name in recorded else "not recorded"
        print(f"{name:20s} {status:13s} {section.cost:14s}  python {' '.join(run_command(name))}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--section", action="append", default=[], metavar="NAME",
                        help="section to (re)record, repeatable or comma-separated: " + ", ".join(SECTIONS))
    parser.add_argument("--all", action="store_true", help="every section")
    parser.add_argument("--skip-scale", action="store_true", help="with --all: leave out scale")
    parser.add_argument("--list", action="store_true", help="list the sections and their status")
    parser.add_argument("--reuse", action="store_true",
                        help="write the blocks from the existing outputs without running")
    parser.add_argument("--results", default=str(RESULTS), help="file to update (default RESULTS.md)")
    args = parser.parse_args(argv)
    results = Path(args.results)
    if args.list:
        list_sections(results)
        return
    names = [n for text in args.section for n in text.split(",") if n]
    if args.all:
        names = [n for n in SECTIONS if not (args.skip_scale and n == "scale")]
    unknown = [n for n in names if n not in SECTIONS]
    if unknown or not names:
        parser.error(f"choose --all or --section among {', '.join(SECTIONS)}"
                     + (f" (unknown: {', '.join(unknown)})" if unknown else ""))
    for name in names:
        wall_time, load = (None, None) if args.reuse else run(name)
        blocks = read_blocks(results)
        blocks[name] = block(name, wall_time, load, blocks.get(name, ""))
        write_results(results, blocks)  # after each section, so a failure later keeps it
        print(f"recorded section {name} in {os.path.relpath(results)}")


if __name__ == "__main__":
    main()
