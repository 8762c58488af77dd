"""Co-clustering collaborative filtering (George and Merugu 2005), as Surprise's
``CoClustering``, vectorised."""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

from .._base import BaseRecommender
from .._validation import check_positive_int

__all__ = ["CoClustering"]


class CoClustering(BaseRecommender):
    """Co-clustering: users and items are assigned to clusters, predictions combine the
    co-cluster's average with the user's and item's offsets from their clusters.

    .. math:: \\hat r_{ui} = \\overline{C_{ui}} + (\\mu_u - \\overline{C_u})
              + (\\mu_i - \\overline{C_i})

    Surprise's ``CoClustering``: clusters start at random (``random_state``), then each
    epoch recomputes the cluster averages, moves every user to the cluster minimising the
    squared error of its ratings, then (with the same averages and the new user clusters)
    every item likewise; the averages are recomputed once more at the end. An empty cluster
    has the global mean as average. Each epoch is a few whole-array operations over the
    ratings (an ``n_ratings x n_clusters`` error matrix summed per user or item).

    Given the same ``random_state`` (an int) and the same training order, the initial
    clusters are the ones Surprise draws. Differences from Surprise 1.1.5: ratings are used
    as floats (Surprise sums them as integers), and an unknown user or item gets the
    fall-back Surprise's documentation describes: the item's mean for an unknown user, the
    user's mean for an unknown item, the global mean when both are unknown (Surprise's code
    returns the global mean in all three cases).

    Parameters
    ----------
    n_cltr_u : int, default=3
        Number of user clusters.
    n_cltr_i : int, default=3
        Number of item clusters.
    n_epochs : int, default=20
        Number of passes of the optimisation loop.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial random assignment.
    verbose : bool, default=False
        Print the current epoch.

    Attributes
    ----------
    user_cluster_ : ndarray of shape (n_users_,)
        Cluster of each user index.
    item_cluster_ : ndarray of shape (n_items_,)
        Cluster of each item index.
    user_mean_, item_mean_ : ndarray
        Mean rating of each user and item.
    user_cluster_mean_ : ndarray of shape (n_cltr_u,)
        Average rating of each user cluster.
    item_cluster_mean_ : ndarray of shape (n_cltr_i,)
        Average rating of each item cluster.
    cocluster_mean_ : ndarray of shape (n_cltr_u, n_cltr_i)
        Average rating of each co-cluster.
    global_mean_ : float
        Mean training rating.
    n_users_, n_items_ : int
        Number of users and items seen in ``fit``.

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_grouprec.baselines.co_clustering import CoClustering
    >>> X = pd.DataFrame({"user_id": [1, 1, 2, 2, 3, 3], "item_id": [10, 11, 10, 11, 10, 12]})
    >>> est = CoClustering(n_cltr_u=2, n_cltr_i=2, random_state=0).fit(X, [5, 3, 4, 3, 1, 2])
    >>> est.predict(pd.DataFrame({"user_id": [1, 99, 1], "item_id": [12, 10, 99]})).round(2)
    array([2.58, 3.33, 4.  ])
    """

    def __init__(self, n_cltr_u=3, n_cltr_i=3, n_epochs=20, random_state=None, verbose=False):
        self.n_cltr_u = n_cltr_u
        self.n_cltr_i = n_cltr_i
        self.n_epochs = n_epochs
        self.random_state = random_state
        self.verbose = verbose

    def _fit_indexed(self, users, items, ratings, X):
        n_cu = check_positive_int(self.n_cltr_u, "n_cltr_u")
        n_ci = check_positive_int(self.n_cltr_i, "n_cltr_i")
        n_epochs = check_positive_int(self.n_epochs, "n_epochs", minimum=0)
        rng = check_random_state(self.random_state)
        cltr_u = rng.randint(n_cu, size=self.n_users_)
        cltr_i = rng.randint(n_ci, size=self.n_items_)
        self.user_mean_ = _mean_by(users, ratings, self.n_users_)
        self.item_mean_ = _mean_by(items, ratings, self.n_items_)
        mu_u = self.user_mean_[users][:, None]
        mu_i = self.item_mean_[items][:, None]
        r = ratings[:, None]
        for epoch in range(n_epochs):
            if self.verbose:
                print(f"Processing epoch {epoch}")
            avg_u, avg_i, avg_co = self._averages(users, items, ratings, cltr_u, cltr_i)
            # column c: each rating's estimate if its user (item) were in cluster c, summed
            # in Surprise's order so that ties between clusters resolve identically
            ic = cltr_i[items]
            est = avg_co[:, ic].T + mu_u - avg_u[None, :] + mu_i - avg_i[ic][:, None]
            cltr_u = _argmin_by(users, (r - est) ** 2, self.n_users_)
            uc = cltr_u[users]
            est = avg_co[uc, :] + mu_u - avg_u[uc][:, None] + mu_i - avg_i[None, :]
            cltr_i = _argmin_by(items, (r - est) ** 2, self.n_items_)
        avg_u, avg_i, avg_co = self._averages(users, items, ratings, cltr_u, cltr_i)
        self.user_cluster_, self.item_cluster_ = cltr_u, cltr_i
        self.user_cluster_mean_, self.item_cluster_mean_, self.cocluster_mean_ = avg_u, avg_i, avg_co

    def _averages(self, users, items, ratings, cltr_u, cltr_i):
        uc, ic = cltr_u[users], cltr_i[items]
        n_cu, n_ci = int(self.n_cltr_u), int(self.n_cltr_i)
        avg_u = _mean_by(uc, ratings, n_cu, empty=self.global_mean_)
        avg_i = _mean_by(ic, ratings, n_ci, empty=self.global_mean_)
        avg_co = _mean_by(uc * n_ci + ic, ratings, n_cu * n_ci, empty=self.global_mean_)
        return avg_u, avg_i, avg_co.reshape(n_cu, n_ci)

    def _predict_indexed(self, users, items):
        known_u, known_i = users >= 0, items >= 0
        u, i = np.maximum(users, 0), np.maximum(items, 0)
        uc, ic = self.user_cluster_[u], self.item_cluster_[i]
        both = (
            self.cocluster_mean_[uc, ic]
            + self.user_mean_[u] - self.user_cluster_mean_[uc]
            + self.item_mean_[i] - self.item_cluster_mean_[ic]
        )
        return np.where(
            known_u & known_i,
            both,
            np.where(known_u, self.user_mean_[u], np.where(known_i, self.item_mean_[i], self.global_mean_)),
        )


def _mean_by(groups, values, n_groups, empty=np.nan):
    count = np.bincount(groups, minlength=n_groups)
    total = np.bincount(groups, weights=values, minlength=n_groups)
    return np.divide(total, count, out=np.full(n_groups, float(empty)), where=count > 0)


def _argmin_by(groups, errors, n_groups):
    """Per group, the column with the least summed error (first on ties, as np.argmin)."""
    summed = np.stack(
        [np.bincount(groups, weights=errors[:, c], minlength=n_groups) for c in range(errors.shape[1])],
        axis=1,
    )
    return np.argmin(summed, axis=1)
