"""Tables, files and plots of a benchmark run."""

from __future__ import annotations

import importlib
import json
import os
import platform
import shlex
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

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


#: the repository root: recorded commands and paths are relative to it
REPO = Path(__file__).resolve().parents[2]
#: libraries whose versions every report records (those not installed are left out)
VERSIONED = ("numpy", "scipy", "pandas", "sklearn", "torch", "skorch", "surprise", "implicit")


def table_markdown(table: pd.DataFrame, first: str, *, skip=(), time_digits=2) -> str:
    """A markdown table of ``table`` with column ``first`` first and ``skip`` left out;
    floats with 4 decimals (``fit_time_s`` with ``time_digits``), NaN as an empty cell."""
    import numpy as np

    columns = [c for c in table.columns if c != first and c not in skip]
    lines = [f"| {first} | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for _, row in table.iterrows():
        cells = []
        for column in columns:
            value = row[column]
            if isinstance(value, float):
                digits = time_digits if column == "fit_time_s" else 4
                value = "" if np.isnan(value) else f"{value:.{digits}f}"
            cells.append(str(value))
        lines.append(f"| {row[first]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def relative_path(path) -> str:
    """``path`` relative to the repository root (as recorded in reports)."""
    return os.path.relpath(Path(path).resolve(), REPO)


def relative_command(argv=None) -> str:
    """``python <argv>`` with every absolute path made relative to the repository root, so
    that a recorded command runs from the root of any clone (and names no machine path)."""
    argv = sys.argv if argv is None else argv
    parts = ["python"]
    for arg in argv:
        key, eq, value = arg.partition("=") if arg.startswith("--") else ("", "", arg)
        if os.path.isabs(value):
            value = os.path.relpath(value, REPO)
        parts.append(shlex.quote(key + eq + value))
    return " ".join(parts)


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, ``platform`` elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, or ``unknown``."""
    try:
        return " / ".join(f"{value:.2f}" for value in os.getloadavg())
    except (AttributeError, OSError):
        return "unknown"


def versions() -> dict:
    """Python, the libraries of :data:`VERSIONED` that are installed, and sk_grouprec (with
    its git commit when run from a checkout)."""
    found = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            found[name] = importlib.import_module(name).__version__
        except (ImportError, AttributeError):
            continue
    import sk_grouprec

    found["sk_grouprec"] = sk_grouprec.__version__
    try:
        commit = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"],
                                capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        found["sk_grouprec"] += f" (git {commit})"
    except (OSError, subprocess.SubprocessError):
        pass
    return found


def environment(argv=None) -> dict:
    """Command, date, machine (CPU model, cores, load, torch threads and the vector kernels
    torch dispatches to, which change the float rounding of training) and versions, recorded
    beside every result."""
    import torch

    return {
        "command": relative_command(argv),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{cpu_model()}, {os.cpu_count()} logical cores, {platform.system()} "
                   f"{platform.machine()}; load average (1/5/15 min) {load_average()}; "
                   f"torch threads {torch.get_num_threads()}, CPU kernels "
                   f"{torch.backends.cpu.get_cpu_capability()}",
        "versions": ", ".join(f"{name} {version}" for name, version in versions().items()),
    }


def environment_block(env: dict, **extra) -> str:
    """The environment as a fenced block of ``key: value`` lines."""
    lines = [f"{key}: {value}" for key, value in {**env, **extra}.items()]
    return "\n".join(["```", *lines, "```"])


def write_report(output: Path, title: str, protocol: str, body: str, *, started=None,
                 records=None) -> str:
    """Write ``report.md`` (title, protocol, environment, ``body``) and, when ``records`` (a
    list of dicts) is given, ``folds.json`` with the same environment; return the markdown.

    ``started`` is the ``time.perf_counter()`` of the run's start: the report then records
    the wall time so far. Every dataset's runner writes its report through this function.
    """
    import time

    output.mkdir(parents=True, exist_ok=True)
    env = environment()
    if started is not None:
        env["wall time"] = f"{time.perf_counter() - started:.0f} s"
    if records is not None:
        (output / "folds.json").write_text(
            json.dumps({"environment": env, "protocol": protocol, "folds": records}, indent=1)
        )
    text = "\n".join([f"### {title}", "", f"Protocol: {protocol}", "", environment_block(env), "",
                      body, ""])
    (output / "report.md").write_text(text)
    return text


def write_outputs(folds: pd.DataFrame, summary: pd.DataFrame, title: str, protocol: str,
                  output: Path, *, started=None) -> str:
    """Write ``folds.csv``, ``folds.json`` and ``report.md`` (the summary table) under
    ``output``."""
    output.mkdir(parents=True, exist_ok=True)
    folds.to_csv(output / "folds.csv", index=False)
    return write_report(output, title, protocol, to_markdown(summary), started=started,
                        records=folds.to_dict("records"))


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
