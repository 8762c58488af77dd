"""``--dataset scale --batching``: held-out accuracy and speed of DMTL's automatic batch size.

DMTL's ``batch_size="auto"`` (:func:`sk_grouprec.dmtl._batching.auto_batching`) grows the
batch with the data from :data:`~sk_grouprec.dmtl._batching.AUTO_BATCH_ROWS` training rows on.
This run fits the default pipeline on 90% of the scale benchmark's synthetic ratings (the
other 10% held out, drawn with the seed) with that threshold at several values, one torch
thread, and reports the batch size it gives, the fit and epoch times and the held-out RMSE:
what the automatic rule was chosen on (no real dataset is involved).
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from . import models as registry
from . import report
from .scale import synthetic

#: thresholds compared (the rule's first doubling is at the threshold's training rows)
THRESHOLDS = (250_000, 125_000, 62_500)


def measure(n_ratings, threshold, seed):
    import torch

    import sk_grouprec.dmtl._batching as batching

    torch.set_num_threads(1)
    X, y = synthetic(n_ratings, seed)
    y = np.asarray(y)
    held_out = np.random.default_rng(seed).random(len(X)) < 0.1
    saved = batching.AUTO_BATCH_ROWS
    batching.AUTO_BATCH_ROWS = threshold
    try:
        model = registry.build("DMTL", seed, quick=False, dataset="scale")
        start = time.perf_counter()
        model.fit(X[~held_out], y[~held_out])
        fit_time = time.perf_counter() - start
        batch_size, user_block = batching.auto_batching(int((~held_out).sum()))
    finally:
        batching.AUTO_BATCH_ROWS = saved
    rmse = float(np.sqrt(np.mean((model.predict(X[held_out]) - y[held_out]) ** 2)))
    epochs = [epoch["dur"] for epoch in model[-1].history_]
    # formatted here: a table row of mixed ints and floats would print the ints as floats
    return {"threshold rows": f"{threshold:,}", "batch_size": f"{batch_size:,}",
            "user_block": str(user_block), "fit (s)": f"{fit_time:.1f}",
            "epoch (s)": f"{np.mean(epochs):.2f}", "held-out RMSE": f"{rmse:.4f}"}


def run(args, output):
    n = int(args.sizes.split(",")[1]) if "," in args.sizes else int(args.sizes)
    rows = []
    for threshold in THRESHOLDS:
        print(f"scale --batching: threshold {threshold:,} at {n:,} ratings ...", file=sys.stderr,
              flush=True)
        rows.append(measure(n, threshold, args.seed))
        print(rows[-1], file=sys.stderr, flush=True)
    table = pd.DataFrame(rows)
    output.mkdir(parents=True, exist_ok=True)
    table.to_csv(output / "batching.csv", index=False)
    protocol = (f"{n:,} synthetic ratings of the scale benchmark (seed {args.seed}), 10% held out; "
                "the default DMTL pipeline with the automatic batch rule's threshold set to each "
                "value; one torch thread, in one process.")
    text = report.write_report(output, "scale: DMTL's automatic batch size", protocol,
                               report.table_markdown(table, "threshold rows") + "\n", started=args.started,
                               records=rows)
    print(text)
    return table
