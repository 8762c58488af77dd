"""Embedding lookups whose gradient holds only the rows a batch used.

``F.embedding(..., sparse=True)`` gives a gradient with one (uncoalesced) row per lookup,
which the optimiser must then sort and merge; here the backward sums the rows itself and
returns an already coalesced sparse gradient with one row per *distinct* table row, so an
optimiser step costs the batch's distinct rows and nothing more.

- :func:`row_lookup`: ``table[index]``;
- :func:`bag_sum`: ``sum_k w_k table[columns_k]`` over consecutive segments of ``columns``
  (an ``EmbeddingBag`` in ``"sum"`` mode with per-sample weights).
"""

from __future__ import annotations

import warnings

import torch
from torch.nn import functional as F


def _coalesced(rows, values, shape):
    return torch.sparse_coo_tensor(
        rows.unsqueeze(0), values, shape, is_coalesced=True, check_invariants=False
    )


class _RowLookup(torch.autograd.Function):
    @staticmethod
    def forward(ctx, weight, index, padding_idx, rows, inverse):
        if rows is None:
            rows, inverse = torch.unique(index.reshape(-1), return_inverse=True)
        ctx.save_for_backward(rows, inverse.reshape(-1))
        ctx.shape, ctx.padding_idx = weight.shape, padding_idx
        return F.embedding(index, weight)

    @staticmethod
    def backward(ctx, grad):
        rows, inverse = ctx.saved_tensors
        grad = grad.reshape(-1, ctx.shape[1])
        summed = grad.new_zeros(rows.shape[0], ctx.shape[1]).index_add_(0, inverse, grad)
        if ctx.padding_idx is not None:
            summed = summed.masked_fill((rows == ctx.padding_idx).unsqueeze(1), 0.0)
        return _coalesced(rows, summed, ctx.shape), None, None, None, None


class _BagSum(torch.autograd.Function):
    @staticmethod
    def forward(ctx, weight, columns, offsets, weights):
        pooled = F.embedding_bag(columns, weight, offsets, mode="sum", per_sample_weights=weights)
        ctx.save_for_backward(columns, offsets, weights)
        ctx.shape = weight.shape
        return pooled

    @staticmethod
    def backward(ctx, grad):
        columns, offsets, weights = ctx.saved_tensors
        n_bags = offsets.shape[0]
        lengths = torch.diff(offsets, append=offsets.new_tensor([columns.shape[0]]))
        bag = torch.repeat_interleave(torch.arange(n_bags, device=grad.device), lengths)
        # the transposed selection (distinct columns x bags) in CSR form times the bags'
        # gradient: about 3x faster on CPU than gathering and index-adding the positions
        order = torch.argsort(columns)
        rows, counts = torch.unique_consecutive(columns[order], return_counts=True)
        crow = torch.zeros(rows.shape[0] + 1, dtype=torch.long, device=grad.device)
        torch.cumsum(counts, 0, out=crow[1:])
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            selection = torch.sparse_csr_tensor(
                crow,
                bag[order],
                weights[order].to(grad.dtype),
                (rows.shape[0], n_bags),
                check_invariants=False,
            )
        return _coalesced(rows, selection @ grad, ctx.shape), None, None, None


def row_lookup(weight, index, padding_idx=None, unique=None):
    """``weight[index]`` with a coalesced sparse gradient (zero on ``padding_idx``).

    ``unique`` may pass ``torch.unique(index.reshape(-1), return_inverse=True)`` when the
    caller has it already (several tables looked up with the same index).

    Examples
    --------
    >>> import torch
    >>> from sk_grouprec.dmtl._sparse import row_lookup
    >>> w = torch.ones(4, 2, requires_grad=True)
    >>> row_lookup(w, torch.tensor([1, 3, 1])).sum().backward()
    >>> g = w.grad.coalesce()
    >>> g.indices().tolist(), g.values().tolist()
    ([[1, 3]], [[2.0, 2.0], [1.0, 1.0]])
    """
    rows, inverse = (None, None) if unique is None else unique
    return _RowLookup.apply(weight, index, padding_idx, rows, inverse)


def bag_sum(weight, columns, offsets, weights):
    """Per segment ``b``: ``sum_{k in b} weights_k weight[columns_k]``, sparse gradient.

    Segment ``b`` runs from ``offsets[b]`` to ``offsets[b + 1]`` (the last to the end).

    Examples
    --------
    >>> import torch
    >>> from sk_grouprec.dmtl._sparse import bag_sum
    >>> w = torch.eye(3, requires_grad=True)
    >>> out = bag_sum(w, torch.tensor([0, 2, 2]), torch.tensor([0, 2]), torch.ones(3))
    >>> out.tolist()
    [[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]]
    >>> out.sum().backward()
    >>> g = w.grad.coalesce()
    >>> g.indices().tolist(), g.values()[:, 0].tolist()
    ([[0, 2]], [1.0, 2.0])
    """
    return _BagSum.apply(weight, columns, offsets, weights)
