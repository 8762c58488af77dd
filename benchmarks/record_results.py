"""Run the full benchmark and write ``benchmarks/RESULTS.md`` from its output.

Usage (from the repository root; about 25 minutes on 2 cores without the scale sections,
plus about 30 more for them)::

    python benchmarks/record_results.py               # every section
    python benchmarks/record_results.py --skip-scale  # without the 1M/5M synthetic runs

Every number in RESULTS.md comes from the report files this script's runs write; the prose
around them is fixed text, and the comparison with the paper is computed, not typed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "output"

#: numbers reported in the DMTL paper (arXiv 2504.06274), protocol unpublished
PAPER = {"ml-100k": {"precision@10": 0.6867, "recall@10": 0.8063}, "itm-rec": {"precision@10": 0.3182, "recall@10": 0.9306}}

RUNS = {
    "ml-100k": ["--dataset", "ml-100k", "--compare-surprise"],
    "ml-100k-canonical": ["--dataset", "ml-100k", "--protocol", "canonical", "--models", "DMTL,SVDpp,KNNBaseline"],
    "itm-rec": ["--dataset", "itm-rec"],
    "ml-100k-ablation": ["--dataset", "ml-100k", "--ablation"],
    "itm-rec-ablation": ["--dataset", "itm-rec", "--ablation"],
    # one process per model, so that the two can run side by side on two cores
    "scale-dmtl": ["--dataset", "scale", "--models", "DMTL", "--sizes", "100000,1000000,5000000"],
    "scale-svdpp": ["--dataset", "scale", "--models", "SVDpp", "--sizes", "100000,1000000,5000000"],
}
#: the scale runs use one thread each (they were run side by side on the two cores)
SCALE_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
TITLES = {
    "ml-100k": "MovieLens 100K, 5-fold cross-validation",
    "ml-100k-canonical": "MovieLens 100K, canonical splits u1..u5",
    "itm-rec": "ITM-Rec",
    "ml-100k-ablation": "Ablation of the multi-task options, MovieLens 100K",
    "itm-rec-ablation": "Ablation of the multi-task options, ITM-Rec individual ratings",
    "scale-dmtl": "Scale: GroupDMTLRecommender on synthetic ratings",
    "scale-svdpp": "Scale: SVD++ on synthetic ratings",
}

INTRO = """# Benchmark results

Produced by `python benchmarks/record_results.py` (each section names the exact
`benchmarks/run.py` command it ran, with date, machine and versions). Nothing here is typed by
hand: re-running the script rewrites this file. Per-fold values are in
`benchmarks/output/<section>/folds.csv` after a run.

Metric definitions are those of `sk_grouprec.metrics`: Precision/Recall@10 under the
Surprise-FAQ protocol (`precision@10`, `recall@10`: recommended = in the user's top 10 of
their test items *and* estimate >= 3.5; relevant = true rating >= 3.5) and the hit-based
protocol (`hit_precision@10`, `hit_recall@10`: every top-10 test item counts as recommended;
users without a relevant test item left out); NDCG@10 with the true rating as gain. Profiling
scores are macro averages over the KMeans groups of the pipeline's own grouper. Times are
seconds per fold (fit includes KMeans for DMTL); memory is the peak increase of resident
memory during fit and predict. The scale sections run with `OMP_NUM_THREADS=1`
(one thread per model; the DMTL and SVD++ scale runs shared the machine's two cores).
"""


def paper_comparison(section, folds_csv):
    folds = pd.read_csv(folds_csv)
    dmtl = folds[folds["model"] == "DMTL"]
    if dmtl.empty:
        return ""
    paper = PAPER[section]
    lines = [
        "",
        "**Against the paper** (the paper does not publish its protocol; ours is stated above):",
        "",
        "| metric | paper | ours, Surprise-FAQ protocol | ours, hit protocol | ours vs paper |",
        "|---|---|---|---|---|",
    ]
    for metric, reported in paper.items():
        faq = dmtl[metric].mean()
        hit = dmtl[f"hit_{metric}"].mean()
        best = max(faq, hit)
        verdict = "below the paper under both protocols" if best < reported else "at or above the paper under at least one protocol"
        lines.append(f"| {metric} | {reported:.4f} | {faq:.4f} | {hit:.4f} | {verdict} |")
    return "\n".join(lines) + "\n"


def surprise_comparison(folds_csv):
    """Speed-up and RMSE difference of each baseline against Surprise's implementation."""
    folds = pd.read_csv(folds_csv)
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


def ablation_verdicts(folds_csv, tolerance=1.0):
    """One line per option: better, worse or no clear difference than the paper's model,
    judged per metric by the mean difference against the standard error over folds."""
    folds = pd.read_csv(folds_csv)
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


def run(section, extra):
    output = OUTPUT / section
    command = [sys.executable, str(HERE / "run.py"), *RUNS[section], "--output", str(output), *extra]
    env = dict(os.environ)
    if section.startswith("scale"):
        env.update(SCALE_ENV)
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True, env=env)
    return output


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-scale", action="store_true", help="leave out the scale-* sections")
    parser.add_argument("--sections", default=",".join(RUNS), help="comma-separated subset of " + ", ".join(RUNS))
    parser.add_argument("--results", default=str(HERE / "RESULTS.md"))
    parser.add_argument("--reuse", action="store_true", help="assemble from existing outputs without running")
    args = parser.parse_args(argv)
    sections = [s for s in args.sections.split(",") if s and not (args.skip_scale and s.startswith("scale"))]
    parts = [INTRO]
    for section in sections:
        output = OUTPUT / section if args.reuse else run(section, [])
        parts.append(f"\n## {TITLES[section]}\n")
        parts.append((output / "report.md").read_text())
        if section in PAPER:
            parts.append(paper_comparison(section, output / "folds.csv"))
        parts.append(surprise_comparison(output / "folds.csv") if (output / "folds.csv").exists() else "")
        if section.endswith("-ablation"):
            parts.append(ablation_verdicts(output / "folds.csv"))
        groups = output / "groups" / "report.md"
        if groups.exists():
            parts.append("\n" + groups.read_text())
        for picture in ("metrics.png", "dmtl_training_curves.png", "group_profiles_tsne.png"):
            if (output / picture).exists():
                target = HERE / "figures" / f"{section}-{picture}"
                target.parent.mkdir(exist_ok=True)
                target.write_bytes((output / picture).read_bytes())
                parts.append(f"\n![{section} {picture}](figures/{target.name})\n")
    Path(args.results).write_text("\n".join(parts))
    print(f"wrote {args.results}")


if __name__ == "__main__":
    main()
