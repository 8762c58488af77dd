"""One process of a data-parallel DMTL fit, started by ``torchrun`` from test_distributed.py.

Trains ``GroupDMTLRecommender(accelerator=Accelerator(cpu=True))`` on small synthetic
ratings and writes what this process saw (batches, rows) and the test RMSE to
``<out>/rank<k>.json``. Run alone (``python tests/ddp_worker.py OUT``) it is the
one-process reference.
"""

import argparse
import json
import os
from pathlib import Path

import numpy as np
import torch
from skorch.callbacks import Callback

from sk_grouprec import GroupDMTLRecommender
from sk_grouprec.datasets import make_group_ratings


class CountBatches(Callback):
    """Training batches and rows this process saw."""

    def on_train_begin(self, net, **kwargs):
        self.batches = self.rows = 0

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        if training:
            self.batches += 1
            self.rows += int(batch[1].shape[0])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--task-weighting", default="fixed")
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(1)
    from accelerate import Accelerator

    X, y, groups = make_group_ratings(
        n_users=400,
        n_items=200,
        n_groups=5,
        n_ratings=24_000,
        return_groups=True,
        random_state=0,
    )
    X = X.assign(group_id=groups.loc[X["user_id"]].to_numpy())
    test = np.arange(len(y)) % 5 == 0
    counter = CountBatches()
    accelerator = Accelerator(cpu=True)
    model = GroupDMTLRecommender(
        max_epochs=args.epochs,
        batch_size=512,
        task_weighting=args.task_weighting,
        accelerator=accelerator,
        callbacks=[("count_batches", counter)],
        random_state=0,
    ).fit(X[~test], y[~test])
    rmse = float(np.sqrt(np.mean((model.predict(X[test]) - y[test]) ** 2)))
    rank = int(accelerator.process_index)
    report = {
        "rank": rank,
        "world_size": int(accelerator.num_processes),
        "batches": counter.batches,
        "rows": counter.rows,
        "train_rows": int((~test).sum()),
        "rmse": rmse,
        "module_is_plain": not isinstance(model.module_, torch.nn.parallel.DistributedDataParallel),
        "master": os.environ.get("MASTER_ADDR"),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"rank{rank}.json").write_text(json.dumps(report))


if __name__ == "__main__":
    main()
