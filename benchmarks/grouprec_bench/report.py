"""Tables, files and plots of a benchmark run."""

from __future__ import annotations

import json
import platform
import shlex
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

#: columns of the summary table, in order (those a run did not measure are left out)
SUMMARY_COLUMNS = (
    "rmse",
    "mae",
    "precision@10",
    "recall@10",
    "hit_precision@10",
    "hit_recall@10",
    "ndcg@10",
    "precision@5",
    "recall@5",
    "ndcg@5",
    "profile_f1",
    "fit_time",
    "predict_time",
    "peak_memory_mib",
)


def summary_table(folds: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over folds, one row per model (run order kept)."""
    metrics = [c for c in SUMMARY_COLUMNS if c in folds.columns]
    grouped = folds.groupby("model", sort=False)[metrics]
    return grouped.mean().join(grouped.std(ddof=0), rsuffix="_std")


def to_markdown(summary: pd.DataFrame) -> str:
    """``mean ± std`` cells; times in seconds, memory in MiB."""
    metrics = [c for c in SUMMARY_COLUMNS if c in summary.columns]
    header = "| model | " + " | ".join(metrics) + " |"
    rule = "|---|" + "---|" * len(metrics)
    lines = [header, rule]
    for model, row in summary.iterrows():
        cells = []
        for metric in metrics:
            mean, std = row[metric], row[f"{metric}_std"]
            if pd.isna(mean):
                cells.append("")
            elif metric in ("fit_time", "predict_time", "peak_memory_mib"):
                cells.append(f"{mean:.3g} ± {std:.2g}")
            else:
                cells.append(f"{mean:.4f} ± {std:.4f}")
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def environment() -> dict:
    """Command, date, machine and versions, recorded beside every result."""
    import sklearn
    import skorch
    import torch

    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    return {
        "command": "python " + " ".join(shlex.quote(a) for a in sys.argv),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} cores, {cpu}, {platform.system()} {platform.machine()}",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scikit-learn": sklearn.__version__,
        "torch": torch.__version__,
        "skorch": skorch.__version__,
    }


def write_outputs(folds: pd.DataFrame, summary: pd.DataFrame, title: str, protocol: str, output: Path):
    """Write ``folds.csv``, ``folds.json`` and ``report.md`` under ``output``."""
    output.mkdir(parents=True, exist_ok=True)
    folds.to_csv(output / "folds.csv", index=False)
    env = environment()
    (output / "folds.json").write_text(
        json.dumps({"environment": env, "protocol": protocol, "folds": folds.to_dict("records")}, indent=1)
    )
    lines = [
        f"### {title}",
        "",
        f"Protocol: {protocol}",
        "",
        "```",
        *(f"{key}: {value}" for key, value in env.items()),
        "```",
        "",
        to_markdown(summary),
        "",
    ]
    report = "\n".join(lines)
    (output / "report.md").write_text(report)
    return report


def plot_metrics(summary: pd.DataFrame, path: Path):
    """Bar chart of the main metrics per model, error bars = std over folds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [
        c
        for c in ("rmse", "mae", "precision@10", "recall@10", "ndcg@10", "ndcg@5", "profile_f1")
        if c in summary
    ]
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        values = summary[metric]
        keep = values.notna()
        ax.barh(summary.index[keep], values[keep], xerr=summary[f"{metric}_std"][keep], color="#4c72b0")
        ax.set_title(metric)
        ax.invert_yaxis()
        low = values[keep].min()
        if metric in ("rmse", "mae"):
            ax.set_xlim(low * 0.95, values[keep].max() * 1.02)
        if ax is not axes[0][0]:
            ax.set_yticklabels([])
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def plot_training_curves(history, path: Path):
    """Each task's training and validation loss per epoch of a fitted DMTL."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = pd.DataFrame([{k: v for k, v in epoch.items() if k != "batches"} for epoch in history])
    curves = [c for c in frame.columns if c.endswith("_loss") and frame[c].notna().any()]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for column in curves:
        ax.plot(frame["epoch"], frame[column], marker="o", ms=3, label=column)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    ax.set_title("DMTL training curves")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def plot_group_profiles(profiles, groups, path: Path, *, seed=0):
    """t-SNE map of group profiles ``z_g`` coloured by group (the paper's figure)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.manifold import TSNE

    embedding = TSNE(n_components=2, random_state=seed, init="pca", perplexity=30).fit_transform(profiles)
    fig, ax = plt.subplots(figsize=(5, 4.5))
    scatter = ax.scatter(embedding[:, 0], embedding[:, 1], c=groups, cmap="tab20", s=4)
    ax.set_title("t-SNE of group profiles z_g (colour = group)")
    ax.set_xticks([])
    ax.set_yticks([])
    fig.colorbar(scatter, ax=ax, label="group_id")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
