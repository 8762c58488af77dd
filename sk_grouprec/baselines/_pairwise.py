"""Storage and lookup of pairwise values (similarities, deviations) and ragged batching.

A :class:`PairTable` holds a value for pairs ``(row, col)`` of entities: densely when the
entities are few, otherwise only the stored pairs (sorted keys, looked up by binary search).
Absent pairs read as NaN.
"""

from __future__ import annotations

import numpy as np


class PairTable:
    """Values of ``(row, col)`` pairs, dense or sparse, with NaN for absent pairs.

    Parameters
    ----------
    n_cols : int
        Number of columns (keys of the sparse form are ``row * n_cols + col``).
    dense : ndarray of shape (n_rows, n_cols), optional
        The full table (NaN marks absent pairs).
    rows, cols, values : ndarray, optional
        The stored pairs of the sparse form (any order).

    Examples
    --------
    >>> import numpy as np
    >>> from sk_grouprec.baselines._pairwise import PairTable
    >>> table = PairTable(3, rows=np.array([0, 2]), cols=np.array([1, 0]), values=np.array([0.5, 2.0]))
    >>> table.lookup(np.array([2, 0, 1]), np.array([0, 1, 1]))
    array([2. , 0.5, nan])
    """

    def __init__(self, n_cols, *, dense=None, rows=None, cols=None, values=None):
        self.n_cols = int(n_cols)
        self.dense = dense
        if dense is None:
            keys = np.asarray(rows, dtype=np.int64) * self.n_cols + np.asarray(cols, dtype=np.int64)
            order = np.argsort(keys, kind="stable")
            self.keys = keys[order]
            self.values = np.asarray(values, dtype=np.float64)[order]

    def lookup(self, rows, cols):
        """Values at ``(rows, cols)`` (broadcast together); NaN where no value is stored."""
        if self.dense is not None:
            return self.dense[rows, cols]
        query = np.asarray(rows, dtype=np.int64) * self.n_cols + np.asarray(cols, dtype=np.int64)
        if self.keys.size == 0:
            return np.full(query.shape, np.nan)
        pos = np.minimum(np.searchsorted(self.keys, query), self.keys.size - 1)
        return np.where(self.keys[pos] == query, self.values[pos], np.nan)


def length_sorted_chunks(lengths, budget):
    """Split rows into chunks whose padded size ``n_rows * max_length`` stays near ``budget``.

    Rows are visited by increasing length, so padding to the longest row of a chunk wastes
    little. A row longer than ``budget`` forms a chunk of its own.

    Parameters
    ----------
    lengths : ndarray of int, shape (n,)
    budget : int

    Yields
    ------
    rows : ndarray of int
        Indices (into ``lengths``) of the rows of one chunk.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_grouprec.baselines._pairwise import length_sorted_chunks
    >>> [c.tolist() for c in length_sorted_chunks(np.array([5, 1, 2, 9]), 10)]
    [[1, 2], [0], [3]]
    """
    order = np.argsort(lengths, kind="stable")
    sorted_len = np.maximum(lengths[order], 1)
    start, n = 0, order.shape[0]
    while start < n:
        # rows start..stop-1 fit when (stop - start) * sorted_len[stop - 1] <= budget; the
        # product grows with stop, so the fitting stops form a prefix (at least one row)
        window = sorted_len[start : start + max(1, int(budget))]
        fits = np.arange(1, window.shape[0] + 1) * window <= budget
        stop = start + max(1, int(fits.sum()))
        yield order[start:stop]
        start = stop


def ragged_ranges(starts, lengths):
    """Concatenated ``arange(start, start + length)`` for each row, and each element's row.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_grouprec.baselines._pairwise import ragged_ranges
    >>> idx, row = ragged_ranges(np.array([10, 3]), np.array([2, 3]))
    >>> idx.tolist(), row.tolist()
    ([10, 11, 3, 4, 5], [0, 0, 1, 1, 1])
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    row = np.repeat(np.arange(lengths.shape[0]), lengths)
    offsets = np.cumsum(lengths) - lengths
    idx = np.arange(row.shape[0]) - offsets[row] + np.asarray(starts, dtype=np.int64)[row]
    return idx, row
