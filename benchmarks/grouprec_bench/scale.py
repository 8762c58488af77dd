"""How cost grows with data: fit time and peak memory of DMTL and SVD++ on synthetic ratings."""

from __future__ import annotations

import time

import pandas as pd

from sk_grouprec.datasets import make_group_ratings

from . import models as registry
from . import report
from .memory import PeakMemory

SCALE_MODELS = registry.SCALE_DEFAULT


def synthetic(n_ratings, seed):
    n_users = max(1_000, n_ratings // 100)
    n_items = max(500, n_ratings // 500)
    return make_group_ratings(
        n_users=n_users, n_items=n_items, n_groups=20, n_ratings=n_ratings, random_state=seed
    )


#: rows predicted after each fit (in the estimators' own batches)
PREDICT_ROWS = 1_000_000


def run_scale(sizes, output, *, models=SCALE_MODELS, seed=0, quick=False):
    """Fit each model once per size with its default parameters, then predict up to a
    million rows; record fit and predict time and the peak increase of resident memory."""
    rows = []
    for n_ratings in sizes:
        X, y = synthetic(n_ratings, seed)
        for name in models:
            model = registry.build(name, seed, quick=quick, dataset="scale")
            queries = X.iloc[:PREDICT_ROWS]
            with PeakMemory() as peak:
                start = time.perf_counter()
                model.fit(X, y)
                fit_time = time.perf_counter() - start
                start = time.perf_counter()
                model.predict(queries)
                predict_time = time.perf_counter() - start
            rows.append({"model": name, "n_ratings": n_ratings, "fit_time": fit_time,
                         "rows_predicted": len(queries), "predict_time": predict_time,
                         "peak_memory_mib": peak.mib})
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    output.mkdir(parents=True, exist_ok=True)
    table.to_csv(output / "scale.csv", index=False)
    env = report.environment()
    lines = ["### scale: synthetic ratings (make_group_ratings)", "", "```",
             *(f"{k}: {v}" for k, v in env.items()), "```", "",
             "| model | ratings | fit (s) | rows predicted | predict (s) | peak memory (MiB) |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['model']} | {row['n_ratings']:,} | {row['fit_time']:.1f} | "
                     f"{row['rows_predicted']:,} | {row['predict_time']:.2f} | {row['peak_memory_mib']:.0f} |")
    text = "\n".join(lines) + "\n"
    (output / "report.md").write_text(text)
    print(text)
    return table
