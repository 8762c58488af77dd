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

#: training rows up to which the automatic batching is the plain 1024-row shuffle
AUTO_BATCH_ROWS = 250_000
AUTO_MAX_BATCH = 16_384
AUTO_MAX_USER_BLOCK = 32


def auto_batching(n_rows):
    """``(batch_size, user_block)`` for ``n_rows`` training rows.

    Up to about 350,000 rows: 1,024-row batches of fully shuffled rows (what MovieLens-size
    data is tuned for). Beyond, the batch doubles with each doubling of the data
    (``1024 * 2^round(log2(n_rows / 250,000))``, at most 16,384: 4,096 at a million rows)
    and rows come in user blocks of ``min(32, batch_size // 128)`` rows, so that per-step
    overheads and the per-user implicit-feedback gathers are shared by more rows: the cost
    per rating then falls, instead of rising, as the data grows.

    Examples
    --------
    >>> from sk_grouprec.dmtl._batching import auto_batching
    >>> [auto_batching(n) for n in (80_000, 1_000_000, 5_000_000)]
    [(1024, 1), (4096, 32), (16384, 32)]
    """
    factor = 2 ** max(0, round(math.log2(max(n_rows, 1) / AUTO_BATCH_ROWS)))
    batch_size = min(AUTO_MAX_BATCH, 1024 * factor)
    user_block = 1 if batch_size <= 1024 else min(AUTO_MAX_USER_BLOCK, batch_size // 128)
    return batch_size, user_block


def user_blocked_order(users, block, generator):
    """A permutation of ``range(len(users))`` that keeps rows of a user in blocks.

    Parameters
    ----------
    users : LongTensor of shape (n_rows,)
        User index of each row.
    block : int
        Rows per block (``1``: a plain random permutation).
    generator : torch.Generator

    Returns
    -------
    order : LongTensor of shape (n_rows,)

    Examples
    --------
    >>> import torch
    >>> from sk_grouprec.dmtl._batching import user_blocked_order
    >>> users = torch.tensor([0, 1, 0, 1, 0, 1, 0, 1])
    >>> order = user_blocked_order(users, 2, torch.Generator().manual_seed(0))
    >>> sorted(order.tolist())
    [0, 1, 2, 3, 4, 5, 6, 7]
    >>> [len(set(users[order[i : i + 2]].tolist())) for i in range(0, 8, 2)]
    [1, 1, 1, 1]
    """
    n = users.shape[0]
    shuffled = torch.randperm(n, generator=generator)
    if block <= 1 or n == 0:
        return shuffled
    # rows grouped by user, in random order within each user
    by_user = shuffled[torch.argsort(users[shuffled], stable=True)]
    sorted_users = users[by_user]
    starts = torch.ones(n, dtype=torch.bool)
    starts[1:] = sorted_users[1:] != sorted_users[:-1]
    first = torch.nonzero(starts).squeeze(1)
    lengths = torch.diff(first, append=torch.tensor([n]))
    rank_in_user = torch.arange(n) - torch.repeat_interleave(first, lengths)
    blocks_per_user = (lengths + block - 1) // block
    block_offset = torch.cumsum(blocks_per_user, 0) - blocks_per_user
    block_id = torch.repeat_interleave(block_offset, lengths) + rank_in_user // block
    priority = torch.randperm(int(blocks_per_user.sum()), generator=generator)
    return by_user[torch.argsort(priority[block_id], stable=True)]


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
        Seeds the iterator's own generator (the same on every process).
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
            users = self.base.inputs["user"]
            if self.rows is not None:
                users = users[self.rows]
            order = user_blocked_order(users, self.user_block, self.generator)
        else:
            order = torch.randperm(n, generator=self.generator)
        return order if self.rows is None else self.rows[order]

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
