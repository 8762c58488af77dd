"""Implicit feedback: which training rows are positives, and the base class of the
estimators that rank items by a score instead of predicting a rating.

The data contract extends without breaking (see ``docs/user_guide/baselines.rst``):

- ``y=None``: every row of ``X`` is a positive (a visit, a click, a purchase);
- ``y`` given with ``positive_threshold=None``: every row is a positive too (``y`` is still
  validated: it must be finite and as long as ``X``);
- ``y`` given with a ``positive_threshold``: the rows rated at or above it are positives,
  the others are ignored.

A ``(user_id, item_id)`` pair listed several times counts once: the models here read a
binary user x item matrix.

:class:`BaseScoreRecommender` is what the top-N baselines share. Its ``predict`` returns
scores (higher is better, comparable within one user, not ratings and never clipped), its
``recommend`` leaves out the user's training positives, and its ``score`` is a top-N
metric (hit rate at 10 over the whole catalogue), not R².
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils.validation import check_is_fitted

from ._base import BaseRecommender, IdIndex, _unique
from ._topk import top_k
from ._validation import ITEM_COL, USER_COL, check_interactions, check_positive_int, check_ratings

__all__ = [
    "BaseScoreRecommender",
    "check_positive_threshold",
    "is_score_estimator",
    "positive_interactions",
]


def check_positive_threshold(value):
    """Raise a clear error unless ``value`` is None or a finite real number."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(
            f"positive_threshold must be None (every row is a positive) or a finite number "
            f"(rows rated at or above it are positives); got {value!r}."
        )
    return float(value)


def positive_interactions(X, y=None, positive_threshold=None, *, estimator_name=None):
    """The distinct positive ``(user_id, item_id)`` pairs of ``X``.

    Parameters
    ----------
    X : pandas.DataFrame or array-like of shape (n_interactions, n_columns)
        Interactions in the data contract's form (validated here).
    y : array-like of shape (n_interactions,), default=None
        Ratings. ``None``: every row of ``X`` is a positive.
    positive_threshold : float, default=None
        With ratings, the rows rated at or above it are positives; ``None`` keeps every row.
        Needs ``y``.
    estimator_name : str, optional
        Named in error messages.

    Returns
    -------
    positives : pandas.DataFrame
        Columns ``user_id`` and ``item_id``, one row per distinct positive pair (a pair
        listed twice counts once), in order of first appearance, with a fresh index.

    Raises
    ------
    ValueError
        When ``X`` or ``y`` break the data contract, when ``positive_threshold`` is given
        without ``y``, or when no row is a positive.

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_grouprec._implicit import positive_interactions
    >>> X = pd.DataFrame({"user_id": [1, 1, 2, 1], "item_id": [10, 11, 10, 10]})
    >>> positive_interactions(X)
       user_id  item_id
    0        1       10
    1        1       11
    2        2       10
    >>> positive_interactions(X, [5, 2, 4, 1], positive_threshold=4)
       user_id  item_id
    0        1       10
    1        2       10
    """
    where = f"{estimator_name}: " if estimator_name else ""
    threshold = check_positive_threshold(positive_threshold)
    X = check_interactions(X, estimator_name=estimator_name)
    pairs = X[[USER_COL, ITEM_COL]]
    if y is None:
        if threshold is not None:
            raise ValueError(
                f"{where}positive_threshold={positive_threshold!r} needs ratings y; with "
                "y=None every row of X is a positive."
            )
    else:
        ratings = check_ratings(y, X.shape[0], estimator_name=estimator_name)
        if threshold is not None:
            keep = ratings >= threshold
            if not keep.any():
                raise ValueError(
                    f"{where}no interaction is a positive: every rating is below "
                    f"positive_threshold={threshold:g} (the highest rating is "
                    f"{ratings.max():g}). Lower the threshold or pass y=None."
                )
            pairs = pairs[keep]
    return pairs.drop_duplicates().reset_index(drop=True)


def is_score_estimator(estimator):
    """Whether ``estimator`` predicts ranking scores rather than ratings.

    True for :class:`BaseScoreRecommender` subclasses and for any estimator whose
    ``_predicts_scores`` attribute (or property) is true.
    """
    return bool(getattr(estimator, "_predicts_scores", False))


def _below_all(rows):
    """Per row of catalogue scores, the score of an item unseen at fit time: the row's
    lowest score minus one, so the item ranks last."""
    return rows.min(axis=1) - 1.0


class BaseScoreRecommender(BaseRecommender):
    """Base class of the top-N estimators trained on implicit feedback.

    ``fit(X, y=None)`` reads the positives of ``X`` (:func:`positive_interactions`) into
    a binary user x item matrix (``interactions_``) and hands it to the subclass's
    ``_fit_implicit``. Users and items with no positive are unknown to the model.

    ``predict`` returns one score per row: higher is better, comparable among the items
    of one user (not across users), not a rating and never clipped. Fall-backs, the same
    for every subclass:

    - an unknown user gets each item's popularity (``item_popularity_``: the fraction of
      training users with the item as a positive), so an unknown user is recommended the
      most popular items;
    - a known user and an unknown item get the user's lowest score over the catalogue minus
      one, so the item ranks below every item seen at fit time. Scores of factor models have
      no fixed origin; a fixed value such as 0 would land at a seed-dependent place among
      them.

    ``recommend`` ranks by these scores and leaves out the user's training positives;
    ``score`` is the full-catalogue hit rate at 10 (see :meth:`score`).

    Subclasses implement ``_fit_implicit(matrix)`` (``matrix``: CSR users x items, float32,
    ones at the positives), ``_score_users(users)`` (dense scores of known users over
    every training item) and may override ``_score_pairs(users, items)`` (scores of known
    pairs; the default slices ``_score_users``). A subclass that fits otherwise (a blend
    of fitted components) calls ``_index_positives`` from its own ``fit``.
    """

    _predicts_scores = True

    def fit(self, X, y=None):
        """Fit the estimator on implicit feedback (or ratings with a threshold).

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_interactions, n_columns)
            Interactions in the data contract's form (``user_id``, ``item_id``, ...).
        y : array-like of shape (n_interactions,), default=None
            Ratings. ``None``: every row of ``X`` is a positive. With ratings, the rows at
            or above ``positive_threshold`` are positives (every row when it is ``None``).
            A pair listed several times counts once.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._index_positives(X, y)
        self._fit_implicit(self.interactions_)
        return self

    def _index_positives(self, X, y):
        """Validate ``X`` and ``y``, index the positives (``interactions_``, ``rated_``,
        ``item_popularity_``, the id indices) and return them as :func:`positive_interactions`
        does."""
        name = type(self).__name__
        is_array = not isinstance(X, pd.DataFrame)
        X = check_interactions(X, estimator_name=name)
        positives = positive_interactions(
            X, y, getattr(self, "positive_threshold", None), estimator_name=name
        )
        self.n_features_in_ = X.shape[1]
        self._array_columns = X.shape[1] if is_array else None
        self.user_index_ = IdIndex(positives[USER_COL])
        self.item_index_ = IdIndex(positives[ITEM_COL])
        self.n_users_ = len(self.user_index_)
        self.n_items_ = len(self.item_index_)
        users = self.user_index_.transform(positives[USER_COL])
        items = self.item_index_.transform(positives[ITEM_COL])
        self.interactions_ = sp.csr_matrix(
            (np.ones(users.shape[0], dtype=np.float32), (users, items)),
            shape=(self.n_users_, self.n_items_),
        )
        self.rated_ = self.interactions_.astype(bool)
        counts = np.asarray(self.interactions_.sum(axis=0), dtype=np.float64).ravel()
        self.item_popularity_ = counts / self.n_users_
        return positives

    # scores ------------------------------------------------------------------------------
    def predict(self, X):
        """Score each ``(user_id, item_id)`` row of ``X``: higher is better.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_interactions, n_columns)
            Interactions. A DataFrame needs ``user_id`` and ``item_id`` and may hold other
            columns; an array must have as many columns as the array given to ``fit``.

        Returns
        -------
        scores : ndarray of shape (n_interactions,), dtype float64
            Scores, comparable among the items of one user; unknown users get the items'
            popularity, an unknown item of a known user ranks below all known items.
        """
        check_is_fitted(self, "user_index_")
        X = check_interactions(
            X, estimator_name=type(self).__name__, n_columns=getattr(self, "_array_columns", None)
        )
        users = self.user_index_.transform(X[USER_COL])
        items = self.item_index_.transform(X[ITEM_COL])
        out = np.empty(users.shape[0], dtype=np.float64)
        for start in range(0, users.shape[0], self._predict_batch_size):
            stop = start + self._predict_batch_size
            out[start:stop] = self._scores_with_fallback(users[start:stop], items[start:stop])
        return out

    def _scores_with_fallback(self, users, items):
        out = np.zeros(users.shape[0], dtype=np.float64)
        known_user = users >= 0
        cold = ~known_user & (items >= 0)
        out[cold] = self.item_popularity_[items[cold]]
        both = known_user & (items >= 0)
        if both.any():
            out[both] = self._score_pairs(users[both], items[both])
        unseen = known_user & (items < 0)
        if unseen.any():
            out[unseen] = self._unseen_item_scores(users[unseen])
        return out

    def _unseen_item_scores(self, users):
        """Score of an item unseen at fit time for each of the known ``users``: the user's
        lowest score over the catalogue minus one (the item ranks last)."""
        distinct, inverse = np.unique(users, return_inverse=True)
        floor = np.empty(distinct.shape[0], dtype=np.float64)
        per_chunk = max(1, self._predict_batch_size // max(1, self.n_items_))
        for start in range(0, distinct.shape[0], per_chunk):
            floor[start : start + per_chunk] = _below_all(
                self._score_users(distinct[start : start + per_chunk]))
        return floor[inverse]

    def _score_pairs(self, users, items):
        """Scores of known pairs; the default computes each distinct user's row."""
        distinct, inverse = np.unique(users, return_inverse=True)
        out = np.empty(users.shape[0], dtype=np.float64)
        per_chunk = max(1, self._predict_batch_size // max(1, self.n_items_))
        for start in range(0, distinct.shape[0], per_chunk):
            rows = self._score_users(distinct[start : start + per_chunk])
            sel = (inverse >= start) & (inverse < start + per_chunk)
            out[sel] = rows[inverse[sel] - start, items[sel]]
        return out

    def _user_rows(self, users):
        """Dense scores of ``users`` (indices, ``-1`` = unknown) over every training item."""
        out = np.empty((users.shape[0], self.n_items_), dtype=np.float64)
        known = users >= 0
        out[~known] = self.item_popularity_
        if known.any():
            out[known] = self._score_users(users[known])
        return out

    # recommend -----------------------------------------------------------------------------
    def recommend(self, user_ids, n_items=10, *, exclude_rated=True, items=None):
        """Recommend the ``n_items`` highest-scored items for each user.

        Parameters
        ----------
        user_ids : array-like
            Users to recommend for. Unknown users get the most popular items.
        n_items : int, default=10
            Length of each list (shorter when fewer candidates remain).
        exclude_rated : bool, default=True
            Leave out the user's training positives.
        items : array-like, optional
            Candidate items (default: every item with a training positive). Unknown
            candidates rank last (popularity ``0.0`` for unknown users).

        Returns
        -------
        recommendations : pandas.DataFrame
            Columns ``user_id``, ``item_id``, ``score`` and ``rank`` (1 = best), sorted by
            user (in the order given) then rank.
        """
        check_is_fitted(self, "user_index_")
        n_items = check_positive_int(n_items, "n_items")
        user_ids = _unique(user_ids)
        item_ids = self.item_index_.ids.to_numpy() if items is None else _unique(items)
        users = self.user_index_.transform(user_ids)
        cand = self.item_index_.transform(item_ids)
        known_cand = cand >= 0

        def score_block(start, stop):
            u = users[start:stop]
            scores = np.zeros((u.shape[0], cand.shape[0]))
            rows = self._user_rows(u)
            scores[:, known_cand] = rows[:, cand[known_cand]]
            # an unknown candidate ranks last for a known user (as in predict)
            scores[np.ix_(u >= 0, ~known_cand)] = _below_all(rows[u >= 0])[:, None]
            if exclude_rated and (u >= 0).any():
                rated = self.rated_[np.maximum(u, 0)][:, np.maximum(cand, 0)].toarray()
                rated &= (u >= 0)[:, None] & known_cand[None, :]
                scores[rated] = -np.inf
            return scores

        rows_per_block = max(1, self._predict_batch_size // max(1, self.n_items_, cand.shape[0]))
        return top_k(
            user_ids,
            item_ids,
            min(n_items, cand.shape[0]),
            score_block,
            row_col=USER_COL,
            rows_per_block=rows_per_block,
        )

    # score ---------------------------------------------------------------------------------
    def score(self, X, y=None, sample_weight=None):
        """Full-catalogue hit rate at 10 of the positives of ``X`` (higher is better).

        Each positive row of ``X`` (every row when ``y`` is ``None``; with ratings, the
        rows at or above ``positive_threshold``) is a held-out item of its user: a hit when
        it is among the user's 10 recommendations over every training item, training
        positives left out. The hit rate is the mean over distinct positive pairs.
        R² would be meaningless here, since the model predicts scores, not ratings.

        Parameters
        ----------
        X : pandas.DataFrame or array-like
            Held-out interactions.
        y : array-like, default=None
            Their ratings, or ``None``.
        sample_weight : None
            Not supported (must be ``None``).

        Returns
        -------
        hit_rate : float
            In ``[0, 1]``.
        """
        if sample_weight is not None:
            raise ValueError(f"{type(self).__name__}.score does not support sample_weight.")
        check_is_fitted(self, "user_index_")
        # an array keeps the columns it had in fit (a DataFrame may carry others)
        X = check_interactions(
            X, estimator_name=type(self).__name__, n_columns=getattr(self, "_array_columns", None)
        )
        held_out = positive_interactions(
            X, y, getattr(self, "positive_threshold", None), estimator_name=type(self).__name__
        )
        recs = self.recommend(held_out[USER_COL].to_numpy(), n_items=10)
        hits = held_out.merge(
            recs[[USER_COL, ITEM_COL]], on=[USER_COL, ITEM_COL], how="left", indicator=True
        )
        return float((hits["_merge"] == "both").mean())

    # hooks ---------------------------------------------------------------------------------
    def _fit_indexed(self, users, items, ratings, X):  # pragma: no cover - not used
        raise NotImplementedError("score recommenders fit through _fit_implicit")

    def _predict_indexed(self, users, items):
        return self._scores_with_fallback(users, items)

    def _fit_implicit(self, matrix):  # pragma: no cover - abstract
        raise NotImplementedError

    def _score_users(self, users):  # pragma: no cover - abstract
        raise NotImplementedError

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # implicit feedback needs no target: y=None means every row is a positive
        tags.target_tags.required = False
        return tags
