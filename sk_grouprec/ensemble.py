"""Blending the scores of several top-N recommenders into one ranking.

:class:`BlendedRecommender` fits each of its recommenders on the same positives and ranks
items by a weighted sum of their scores, each divided by its spread (the standard deviation
of its scores over sampled user-item pairs) so that weights compare models whose scores live
on different scales: a deep model's logits and EASE's item-item sums, for example. Given the
groups' own interactions (``X_group``), it ranks for groups the same way: each component
scores groups with its own group methods (``GroupDMTLRecommender``'s natural groups) or as
a clone fitted on the group rows, one row per group like a user.
"""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.utils import Bunch, check_random_state
from sklearn.utils.metaestimators import _BaseComposition
from sklearn.utils.validation import check_is_fitted

from ._base import IdIndex, _unique
from ._implicit import BaseScoreRecommender, is_score_estimator
from ._topk import top_k
from ._validation import GROUP_COL, ITEM_COL, USER_COL, check_group_rows, check_positive_int

__all__ = ["BlendedRecommender"]

#: User-item pairs scored at fit time to measure each recommender's spread.
SCALE_SAMPLE = 20_000


class BlendedRecommender(_BaseComposition, BaseScoreRecommender):
    """Rank items by a weighted sum of several recommenders' standardised scores.

    ``fit`` fits a clone of every recommender on the positives of ``X`` (their ``user_id``
    and ``item_id``, each distinct pair once, in order of first appearance, with
    ``y=None``; feature columns are not passed on) and measures the spread of each one's
    scores: the standard deviation ``sigma_k`` of its ``predict`` over ``20,000`` user-item
    pairs drawn uniformly (users and items of the training data, from ``random_state``).
    The blended score of a pair is

    .. math:: s(u, i) = \\sum_k w_k \\, s_k(u, i) / \\sigma_k .

    Scores are divided, not centred: a recommender's offset is the same for every item of a
    user and does not change a ranking, and an unknown user keeps the popularity fall-back
    that every component shares (up to a factor).

    With ``X_group`` at fit time (rows ``group_id``, ``item_id``: the groups' own
    positives), the blend also ranks for those groups (:meth:`predict_group`,
    :meth:`recommend_group`). A component whose ``fit`` takes ``X_group`` (a
    ``GroupDMTLRecommender`` fitted with ``groups`` and ``X_group``) scores groups with its
    own ``predict_group``; any other is cloned once more and fitted on the group rows, each
    group taking the place of a user. The group scores are blended as above, with
    ``group_weights`` and spreads measured over sampled group-item pairs.

    Parameters
    ----------
    estimators : list of (str, estimator)
        The recommenders, each a score estimator (``predict`` returns ranking scores: the
        top-N baselines, ``GroupDMTLRecommender`` with a ranking objective) under a distinct
        name. Their parameters are reachable as ``<name>__<parameter>``, for example in
        ``GridSearchCV``.
    weights : array-like of shape (n_estimators,), default=None
        Non-negative weight of each recommender's standardised scores (at least one
        positive). ``None``: equal weights.
    group_weights : array-like of shape (n_estimators,), default=None
        The weights of the group scores (same rules as ``weights``). ``None``: the user
        weights ``weights``.
    positive_threshold : float, default=None
        With ratings ``y``, the rows rated at or above it are positives; ``None`` (or
        ``y=None``): every row is a positive. The components receive the positives only, so
        they must keep their own ``positive_threshold`` at ``None``.
    random_state : int, RandomState instance or None, default=None
        Draws the pairs that measure the spreads. The components' own randomness is set by
        their own ``random_state``.

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted clones, in the order of ``estimators``.
    named_estimators_ : sklearn.utils.Bunch
        The fitted clones by name.
    scales_ : ndarray of shape (n_estimators,)
        Each recommender's spread ``sigma_k`` (1.0 for a recommender whose sampled scores
        are all equal up to rounding: it cannot change a ranking).
    weights_ : ndarray of shape (n_estimators,)
        The weights used (``weights``, or ones).
    group_estimators_ : list of estimators or None
        With ``X_group`` at fit time: the model scoring groups for each component, either
        the fitted component itself (its own ``predict_group``) or its clone fitted on the
        group rows; ``None`` without ``X_group``.
    group_sources_ : list of str or None
        For each component, ``"natural"`` (its own group methods) or ``"group_rows"`` (the
        clone fitted on the group rows).
    group_scales_ : ndarray of shape (n_estimators,) or None
        Each group model's spread over 20,000 group-item pairs drawn uniformly (groups of
        ``X_group``, items of ``group_item_index_``).
    group_weights_ : ndarray of shape (n_estimators,) or None
        The weights of the group scores.
    group_index_ : IdIndex or None
        The groups of ``X_group``.
    group_item_index_ : IdIndex or None
        The items groups are ranked among: those of ``X``, then those seen only in
        ``X_group``.
    group_rated_ : scipy.sparse.csr_matrix of shape (n_groups, n_group_items) or None
        The groups' positives (left out by ``recommend_group``), over
        ``group_item_index_``.
    interactions_ : scipy.sparse.csr_matrix of shape (n_users_, n_items_)
        The binary training matrix.
    item_popularity_ : ndarray of shape (n_items_,)
        Fraction of training users of each item (the fall-back for unknown users).

    See Also
    --------
    sk_grouprec.baselines.EASE : a strong item-item model to blend with a factor model.
    sk_grouprec.GroupAggregator : recommend to groups from any of these user-level models.

    Notes
    -----
    ``fit`` passes its keyword arguments (for example ``groups`` and ``X_group`` of
    ``GroupDMTLRecommender``) to every recommender whose ``fit`` takes them; one that no
    recommender takes is an error (except ``X_group``, which the blend uses itself). To
    recommend to ad-hoc groups without interactions of their own, wrap the blend in
    :class:`~sk_grouprec.GroupAggregator`.

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_grouprec.baselines import EASE, ItemKNN
    >>> from sk_grouprec.ensemble import BlendedRecommender
    >>> X = pd.DataFrame({"user_id": [1, 1, 2, 2, 3, 3], "item_id": [10, 11, 10, 12, 11, 12]})
    >>> blend = BlendedRecommender([("ease", EASE(l2=1.0)), ("knn", ItemKNN())], random_state=0)
    >>> blend.fit(X).recommend([1], n_items=1)["item_id"].tolist()
    [12]
    >>> blend.set_params(ease__l2=10.0).get_params()["ease__l2"]
    10.0

    Groups with interactions of their own are ranked from ``X_group``:

    >>> X_group = pd.DataFrame({"group_id": ["g", "g", "h"], "item_id": [10, 11, 12]})
    >>> blend.fit(X, X_group=X_group).group_sources_
    ['group_rows', 'group_rows']
    >>> blend.recommend_group(["g"], n_items=1)["item_id"].tolist()
    [12]
    """

    def __init__(self, estimators, weights=None, group_weights=None, positive_threshold=None,
                 random_state=None):
        self.estimators = estimators
        self.weights = weights
        self.group_weights = group_weights
        self.positive_threshold = positive_threshold
        self.random_state = random_state

    # parameters: <name>__<parameter> reaches a component (scikit-learn's composition) -----
    def get_params(self, deep=True):
        """Parameters of the blend and, with ``deep``, of its recommenders by name."""
        return self._get_params("estimators", deep=deep)

    def set_params(self, **params):
        """Set parameters of the blend, or of a recommender as ``<name>__<parameter>``."""
        self._set_params("estimators", **params)
        return self

    # fit --------------------------------------------------------------------------------
    def fit(self, X, y=None, **fit_params):
        """Fit every recommender on the positives of ``X`` and measure their spreads.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_interactions, n_columns)
            Interactions in the data contract's form (``user_id``, ``item_id``, ...).
        y : array-like of shape (n_interactions,), default=None
            Ratings. ``None``: every row of ``X`` is a positive; with ratings, the rows at or
            above ``positive_threshold``. A pair listed several times counts once.
        **fit_params
            Passed to every recommender whose ``fit`` takes them (for example ``groups``
            and ``X_group`` of ``GroupDMTLRecommender``). ``X_group`` (a DataFrame of
            ``group_id``, ``item_id`` rows) also fits the group side of the blend (see the
            class description).

        Returns
        -------
        self : object
            The fitted blend.
        """
        names, estimators = self._check_estimators()
        weights = _check_weights(self.weights, "weights", len(estimators))
        group_weights = weights if self.group_weights is None else _check_weights(
            self.group_weights, "group_weights", len(estimators))
        X_group = fit_params.get("X_group")
        if X_group is not None:
            X_group = check_group_rows(X_group, estimator_name="BlendedRecommender.fit X_group")
        routes = _route(names, estimators, fit_params, own=("X_group",))
        positives = self._index_positives(X, y)
        self.estimators_ = [
            clone(est).fit(positives, None, **route) for est, route in zip(estimators, routes)
        ]
        self.named_estimators_ = Bunch(**dict(zip(names, self.estimators_)))
        self.weights_ = weights
        rng = check_random_state(self.random_state)
        self.scales_ = _spreads(self._component_scores, self.n_users_, self.n_items_, rng)
        self.group_estimators_ = self.group_sources_ = self.group_scales_ = None
        self.group_weights_ = self.group_index_ = self.group_item_index_ = None
        self.group_rated_ = None
        if X_group is not None:
            self._fit_groups(X_group, names, estimators, routes, group_weights, rng)
        return self

    def _fit_groups(self, X_group, names, estimators, routes, group_weights, rng):
        """The group side: a group model per component, the groups' positives, spreads."""
        pairs = X_group[[GROUP_COL, ITEM_COL]].drop_duplicates().reset_index(drop=True)
        self.group_index_ = IdIndex(pairs[GROUP_COL])
        # the training items, then the items seen only in group rows
        self.group_item_index_ = IdIndex(np.concatenate(
            [self.item_index_.ids.to_numpy(), pairs[ITEM_COL].to_numpy()]))
        groups = self.group_index_.transform(pairs[GROUP_COL])
        items = self.group_item_index_.transform(pairs[ITEM_COL])
        self.group_rated_ = sp.csr_matrix(
            (np.ones(groups.shape[0], dtype=bool), (groups, items)),
            shape=(len(self.group_index_), len(self.group_item_index_)),
        )
        as_users = pairs.rename(columns={GROUP_COL: USER_COL})
        self.group_estimators_, self.group_sources_ = [], []
        for name, est, route, fitted in zip(names, estimators, routes, self.estimators_):
            if "X_group" in route:
                if not hasattr(fitted, "predict_group"):
                    raise TypeError(
                        f"BlendedRecommender: estimator {name!r} takes X_group in fit but has "
                        "no predict_group to score groups with."
                    )
                self.group_estimators_.append(fitted)
                self.group_sources_.append("natural")
            else:
                self.group_estimators_.append(clone(est).fit(as_users, None))
                self.group_sources_.append("group_rows")
        self.group_weights_ = group_weights
        self.group_scales_ = _spreads(self._group_component_scores, len(self.group_index_),
                                      len(self.group_item_index_), rng)

    def _check_estimators(self):
        if not isinstance(self.estimators, (list, tuple)) or len(self.estimators) == 0:
            raise ValueError(
                "BlendedRecommender: estimators must be a non-empty list of (name, estimator) "
                f"pairs; got {self.estimators!r}."
            )
        for entry in self.estimators:
            if not (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str)):
                raise ValueError(
                    "BlendedRecommender: every entry of estimators must be a (name, estimator) "
                    f"pair with a string name; got {entry!r}."
                )
        names, estimators = zip(*self.estimators)
        self._validate_names(names)  # unique, no "__", not a parameter name
        for name, est in self.estimators:
            if not (hasattr(est, "fit") and hasattr(est, "predict")):
                raise TypeError(
                    f"BlendedRecommender: estimator {name!r} has no fit/predict: {est!r}."
                )
            if not is_score_estimator(est):
                raise ValueError(
                    f"BlendedRecommender: estimator {name!r} predicts ratings, not ranking "
                    f"scores ({type(est).__name__}); blend top-N recommenders (the top-N "
                    "baselines, or GroupDMTLRecommender with objective='bpr' or 'bce')."
                )
            if getattr(est, "positive_threshold", None) is not None:
                raise ValueError(
                    f"BlendedRecommender: estimator {name!r} has positive_threshold="
                    f"{est.positive_threshold!r}; the components receive the positives only: "
                    "set positive_threshold on the BlendedRecommender instead."
                )
        return list(names), list(estimators)

    # scores -----------------------------------------------------------------------------
    def _component_scores(self, users, items):
        """Each component's scores of the known pairs ``(users[k], items[k])`` (indices)."""
        pairs = pd.DataFrame({
            USER_COL: self.user_index_.ids.to_numpy()[users],
            ITEM_COL: self.item_index_.ids.to_numpy()[items],
        })
        for (name, _), est in zip(self.estimators, self.estimators_):
            scores = np.asarray(est.predict(pairs), dtype=np.float64)
            if not np.isfinite(scores).all():
                raise ValueError(f"BlendedRecommender: estimator {name!r} gave non-finite scores.")
            yield scores

    def _group_component_scores(self, groups, items):
        """Each group model's scores of the pairs ``(groups[k], items[k])`` (indices)."""
        pairs = pd.DataFrame({
            GROUP_COL: self.group_index_.ids.to_numpy()[groups],
            ITEM_COL: self.group_item_index_.ids.to_numpy()[items],
        })
        yield from self._group_model_scores(pairs)

    def _group_model_scores(self, pairs):
        """Each group model's scores of the ``(group_id, item_id)`` rows of ``pairs``."""
        as_users = pairs.rename(columns={GROUP_COL: USER_COL})
        for (name, _), est, source in zip(self.estimators, self.group_estimators_,
                                          self.group_sources_):
            if source == "natural":
                scores = est.predict_group(pairs)
            else:
                scores = est.predict(as_users)
            scores = np.asarray(scores, dtype=np.float64)
            if not np.isfinite(scores).all():
                raise ValueError(
                    f"BlendedRecommender: estimator {name!r} gave non-finite group scores.")
            yield scores

    def _blend_group_scores(self, pairs):
        return _weighted_sum(self.group_weights_, self.group_scales_,
                             self._group_model_scores(pairs), pairs.shape[0])

    def _check_group_side(self, method):
        check_is_fitted(self, "user_index_")
        if self.group_estimators_ is None:
            raise ValueError(
                f"BlendedRecommender.{method} needs the groups' own interactions: fit with "
                "X_group=<DataFrame of group_id, item_id rows>, or wrap the blend in "
                "GroupAggregator to rank for groups from their members."
            )

    # groups ------------------------------------------------------------------------------
    def predict_group(self, X_group):
        """Blended score of each ``(group_id, item_id)`` row: higher is better.

        Parameters
        ----------
        X_group : pandas.DataFrame
            Columns ``group_id`` and ``item_id``; any number of rows.

        Returns
        -------
        scores : ndarray of shape (n_rows,), dtype float64
            Comparable among the items of one group. A group or item unknown at fit time
            gets each component's own fall-back (popularity, or last place).
        """
        self._check_group_side("predict_group")
        X_group = check_group_rows(X_group, estimator_name="BlendedRecommender.predict_group")
        return self._blend_group_scores(
            X_group[[GROUP_COL, ITEM_COL]].reset_index(drop=True))

    def recommend_group(self, group_ids, n_items=10, *, exclude_rated=True, items=None):
        """Recommend the ``n_items`` highest-scored items for each group.

        Groups are scored block by block (memory bounded by the block, not by the number
        of groups times the number of items).

        Parameters
        ----------
        group_ids : array-like
            Groups to recommend for (those of ``X_group``; an unknown group gets the
            components' fall-backs).
        n_items : int, default=10
            Length of each list (shorter when fewer candidates remain).
        exclude_rated : bool, default=True
            Leave out the group's positives of ``X_group``.
        items : array-like, optional
            Candidate items (default: every item of ``X`` or ``X_group``,
            ``group_item_index_``).

        Returns
        -------
        recommendations : pandas.DataFrame
            Columns ``group_id``, ``item_id``, ``score`` and ``rank`` (1 = best), sorted by
            group (in the order given) then rank.
        """
        self._check_group_side("recommend_group")
        n_items = check_positive_int(n_items, "n_items")
        group_ids = _unique(group_ids)
        item_ids = self.group_item_index_.ids.to_numpy() if items is None else _unique(items)
        groups = self.group_index_.transform(group_ids)
        cand = self.group_item_index_.transform(item_ids)

        def score_block(start, stop):
            block = group_ids[start:stop]
            pairs = pd.DataFrame({GROUP_COL: np.repeat(block, item_ids.shape[0]),
                                  ITEM_COL: np.tile(item_ids, block.shape[0])})
            scores = self._blend_group_scores(pairs).reshape(block.shape[0], item_ids.shape[0])
            g = groups[start:stop]
            if exclude_rated and (g >= 0).any():
                rated = self.group_rated_[np.maximum(g, 0)][:, np.maximum(cand, 0)].toarray()
                rated &= (g >= 0)[:, None] & (cand >= 0)[None, :]
                scores[rated] = -np.inf
            return scores

        rows_per_block = max(1, self._predict_batch_size // max(1, item_ids.shape[0]))
        return top_k(group_ids, item_ids, min(n_items, item_ids.shape[0]), score_block,
                     row_col=GROUP_COL, rows_per_block=rows_per_block)

    def _score_pairs(self, users, items):
        return _weighted_sum(self.weights_, self.scales_, self._component_scores(users, items),
                             users.shape[0])

    def _score_users(self, users):
        grid_users = np.repeat(users, self.n_items_)
        grid_items = np.tile(np.arange(self.n_items_), users.shape[0])
        return self._score_pairs(grid_users, grid_items).reshape(users.shape[0], self.n_items_)


def _check_weights(value, name, n_estimators):
    """``value`` as an array of ``n_estimators`` weights (ones for ``None``)."""
    if value is None:
        return np.ones(n_estimators)
    try:
        weights = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"BlendedRecommender: {name} must be numbers; got {value!r}.") from None
    if weights.shape != (n_estimators,):
        raise ValueError(
            f"BlendedRecommender: {name} must hold one number per estimator "
            f"({n_estimators}); got shape {weights.shape}."
        )
    if not np.isfinite(weights).all() or (weights < 0).any() or weights.sum() == 0:
        raise ValueError(
            f"BlendedRecommender: {name} must be finite and non-negative with at least one "
            f"positive; got {weights.tolist()}."
        )
    return weights


def _weighted_sum(weights, scales, component_scores, n):
    """``sum_k weights[k] / scales[k] * scores_k`` over the components' score arrays."""
    total = np.zeros(n, dtype=np.float64)
    for weight, scale, scores in zip(weights, scales, component_scores):
        total += weight / scale * scores
    return total


def _spreads(component_scores, n_rows, n_items, rng):
    """The standard deviation of each component's scores over ``SCALE_SAMPLE`` uniform
    (row, item) pairs; 1.0 where they are all equal up to rounding (a spread below
    ``1e-6`` of the largest score: such a component cannot change a ranking, and dividing
    by its rounding noise would drown the others)."""
    n = min(SCALE_SAMPLE, n_rows * n_items)
    rows = rng.randint(n_rows, size=n)
    items = rng.randint(n_items, size=n)
    spreads = []
    for scores in component_scores(rows, items):
        spread = np.std(scores)
        spreads.append(spread if spread > 1e-6 * np.abs(scores).max() else 1.0)
    return np.array(spreads)


def _route(names, estimators, fit_params, own=()):
    """For each estimator, the keyword arguments of ``fit_params`` its ``fit`` takes (those
    named in ``own`` are the blend's too, so none need take them)."""
    routes = []
    taken = set()
    for est in estimators:
        signature = inspect.signature(est.fit).parameters
        open_ended = any(p.kind is p.VAR_KEYWORD for p in signature.values())
        route = {k: v for k, v in fit_params.items() if open_ended or k in signature}
        taken |= set(route)
        routes.append(route)
    unused = sorted(set(fit_params) - taken - set(own))
    if unused:
        raise TypeError(
            f"BlendedRecommender.fit: no estimator's fit takes {unused} (estimators: {names})."
        )
    return routes
