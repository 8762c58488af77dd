"""Group recommendation by aggregating the predictions of an individual estimator."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted

from ._base import PREDICT_BATCH_SIZE, _unique
from ._implicit import is_score_estimator
from ._topk import top_k
from ._validation import (
    GROUP_COL,
    ITEM_COL,
    USER_COL,
    check_choice,
    check_group_rows,
    check_interactions,
    check_positive_int,
    check_ratings,
)
from .grouping import check_membership

__all__ = ["GroupAggregator", "SCORE_STRATEGIES", "STRATEGIES"]

STRATEGIES = (
    "average",
    "least_misery",
    "most_pleasure",
    "multiplicative",
    "borda",
    "approval",
    "average_without_misery",
)
_NEEDS_THRESHOLD = ("approval", "average_without_misery")
#: The strategies that make sense on ranking scores (see the class docstring).
SCORE_STRATEGIES = ("average", "least_misery", "most_pleasure", "borda")
_ROW = "__grouprec_row__"


class GroupAggregator(RegressorMixin, BaseEstimator):
    """Turn an individual rating estimator into a group estimator by aggregating the
    members' predicted ratings.

    ``fit`` fits a clone of ``estimator`` on individual interactions and records the group
    membership. ``predict`` takes rows ``(group_id, item_id, ...)``, expands each row to one
    row per member (a single merge; context columns are passed on to the members' rows),
    predicts every member's rating in one call of the inner estimator, and aggregates them
    per row with array reductions. Strategies, for the member ratings :math:`r_1..r_n` of a
    row (on the training rating scale :math:`[lo, hi]`):

    ``average``
        :math:`\\frac{1}{n} \\sum r_m`.
    ``least_misery``
        :math:`\\min r_m`.
    ``most_pleasure``
        :math:`\\max r_m`.
    ``multiplicative``
        The product :math:`\\prod r_m`, reported as its ``n``-th root (the geometric mean),
        which orders a group's items exactly as the product and stays on the rating scale.
        Needs positive ratings (checked in ``fit``).
    ``borda``
        Each member ranks the candidate items and gives each item as many points as there
        are candidates he or she rates strictly lower (ties share the average points). The
        **candidate set is the rows of the same group in the query** ``X``: the score of a
        row depends on the other rows of its group, so predict a group's candidates in one
        call. A member's points are divided by ``n_candidates - 1`` (1/2 for a single
        candidate), averaged over members, and mapped to ``lo + (hi - lo) * points``.
    ``approval``
        The fraction of members whose rating is at least ``threshold``, mapped to
        ``lo + (hi - lo) * fraction`` (row by row, no candidate set needed).
    ``average_without_misery``
        The average when every member's rating is at least ``threshold``; otherwise the
        item is vetoed and gets the lowest member rating, which is below ``threshold`` and
        so below every non-vetoed item of the group.

    **Score estimators** (implicit feedback). With an inner estimator that predicts
    ranking scores (the top-N baselines such as :class:`~sk_grouprec.baselines.BPRMF`,
    fitted with ``y=None``), each member's scores are first **standardised per member**:
    ``(s - m_u) / sd_u``, where ``m_u`` and ``sd_u`` are the mean and standard deviation of
    member ``u``'s scores over the whole training catalogue (``items_``), computed once in
    ``fit`` (``sd_u = 1`` when a member's scores are constant). Raw scores are only
    comparable within one user: a BPR user with larger factors has scores spread wider,
    and would otherwise dominate an average or decide a least-misery minimum alone. The
    catalogue (rather than the query's candidates) is the reference so that a row's group
    score does not depend on the other rows of the query. Then ``average``,
    ``least_misery`` and ``most_pleasure`` apply to the standardised scores, and
    ``borda`` to each member's ranks (points in ``[0, 1]``, invariant to the
    standardisation). ``multiplicative``, ``approval`` and ``average_without_misery`` need
    ratings on a fixed scale (positive values, a rating threshold) and are refused in
    ``fit``. Group scores are not clipped (there is no rating scale); unknown groups get
    ``0.0``, the average standardised score.

    Parameters
    ----------
    estimator : estimator object
        An individual rating estimator on the data contract (for example
        :class:`~sk_grouprec.baselines.bias.BaselineOnly` or a k-NN model). It is cloned in
        ``fit``; its parameters are reachable as ``estimator__<name>`` (``GridSearchCV``).
    strategy : str, default="average"
        One of ``"average"``, ``"least_misery"``, ``"most_pleasure"``,
        ``"multiplicative"``, ``"borda"``, ``"approval"``, ``"average_without_misery"``.
    threshold : float, default=None
        The approval / misery rating, required by ``"approval"`` and
        ``"average_without_misery"`` (for example 3 on a 1-5 scale); ignored otherwise.

    Attributes
    ----------
    estimator_ : estimator object
        The fitted clone of ``estimator``.
    members_ : pandas.DataFrame
        The membership used, columns ``group_id`` and ``user_id``, duplicates dropped.
    n_groups_ : int
        Number of groups in ``members_``.
    global_mean_ : float
        Mean training rating: the prediction for a group absent from ``members_`` (``0.0``
        with a score estimator).
    rating_range_ : tuple of float or None
        Lowest and highest training rating (the scale of ``predict``); ``None`` with a
        score estimator.
    member_score_mean_, member_score_std_ : pandas.Series or None
        With a score estimator, each member's mean and standard deviation of scores over
        ``items_`` (indexed by ``user_id``); ``None`` otherwise.
    items_ : ndarray
        The items seen in ``fit`` (default candidates of :meth:`recommend`).

    Notes
    -----
    Membership comes from ``fit``'s ``groups`` argument (a table with ``group_id`` and
    ``user_id`` such as ITM-Rec's ``groups``) or, when it is omitted, from the
    ``group_id`` and ``user_id`` columns of ``X`` itself: groups formed by a grouper such as
    :class:`~sk_grouprec.grouping.KMeansGrouper` in front of this estimator in a
    ``Pipeline``. A ``user_id`` column in the rows given to ``predict`` is ignored (every
    member of the row's group is used), so such a pipeline predicts, for each row, the
    rating of its user's group.

    Unknown groups do not raise: their rows get ``global_mean_``. Members unseen in ``fit``
    get the inner estimator's own fall-back for unknown users.

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_grouprec.aggregation import GroupAggregator
    >>> from sk_grouprec.baselines.bias import BaselineOnly
    >>> X = pd.DataFrame({"user_id": [1, 1, 2, 2, 3, 3], "item_id": [10, 11, 10, 12, 11, 12]})
    >>> members = pd.DataFrame({"group_id": ["g", "g", "h", "h"], "user_id": [1, 2, 2, 3]})
    >>> agg = GroupAggregator(BaselineOnly(reg_u=1, reg_i=1), strategy="least_misery")
    >>> agg = agg.fit(X, [5, 3, 2, 4, 1, 3], groups=members)
    >>> agg.predict(pd.DataFrame({"group_id": ["g", "g", "g", "zz"], "item_id": [10, 11, 12, 10]})).round(2)
    array([2.88, 2.  , 3.37, 3.  ])
    >>> agg.recommend(["g", "h"], n_items=1, exclude_rated=False)
      group_id  item_id  score  rank
    0        g       12  3.375     1
    1        h       12  3.000     1
    """

    def __init__(self, estimator, strategy="average", threshold=None):
        self.estimator = estimator
        self.strategy = strategy
        self.threshold = threshold

    # fit ---------------------------------------------------------------------------------
    def fit(self, X, y=None, groups=None):
        """Fit the inner estimator on individual ratings (or implicit feedback) and record
        group membership.

        Parameters
        ----------
        X : pandas.DataFrame
            Individual interactions (``user_id``, ``item_id``, optional features; and
            ``group_id`` when ``groups`` is omitted).
        y : array-like of shape (n_interactions,) or None
            Individual ratings. ``None`` (implicit feedback: every row is a positive) needs
            an inner score estimator, such as the top-N baselines.
        groups : pandas.DataFrame, optional
            Membership table with columns ``group_id`` and ``user_id`` (one row per
            membership; exact duplicates are dropped). Default: the distinct
            ``(group_id, user_id)`` pairs of ``X``.

        Returns
        -------
        self : GroupAggregator
        """
        check_choice(self.strategy, "strategy", STRATEGIES)
        X = check_interactions(X, require_group=groups is None, estimator_name="GroupAggregator")
        if is_score_estimator(self.estimator):
            return self._fit_scores(X, y, groups)
        if y is None:
            raise ValueError(
                f"GroupAggregator: y=None (implicit feedback) needs an inner estimator that "
                f"predicts ranking scores (MostPopular, ItemKNN, BPRMF, ALS, EASE); "
                f"{type(self.estimator).__name__} predicts ratings and needs y."
            )
        ratings = check_ratings(y, X.shape[0], estimator_name="GroupAggregator")
        if self.strategy in _NEEDS_THRESHOLD:
            if (
                isinstance(self.threshold, bool)
                or not isinstance(self.threshold, numbers.Real)
                or not np.isfinite(self.threshold)
            ):
                raise ValueError(
                    f"strategy={self.strategy!r} needs a numeric threshold (the rating a member "
                    f"must reach, e.g. 3 on a 1-5 scale); got threshold={self.threshold!r}."
                )
        if self.strategy == "multiplicative" and ratings.min() <= 0:
            raise ValueError(
                "strategy='multiplicative' needs positive ratings; the lowest training rating "
                f"is {ratings.min()}."
            )
        self._record_membership(X, groups)
        self.estimator_ = clone(self.estimator).fit(X, ratings)
        self.global_mean_ = float(ratings.mean())
        self.rating_range_ = (float(ratings.min()), float(ratings.max()))
        self.member_score_mean_ = self.member_score_std_ = None
        return self

    def _record_membership(self, X, groups):
        members = check_membership(
            X[[GROUP_COL, USER_COL]] if groups is None else groups,
            estimator_name="GroupAggregator",
        )
        self.members_ = members[[GROUP_COL, USER_COL]].drop_duplicates().reset_index(drop=True)
        self.n_groups_ = int(self.members_[GROUP_COL].nunique())
        self.items_ = pd.unique(X[ITEM_COL].to_numpy())
        self._rated = X[[USER_COL, ITEM_COL]].drop_duplicates().reset_index(drop=True)

    def _fit_scores(self, X, y, groups):
        """Fit over a score estimator: strategies on scores, per-member standardisation."""
        if self.strategy not in SCORE_STRATEGIES:
            raise ValueError(
                f"strategy={self.strategy!r} needs ratings on a fixed scale, but "
                f"{type(self.estimator).__name__} predicts ranking scores (comparable within "
                f"one user only); use one of {list(SCORE_STRATEGIES)}."
            )
        self._record_membership(X, groups)
        self.estimator_ = clone(self.estimator).fit(X, y)
        self.global_mean_ = 0.0
        self.rating_range_ = None
        users = _unique(self.members_[USER_COL])
        mean, std = _member_score_moments(self.estimator_, users, self.items_)
        self.member_score_mean_ = pd.Series(mean, index=pd.Index(users, name=USER_COL))
        self.member_score_std_ = pd.Series(std, index=pd.Index(users, name=USER_COL))
        return self

    # predict -----------------------------------------------------------------------------
    def predict(self, X):
        """Predict the group rating of each ``(group_id, item_id)`` row.

        Parameters
        ----------
        X : pandas.DataFrame
            Rows with ``group_id`` and ``item_id`` and any context columns the inner
            estimator uses (copied to each member's row). For ``"borda"`` the rows of a
            group form its candidate set.

        Returns
        -------
        ratings : ndarray of shape (n_rows,)
            Aggregated ratings on the training rating scale (``global_mean_`` for unknown
            groups); with a score estimator, aggregated standardised scores (not clipped).
        """
        check_is_fitted(self, "estimator_")
        X = check_group_rows(X)
        n_rows = X.shape[0]
        rows = X.drop(columns=[USER_COL], errors="ignore").reset_index(drop=True)
        rows[_ROW] = np.arange(n_rows)
        expanded = rows.merge(self.members_, on=GROUP_COL, how="inner", sort=False)
        expanded = expanded.sort_values(_ROW, kind="stable", ignore_index=True)
        out = np.full(n_rows, self.global_mean_)
        if expanded.shape[0] == 0:
            return out
        row = expanded[_ROW].to_numpy()
        member_pred = np.asarray(
            self.estimator_.predict(expanded.drop(columns=[_ROW])), dtype=np.float64
        )
        if not np.isfinite(member_pred).all():
            raise ValueError(
                f"the inner estimator {type(self.estimator_).__name__} predicted "
                f"{int((~np.isfinite(member_pred)).sum())} NaN or infinite member rating(s); "
                "refit it with other parameters (for example smaller learning rates)."
            )
        if self.rating_range_ is None:  # score estimator: standardise per member
            member = self.member_score_mean_.index.get_indexer(expanded[USER_COL])
            member_pred = (member_pred - self.member_score_mean_.to_numpy()[member]) / (
                self.member_score_std_.to_numpy()[member]
            )
        if self.strategy == "borda":
            member_pred = self._borda_points(expanded, member_pred)
        present, starts = np.unique(row, return_index=True)
        out[present] = self._reduce(member_pred, starts)
        if self.rating_range_ is None:
            return out
        return np.clip(out, *self.rating_range_)

    def _reduce(self, pred, starts):
        """Aggregate ``pred`` over the runs of members beginning at ``starts``."""
        count = np.diff(np.append(starts, pred.shape[0]))
        lo, hi = (0.0, 1.0) if self.rating_range_ is None else self.rating_range_
        strategy = self.strategy
        if strategy in ("average", "borda"):
            value = np.add.reduceat(pred, starts) / count
            return lo + (hi - lo) * value if strategy == "borda" else value
        if strategy == "least_misery":
            return np.minimum.reduceat(pred, starts)
        if strategy == "most_pleasure":
            return np.maximum.reduceat(pred, starts)
        if strategy == "multiplicative":
            return np.exp(np.add.reduceat(np.log(pred), starts) / count)
        approve = (pred >= self.threshold).astype(np.float64)
        if strategy == "approval":
            return lo + (hi - lo) * np.add.reduceat(approve, starts) / count
        # average_without_misery
        average = np.add.reduceat(pred, starts) / count
        lowest = np.minimum.reduceat(pred, starts)
        return np.where(lowest >= self.threshold, average, lowest)

    @staticmethod
    def _borda_points(expanded, pred):
        """Each member's normalised Borda points over the candidate rows of the group."""
        keys = [expanded[GROUP_COL], expanded[USER_COL]]
        by_member = pd.Series(pred).groupby(keys, sort=False, observed=True)
        points = by_member.rank(method="average").to_numpy() - 1.0
        n_candidates = by_member.transform("size").to_numpy()
        return np.divide(points, n_candidates - 1, out=np.full_like(points, 0.5), where=n_candidates > 1)

    # recommend ---------------------------------------------------------------------------
    def recommend(self, group_ids, n_items=10, *, exclude_rated=True, items=None):
        """Recommend the top ``n_items`` items for each group.

        Every candidate is scored by :meth:`predict` with the group's candidates as the
        query (so ``"borda"`` ranks among them).

        Parameters
        ----------
        group_ids : array-like
            Groups to recommend for. An unknown group gets ``global_mean_`` for every item
            (its list is then the first candidates).
        n_items : int, default=10
            Length of each list.
        exclude_rated : bool, default=True
            Leave out the items any member of the group rated in ``fit`` (they are not
            candidates at all).
        items : array-like, optional
            Candidate items; default: every item seen in ``fit``.

        Returns
        -------
        recommendations : pandas.DataFrame
            Columns ``group_id``, ``item_id``, ``score`` and ``rank`` (1 = best), sorted by
            group (in the order given) then rank.
        """
        check_is_fitted(self, "estimator_")
        n_items = check_positive_int(n_items, "n_items")
        group_ids = _unique(group_ids)
        candidates = self.items_ if items is None else _unique(items)
        n_cand = candidates.shape[0]
        largest = int(self.members_.groupby(GROUP_COL).size().max())
        seen = None
        if exclude_rated:
            seen = self.members_.merge(self._rated, on=USER_COL)[[GROUP_COL, ITEM_COL]]
            seen = seen.drop_duplicates().assign(_seen=True)

        def score_block(start, stop):
            chunk = group_ids[start:stop]
            grid = pd.DataFrame(
                {
                    GROUP_COL: np.repeat(chunk, n_cand),
                    ITEM_COL: np.tile(candidates, chunk.shape[0]),
                    "_cell": np.arange(chunk.shape[0] * n_cand),
                }
            )
            if seen is not None:  # rated items are not candidates at all (Borda ranks the rest)
                grid = grid.merge(seen, on=[GROUP_COL, ITEM_COL], how="left", sort=False)
                grid = grid[grid["_seen"].isna()].drop(columns="_seen")
            scores = np.full(chunk.shape[0] * n_cand, -np.inf)
            if grid.shape[0]:
                scores[grid["_cell"].to_numpy()] = self.predict(grid.drop(columns="_cell"))
            return scores.reshape(chunk.shape[0], n_cand)

        rows_per_block = max(1, PREDICT_BATCH_SIZE // max(1, n_cand * largest))
        return top_k(
            group_ids,
            candidates,
            min(n_items, n_cand),
            score_block,
            row_col=GROUP_COL,
            rows_per_block=rows_per_block,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # ids may be strings; group ratings from ids alone cannot fit scikit-learn's
        # synthetic regression data
        tags.input_tags.string = True
        tags.regressor_tags.poor_score = True
        return tags


def _member_score_moments(estimator, users, items):
    """Mean and standard deviation of each user's scores over ``items`` (chunks of users,
    each a users x items grid of at most about ``PREDICT_BATCH_SIZE`` pairs)."""
    mean = np.empty(users.shape[0])
    std = np.empty(users.shape[0])
    per_chunk = max(1, PREDICT_BATCH_SIZE // max(1, items.shape[0]))
    for start in range(0, users.shape[0], per_chunk):
        chunk = users[start : start + per_chunk]
        grid = pd.DataFrame(
            {USER_COL: np.repeat(chunk, items.shape[0]), ITEM_COL: np.tile(items, chunk.shape[0])}
        )
        scores = np.asarray(estimator.predict(grid), dtype=np.float64)
        scores = scores.reshape(chunk.shape[0], items.shape[0])
        mean[start : start + chunk.shape[0]] = scores.mean(axis=1)
        std[start : start + chunk.shape[0]] = scores.std(axis=1)
    std[~(std > 0)] = 1.0
    return mean, std
