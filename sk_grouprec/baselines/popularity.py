"""Most popular items: the non-personalised top-N baseline."""

from __future__ import annotations

import numpy as np

from .._implicit import BaseScoreRecommender, check_positive_threshold

__all__ = ["MostPopular"]


class MostPopular(BaseScoreRecommender):
    """Rank items by the number of distinct training users who interacted with them.

    The score of every user for item ``i`` is the number of users with ``i`` as a training
    positive (a user who interacted twice with ``i`` counts once), so every user gets the
    same ranking, minus his or her own training items in :meth:`recommend`. It is the
    floor any personalised model must clear, and a strong one on sampled protocols: on
    Mafengwo's users (101 candidates, ties counted against the test item) it reaches
    HR@5 of about 0.64 (``benchmarks/grouprec_bench/implicit_compare.py``).

    Parameters
    ----------
    positive_threshold : float, default=None
        With ratings ``y``, the rows rated at or above it are positives; ``None`` (or
        ``y=None``): every row is a positive.

    Attributes
    ----------
    item_counts_ : ndarray of shape (n_items_,)
        Number of training users of each item (the scores).
    item_popularity_ : ndarray of shape (n_items_,)
        The same divided by the number of training users.
    interactions_ : scipy.sparse.csr_matrix of shape (n_users_, n_items_)
        The binary training matrix.
    n_users_, n_items_ : int
        Users and items with at least one positive.

    Notes
    -----
    Unknown users get the same scores as known ones; unknown items score ``0.0`` (no
    user). Ties (items with equal counts) are broken by item order in :meth:`recommend`;
    evaluate with a tie rule (for example ties counted against the test item).

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_grouprec.baselines import MostPopular
    >>> X = pd.DataFrame({"user_id": [1, 1, 2, 2, 3], "item_id": ["a", "b", "a", "c", "a"]})
    >>> model = MostPopular().fit(X)
    >>> model.predict(pd.DataFrame({"user_id": [3, 3, 9], "item_id": ["a", "b", "zz"]}))
    array([3., 1., 0.])
    >>> model.recommend([3], n_items=2)
       user_id item_id  score  rank
    0        3       b    1.0     1
    1        3       c    1.0     2
    """

    def __init__(self, positive_threshold=None):
        self.positive_threshold = positive_threshold

    def _fit_implicit(self, matrix):
        check_positive_threshold(self.positive_threshold)
        self.item_counts_ = np.asarray(matrix.sum(axis=0), dtype=np.float64).ravel()

    def _score_users(self, users):
        return np.broadcast_to(self.item_counts_, (users.shape[0], self.n_items_)).copy()

    def _score_pairs(self, users, items):
        return self.item_counts_[items]

    def _scores_with_fallback(self, users, items):
        # unknown users are no different: the same counts for everyone
        out = np.zeros(users.shape[0], dtype=np.float64)
        known = items >= 0
        out[known] = self.item_counts_[items[known]]
        return out

    def _user_rows(self, users):
        return self._score_users(users)
