"""Mini-batches of interaction rows: user-blocked shuffling and one shard per process.

:class:`ShardedBatchIterator` slices index tensors into batches (no per-sample work) and
adds two things to a plain shuffled iterator:

- **user blocks** (``user_block > 1``): each epoch shuffles the rows within every user,
  cuts each user's rows into blocks of ``user_block`` consecutive rows and shuffles the
  blocks. A batch then holds about ``batch_size / user_block`` distinct users instead of
  up to ``batch_size``, so work done once per distinct user of a batch (the implicit-feedback
  term, a gather over the user's whole history) costs ``1 / user_block`` of what it costs
  with fully shuffled rows, whatever the number of users. Items stay shuffled.
- **shards** (``num_replicas > 1``): every process computes the same epoch order (same
  seed) and takes every ``num_replicas``-th batch starting at its ``rank``, so the processes
  of a data-parallel run see disjoint shards of each epoch. Every rank gets the same number
  of batches (a short rank wraps around to the first batches), as synchronised gradient steps need.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ._segments import concatenated_runs

#: training rows around which the automatic batching leaves the plain 1024-row shuffle;
#: chosen on held-out synthetic ratings (``benchmarks/run.py --dataset scale --batching``):
#: at a million ratings, 8,192-row batches gave a lower held-out RMSE than 4,096 and faster epochs
AUTO_BATCH_ROWS = 125_000
AUTO_MAX_BATCH = 16_384
AUTO_MAX_USER_BLOCK = 32


def auto_batching(n_rows):
    """``(batch_size, user_block)`` for ``n_rows`` training rows.

    Up to about 175,000 rows: 1,024-row batches of fully shuffled rows (what MovieLens-size
    data is tuned for). Beyond, the batch doubles with each doubling of the data
    (``1024 * 2^round(log2(n_rows / 125,000))``, at most 16,384: 8,192 at a million rows)
    and rows come in user blocks of ``min(32, batch_size // 128)`` rows, so that per-step
    overheads and the per-user implicit-feedback gathers are shared by more rows: the cost
    per rating then falls, instead of rising, as the data grows.

    Examples
    --------
    >>> from sk_grouprec.dmtl._batching import auto_batching
    >>> [auto_batching(n) for n in (80_000, 1_000_000, 5_000_000)]
    [(1024, 1), (8192, 32), (16384, 32)]
    """
    factor = 2 ** max(0, round(math.log2(max(n_rows, 1) / AUTO_BATCH_ROWS)))
    batch_size = min(AUTO_MAX_BATCH, 1024 * factor)
    user_block = 1 if batch_size <= 1024 else min(AUTO_MAX_USER_BLOCK, batch_size // 128)
    return batch_size, user_block


def sorted_by_user(inputs, target):
    """``inputs`` (dict of tensors) and ``target`` with their rows sorted by user (stable).

    The training rows' storage order does not change what is learned, only where a batch's
    rows lie in memory: sorted by user, the rows of a user block are neighbours, and slicing
    a batch reads a few hundred short runs instead of one random row per training row.
    """
    order = torch.argsort(inputs["user"], stable=True)
    return {k: v[order] for k, v in inputs.items()}, target[order.numpy()]


class UserBlocks:
    """The fixed part of user-blocked shuffling, computed once per dataset.

    Rows sorted by user (stable) fill consecutive *positions*; the positions of a user cut
    into blocks of ``block`` consecutive positions. Only which of a user's rows sits at which
    of its positions, and the order of the blocks, change from epoch to epoch
    (:meth:`order`), so an epoch costs one sort of random keys and a few gathers.

    Parameters
    ----------
    users : LongTensor of shape (n_rows,)
        User index of each row.
    block : int
        Rows per block (at least 2).

    Examples
    --------
    >>> import torch
    >>> from sk_grouprec.dmtl._batching import UserBlocks
    >>> users = torch.tensor([0, 1, 0, 1, 0, 1, 0, 1])
    >>> order = UserBlocks(users, 2).order(torch.Generator().manual_seed(0))
    >>> sorted(order.tolist())
    [0, 1, 2, 3, 4, 5, 6, 7]
    >>> [len(set(users[order[i : i + 2]].tolist())) for i in range(0, 8, 2)]
    [1, 1, 1, 1]
    """

    def __init__(self, users, block):
        n = users.shape[0]
        self.by_user = torch.argsort(users, stable=True)
        sorted_users = users[self.by_user]
        starts = torch.ones(n, dtype=torch.bool)
        starts[1:] = sorted_users[1:] != sorted_users[:-1]
        first = torch.nonzero(starts).squeeze(1)
        lengths = torch.diff(first, append=torch.tensor([n]))
        # segment number of each position: shuffling within users sorts (segment, random)
        self.segment = torch.repeat_interleave(torch.arange(first.shape[0]), lengths)
        rank_in_user = torch.arange(n) - torch.repeat_interleave(first, lengths)
        # blocks are runs of consecutive positions: their starts and lengths
        block_start = torch.nonzero((rank_in_user % block) == 0).squeeze(1)
        self.block_start = block_start
        self.block_length = torch.diff(block_start, append=torch.tensor([n]))

    def order(self, generator):
        """A random permutation of the rows that keeps each block's rows together."""
        n = self.segment.shape[0]
        if n == 0:
            return self.by_user
        keys = (self.segment << 31) | torch.randint(0, 1 << 31, (n,), generator=generator)
        within = self.by_user[torch.argsort(keys)]
        chosen = torch.randperm(self.block_start.shape[0], generator=generator)
        positions, _ = concatenated_runs(self.block_start[chosen], self.block_length[chosen])
        return within[positions]


class ShardedBatchIterator:
    """Yield ``(inputs, target)`` mini-batches of an interaction dataset by slicing tensors.

    Parameters
    ----------
    dataset : dataset with ``inputs`` (dict of tensors) and ``target``, or a
        :class:`torch.utils.data.Subset` of one (what skorch's ``ValidSplit`` produces)
    batch_size : int, default=1024
        Rows per batch (per process).
    shuffle : bool, default=False
        A new random order each epoch; otherwise row order (blocks and shards unused).
    seed : int, optional
        Seeds the iterator's own generator (the same on every process). skorch makes the
        iterator once per fit, so the generator runs on from epoch to epoch: each epoch
        has its own order.
    user_block : int, default=1
        Rows per user block when shuffling (see the module docstring); needs a ``"user"``
        input.
    num_replicas, rank : int, default=1, 0
        Number of data-parallel processes and this one's index: the iterator yields only
        this process's shard of each epoch.
    device : torch.device or str, optional
        Device the batches are moved to (default: where the dataset's tensors are).

    Examples
    --------
    >>> import torch
    >>> from sk_grouprec.dmtl._batching import ShardedBatchIterator
    >>> class Rows:
    ...     inputs = {"user": torch.arange(10) % 3}
    ...     target = torch.arange(10.0)
    ...     def __len__(self):
    ...         return 10
    >>> shards = [ShardedBatchIterator(Rows(), 2, shuffle=True, seed=0, num_replicas=2, rank=r)
    ...           for r in (0, 1)]
    >>> [len(s) for s in shards]
    [3, 3]
    >>> seen = [sorted(int(v) for _, y in s for v in y) for s in shards]
    >>> sorted(set(seen[0]) | set(seen[1])) == list(range(10))
    True
    """

    def __init__(
        self,
        dataset,
        batch_size=1024,
        shuffle=False,
        seed=None,
        user_block=1,
        num_replicas=1,
        rank=0,
        device=None,
    ):
        if isinstance(dataset, torch.utils.data.Subset):
            self.base = dataset.dataset
            self.rows = torch.as_tensor(np.asarray(dataset.indices), dtype=torch.long)
        else:
            self.base = dataset
            self.rows = None
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank must be in [0, num_replicas); got {rank} of {num_replicas}.")
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.user_block = int(user_block)
        self.num_replicas = int(num_replicas)
        self.rank = int(rank)
        self.device = device
        self.generator = torch.Generator()
        self.generator.manual_seed(0 if seed is None else int(seed))
        self._blocks = None

    def _n_rows(self):
        return len(self.base) if self.rows is None else len(self.rows)

    def _n_batches(self):
        return -(-self._n_rows() // self.batch_size)

    def __len__(self):
        return -(-self._n_batches() // self.num_replicas)

    def _order(self):
        n = self._n_rows()
        if not self.shuffle:
            order = torch.arange(n)
        elif self.user_block > 1:
            order = self._user_blocks().order(self.generator)
        else:
            order = torch.randperm(n, generator=self.generator)
        return order if self.rows is None else self.rows[order]

    def _user_blocks(self):
        # built on the first shuffled epoch and kept: skorch makes the iterator once per fit
        if self._blocks is None:
            users = self.base.inputs["user"]
            self._blocks = UserBlocks(users if self.rows is None else users[self.rows],
                                      self.user_block)
        return self._blocks

    def __iter__(self):
        order = self._order()
        n_batches = self._n_batches()
        # equal step counts on all ranks: a short rank wraps around to the first batches
        steps = range(self.rank, len(self) * self.num_replicas, self.num_replicas)
        for b in (step % n_batches for step in steps):
            sel = order[b * self.batch_size : (b + 1) * self.batch_size]
            inputs = {k: v[sel] for k, v in self.base.inputs.items()}
            target = self.base.target[sel]
            if self.device is not None:
                inputs = {k: v.to(self.device, non_blocking=True) for k, v in inputs.items()}
                target = target.to(self.device, non_blocking=True)
            yield inputs, target
