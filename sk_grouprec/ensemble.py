"""Blending the scores of several top-N recommenders into one ranking.

:class:`BlendedRecommender` fits each of its recommenders on the same positives and ranks
items by a weighted sum of their scores, each divided by its spread (the standard deviation
of its scores over sampled user-item pairs) so that weights compare models whose scores live
on different scales: a deep model's logits and EASE's item-item sums, for example.
"""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.utils import Bunch, check_random_state
from sklearn.utils.metaestimators import _BaseComposition

from ._implicit import BaseScoreRecommender, is_score_estimator
from ._validation import ITEM_COL, USER_COL

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
        are all equal: it cannot change a ranking).
    weights_ : ndarray of shape (n_estimators,)
        The weights used (``weights``, or ones).
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
    recommender takes is an error. The blend ranks for users; to recommend to groups, wrap
    it in :class:`~sk_grouprec.GroupAggregator` or use a component's own group methods
    (``named_estimators_["dmtl"].recommend_group``).

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
    """

    def __init__(self, estimators, weights=None, positive_threshold=None, random_state=None):
        self.estimators = estimators
        self.weights = weights
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
            and ``X_group`` of ``GroupDMTLRecommender``).

        Returns
        -------
        self : object
            The fitted blend.
        """
        names, estimators = self._check_estimators()
        weights = self._check_weights(len(estimators))
        routes = _route(names, estimators, fit_params)
        positives = self._index_positives(X, y)
        self.estimators_ = [
            clone(est).fit(positives, None, **route) for est, route in zip(estimators, routes)
        ]
        self.named_estimators_ = Bunch(**dict(zip(names, self.estimators_)))
        self.weights_ = weights
        self.scales_ = self._measure_scales()
        return self

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

    def _check_weights(self, n_estimators):
        if self.weights is None:
            return np.ones(n_estimators)
        try:
            weights = np.asarray(self.weights, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"BlendedRecommender: weights must be numbers; got {self.weights!r}."
            ) from None
        if weights.shape != (n_estimators,):
            raise ValueError(
                f"BlendedRecommender: weights must hold one number per estimator "
                f"({n_estimators}); got shape {weights.shape}."
            )
        if not np.isfinite(weights).all() or (weights < 0).any() or weights.sum() == 0:
            raise ValueError(
                "BlendedRecommender: weights must be finite and non-negative with at least one "
                f"positive; got {weights.tolist()}."
            )
        return weights

    def _measure_scales(self):
        rng = check_random_state(self.random_state)
        n = min(SCALE_SAMPLE, self.n_users_ * self.n_items_)
        users = rng.randint(self.n_users_, size=n)
        items = rng.randint(self.n_items_, size=n)
        scales = np.array([
            np.std(scores) for scores in self._component_scores(users, items)
        ])
        return np.where(scales > 0, scales, 1.0)

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

    def _score_pairs(self, users, items):
        total = np.zeros(users.shape[0], dtype=np.float64)
        for weight, scale, scores in zip(self.weights_, self.scales_,
                                         self._component_scores(users, items)):
            total += weight / scale * scores
        return total

    def _score_users(self, users):
        grid_users = np.repeat(users, self.n_items_)
        grid_items = np.tile(np.arange(self.n_items_), users.shape[0])
        return self._score_pairs(grid_users, grid_items).reshape(users.shape[0], self.n_items_)


def _route(names, estimators, fit_params):
    """For each estimator, the keyword arguments of ``fit_params`` its ``fit`` takes."""
    routes = []
    taken = set()
    for est in estimators:
        signature = inspect.signature(est.fit).parameters
        open_ended = any(p.kind is p.VAR_KEYWORD for p in signature.values())
        route = {k: v for k, v in fit_params.items() if open_ended or k in signature}
        taken |= set(route)
        routes.append(route)
    unused = sorted(set(fit_params) - taken)
    if unused:
        raise TypeError(
            f"BlendedRecommender.fit: no estimator's fit takes {unused} (estimators: {names})."
        )
    return routes
