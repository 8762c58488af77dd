"""Positions of runs of a flat array, for gathering CSR rows or blocks in one indexing."""

from __future__ import annotations

import torch


def concatenated_runs(starts, lengths):
    """Positions of the runs ``[starts[k], starts[k] + lengths[k])`` one after another, and
    each run's offset in that list (what ``embedding_bag`` takes as ``offsets``).

    Examples
    --------
    >>> import torch
    >>> from sk_grouprec.dmtl._segments import concatenated_runs
    >>> positions, offsets = concatenated_runs(torch.tensor([5, 0]), torch.tensor([2, 3]))
    >>> positions.tolist(), offsets.tolist()
    ([5, 6, 0, 1, 2], [0, 2])
    """
    offsets = torch.cumsum(lengths, 0) - lengths
    within = torch.arange(int(lengths.sum()), device=starts.device)
    return within + torch.repeat_interleave(starts - offsets, lengths), offsets
