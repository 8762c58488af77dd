"""What every rating estimator of the package shares: id indexing, validation, fall-backs,
batched prediction and top-k recommendation.

A subclass implements two hooks on contiguous integer indices:

- ``_fit_indexed(user_idx, item_idx, ratings, X, **fit_params)``: learn from ratings of
  known ids (``fit_params``: what the subclass's ``fit`` passes to ``_fit``);
- ``_predict_indexed(user_idx, item_idx)``: estimates, where an index of ``-1`` marks a user
  or item unseen at fit time (the subclass chooses its documented fall-back).

Everything else (the data contract, clipping to the rating range, recommendation through the
one top-k routine of :mod:`sk_grouprec._topk`) lives here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from ._topk import top_k
from ._validation import (
    ITEM_COL,
    USER_COL,
    check_interactions,
    check_positive_int,
    check_ratings,
)

#: Rows predicted at once (``BaseRecommender._predict_batch_size``'s default).
PREDICT_BATCH_SIZE = 1 << 18


class IdIndex:
    """Maps raw ids (any hashable values) to contiguous integers ``0..n-1``.

    Ids keep the order in which they were first seen. Unknown ids map to ``-1``.

    Parameters
    ----------
    ids : array-like
        Raw ids, possibly repeated.

    Examples
    --------
    >>> from sk_grouprec._base import IdIndex
    >>> index = IdIndex(["b", "a", "b"])
    >>> index.transform(["a", "b", "zzz"])
    array([ 1,  0, -1])
    >>> len(index)
    2
    """

    def __init__(self, ids):
        self.ids = pd.Index(_unique(ids))

    def __len__(self):
        return len(self.ids)

    def transform(self, values):
        """Return the integer index of each value (``-1`` where unknown)."""
        return self.ids.get_indexer(pd.Index(values)).astype(np.int64, copy=False)

    def inverse_transform(self, indices):
        """Return the raw ids at ``indices``."""
        return self.ids.to_numpy()[np.asarray(indices)]


def _unique(values):
    """Distinct values in order of first appearance, as a numpy array."""
    return pd.Series(values).drop_duplicates().to_numpy()


class BaseRecommender(RegressorMixin, BaseEstimator):
    """Base class for rating estimators on the data contract.

    Subclasses store their parameters verbatim in ``__init__`` and implement
    ``_fit_indexed`` and ``_predict_indexed``. ``score`` is the coefficient of determination
    R² (scikit-learn's regressor convention); use ``sk_grouprec.metrics`` scorers (for
    example ``scoring="neg_root_mean_squared_error"`` or ``make_ranking_scorer``) for other
    criteria.
    """

    #: Subclasses that use side features, ``group_id`` or context set this to True.
    _uses_features = False
    #: Rows predicted at once, and scores held at once by ``recommend`` (tests lower it).
    _predict_batch_size = PREDICT_BATCH_SIZE

    def fit(self, X, y):
        """Fit the estimator on interactions ``X`` and their ratings ``y``.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_interactions, n_columns)
            Interactions in the data contract's form (``user_id``, ``item_id``, ...).
        y : array-like of shape (n_interactions,)
            Finite ratings.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y)

    def _fit(self, X, y, **fit_params):
        """Validate, index the ids and call ``_fit_indexed`` (``fit_params`` passed on)."""
        name = type(self).__name__
        is_array = not isinstance(X, pd.DataFrame)
        X = check_interactions(X, estimator_name=name)
        ratings = check_ratings(y, X.shape[0], estimator_name=name)
        self.n_features_in_ = X.shape[1]
        # an array X fixes the column count for predict (scikit-learn's convention); a
        # DataFrame may carry other columns at predict time
        self._array_columns = X.shape[1] if is_array else None
        self.user_index_ = IdIndex(X[USER_COL])
        self.item_index_ = IdIndex(X[ITEM_COL])
        users = self.user_index_.transform(X[USER_COL])
        items = self.item_index_.transform(X[ITEM_COL])
        self.n_users_ = len(self.user_index_)
        self.n_items_ = len(self.item_index_)
        self.global_mean_ = float(ratings.mean())
        self.rating_range_ = (float(ratings.min()), float(ratings.max()))
        self.rated_ = sp.csr_matrix(
            (np.ones(users.shape[0], dtype=bool), (users, items)),
            shape=(self.n_users_, self.n_items_),
        )
        self._fit_indexed(users, items, ratings, X, **fit_params)
        return self

    def predict(self, X):
        """Predict the rating of each interaction in ``X``.

        Unknown users or items never raise: each estimator documents its fall-back
        (biases of the known side, then the global mean).

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_interactions, n_columns)
            Interactions. A DataFrame needs ``user_id`` and ``item_id`` (and the feature
            columns the estimator uses) and may hold other columns; an array must have as
            many columns as the array given to ``fit`` (``n_features_in_``).

        Returns
        -------
        ratings : ndarray of shape (n_interactions,), dtype float64
            Estimates clipped to the rating range seen in ``fit``.
        """
        check_is_fitted(self, "user_index_")
        X = check_interactions(
            X,
            estimator_name=type(self).__name__,
            n_columns=getattr(self, "_array_columns", None),
        )
        users = self.user_index_.transform(X[USER_COL])
        items = self.item_index_.transform(X[ITEM_COL])
        return self._predict_batched(users, items, X)

    def _predict_batched(self, users, items, X=None):
        out = np.empty(users.shape[0], dtype=np.float64)
        size = self._predict_batch_size
        for start in range(0, users.shape[0], size):
            stop = start + size
            block = None if X is None or not self._uses_features else X.iloc[start:stop]
            out[start:stop] = self._predict_block(users[start:stop], items[start:stop], block)
        return np.clip(out, *self.rating_range_)

    def _predict_block(self, users, items, X_block):
        return self._predict_indexed(users, items)

    def recommend(self, user_ids, n_items=10, *, exclude_rated=True, items=None):
        """Recommend the top ``n_items`` items for each user.

        Parameters
        ----------
        user_ids : array-like
            Users to recommend for. Unknown users get the fall-back estimates.
        n_items : int, default=10
            Length of each list.
        exclude_rated : bool, default=True
            Leave out items the user rated in the training data.
        items : array-like, optional
            Candidate items (default: every item seen in ``fit``). Unknown candidates are
            scored by the fall-back.

        Returns
        -------
        recommendations : pandas.DataFrame
            Columns ``user_id``, ``item_id``, ``score`` and ``rank`` (1 = best), sorted by
            user then rank.
        """
        check_is_fitted(self, "user_index_")
        n_items = check_positive_int(n_items, "n_items")
        user_ids = _unique(user_ids)
        item_ids = self.item_index_.ids.to_numpy() if items is None else _unique(items)
        users = self.user_index_.transform(user_ids)
        cand = self.item_index_.transform(item_ids)
        rated = self.rated_[np.maximum(users, 0)] if exclude_rated else None

        def score_block(start, stop):
            u = users[start:stop]
            grid_u, grid_i = np.repeat(u, cand.shape[0]), np.tile(cand, u.shape[0])
            scores = np.clip(self._predict_indexed(grid_u, grid_i), *self.rating_range_)
            scores = scores.reshape(u.shape[0], cand.shape[0])
            if rated is not None:
                known = (u >= 0)[:, None] & (cand >= 0)[None, :]
                seen = rated[start:stop][:, np.maximum(cand, 0)].toarray() & known
                scores = np.where(seen, -np.inf, scores)
            return scores

        rows_per_block = max(1, self._predict_batch_size // max(1, cand.shape[0]))
        return top_k(
            user_ids,
            item_ids,
            min(n_items, cand.shape[0]),
            score_block,
            row_col=USER_COL,
            rows_per_block=rows_per_block,
        )

    # hooks -----------------------------------------------------------------------------
    def _fit_indexed(self, users, items, ratings, X):  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict_indexed(self, users, items):  # pragma: no cover - abstract
        raise NotImplementedError

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # ids may be strings; ratings are required; predictions from ids alone cannot fit
        # scikit-learn's synthetic regression data (each row a new user and item)
        tags.input_tags.string = True
        tags.target_tags.required = True
        tags.regressor_tags.poor_score = True
        return tags
