"""Slope One (Lemire and Maclachlan 2005), as Surprise's ``SlopeOne``, vectorised."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._base import BaseRecommender
from .._validation import check_positive_int
from ._pairwise import PairTable, ragged_ranges
from .similarities import BLOCK_ELEMENTS

__all__ = ["SlopeOne"]


class SlopeOne(BaseRecommender):
    """Slope One: the user's mean plus the average deviation of the target item from the
    items the user rated.

    .. math:: \\hat r_{ui} = \\mu_u + \\frac{1}{|R_i(u)|} \\sum_{j \\in R_i(u)}
              \\mathrm{dev}(i, j), \\qquad
              \\mathrm{dev}(i, j) = \\frac{1}{|U_{ij}|} \\sum_{v \\in U_{ij}} (r_{vi} - r_{vj})

    where :math:`R_i(u)` are the items rated by ``u`` that share at least one user with
    ``i``, and :math:`U_{ij}` the users who rated both (Surprise's ``SlopeOne``, which has
    no parameter). When :math:`R_i(u)` is empty the prediction is the user's mean; with an
    unknown user or item it is the global mean (Surprise's default prediction). Duplicated
    ratings count as in Surprise (every pair of entries). Unlike Surprise, which stores
    ratings as integers in this algorithm, fractional ratings are used as they are.

    The deviations are computed with sparse products (``dev = (S^T C - C^T S) / C^T C``
    with ``C`` the user x item count matrix and ``S`` the rating sums), block of items by
    block. They are kept as a dense ``n_items x n_items`` table up to
    ``max_dense_entities`` items, above it only for the co-rated pairs (a sorted sparse
    table, looked up by binary search: exact, slower). Prediction expands each test pair
    over the user's ratings in bounded blocks.

    Parameters
    ----------
    max_dense_entities : int, default=10_000
        Largest number of items whose full deviation table is stored
        (``8 * n_items**2`` bytes).

    Attributes
    ----------
    deviation_ : ndarray of shape (n_items_, n_items_) or None
        ``dev(i, j)``, NaN where no user rated both items; None when the sparse table is
        used (more than ``max_dense_entities`` items).
    user_mean_ : ndarray of shape (n_users_,)
        Mean rating of each user.
    global_mean_ : float
        Mean training rating.
    n_users_, n_items_ : int
        Number of users and items seen in ``fit``.

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_grouprec.baselines.slope_one import SlopeOne
    >>> X = pd.DataFrame({"user_id": [1, 1, 2, 2, 3], "item_id": ["a", "b", "a", "b", "a"]})
    >>> est = SlopeOne().fit(X, [5, 3, 3, 4, 1])
    >>> est.predict(pd.DataFrame({"user_id": [3, 9], "item_id": ["b", "a"]})).round(2)
    array([1. , 3.2])
    """

    def __init__(self, max_dense_entities=10_000):
        self.max_dense_entities = max_dense_entities

    def _fit_indexed(self, users, items, ratings, X):
        check_positive_int(self.max_dense_entities, "max_dense_entities")
        n_u, n_i = self.n_users_, self.n_items_
        counts = sp.csr_matrix((np.ones_like(ratings), (users, items)), shape=(n_u, n_i))
        sums = sp.csr_matrix((ratings, (users, items)), shape=(n_u, n_i))
        counts_t, sums_t = counts.T.tocsr(), sums.T.tocsr()
        dense = n_i <= self.max_dense_entities
        self.deviation_ = np.empty((n_i, n_i)) if dense else None
        parts = []
        step = max(1, BLOCK_ELEMENTS // n_i)
        for start in range(0, n_i, step):
            stop = min(n_i, start + step)
            freq = (counts_t[start:stop] @ counts).toarray()
            diff = (sums_t[start:stop] @ counts).toarray() - (counts_t[start:stop] @ sums).toarray()
            with np.errstate(divide="ignore", invalid="ignore"):
                dev = np.where(freq > 0, diff / freq, np.nan)
            if dense:
                self.deviation_[start:stop] = dev
            else:
                rows, cols = np.nonzero(freq > 0)
                parts.append((rows + start, cols, dev[rows, cols]))
        if dense:
            self._deviation_table = PairTable(n_i, dense=self.deviation_)
        else:
            rows, cols, values = (np.concatenate(p) for p in zip(*parts))
            self._deviation_table = PairTable(n_i, rows=rows, cols=cols, values=values)
        count_u = np.bincount(users, minlength=n_u)
        self.user_mean_ = np.bincount(users, weights=ratings, minlength=n_u) / count_u
        order = np.argsort(users, kind="stable")
        self._user_ptr = np.concatenate([[0], np.cumsum(count_u)])
        self._user_items = items[order]

    def _predict_indexed(self, users, items):
        out = np.full(users.shape[0], self.global_mean_)
        known = np.flatnonzero((users >= 0) & (items >= 0))
        if known.size == 0:
            return out
        u, i = users[known], items[known]
        lengths = self._user_ptr[u + 1] - self._user_ptr[u]
        ends = np.cumsum(lengths)
        start = 0
        while start < known.size:
            # pairs start..stop-1 expand to about BLOCK_ELEMENTS (user, rated item) entries
            base = ends[start] - lengths[start]
            stop = max(start + 1, int(np.searchsorted(ends, base + BLOCK_ELEMENTS, side="right")))
            pos, row = ragged_ranges(self._user_ptr[u[start:stop]], lengths[start:stop])
            dev = self._deviation_table.lookup(i[start:stop][row], self._user_items[pos])
            relevant = ~np.isnan(dev)
            n_rows = stop - start
            total = np.bincount(row, weights=np.where(relevant, dev, 0.0), minlength=n_rows)
            n_relevant = np.bincount(row, weights=relevant, minlength=n_rows)
            mean_dev = np.divide(total, n_relevant, out=np.zeros(n_rows), where=n_relevant > 0)
            out[known[start:stop]] = self.user_mean_[u[start:stop]] + mean_dev
            start = stop
        return out
