"""Rating, ranking and group-profiling metrics, and scorers for model selection.

Every ranking metric is computed per user over that user's rows of a test set (the
user's test items are the candidates; nothing is ranked outside the test set), then
averaged over users. Each function's docstring gives its exact definition, so a number
reported with its function name has one meaning.

Top-N metrics of implicit feedback rank unseen items instead: the sampled-negative protocol
of the group-recommendation literature (:func:`sampled_ranking_metrics`,
:func:`evaluate_sampled`: HR@K, NDCG@K, ties counted against the test item by default) and
the full-catalogue one (:func:`full_catalogue_metrics`, :func:`evaluate_full_catalogue`:
Recall@K, NDCG@K), with the scorer :func:`make_topn_scorer`.

The scorers (:func:`make_ranking_scorer`, :data:`SCORERS`, :func:`get_scorer`) have the
signature ``scorer(estimator, X, y)`` expected by ``GridSearchCV(scoring=...)`` and
``cross_validate(scoring=...)``: ranking metrics need user ids, which they read from
``X``. They are instances of top-level classes, so they pickle and work with
``n_jobs > 1``.
"""

from __future__ import annotations

import copy
import numbers
import re
import warnings
from collections import namedtuple

import numpy as np
import pandas as pd
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import get_scorer as _sklearn_get_scorer
from sklearn.metrics import precision_recall_fscore_support
from sklearn.pipeline import Pipeline

from ._ranking_metrics import (
    TopNScorer,
    evaluate_full_catalogue,
    evaluate_sampled,
    full_catalogue_metrics,
    make_topn_scorer,
    sample_negatives,
    sampled_ranking_metrics,
)
from ._validation import GROUP_COL, USER_COL, check_choice, check_interactions, check_positive_int

__all__ = [
    "rmse",
    "mae",
    "precision_recall_at_k",
    "hit_precision_recall_at_k",
    "ndcg_at_k",
    "profiling_scores",
    "ProfilingScores",
    "RankingScorer",
    "ErrorScorer",
    "ProfilingScorer",
    "make_ranking_scorer",
    "get_scorer",
    "SCORERS",
    "precision_at_10",
    "recall_at_10",
    "ndcg_at_10",
    "hit_precision_at_10",
    "hit_recall_at_10",
    "neg_rmse",
    "neg_mae",
    "profiling_f1",
    "sampled_ranking_metrics",
    "evaluate_sampled",
    "full_catalogue_metrics",
    "evaluate_full_catalogue",
    "sample_negatives",
    "TopNScorer",
    "make_topn_scorer",
    "hr_at_10",
    "ndcg_at_10_sampled",
    "recall_at_10_full",
    "ndcg_at_10_full",
]


# --------------------------------------------------------------------------------------
# input checks


def _check_values(values, name):
    """A 1-D float64 array of finite numbers."""
    array = values.to_numpy() if isinstance(values, (pd.Series, pd.DataFrame)) else np.asarray(values)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D; got shape {array.shape}.")
    if array.dtype.kind not in "biuf":
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} must hold numbers; got dtype {array.dtype} ({exc}).") from exc
    array = array.astype(np.float64, copy=False)
    bad = ~np.isfinite(array)
    if bad.any():
        raise ValueError(
            f"{name} has {int(bad.sum())} NaN or infinite value(s) (first at position "
            f"{int(np.flatnonzero(bad)[0])}); values must be finite."
        )
    return array


def _check_pair(y_true, y_pred):
    y_true = _check_values(y_true, "y_true")
    y_pred = _check_values(y_pred, "y_pred")
    if y_true.shape[0] != y_pred.shape[0]:
        raise ValueError(
            f"y_true and y_pred have different lengths: {y_true.shape[0]} and {y_pred.shape[0]}."
        )
    if y_true.shape[0] == 0:
        raise ValueError("y_true and y_pred are empty; at least one rating is required.")
    return y_true, y_pred


def _check_threshold(threshold):
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not np.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number; got {threshold!r}.")
    return float(threshold)


class _UserRanking:
    """Each user's test rows sorted by estimate, best first.

    Rows are sorted by (user, estimate descending) with a stable sort, so rows of one
    user with equal estimates keep their order in the input. Users are numbered in order
    of first appearance.
    """

    def __init__(self, user_ids, y_true, y_pred, k):
        self.k = check_positive_int(k, "k")
        y_true, y_pred = _check_pair(y_true, y_pred)
        if isinstance(user_ids, (pd.Series, pd.Index)):
            users = user_ids
        else:
            users = np.asarray(user_ids)
            if users.ndim != 1:
                raise ValueError(f"user_ids must be 1-D; got shape {users.shape}.")
        if len(users) != y_true.shape[0]:
            raise ValueError(
                f"user_ids, y_true and y_pred must have the same length; got {len(users)}, "
                f"{y_true.shape[0]} and {y_pred.shape[0]}."
            )
        if pd.isna(users).any():
            raise ValueError(f"user_ids has {int(pd.isna(users).sum())} missing value(s).")
        codes, self.users = pd.factorize(users, sort=False)
        self.n_users = len(self.users)
        self.order = np.lexsort((-y_pred, codes))
        self.codes = codes[self.order]
        self.true = y_true[self.order]
        self.pred = y_pred[self.order]
        self.n_items = np.bincount(codes, minlength=self.n_users)
        starts = np.cumsum(self.n_items) - self.n_items
        self.rank = np.arange(codes.shape[0]) - starts[self.codes]  # 0 = best
        self.in_top = self.rank < self.k

    def per_user_sum(self, weights):
        return np.bincount(self.codes, weights=weights, minlength=self.n_users)

    def frame(self, **columns):
        index = pd.Index(self.users, name=USER_COL)
        return pd.DataFrame(columns, index=index)


# --------------------------------------------------------------------------------------
# rating error


def rmse(y_true, y_pred):
    """Root mean squared error, ``sqrt(mean((y_true - y_pred) ** 2))``.

    Parameters
    ----------
    y_true : array-like of shape (n_ratings,)
        True ratings.
    y_pred : array-like of shape (n_ratings,)
        Estimated ratings.

    Returns
    -------
    rmse : float

    Examples
    --------
    >>> from sk_grouprec.metrics import rmse
    >>> rmse([3, 4, 5], [3, 5, 3])  # sqrt((0 + 1 + 4) / 3)
    1.2909...
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    return float(np.sqrt(np.mean((y_true - y_pred) ** 2)))


def mae(y_true, y_pred):
    """Mean absolute error, ``mean(|y_true - y_pred|)``.

    Parameters
    ----------
    y_true : array-like of shape (n_ratings,)
        True ratings.
    y_pred : array-like of shape (n_ratings,)
        Estimated ratings.

    Returns
    -------
    mae : float

    Examples
    --------
    >>> from sk_grouprec.metrics import mae
    >>> mae([3, 4, 5], [3, 5, 3])  # (0 + 1 + 2) / 3
    1.0
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    return float(np.mean(np.abs(y_true - y_pred)))


# --------------------------------------------------------------------------------------
# ranking


def precision_recall_at_k(user_ids, y_true, y_pred, k=10, threshold=3.5, *, return_per_user=False):
    """Precision@k and recall@k as defined in Surprise's FAQ ("surprise" protocol).

    This is the computation of the FAQ entry "How to compute precision@k and recall@k"
    of the Surprise library (``examples/precision_recall_at_k.py``), vectorised. For each
    user, take that user's test rows and sort them by estimate, highest first (ties keep
    their order in the input, as Python's stable ``list.sort`` does in Surprise). Then::

        n_rel           = #{rows of the user with  y_true >= threshold}
        n_rec_k         = #{top-k rows with        y_pred >= threshold}
        n_rel_and_rec_k = #{top-k rows with y_true >= threshold and y_pred >= threshold}
        precision_u     = n_rel_and_rec_k / n_rec_k   if n_rec_k != 0 else 0
        recall_u        = n_rel_and_rec_k / n_rel     if n_rel   != 0 else 0

    The result is the plain mean of ``precision_u`` (and of ``recall_u``) over every
    user present in ``user_ids``, users without relevant or recommended items included
    (with their 0). An item is thus "recommended" only if it is in the user's top ``k``
    *and* its estimate reaches the threshold. The 0 for undefined values follows the
    current Surprise FAQ; older versions of that FAQ used 1.

    Parameters
    ----------
    user_ids : array-like of shape (n_ratings,)
        The user of each test row (any hashable ids).
    y_true : array-like of shape (n_ratings,)
        True ratings.
    y_pred : array-like of shape (n_ratings,)
        Estimated ratings.
    k : int, default=10
        Length of each user's list, ``>= 1``.
    threshold : float, default=3.5
        Ratings (true or estimated) ``>= threshold`` count as relevant or recommended.
    return_per_user : bool, default=False
        Return the per-user values instead of their means.

    Returns
    -------
    precision, recall : float
        Means over users, when ``return_per_user=False``.
    per_user : pandas.DataFrame
        When ``return_per_user=True``: columns ``precision``, ``recall``, ``n_rel``,
        ``n_rec_k`` and ``n_rel_and_rec_k``, indexed by user id in order of first
        appearance.

    See Also
    --------
    hit_precision_recall_at_k : precision over the top-k list regardless of estimates.

    Examples
    --------
    >>> from sk_grouprec.metrics import precision_recall_at_k
    >>> users = [1, 1, 1, 2, 2]
    >>> y_true = [5, 2, 4, 1, 5]
    >>> y_pred = [4.5, 4.0, 3.0, 3.9, 3.0]
    >>> # user 1, top-2 by estimate: (true 5, est 4.5), (true 2, est 4.0): both recommended,
    >>> #   one relevant -> precision 1/2; 2 relevant items in all -> recall 1/2
    >>> # user 2, top-2: (1, 3.9) recommended, not relevant; (5, 3.0) not recommended
    >>> #   -> precision 0/1, recall 0/1
    >>> precision_recall_at_k(users, y_true, y_pred, k=2)
    (0.25, 0.25)
    """
    threshold = _check_threshold(threshold)
    ranking = _UserRanking(user_ids, y_true, y_pred, k)
    relevant = ranking.true >= threshold
    recommended = (ranking.pred >= threshold) & ranking.in_top
    n_rel = ranking.per_user_sum(relevant)
    n_rec_k = ranking.per_user_sum(recommended)
    n_both = ranking.per_user_sum(recommended & relevant)
    precision = np.divide(n_both, n_rec_k, out=np.zeros(ranking.n_users), where=n_rec_k != 0)
    recall = np.divide(n_both, n_rel, out=np.zeros(ranking.n_users), where=n_rel != 0)
    if return_per_user:
        return ranking.frame(
            precision=precision,
            recall=recall,
            n_rel=n_rel.astype(np.int64),
            n_rec_k=n_rec_k.astype(np.int64),
            n_rel_and_rec_k=n_both.astype(np.int64),
        )
    return float(precision.mean()), float(recall.mean())


def hit_precision_recall_at_k(user_ids, y_true, y_pred, k=10, threshold=3.5, *, return_per_user=False):
    """Hit-based precision@k and recall@k ("hit" protocol).

    For each user, take that user's test rows and keep the ``k`` with the highest
    estimates (ties keep their order in the input). With ``n_u`` the user's number of
    test rows::

        hits_u      = #{top-k rows with y_true >= threshold}
        n_rel_u     = #{rows of the user with y_true >= threshold}
        precision_u = hits_u / min(k, n_u)
        recall_u    = hits_u / n_rel_u

    Users with ``n_rel_u == 0`` are left out of both means; the results are the means
    over the remaining users. Unlike :func:`precision_recall_at_k`, every top-k row
    counts as recommended, whatever its estimate.

    Parameters
    ----------
    user_ids : array-like of shape (n_ratings,)
        The user of each test row (any hashable ids).
    y_true : array-like of shape (n_ratings,)
        True ratings.
    y_pred : array-like of shape (n_ratings,)
        Estimated ratings.
    k : int, default=10
        Length of each user's list, ``>= 1``.
    threshold : float, default=3.5
        True ratings ``>= threshold`` count as relevant.
    return_per_user : bool, default=False
        Return the per-user values instead of their means.

    Returns
    -------
    precision, recall : float
        Means over users with at least one relevant item; NaN (with an
        :class:`~sklearn.exceptions.UndefinedMetricWarning`) when no user has one.
    per_user : pandas.DataFrame
        When ``return_per_user=True``: columns ``precision``, ``recall`` (NaN for users
        without relevant items), ``hits``, ``n_rel`` and ``n_items``, indexed by user id
        in order of first appearance.

    Examples
    --------
    >>> from sk_grouprec.metrics import hit_precision_recall_at_k
    >>> users = [1, 1, 1, 2, 2, 3]
    >>> y_true = [5, 2, 4, 1, 5, 1]
    >>> y_pred = [4.5, 4.0, 3.0, 3.9, 3.0, 5.0]
    >>> # user 1, top-2: true 5 (hit), true 2 -> precision 1/2, recall 1/2 (2 relevant)
    >>> # user 2, top-2 = both rows: true 1, true 5 (hit) -> precision 1/2, recall 1/1
    >>> # user 3 has no relevant item and is left out
    >>> hit_precision_recall_at_k(users, y_true, y_pred, k=2)
    (0.5, 0.75)
    """
    threshold = _check_threshold(threshold)
    ranking = _UserRanking(user_ids, y_true, y_pred, k)
    relevant = ranking.true >= threshold
    hits = ranking.per_user_sum(relevant & ranking.in_top)
    n_rel = ranking.per_user_sum(relevant)
    kept = n_rel > 0
    precision = np.where(kept, hits / np.minimum(ranking.k, ranking.n_items), np.nan)
    recall = np.divide(hits, n_rel, out=np.full(ranking.n_users, np.nan), where=kept)
    if return_per_user:
        return ranking.frame(
            precision=precision,
            recall=recall,
            hits=hits.astype(np.int64),
            n_rel=n_rel.astype(np.int64),
            n_items=ranking.n_items,
        )
    if not kept.any():
        warnings.warn(
            f"hit_precision_recall_at_k: no user has a true rating >= {threshold}; "
            "precision and recall are undefined (NaN).",
            UndefinedMetricWarning,
            stacklevel=2,
        )
        return float("nan"), float("nan")
    return float(precision[kept].mean()), float(recall[kept].mean())


def ndcg_at_k(user_ids, y_true, y_pred, k=10, *, return_per_user=False):
    """Normalised discounted cumulative gain at k, per user, averaged over users.

    The gain of a row is its true rating (linear gain, as in
    :func:`sklearn.metrics.ndcg_score`). For each user, over that user's test rows
    ranked by estimate, highest first (positions ``r = 1, 2, ...``)::

        DCG@k_u  = sum over r <= k of  y_true(r) / log2(r + 1)
        IDCG@k_u = the same sum with the rows ranked by y_true itself
        NDCG@k_u = DCG@k_u / IDCG@k_u      (0 when IDCG@k_u == 0)

    Tied estimates are handled as :func:`sklearn.metrics.ndcg_score` does with
    ``ignore_ties=False``: the rows of a tie share the average gain of the tie (the
    result does not depend on the order of the rows). ``ndcg_at_k`` therefore equals the
    mean over users of ``sklearn.metrics.ndcg_score([y_true_u], [y_pred_u], k=k)``,
    except that a user with a single test row, for whom scikit-learn raises, gets
    ``NDCG = 1`` (0 if its true rating is 0). The mean is over every user present.

    Parameters
    ----------
    user_ids : array-like of shape (n_ratings,)
        The user of each test row (any hashable ids).
    y_true : array-like of shape (n_ratings,)
        True ratings, the gains; must be ``>= 0``.
    y_pred : array-like of shape (n_ratings,)
        Estimated ratings.
    k : int, default=10
        Rank cut-off, ``>= 1``.
    return_per_user : bool, default=False
        Return the per-user values (a Series indexed by user id, in order of first
        appearance) instead of their mean.

    Returns
    -------
    ndcg : float or pandas.Series

    Examples
    --------
    >>> from sk_grouprec.metrics import ndcg_at_k
    >>> # one user; ranked by estimate the gains are 3, 5, 1
    >>> # DCG = 3/log2(2) + 5/log2(3) = 3 + 3.1546 = 6.1546
    >>> # IDCG = 5/log2(2) + 3/log2(3) = 5 + 1.8928 = 6.8928
    >>> round(ndcg_at_k([7, 7, 7], [5, 3, 1], [2.0, 4.0, 1.0], k=2), 4)
    0.8929
    """
    ranking = _UserRanking(user_ids, y_true, y_pred, k)
    if (ranking.true < 0).any():
        raise ValueError("ndcg_at_k: y_true holds negative values; gains must be >= 0.")
    n = ranking.codes.shape[0]
    discount = np.zeros(n)
    discount[ranking.in_top] = 1.0 / np.log2(ranking.rank[ranking.in_top] + 2.0)
    # ties: runs of equal estimates within a user share their mean gain
    starts_tie = np.ones(n, dtype=bool)
    starts_tie[1:] = (ranking.codes[1:] != ranking.codes[:-1]) | (ranking.pred[1:] != ranking.pred[:-1])
    tie = np.cumsum(starts_tie) - 1
    tie_gain = np.bincount(tie, weights=ranking.true) / np.bincount(tie)
    dcg = ranking.per_user_sum(tie_gain[tie] * discount)
    # ideal order: same user blocks (so the same positions), true ratings descending
    ideal = np.lexsort((-ranking.true, ranking.codes))
    idcg = ranking.per_user_sum(ranking.true[ideal] * discount)
    ndcg = np.divide(dcg, idcg, out=np.zeros(ranking.n_users), where=idcg > 0)
    if return_per_user:
        return pd.Series(ndcg, index=pd.Index(ranking.users, name=USER_COL), name="ndcg")
    return float(ndcg.mean())


# --------------------------------------------------------------------------------------
# group profiling

ProfilingScores = namedtuple("ProfilingScores", ["precision", "recall", "f1"])
ProfilingScores.__doc__ = """Macro-averaged precision, recall and F1 of group profiling.

The named tuple returned by :func:`profiling_scores`: ``precision``, ``recall`` and
``f1``, floats.

Examples
--------
>>> from sk_grouprec.metrics import ProfilingScores, profiling_scores
>>> scores = profiling_scores(["a", "b"], ["a", "a"])
>>> isinstance(scores, ProfilingScores), round(scores.f1, 4)
(True, 0.3333)
"""


def profiling_scores(y_true_groups, y_pred_groups):
    """Macro precision, recall and F1 of predicted group labels.

    For each group label ``g`` present in ``y_true_groups`` or ``y_pred_groups``:
    ``precision_g = TP_g / (TP_g + FP_g)``, ``recall_g = TP_g / (TP_g + FN_g)``,
    ``F1_g = 2 precision_g recall_g / (precision_g + recall_g)``, each 0 when its
    denominator is 0; the results are the unweighted means over labels. This is
    :func:`sklearn.metrics.precision_recall_fscore_support` with ``average="macro"``
    and ``zero_division=0``.

    Parameters
    ----------
    y_true_groups : array-like of shape (n_samples,)
        True group labels.
    y_pred_groups : array-like of shape (n_samples,)
        Predicted group labels.

    Returns
    -------
    scores : ProfilingScores
        Named tuple ``(precision, recall, f1)`` of floats.

    Examples
    --------
    >>> from sk_grouprec.metrics import profiling_scores
    >>> # group a: TP 1, FP 0, FN 1 -> P 1, R 1/2, F1 2/3
    >>> # group b: TP 1, FP 1, FN 0 -> P 1/2, R 1, F1 2/3
    >>> scores = profiling_scores(["a", "a", "b"], ["a", "b", "b"])
    >>> [round(s, 4) for s in scores]
    [0.75, 0.75, 0.6667]
    """
    true = np.asarray(y_true_groups)
    pred = np.asarray(y_pred_groups)
    for name, labels in (("y_true_groups", true), ("y_pred_groups", pred)):
        if labels.ndim != 1:
            raise ValueError(f"{name} must be 1-D; got shape {labels.shape}.")
        if pd.isna(labels).any():
            raise ValueError(f"{name} has {int(pd.isna(labels).sum())} missing label(s).")
    if true.shape[0] != pred.shape[0]:
        raise ValueError(
            f"y_true_groups and y_pred_groups have different lengths: {true.shape[0]} and "
            f"{pred.shape[0]}."
        )
    if true.shape[0] == 0:
        raise ValueError("y_true_groups and y_pred_groups are empty.")
    precision, recall, f1, _ = precision_recall_fscore_support(
        true, pred, average="macro", zero_division=0
    )
    return ProfilingScores(float(precision), float(recall), float(f1))


# --------------------------------------------------------------------------------------
# scorers

_RANKING_METRICS = ("precision", "recall", "ndcg")
_PROTOCOLS = ("surprise", "hit")


def _scorer_inputs(X, y, name):
    frame = check_interactions(X, estimator_name=name)
    if y is None:
        raise ValueError(f"{name}: y (the true ratings) is required to score; got None.")
    return frame, _check_values(y, "y")


class RankingScorer:
    """Scorer ``scorer(estimator, X, y)`` for a per-user ranking metric.

    Calls ``estimator.predict(X)``, reads user ids from ``X`` (the ``user_id`` column
    of a DataFrame, or column 0 of an array) and returns the metric (greater is
    better). Build it with :func:`make_ranking_scorer`.

    Parameters
    ----------
    metric : {"precision", "recall", "ndcg"}, default="precision"
        The metric.
    k : int, default=10
        List length.
    threshold : float, default=3.5
        Relevance threshold (precision and recall only).
    protocol : {"surprise", "hit"}, default="surprise"
        ``"surprise"`` uses :func:`precision_recall_at_k`, ``"hit"`` uses
        :func:`hit_precision_recall_at_k` (precision and recall only).

    Examples
    --------
    >>> from sk_grouprec.metrics import RankingScorer
    >>> RankingScorer("recall", k=5)
    make_ranking_scorer(metric='recall', k=5, threshold=3.5, protocol='surprise')
    """

    def __init__(self, metric="precision", k=10, threshold=3.5, protocol="surprise"):
        self.metric = metric
        self.k = k
        self.threshold = threshold
        self.protocol = protocol

    def __call__(self, estimator, X, y):
        check_choice(self.metric, "metric", _RANKING_METRICS)
        check_choice(self.protocol, "protocol", _PROTOCOLS)
        frame, y_true = _scorer_inputs(X, y, repr(self))
        y_pred = estimator.predict(X)
        return self._score(frame[USER_COL].to_numpy(), y_true, y_pred)

    def _score(self, user_ids, y_true, y_pred):
        if self.metric == "ndcg":
            return ndcg_at_k(user_ids, y_true, y_pred, k=self.k)
        if self.protocol == "hit":
            precision, recall = hit_precision_recall_at_k(
                user_ids, y_true, y_pred, k=self.k, threshold=self.threshold
            )
        else:
            precision, recall = precision_recall_at_k(
                user_ids, y_true, y_pred, k=self.k, threshold=self.threshold
            )
        return precision if self.metric == "precision" else recall

    def __repr__(self):
        return (
            f"make_ranking_scorer(metric={self.metric!r}, k={self.k!r}, "
            f"threshold={self.threshold!r}, protocol={self.protocol!r})"
        )


class ErrorScorer:
    """Scorer ``scorer(estimator, X, y)`` returning minus a rating error.

    Parameters
    ----------
    metric : {"rmse", "mae"}, default="rmse"
        The error; the scorer returns its negation (greater is better).

    Examples
    --------
    >>> from sk_grouprec.metrics import ErrorScorer
    >>> ErrorScorer("mae")
    ErrorScorer(metric='mae')
    """

    def __init__(self, metric="rmse"):
        self.metric = metric

    def __call__(self, estimator, X, y):
        check_choice(self.metric, "metric", ("rmse", "mae"))
        _, y_true = _scorer_inputs(X, y, repr(self))
        error = rmse if self.metric == "rmse" else mae
        return -error(y_true, estimator.predict(X))

    def __repr__(self):
        return f"ErrorScorer(metric={self.metric!r})"


class ProfilingScorer:
    """Scorer ``scorer(estimator, X, y)`` for group profiling.

    Calls ``estimator.predict_profile(X)``, which returns group probabilities of shape
    (n_rows, n_groups) whose columns follow ``estimator.groups_`` (or, for a
    DataFrame, are the group labels). The predicted group of a row is the column of
    highest probability (the first one on ties); it is compared with ``X["group_id"]``
    by :func:`profiling_scores`. ``y`` is not used. When ``estimator`` is a
    :class:`~sklearn.pipeline.Pipeline`, ``X`` first goes through every step but the last
    (so a ``KMeansGrouper`` step supplies the true ``group_id``), and the last step
    profiles.

    Parameters
    ----------
    metric : {"f1", "precision", "recall"}, default="f1"
        Which macro average to return.

    Examples
    --------
    >>> from sk_grouprec.metrics import ProfilingScorer
    >>> ProfilingScorer()
    ProfilingScorer(metric='f1')
    """

    def __init__(self, metric="f1"):
        self.metric = metric

    def __call__(self, estimator, X, y=None):
        check_choice(self.metric, "metric", ("f1", "precision", "recall"))
        if isinstance(estimator, Pipeline):
            # the true groups are those the pipeline's own grouper assigns
            X = estimator[:-1].transform(X)
            estimator = estimator[-1]
        frame = check_interactions(X, require_group=True, estimator_name=repr(self))
        proba = estimator.predict_profile(X)
        if isinstance(proba, pd.DataFrame):
            labels, proba = proba.columns.to_numpy(), proba.to_numpy()
        else:
            if not hasattr(estimator, "groups_"):
                raise AttributeError(
                    f"{type(estimator).__name__} has no attribute 'groups_' naming the columns "
                    "of predict_profile; ProfilingScorer needs it."
                )
            labels, proba = np.asarray(estimator.groups_), np.asarray(proba)
        if proba.ndim != 2 or proba.shape != (frame.shape[0], labels.shape[0]):
            raise ValueError(
                f"predict_profile returned shape {proba.shape}; expected "
                f"({frame.shape[0]}, {labels.shape[0]}) (rows of X, groups)."
            )
        predicted = labels[np.argmax(proba, axis=1)]
        return getattr(profiling_scores(frame[GROUP_COL].to_numpy(), predicted), self.metric)

    def __repr__(self):
        return f"ProfilingScorer(metric={self.metric!r})"


def make_ranking_scorer(metric="precision", k=10, threshold=3.5, protocol="surprise"):
    """Make a ranking scorer for ``GridSearchCV(scoring=...)`` or ``cross_validate``.

    Parameters
    ----------
    metric : {"precision", "recall", "ndcg"}, default="precision"
        ``"precision"`` and ``"recall"`` follow ``protocol``; ``"ndcg"`` is
        :func:`ndcg_at_k` (``threshold`` and ``protocol`` do not apply).
    k : int, default=10
        Length of each user's list, ``>= 1``.
    threshold : float, default=3.5
        Relevance threshold on the rating scale.
    protocol : {"surprise", "hit"}, default="surprise"
        ``"surprise"``: :func:`precision_recall_at_k` (Surprise's FAQ definition);
        ``"hit"``: :func:`hit_precision_recall_at_k`.

    Returns
    -------
    scorer : RankingScorer
        A picklable callable ``scorer(estimator, X, y) -> float``, greater is better.

    Examples
    --------
    >>> from sk_grouprec.metrics import make_ranking_scorer
    >>> make_ranking_scorer("ndcg", k=5)
    make_ranking_scorer(metric='ndcg', k=5, threshold=3.5, protocol='surprise')
    """
    check_choice(metric, "metric", _RANKING_METRICS)
    check_choice(protocol, "protocol", _PROTOCOLS)
    check_positive_int(k, "k")
    _check_threshold(threshold)
    return RankingScorer(metric=metric, k=k, threshold=threshold, protocol=protocol)


precision_at_10 = make_ranking_scorer("precision", k=10)
recall_at_10 = make_ranking_scorer("recall", k=10)
ndcg_at_10 = make_ranking_scorer("ndcg", k=10)
hit_precision_at_10 = make_ranking_scorer("precision", k=10, protocol="hit")
hit_recall_at_10 = make_ranking_scorer("recall", k=10, protocol="hit")
neg_rmse = ErrorScorer("rmse")
neg_mae = ErrorScorer("mae")
profiling_f1 = ProfilingScorer("f1")
hr_at_10 = make_topn_scorer("hr", k=10)
ndcg_at_10_sampled = make_topn_scorer("ndcg", k=10)
recall_at_10_full = make_topn_scorer("recall", k=10, protocol="full")
ndcg_at_10_full = make_topn_scorer("ndcg", k=10, protocol="full")

#: Ready-made scorers by name (ranking scorers use ``threshold=3.5``).
SCORERS = {
    "precision_at_10": precision_at_10,
    "recall_at_10": recall_at_10,
    "ndcg_at_10": ndcg_at_10,
    "hit_precision_at_10": hit_precision_at_10,
    "hit_recall_at_10": hit_recall_at_10,
    "neg_rmse": neg_rmse,
    "neg_mae": neg_mae,
    "profiling_f1": profiling_f1,
    "profiling_precision": ProfilingScorer("precision"),
    "profiling_recall": ProfilingScorer("recall"),
    "hr_at_10": hr_at_10,
    "hr_at_10_sampled": hr_at_10,
    "ndcg_at_10_sampled": ndcg_at_10_sampled,
    "recall_at_10_full": recall_at_10_full,
    "ndcg_at_10_full": ndcg_at_10_full,
}

_AT_K = re.compile(r"^(hit_precision|hit_recall|precision|recall|ndcg)_at_([1-9][0-9]*)$")
_TOPN_AT_K = re.compile(
    r"^(group_)?(?:(hr)_at_([1-9][0-9]*)(?:_sampled)?|(hr|ndcg)_at_([1-9][0-9]*)_sampled"
    r"|(recall|ndcg)_at_([1-9][0-9]*)_full)$"
)


def get_scorer(name):
    """Return a scorer by name.

    Parameters
    ----------
    name : str or callable
        A key of :data:`SCORERS`; or ``"<metric>_at_<k>"`` with ``<metric>`` one of
        ``precision``, ``recall``, ``ndcg`` (Surprise protocol, threshold 3.5),
        ``hit_precision``, ``hit_recall`` (hit protocol), e.g. ``"recall_at_5"``; or a
        top-N scorer of :func:`make_topn_scorer` with its defaults: ``"hr_at_<k>"`` (same as
        ``"hr_at_<k>_sampled"``), ``"ndcg_at_<k>_sampled"``, ``"recall_at_<k>_full"``,
        ``"ndcg_at_<k>_full"``, each with a ``group_`` prefix for group rows
        (``level="group"``), e.g. ``"group_hr_at_5"``; or any name scikit-learn's
        :func:`sklearn.metrics.get_scorer` knows (e.g. ``"r2"``). A callable is returned
        unchanged.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y) -> float`` (a copy, safe to modify).

    Examples
    --------
    >>> from sk_grouprec.metrics import get_scorer
    >>> get_scorer("recall_at_5")
    make_ranking_scorer(metric='recall', k=5, threshold=3.5, protocol='surprise')
    """
    if callable(name):
        return name
    if not isinstance(name, str):
        raise TypeError(f"scorer name must be a string or a callable; got {type(name).__name__}.")
    if name in SCORERS:
        return copy.deepcopy(SCORERS[name])
    match = _AT_K.match(name)
    if match:
        metric, k = match.group(1), int(match.group(2))
        protocol = "hit" if metric.startswith("hit_") else "surprise"
        return make_ranking_scorer(metric.removeprefix("hit_"), k=k, protocol=protocol)
    match = _TOPN_AT_K.match(name)
    if match:
        group, *parts = match.groups()
        metric, k = next((m, int(c)) for m, c in zip(parts[::2], parts[1::2]) if m)
        return make_topn_scorer(
            metric,
            k=k,
            protocol="full" if name.endswith("_full") else "sampled",
            level="group" if group else "user",
        )
    try:
        return _sklearn_get_scorer(name)
    except ValueError:
        raise ValueError(
            f"unknown scorer {name!r}; use one of {sorted(SCORERS)}, '<metric>_at_<k>' "
            "(precision, recall, ndcg, hit_precision, hit_recall), '[group_]hr_at_<k>', "
            "'[group_]ndcg_at_<k>_sampled', '[group_]recall_at_<k>_full', "
            "'[group_]ndcg_at_<k>_full', or a scikit-learn scorer name."
        ) from None
