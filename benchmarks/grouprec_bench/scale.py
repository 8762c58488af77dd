"""How training cost grows with data: DMTL, SVD++ and Surprise's SVD++ on synthetic ratings.

Data: ``make_group_ratings(n_users, n_items, n_groups=20, n_ratings=n)`` with
``n_users = n / 100`` and ``n_items = n / 500`` (at small sizes, where that grid would be
more than half full, ``n_items`` grows to keep the density at 50%; from 100K ratings on the
rule holds exactly).

Each fit runs alone in a fresh child process (``multiprocessing`` "spawn") that builds the
data from the seed, sets one torch thread, fits and predicts. Measured there:

- ``fit_time``: wall time of ``fit`` (DMTL: the paper's pipeline, KMeans and feature
  encoding included);
- ``epoch_time``: DMTL: the mean of the per-epoch ``dur`` in its skorch history (training
  and, if the estimator holds out a validation part, its scoring); the other models:
  ``fit_time / n_epochs``. ``ratings_per_s`` is ``n / epoch_time``;
- ``peak_memory_mib``: the peak resident memory of the process during ``fit`` (interpreter,
  libraries and data included), read from the kernel's high-water mark after resetting it
  just before ``fit`` (Linux ``/proc/self/clear_refs``); elsewhere the process's lifetime
  peak (``getrusage``). ``fit_memory_mib`` is that peak minus the resident size just
  before ``fit``: what the fit itself added;
- ``predict_time``: predicting up to a million of the training rows after the fit (Surprise:
  ten thousand);
- ``generate_time`` (``scale.csv`` only): building the data with ``make_group_ratings``.
"""

from __future__ import annotations

import math
import multiprocessing
import sys
import time

import numpy as np
import pandas as pd

from . import models as registry
from . import report
from .memory import current_rss_bytes, peak_rss_mib, reset_peak_rss

SCALE_MODELS = registry.SCALE_DEFAULT
#: Surprise's SVD++ runs beside ours at these sizes only (1M takes about 160 s; 5M hours)
SURPRISE_SIZES = (100_000, 1_000_000)
#: rows predicted after each fit (in the estimators' own batches); Surprise predicts one
#: rating per Python call, so it gets fewer
PREDICT_ROWS = 1_000_000
SURPRISE_PREDICT_ROWS = 10_000
N_GROUPS = 20
#: columns of ``scale.csv`` (before the ratios)
COLUMNS = ("model", "n_ratings", "n_users", "n_items", "generate_time", "fit_time", "epochs",
           "epoch_time", "ratings_per_s", "peak_memory_mib", "fit_memory_mib", "peak_memory_exact",
           "rows_predicted", "predict_time", "error")


def grid(n_ratings):
    """``(n_users, n_items)`` of the synthetic data at ``n_ratings`` ratings."""
    n_users = max(n_ratings // 100, 2 * N_GROUPS)
    n_items = max(n_ratings // 500, math.ceil(2 * n_ratings / n_users))
    return n_users, n_items


def synthetic(n_ratings, seed):
    from sk_grouprec.datasets import make_group_ratings

    n_users, n_items = grid(n_ratings)
    return make_group_ratings(n_users=n_users, n_items=n_items, n_groups=N_GROUPS,
                              n_ratings=n_ratings, random_state=seed)


def epochs_and_epoch_time(model, fit_time):
    """``(epochs, mean epoch seconds)`` of a fitted model (see the module's docstring)."""
    estimator = model[-1] if hasattr(model, "steps") else model
    history = getattr(estimator, "history_", None)
    if history is not None and len(history):
        durations = [epoch["dur"] for epoch in history if "dur" in epoch]
        if durations:
            return len(durations), float(np.mean(durations))
    params = estimator.get_params()
    epochs = params.get("n_epochs") or params.get("max_epochs")
    if epochs is None and getattr(estimator, "algo_", None) is not None:
        epochs = getattr(estimator.algo_, "n_epochs", None)
    return (epochs, fit_time / epochs) if epochs else (None, float("nan"))


def measure(name, n_ratings, seed=0, quick=False, threads=1):
    """Fit ``name`` on ``n_ratings`` synthetic ratings in this process; return the row."""
    import torch

    torch.set_num_threads(threads)
    start = time.perf_counter()
    X, y = synthetic(n_ratings, seed)
    generate_time = time.perf_counter() - start
    model = registry.build(name, seed, quick=quick, dataset="scale")
    queries = X.iloc[:SURPRISE_PREDICT_ROWS if name.startswith("Surprise:") else PREDICT_ROWS]
    before = current_rss_bytes() / 2**20
    reset = reset_peak_rss()
    start = time.perf_counter()
    model.fit(X, y)
    fit_time = time.perf_counter() - start
    peak = peak_rss_mib(reset)
    start = time.perf_counter()
    model.predict(queries)
    predict_time = time.perf_counter() - start
    epochs, epoch_time = epochs_and_epoch_time(model, fit_time)
    n_users, n_items = grid(n_ratings)
    return {"model": name, "n_ratings": len(X), "n_users": n_users, "n_items": n_items,
            "generate_time": generate_time, "fit_time": fit_time, "epochs": epochs,
            "epoch_time": epoch_time, "ratings_per_s": len(X) / epoch_time,
            "peak_memory_mib": peak, "fit_memory_mib": peak - before,
            "peak_memory_exact": reset, "rows_predicted": len(queries),
            "predict_time": predict_time, "error": ""}


def _child(connection, *arguments):
    try:
        connection.send(measure(*arguments))
    except BaseException as exc:  # reported in the table, the run goes on
        connection.send({"error": f"{type(exc).__name__}: {exc}"})
    finally:
        connection.close()


def measure_in_child(name, n_ratings, seed=0, quick=False, threads=1):
    """:func:`measure` in a fresh process, so that its peak memory is the fit's alone."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, name, n_ratings, seed, quick, threads))
    process.start()
    sender.close()
    try:
        row = receiver.recv()
    except EOFError:
        row = {}
    process.join()
    if not row:
        row = {"error": f"child process died (exit code {process.exitcode}; out of memory?)"}
    return {"model": name, "n_ratings": n_ratings, **row}


def plan(sizes, models, surprise_sizes):
    """``(model, size)`` pairs to run: every model at every size, and Surprise's SVD++ beside
    ours at the sizes of ``surprise_sizes`` (when SVD++ is among the models)."""
    pairs = []
    for n in sizes:
        pairs += [(name, n) for name in models]
        if "SVDpp" in models and n in surprise_sizes:
            pairs.append(("Surprise:SVDpp", n))
    return pairs


def add_ratios(table):
    """Per-rating epoch time relative to the model's smallest size, and the local log-log
    slope of fit time against ratings (1 = linear)."""
    table = table.copy()
    table["per_rating_vs_smallest"] = np.nan
    table["fit_time_slope"] = np.nan
    for _, rows in table[table["error"] == ""].groupby("model", sort=False):
        rows = rows.sort_values("n_ratings")
        per_rating = rows["epoch_time"] / rows["n_ratings"]
        table.loc[rows.index, "per_rating_vs_smallest"] = per_rating / per_rating.iloc[0]
        slope = np.log(rows["fit_time"]).diff() / np.log(rows["n_ratings"]).diff()
        table.loc[rows.index, "fit_time_slope"] = slope
    return table


def _cell(value, spec):
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


def to_markdown(table):
    lines = ["| model | ratings | users | items | fit (s) | epochs | epoch (s) | ratings/s per epoch | "
             "per-rating epoch time vs the model's smallest size | log-log slope of fit time | "
             "peak memory (MiB) | "
             "fit memory (MiB) | predict (s, rows) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in table.to_dict("records"):
        if row["error"]:
            lines.append(f"| {row['model']} | {row['n_ratings']:,} | failed: {row['error']} |" + " |" * 10)
            continue
        lines.append(
            f"| {row['model']} | {row['n_ratings']:,} | {row['n_users']:,.0f} | {row['n_items']:,.0f} | "
            f"{row['fit_time']:.3g} | {_cell(row['epochs'], '.0f')} | {_cell(row['epoch_time'], '.3g')} | "
            f"{_cell(row['ratings_per_s'], ',.0f')} | {_cell(row['per_rating_vs_smallest'], '.2f')}x | "
            f"{_cell(row['fit_time_slope'], '.2f')} | {row['peak_memory_mib']:.0f} | "
            f"{row['fit_memory_mib']:.0f} | {row['predict_time']:.2f} ({row['rows_predicted']:,.0f}) |")
    return "\n".join(lines)


def surprise_speedups(table):
    """Lines comparing our SVD++ with Surprise's at each size both ran."""
    ok = table[table["error"] == ""].set_index(["model", "n_ratings"])
    lines = []
    for (model, n), row in ok.iterrows():
        if model == "Surprise:SVDpp" and ("SVDpp", n) in ok.index:
            ours = ok.loc[("SVDpp", n)]
            lines.append(f"- {n:,} ratings: SVD++ fit {ours['fit_time']:.3g} s, Surprise's "
                         f"{row['fit_time']:.3g} s: {row['fit_time'] / ours['fit_time']:.1f}x faster")
    if not lines:
        return ""
    return "\n".join(["", "SVD++ against Surprise 1.1.5 (same data, same run, fit time):", "", *lines])


def plot_fit_time(table, path):
    """Log-log plot of fit time against ratings per model, with a slope-1 guide."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.2))
    ok = table[table["error"] == ""]
    for model, rows in ok.groupby("model", sort=False):
        rows = rows.sort_values("n_ratings")
        ax.plot(rows["n_ratings"], rows["fit_time"], marker="o", label=model)
    if len(ok):
        n = np.array([ok["n_ratings"].min(), ok["n_ratings"].max()], dtype=float)
        first = ok.loc[ok["n_ratings"] == n[0], "fit_time"].min()
        ax.plot(n, first * n / n[0], "k--", lw=0.8, label="linear (slope 1)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("ratings")
    ax.set_ylabel("fit time (s)")
    ax.set_title("Fit time against ratings (one thread)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def protocol_text(seed, threads):
    return (f"synthetic ratings, make_group_ratings(n_users=n/100, n_items=n/500, n_groups={N_GROUPS}, "
            f"random_state={seed}); each fit alone in a fresh process with {threads} torch thread(s), "
            "default parameters; epoch time from the skorch history (DMTL) or fit time / epochs; "
            "peak memory: the process's resident high-water mark during fit (see "
            "benchmarks/grouprec_bench/scale.py).")


def run(args, output):
    """``--dataset scale``: every model at every size of ``--sizes``; write the table, the
    log-log plot ``fit_time.png`` and ``scale.csv`` under ``output``. With ``--batching``:
    the automatic batch size check of :mod:`.scale_batching` instead."""
    if getattr(args, "batching", False):
        from . import scale_batching

        return scale_batching.run(args, output)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    surprise_sizes = {int(s) for s in args.surprise_sizes.split(",") if s}
    models = args.models if args.models_given else list(SCALE_MODELS)
    if surprise_sizes & set(sizes) and "SVDpp" in models and not registry.surprise_available():
        print("Surprise is not installed: its SVD++ is left out (pip install -e '.[bench]')",
              file=sys.stderr)
        surprise_sizes = set()
    rows = []
    for name, n in plan(sizes, models, surprise_sizes):
        print(f"scale: {name} at {n:,} ratings ...", file=sys.stderr, flush=True)
        rows.append(measure_in_child(name, n, args.seed, args.quick, args.threads))
        print({k: v for k, v in rows[-1].items() if v != ""}, file=sys.stderr, flush=True)
    table = pd.DataFrame(rows, columns=COLUMNS)
    table["error"] = table["error"].fillna("")
    table = add_ratios(table)
    output.mkdir(parents=True, exist_ok=True)
    table.to_csv(output / "scale.csv", index=False)
    body = to_markdown(table) + "\n" + surprise_speedups(table)
    if not args.no_plots:
        plot_fit_time(table, output / "fit_time.png")
        print(f"log-log plot of fit time: {report.relative_path(output / 'fit_time.png')}",
              file=sys.stderr)
    text = report.write_report(output, "scale: synthetic ratings (make_group_ratings)",
                               protocol_text(args.seed, args.threads), body, started=args.started,
                               records=table.to_dict("records"))
    print(text)
    return table
