"""Top-N evaluation of implicit-feedback recommenders: sampled negatives and full catalogue.

Two protocols, each as a pure function on scores or lists and as a function that queries a
fitted estimator:

- the *sampled-negative* protocol of the group-recommendation literature (AGREE, ConsRec):
  each held-out (test) item is ranked among sampled negative items of the same user or
  group; HR@K and NDCG@K are averaged over test cases
  (:func:`sampled_ranking_metrics`, :func:`evaluate_sampled`);
- the *full-catalogue* protocol: each user's or group's top-K list over every item not
  seen in training; Recall@K and NDCG@K are averaged over users or groups with test items
  (:func:`full_catalogue_metrics`, :func:`evaluate_full_catalogue`).

Sampled metrics can order models differently from full-catalogue ones (Krichene and
Rendle, KDD 2020): report both. :func:`make_topn_scorer` wraps either protocol as a
scorer for ``GridSearchCV``. These names are public in :mod:`sk_grouprec.metrics`.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state

from ._validation import (
    GROUP_COL,
    ITEM_COL,
    USER_COL,
    check_choice,
    check_interactions,
    check_positive_int,
)

__all__ = [
    "sampled_ranking_metrics",
    "evaluate_sampled",
    "full_catalogue_metrics",
    "evaluate_full_catalogue",
    "sample_negatives",
    "TopNScorer",
    "make_topn_scorer",
]

TIES = ("against", "for", "average")
LEVELS = ("user", "group")
PROTOCOLS = ("sampled", "full")
SAMPLED_METRICS = ("hr", "ndcg")
FULL_METRICS = ("recall", "ndcg")
SAMPLED_BATCH_SIZE = 1 << 17  # candidate rows scored per call of predict
RECOMMEND_BATCH_SIZE = 1024  # users or groups per call of recommend


# --------------------------------------------------------------------------------------
# input checks


def _check_ks(k):
    """``k`` as a tuple of distinct positive ints, in the order given."""
    ks = (k,) if isinstance(k, numbers.Integral) else k
    try:
        ks = tuple(ks)
    except TypeError:
        raise ValueError(f"k must be an integer >= 1 or a sequence of them; got {k!r}.") from None
    if not ks:
        raise ValueError("k is empty; give at least one cut-off.")
    return tuple(dict.fromkeys(check_positive_int(value, "k") for value in ks))


def _level_column(level):
    check_choice(level, "level", LEVELS)
    return USER_COL if level == "user" else GROUP_COL


def _check_finite(values, name):
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(
            f"{name} has {int(bad.sum())} NaN or infinite value(s); scores must be finite."
        )


def _check_cases(frame, id_col, name):
    """A non-empty DataFrame with ``id_col`` and ``item_id`` and no missing id."""
    if not isinstance(frame, pd.DataFrame):
        if id_col == USER_COL:
            return check_interactions(frame, estimator_name=name)
        raise TypeError(
            f"{name} must be a pandas DataFrame with columns '{id_col}' and '{ITEM_COL}'; "
            f"got {type(frame).__name__}."
        )
    missing = [col for col in (id_col, ITEM_COL) if col not in frame.columns]
    if missing:
        raise ValueError(
            f"{name} lacks the column(s) {missing}; it needs '{id_col}', '{ITEM_COL}'."
        )
    if frame.shape[0] == 0:
        raise ValueError(f"{name} is empty; at least one test case is required.")
    for col in (id_col, ITEM_COL):
        if frame[col].isna().any():
            raise ValueError(f"{name} has {int(frame[col].isna().sum())} missing {col}(s).")
    return frame


def _final_step(estimator):
    return estimator[-1] if isinstance(estimator, Pipeline) else estimator


# --------------------------------------------------------------------------------------
# sampled-negative protocol


def sampled_ranking_metrics(
    test_scores, negative_scores, k=(5, 10), *, ties="against", negative_mask=None,
    return_ranks=False,
):  # fmt: skip
    """HR@K and NDCG@K of test items ranked among their sampled negatives.

    Each test case ``i`` has the score of its test item, ``test_scores[i]``, and the scores
    of its negatives, ``negative_scores[i]`` (only the entries where ``negative_mask`` is
    True count). Its 0-based rank is::

        higher = #{negatives scoring strictly more than the test item}
        tied   = #{negatives scoring exactly as much}
        rank   = higher + tied     (ties="against": ties are lost, the default)
        rank   = higher            (ties="for": ties are won, as in ConsRec's evaluator)

    and then ``HR@K = 1 if rank < K else 0`` and ``NDCG@K = 1 / log2(rank + 2) if rank < K
    else 0`` (one relevant item, so the ideal DCG is 1). With ``ties="average"`` the tied
    candidates are put in a uniformly random order: HR@K and NDCG@K are their expected
    values over the ranks ``higher, ..., higher + tied``. Every metric is averaged over
    test cases. A negative listed twice counts twice. When ``K`` exceeds the number of
    candidates, every test case is a hit.

    Parameters
    ----------
    test_scores : array-like of shape (n_cases,)
        Score of each test item; higher is better.
    negative_scores : array-like of shape (n_cases, n_negatives)
        Scores of the negatives of each test case.
    k : int or sequence of int, default=(5, 10)
        Cut-offs, each ``>= 1``.
    ties : {"against", "for", "average"}, default="against"
        How a negative scoring exactly as much as the test item counts (see above).
    negative_mask : array-like of bool of shape (n_cases, n_negatives), default=None
        Which negatives count (default: all). Use it to drop padding, or negatives equal
        to the test item: :func:`evaluate_sampled` does so.
    return_ranks : bool, default=False
        Also return the rank of every test case (float64: for ``ties="average"``,
        ``higher + tied / 2``).

    Returns
    -------
    metrics : dict
        ``{"hr@K": float, "ndcg@K": float, ...}`` for each ``K`` of ``k``, in that order.
    ranks : ndarray of shape (n_cases,)
        Only when ``return_ranks=True``.

    Raises
    ------
    ValueError
        On empty input, mismatched shapes, or a NaN or infinite score among the test
        scores or the counted negative scores.

    See Also
    --------
    evaluate_sampled : Scores the candidates with a fitted estimator, then calls this.

    Examples
    --------
    >>> from sk_grouprec.metrics import sampled_ranking_metrics
    >>> test = [0.9, 0.5]
    >>> negatives = [[0.1, 0.95, 0.9],   # case 0: one higher, one tied
    ...              [0.5, 0.5, 0.1]]    # case 1: two tied
    >>> sampled_ranking_metrics(test, negatives, k=2)        # ranks 2 and 2: no hit
    {'hr@2': 0.0, 'ndcg@2': 0.0}
    >>> sampled_ranking_metrics(test, negatives, k=2, ties="for")  # ranks 1 and 0
    {'hr@2': 1.0, 'ndcg@2': 0.8154648767857288}
    >>> # (1 / log2(3) + 1 / log2(2)) / 2 = (0.6309 + 1) / 2
    """
    ks = _check_ks(k)
    check_choice(ties, "ties", TIES)
    test = np.asarray(test_scores, dtype=np.float64)
    negative = np.asarray(negative_scores, dtype=np.float64)
    if test.ndim != 1:
        raise ValueError(f"test_scores must be 1-D; got shape {test.shape}.")
    if negative.ndim != 2 or negative.shape[0] != test.shape[0]:
        raise ValueError(
            f"negative_scores must have shape (n_cases, n_negatives) = ({test.shape[0]}, ...); "
            f"got {negative.shape}."
        )
    if test.shape[0] == 0:
        raise ValueError("test_scores is empty; at least one test case is required.")
    if negative_mask is None:
        mask = np.ones(negative.shape, dtype=bool)
    else:
        mask = np.asarray(negative_mask)
        if mask.dtype != bool or mask.shape != negative.shape:
            raise ValueError(
                f"negative_mask must be a boolean array of shape {negative.shape}; got dtype "
                f"{mask.dtype} and shape {mask.shape}."
            )
    _check_finite(test, "test_scores")
    _check_finite(negative[mask], "negative_scores")
    higher = ((negative > test[:, None]) & mask).sum(axis=1)
    tied = ((negative == test[:, None]) & mask).sum(axis=1)
    # the test item's rank is uniform over [lo, hi]; one rank unless ties="average"
    lo = higher + tied if ties == "against" else higher
    hi = higher if ties == "for" else higher + tied
    metrics = {}
    for cut in ks:
        if ties == "average":
            hr, ndcg = _mean_over_ranks(lo, hi, cut, negative.shape[1] + 1)
        else:
            hit = lo < cut
            hr = hit.astype(np.float64)
            ndcg = np.where(hit, 1.0 / np.log2(lo + 2.0), 0.0)
        metrics[f"hr@{cut}"] = float(np.mean(hr))
        metrics[f"ndcg@{cut}"] = float(np.mean(ndcg))
    if return_ranks:
        return metrics, (lo + hi) / 2.0
    return metrics


def _mean_over_ranks(lo, hi, cut, n_positions):
    """HR@cut and NDCG@cut of each case averaged over the equally likely ranks lo..hi."""
    positions = np.arange(n_positions)
    inside = positions < cut
    hit_sum = np.concatenate([[0.0], np.cumsum(inside)])
    gain_sum = np.concatenate([[0.0], np.cumsum(inside / np.log2(positions + 2.0))])
    width = hi - lo + 1
    return (hit_sum[hi + 1] - hit_sum[lo]) / width, (gain_sum[hi + 1] - gain_sum[lo]) / width


def _predict_scores(estimator, rows, level):
    """Scores of ``rows`` (a DataFrame of candidates), as a finite 1-D float array."""
    if level == "group" and hasattr(estimator, "predict_group"):
        method = "predict_group"
    else:
        method = "predict"
    scores = np.asarray(getattr(estimator, method)(rows), dtype=np.float64)
    if scores.shape != (rows.shape[0],):
        raise ValueError(
            f"{type(estimator).__name__}.{method} returned shape {scores.shape} for "
            f"{rows.shape[0]} rows; expected ({rows.shape[0]},)."
        )
    bad = ~np.isfinite(scores)
    if bad.any():
        raise ValueError(
            f"{type(estimator).__name__}.{method} returned {int(bad.sum())} NaN or infinite "
            "score(s); the sampled metrics need finite scores."
        )
    return scores


def evaluate_sampled(
    estimator, test_cases, negatives, *, level="user", k=(5, 10), ties="against",
    batch_size=SAMPLED_BATCH_SIZE, return_ranks=False,
):  # fmt: skip
    """Evaluate a fitted estimator under the sampled-negative protocol (HR@K, NDCG@K).

    For every test case (a row of ``test_cases``: a user or group and its held-out item),
    the candidates are the test item and the negatives of the same row of ``negatives``.
    Negatives equal to the test item are dropped (they are the test item itself, not a
    competitor); duplicated negatives are kept and count twice, as published. The
    candidates are scored by the estimator and ranked by
    :func:`sampled_ranking_metrics`, which states the formulas.

    Scoring: for ``level="user"``, ``estimator.predict(rows)``; for ``level="group"``,
    ``estimator.predict_group(rows)`` when the estimator has that method, else
    ``estimator.predict(rows)`` (the convention of
    :class:`~sk_grouprec.GroupAggregator`). ``rows`` is a DataFrame with ``user_id`` (or
    ``group_id``) and ``item_id``, plus the other columns of ``test_cases`` (context
    features, for example) copied from the case to each of its candidates; a ``rating``
    column is not copied. Rows are scored in chunks of whole test cases (all candidates of
    a case in one call), about ``batch_size`` rows at a time.

    Parameters
    ----------
    estimator : fitted estimator
        Returns scores (or ratings), higher is better.
    test_cases : pandas.DataFrame
        One row per test case, with ``user_id`` (``group_id`` for groups) and ``item_id``:
        for example ``load_mafengwo().group_test``.
    negatives : array-like of shape (n_cases, n_negatives)
        Row ``i`` holds the negative item ids of row ``i`` of ``test_cases``.
    level : {"user", "group"}, default="user"
        Whether the test cases are users' or groups'.
    k : int or sequence of int, default=(5, 10)
        Cut-offs.
    ties : {"against", "for", "average"}, default="against"
        See :func:`sampled_ranking_metrics`; ``"for"`` reproduces ConsRec's evaluator.
    batch_size : int, default=131072
        About how many candidate rows to score per call.
    return_ranks : bool, default=False
        Also return each test case's rank among its candidates (0 = first).

    Returns
    -------
    metrics : dict
        ``{"hr@5": ..., "ndcg@5": ..., "hr@10": ..., "ndcg@10": ...}`` for ``k=(5, 10)``.
    ranks : ndarray of shape (n_cases,)
        Only when ``return_ranks=True``.

    Raises
    ------
    ValueError
        When the inputs are empty or inconsistent, or the estimator returns a NaN or
        infinite score.

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_grouprec.metrics import evaluate_sampled
    >>> class ItemScore:  # scores an item by its id
    ...     def predict(self, X):
    ...         return X["item_id"].to_numpy() / 10
    >>> cases = pd.DataFrame({"user_id": [1, 2], "item_id": [8, 3]})
    >>> negatives = [[1, 2, 9, 8],   # 8 is the test item itself: dropped; 9 beats it
    ...              [5, 5, 1, 2]]   # 5 (twice) beats 3: rank 2
    >>> evaluate_sampled(ItemScore(), cases, negatives, k=(1, 2))
    {'hr@1': 0.0, 'ndcg@1': 0.0, 'hr@2': 0.5, 'ndcg@2': 0.31546487678572877}
    """
    id_col = _level_column(level)
    batch_size = check_positive_int(batch_size, "batch_size")
    cases = _check_cases(test_cases, id_col, "test_cases").reset_index(drop=True)
    negative = np.asarray(negatives)
    if negative.ndim != 2 or negative.shape[0] != cases.shape[0] or negative.shape[1] == 0:
        raise ValueError(
            f"negatives must have shape (n_cases, n_negatives) = ({cases.shape[0]}, >= 1), "
            f"one row per test case; got {negative.shape}."
        )
    if pd.isna(negative).any():
        raise ValueError(f"negatives has {int(pd.isna(negative).sum())} missing item id(s).")
    test_items = cases[ITEM_COL].to_numpy()
    mask = negative != test_items[:, None]
    n_cases, n_candidates = cases.shape[0], negative.shape[1] + 1
    context = cases.drop(columns=[ITEM_COL, "rating"], errors="ignore")
    context = context[[id_col, *(c for c in context.columns if c != id_col)]]
    scores = np.empty((n_cases, n_candidates))
    per_chunk = max(1, batch_size // n_candidates)
    for start in range(0, n_cases, per_chunk):
        stop = min(n_cases, start + per_chunk)
        rows = context.iloc[np.repeat(np.arange(start, stop), n_candidates)].reset_index(drop=True)
        candidates = np.column_stack([test_items[start:stop, None], negative[start:stop]])
        rows.insert(1, ITEM_COL, candidates.ravel())
        block = _predict_scores(estimator, rows, level)
        scores[start:stop] = block.reshape(stop - start, n_candidates)
    return sampled_ranking_metrics(
        scores[:, 0], scores[:, 1:], k=k, ties=ties, negative_mask=mask,
        return_ranks=return_ranks,
    )  # fmt: skip


# --------------------------------------------------------------------------------------
# full-catalogue protocol


def full_catalogue_metrics(recommendations, test_interactions, *, level="user", k=10):
    """Recall@K and NDCG@K of top-K lists against held-out items.

    For every user (or group) ``e`` with at least one test item, with ``T_e`` its distinct
    test items and ``L_e`` its list (ordered by ``rank`` when that column exists, else by
    row order; positions ``r = 0, 1, ...``)::

        hits_e     = #{r < K : L_e[r] in T_e}
        Recall@K_e = hits_e / min(K, |T_e|)
        DCG@K_e    = sum over r < K with L_e[r] in T_e of 1 / log2(r + 2)
        IDCG@K_e   = sum over r < min(K, |T_e|)      of 1 / log2(r + 2)
        NDCG@K_e   = DCG@K_e / IDCG@K_e

    (binary gains). The denominator of recall is ``min(K, |T_e|)``, not ``|T_e|``, so that
    a perfect list scores 1 whatever the number of test items; with one test item per user
    both definitions agree (the result is then HR@K over the full catalogue). Both
    metrics are averaged over the users (groups) with test items; one without a list, or
    with a shorter list, gets the hits it has. Test rows repeated count once; an item
    repeated in a list counts at its first position.

    Parameters
    ----------
    recommendations : pandas.DataFrame
        ``user_id`` (``group_id``), ``item_id`` and optionally ``rank`` (1 = best): the
        output of ``recommend``.
    test_interactions : pandas.DataFrame
        Held-out ``user_id`` (``group_id``), ``item_id`` rows.
    level : {"user", "group"}, default="user"
        Which id column the frames hold.
    k : int or sequence of int, default=10
        Cut-offs.

    Returns
    -------
    metrics : dict
        ``{"recall@K": float, "ndcg@K": float, ...}`` for each ``K``.

    See Also
    --------
    evaluate_full_catalogue : Gets the lists from a fitted estimator, then calls this.

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_grouprec.metrics import full_catalogue_metrics
    >>> recs = pd.DataFrame({"user_id": [1, 1, 1, 2, 2, 2], "item_id": [5, 6, 7, 5, 6, 7],
    ...                      "rank": [1, 2, 3, 1, 2, 3]})
    >>> test = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [6, 9, 5]})
    >>> # user 1: hit at position 1 of 2 test items -> recall 1/2,
    >>> #   NDCG (1/log2(3)) / (1 + 1/log2(3)) = 0.3869; user 2: hit first -> 1 and 1
    >>> full_catalogue_metrics(recs, test, k=2)
    {'recall@2': 0.75, 'ndcg@2': 0.6934264036172708}
    """
    ks = _check_ks(k)
    id_col = _level_column(level)
    test = _check_cases(test_interactions, id_col, "test_interactions")
    test = test[[id_col, ITEM_COL]].drop_duplicates()
    if not isinstance(recommendations, pd.DataFrame):
        raise TypeError(
            f"recommendations must be a pandas DataFrame; got {type(recommendations).__name__}."
        )
    missing = [c for c in (id_col, ITEM_COL) if c not in recommendations.columns]
    if missing:
        raise ValueError(f"recommendations lacks the column(s) {missing}.")
    recs = recommendations
    if "rank" in recs.columns:
        recs = recs.sort_values([id_col, "rank"], kind="stable")
    recs = recs[[id_col, ITEM_COL]].drop_duplicates()
    recs = recs.assign(_position=recs.groupby(id_col, sort=False).cumcount().to_numpy())
    n_test = test.groupby(id_col, sort=False).size()
    hits = test.merge(recs, on=[id_col, ITEM_COL], how="inner")
    codes = n_test.index.get_indexer(hits[id_col])
    position = hits["_position"].to_numpy()
    size = n_test.to_numpy()
    discount = 1.0 / np.log2(np.arange(max(ks) + 2) + 2.0)
    ideal_sum = np.concatenate([[0.0], np.cumsum(discount)])
    metrics = {}
    for cut in ks:
        inside = position < cut
        n_hits = np.bincount(codes[inside], minlength=size.shape[0])
        dcg = np.bincount(
            codes[inside], weights=discount[position[inside]], minlength=size.shape[0]
        )
        best = np.minimum(cut, size)
        metrics[f"recall@{cut}"] = float(np.mean(n_hits / best))
        metrics[f"ndcg@{cut}"] = float(np.mean(dcg / ideal_sum[best]))
    return metrics


def evaluate_full_catalogue(
    estimator, test_interactions, *, level="user", k=10, batch_size=RECOMMEND_BATCH_SIZE
):
    """Evaluate a fitted estimator's top-K lists over the whole catalogue (Recall@K, NDCG@K).

    Every user (group) of ``test_interactions`` gets its top ``max(k)`` list from
    ``estimator.recommend(ids, n_items=max(k), exclude_rated=True)`` (for
    ``level="group"``: ``estimator.recommend_group(...)`` when the estimator has it, else
    ``recommend``, as :class:`~sk_grouprec.GroupAggregator` names it). The candidates are
    every item the estimator knows, minus the training items it excludes with
    ``exclude_rated=True`` (so a test item that is also a training item of the same user
    cannot be hit). The lists are scored by :func:`full_catalogue_metrics`, which states
    the formulas.

    Parameters
    ----------
    estimator : fitted estimator
        With ``recommend`` (or ``recommend_group``) returning ``user_id`` (``group_id``),
        ``item_id`` and ``rank`` columns; for a :class:`~sklearn.pipeline.Pipeline`, its
        last step.
    test_interactions : pandas.DataFrame
        Held-out ``user_id`` (``group_id``), ``item_id`` rows.
    level : {"user", "group"}, default="user"
    k : int or sequence of int, default=10
        Cut-offs.
    batch_size : int, default=1024
        Users (groups) per call of ``recommend``.

    Returns
    -------
    metrics : dict
        ``{"recall@K": float, "ndcg@K": float, ...}``.

    Raises
    ------
    ValueError
        When the inputs are empty or the lists hold a NaN score.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sk_grouprec.metrics import evaluate_full_catalogue
    >>> class Fixed:  # every user gets items 4, 3, 2 in that order
    ...     def recommend(self, user_ids, n_items=10, *, exclude_rated=True):
    ...         items = [4, 3, 2][:n_items]
    ...         return pd.DataFrame({"user_id": np.repeat(user_ids, len(items)),
    ...                              "item_id": np.tile(items, len(user_ids)),
    ...                              "rank": np.tile(np.arange(1, len(items) + 1),
    ...                                              len(user_ids))})
    >>> test = pd.DataFrame({"user_id": [0, 1], "item_id": [3, 9]})
    >>> evaluate_full_catalogue(Fixed(), test, k=2)  # user 0: hit at position 1
    {'recall@2': 0.5, 'ndcg@2': 0.31546487678572877}
    """
    ks = _check_ks(k)
    id_col = _level_column(level)
    batch_size = check_positive_int(batch_size, "batch_size")
    test = _check_cases(test_interactions, id_col, "test_interactions")
    estimator = _final_step(estimator)  # lists come from ids alone: no transform applies
    if level == "group" and hasattr(estimator, "recommend_group"):
        method = "recommend_group"
    else:
        method = "recommend"
    recommend = getattr(estimator, method)
    ids = pd.unique(test[id_col].to_numpy())
    lists = []
    for start in range(0, ids.shape[0], batch_size):
        chunk = recommend(ids[start : start + batch_size], n_items=max(ks), exclude_rated=True)
        if "score" in chunk.columns and chunk["score"].isna().any():
            raise ValueError(
                f"{type(estimator).__name__}.{method} returned {int(chunk['score'].isna().sum())} "
                "NaN score(s)."
            )
        lists.append(chunk)
    return full_catalogue_metrics(pd.concat(lists, ignore_index=True), test, level=level, k=ks)


# --------------------------------------------------------------------------------------
# scorers


def _catalogue(estimator):
    """The items an estimator was fitted on (``item_index_.ids``, else ``items_``)."""
    index = getattr(estimator, "item_index_", None)
    if index is not None:
        return np.asarray(index.ids)
    items = getattr(estimator, "items_", None)
    if items is not None:
        return np.asarray(items)
    raise AttributeError(
        f"{type(estimator).__name__} exposes neither 'item_index_' nor 'items_': the sampled "
        "scorer draws its negatives from the fitted catalogue."
    )


def sample_negatives(estimator, test_cases, n_negatives=100, *, level="user", random_state=0):
    """Draw negatives for each test case from a fitted estimator's catalogue.

    For each row of ``test_cases``, ``n_negatives`` items drawn uniformly with replacement
    from the items the estimator was fitted on (``estimator.item_index_.ids``, else
    ``estimator.items_``; the last step of a pipeline), never one of the test items of the
    same user (group) in ``test_cases``, nor, when the estimator records them (``rated_``
    with ``user_index_``, as every :class:`~sk_grouprec._base.BaseRecommender` does), one
    of its training items. The draw is deterministic for an int ``random_state`` and
    depends on the order of the rows.

    Parameters
    ----------
    estimator : fitted estimator
    test_cases : pandas.DataFrame
        ``user_id`` (``group_id``), ``item_id`` rows.
    n_negatives : int, default=100
    level : {"user", "group"}, default="user"
        Training items are excluded at user level only (no common attribute records a
        group's training items).
    random_state : int, RandomState instance or None, default=0

    Returns
    -------
    negatives : ndarray of shape (n_cases, n_negatives)
        Item ids.

    Raises
    ------
    ValueError
        When a user (group) has no item left to draw.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sk_grouprec.baselines import BaselineOnly
    >>> from sk_grouprec.metrics import sample_negatives
    >>> X = pd.DataFrame({"user_id": [0, 1, 1], "item_id": [10, 11, 12]})
    >>> model = BaselineOnly().fit(X, np.ones(3))
    >>> cases = pd.DataFrame({"user_id": [0], "item_id": [12]})
    >>> sample_negatives(model, cases, 3)  # 10 is a training item of user 0, 12 its test item
    array([[11, 11, 11]])
    """
    id_col = _level_column(level)
    n_negatives = check_positive_int(n_negatives, "n_negatives")
    cases = _check_cases(test_cases, id_col, "test_cases")
    final = _final_step(estimator)
    catalogue = _catalogue(final)
    n_items = catalogue.shape[0]
    entity, entity_ids = pd.factorize(cases[id_col], sort=False)
    # forbidden (entity, item) pairs, as keys entity * n_items + catalogue position
    position = pd.Index(catalogue).get_indexer(cases[ITEM_COL])
    keys = [entity[position >= 0] * n_items + position[position >= 0]]
    rated, users = getattr(final, "rated_", None), getattr(final, "user_index_", None)
    if (
        level == "user"
        and rated is not None
        and users is not None
        and hasattr(final, "item_index_")
    ):
        index = users.transform(entity_ids)
        known = np.flatnonzero(index >= 0)
        seen = rated[index[known]].tocoo()
        keys.append(known[seen.row] * n_items + seen.col)
    forbidden = np.unique(np.concatenate(keys).astype(np.int64))
    exhausted = np.bincount(forbidden // n_items, minlength=entity_ids.shape[0]) >= n_items
    if exhausted.any():
        raise ValueError(
            f"{id_col} {np.asarray(entity_ids, dtype=object)[exhausted][0]!r} has no item left to draw as "
            f"a negative: all {n_items} items of the catalogue are its training or test items."
        )
    rng = check_random_state(random_state)
    draws = rng.randint(n_items, size=(cases.shape[0], n_negatives))
    owner = np.repeat(entity[:, None], n_negatives, axis=1)
    bad = np.isin(owner * n_items + draws, forbidden)
    for _ in range(50):  # rejection: redraw the forbidden draws
        if not bad.any():
            break
        draws[bad] = rng.randint(n_items, size=int(bad.sum()))
        bad[bad] = np.isin(owner[bad] * n_items + draws[bad], forbidden)
    for row in np.unique(np.nonzero(bad)[0]):  # almost every item forbidden: draw exactly
        banned = forbidden[forbidden // n_items == entity[row]] % n_items
        allowed = np.setdiff1d(np.arange(n_items), banned)
        draws[row, bad[row]] = rng.choice(allowed, size=int(bad[row].sum()))
    return catalogue[draws]


class TopNScorer:
    """Scorer ``scorer(estimator, X, y=None)`` for top-N metrics of held-out positives.

    Every row of ``X`` is a held-out positive interaction (``user_id``, ``item_id``; or
    ``group_id``, ``item_id`` for ``level="group"``); ``y`` is ignored (filter the rows
    beforehand, for example by a rating threshold). Build it with :func:`make_topn_scorer`,
    which documents the parameters.

    Examples
    --------
    >>> from sk_grouprec.metrics import TopNScorer
    >>> TopNScorer("ndcg", k=5)
    make_topn_scorer(metric='ndcg', k=5, protocol='sampled', n_negatives=100, ties='against', random_state=0, level='user')
    """  # noqa: E501

    def __init__(
        self, metric="hr", k=10, protocol="sampled", n_negatives=100, ties="against",
        random_state=0, level="user",
    ):  # fmt: skip
        self.metric = metric
        self.k = k
        self.protocol = protocol
        self.n_negatives = n_negatives
        self.ties = ties
        self.random_state = random_state
        self.level = level

    def __call__(self, estimator, X, y=None):
        _check_scorer_params(self)
        id_col = _level_column(self.level)
        cases = _check_cases(X, id_col, "X")
        if self.protocol == "full":
            metrics = evaluate_full_catalogue(estimator, cases, level=self.level, k=self.k)
        else:
            negatives = sample_negatives(
                estimator, cases, self.n_negatives, level=self.level,
                random_state=self.random_state,
            )  # fmt: skip
            metrics = evaluate_sampled(
                estimator, cases, negatives, level=self.level, k=self.k, ties=self.ties
            )
        return metrics[f"{self.metric}@{self.k}"]

    def __repr__(self):
        return (
            f"make_topn_scorer(metric={self.metric!r}, k={self.k!r}, "
            f"protocol={self.protocol!r}, n_negatives={self.n_negatives!r}, "
            f"ties={self.ties!r}, random_state={self.random_state!r}, level={self.level!r})"
        )


def _check_scorer_params(scorer):
    check_choice(scorer.protocol, "protocol", PROTOCOLS)
    allowed = SAMPLED_METRICS if scorer.protocol == "sampled" else FULL_METRICS
    if scorer.metric not in allowed:
        raise ValueError(
            f"metric must be one of {list(allowed)} for protocol={scorer.protocol!r}; got "
            f"{scorer.metric!r} (HR belongs to the sampled protocol, recall to the full one)."
        )
    check_positive_int(scorer.k, "k")
    check_positive_int(scorer.n_negatives, "n_negatives")
    check_choice(scorer.ties, "ties", TIES)
    check_choice(scorer.level, "level", LEVELS)


def make_topn_scorer(
    metric="hr", k=10, *, protocol="sampled", n_negatives=100, ties="against",
    random_state=0, level="user",
):  # fmt: skip
    """Make a top-N scorer for ``GridSearchCV(scoring=...)`` or ``cross_validate``.

    The scorer receives the fitted estimator and held-out positive rows ``X`` (one row
    per held-out interaction, as a splitter such as
    :class:`~sk_grouprec.model_selection.LeaveKOut` produces them); ``y`` is ignored.

    - ``protocol="sampled"``: each row is ranked among ``n_negatives`` items drawn by
      :func:`sample_negatives` (deterministic for an int ``random_state``), then scored
      by :func:`evaluate_sampled`: ``metric`` is ``"hr"`` or ``"ndcg"``.
    - ``protocol="full"``: :func:`evaluate_full_catalogue` over every user (group) of
      ``X``: ``metric`` is ``"recall"`` or ``"ndcg"``.

    Parameters
    ----------
    metric : {"hr", "ndcg", "recall"}, default="hr"
        ``"hr"`` with the sampled protocol only, ``"recall"`` with the full one.
    k : int, default=10
        Cut-off.
    protocol : {"sampled", "full"}, default="sampled"
    n_negatives : int, default=100
        Negatives per held-out row (sampled protocol).
    ties : {"against", "for", "average"}, default="against"
        Tie rule of the sampled protocol (:func:`sampled_ranking_metrics`).
    random_state : int, RandomState instance or None, default=0
        Seed of the negatives (sampled protocol).
    level : {"user", "group"}, default="user"
        Whether ``X`` holds ``user_id`` or ``group_id`` rows.

    Returns
    -------
    scorer : TopNScorer
        A picklable callable ``scorer(estimator, X, y=None) -> float``, greater is better.

    Examples
    --------
    >>> from sk_grouprec.metrics import make_topn_scorer
    >>> make_topn_scorer("recall", k=20, protocol="full")
    make_topn_scorer(metric='recall', k=20, protocol='full', n_negatives=100, ties='against', random_state=0, level='user')
    """  # noqa: E501
    scorer = TopNScorer(
        metric=metric, k=k, protocol=protocol, n_negatives=n_negatives, ties=ties,
        random_state=random_state, level=level,
    )  # fmt: skip
    _check_scorer_params(scorer)
    return scorer
