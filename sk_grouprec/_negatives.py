"""Negative sampling for ranking objectives: items that are not the entity's positives.

Training with a ranking loss (BPR, pointwise logistic) pairs every positive ``(entity, item)``
row with ``n_negatives`` items drawn from the catalogue, uniformly or in proportion to
drawing weights (:func:`item_weights`: smoothed popularity to an exponent). A draw that is one of the
same entity's (user's or group's) positives is redrawn, all collisions of a round at once:
the positives are encoded as sorted ``entity * n_items + item`` keys and every draw is looked up
with one binary search (``numpy.searchsorted``), so a round costs ``O(n log n_positives)``
without a Python loop per row. An entity that has every item as a positive cannot get a
negative: that is an error, never a silent positive.
"""

from __future__ import annotations

import numpy as np

__all__ = ["PositiveSet", "item_weights", "sample_negatives"]

#: Redraw rounds before giving up (each round keeps a draw with probability >= 1 - density).
MAX_ROUNDS = 64


class PositiveSet:
    """The positive ``(entity, item)`` pairs of a training set, for membership tests.

    Parameters
    ----------
    entities, items : array-like of int of shape (n_pairs,)
        Integer indices (``0 <= item < n_items``); duplicated pairs are allowed.
    n_items : int
        Size of the catalogue.

    Examples
    --------
    >>> from sk_grouprec._negatives import PositiveSet
    >>> positives = PositiveSet([0, 0, 1], [2, 3, 0], n_items=4)
    >>> positives.contains([0, 0, 1], [2, 1, 0]).tolist()
    [True, False, True]
    """

    def __init__(self, entities, items, n_items):
        entities = np.asarray(entities, dtype=np.int64)
        items = np.asarray(items, dtype=np.int64)
        self.n_items = int(n_items)
        self.keys = np.unique(entities * self.n_items + items)
        distinct = np.bincount(self.keys // self.n_items)  # distinct positives per entity
        self.saturated = np.flatnonzero(distinct >= self.n_items)

    def contains(self, entities, items):
        """Boolean array: is each ``(entity, item)`` a positive?"""
        keys = np.asarray(entities, dtype=np.int64) * self.n_items + np.asarray(items, np.int64)
        if self.keys.shape[0] == 0:
            return np.zeros(keys.shape, dtype=bool)
        where = np.minimum(np.searchsorted(self.keys, keys), self.keys.shape[0] - 1)
        return self.keys[where] == keys


def sample_negatives(positives, entities, n_negatives, rng, weights=None):
    """Draw ``n_negatives`` negatives per row, none of them a positive of the row's entity.

    Parameters
    ----------
    positives : PositiveSet
        The training positives (the exclusion set).
    entities : array-like of int of shape (n_rows,)
        The entity of every positive row to pair with negatives.
    n_negatives : int
        Negatives per row.
    rng : numpy.random.Generator
        The source of randomness (the estimator's ``random_state``): the same generator state
        gives the same negatives.
    weights : array-like of float of shape (n_items,), default=None
        Non-negative drawing weights of the items (see :func:`item_weights`), with at least
        one positive weight; ``None`` draws uniformly. An item of weight 0 is never drawn,
        except for an entity whose every positive-weight item is one of its positives.

    Returns
    -------
    ndarray of int64 of shape (n_rows, n_negatives)

    Raises
    ------
    ValueError
        When an entity has every item of the catalogue as a positive.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_grouprec._negatives import PositiveSet, sample_negatives
    >>> positives = PositiveSet([0, 0, 0], [0, 1, 2], n_items=4)
    >>> sample_negatives(positives, [0, 0], 3, np.random.default_rng(0)).tolist()
    [[3, 3, 3], [3, 3, 3]]
    """
    entities = np.asarray(entities, dtype=np.int64)
    if positives.saturated.shape[0] and np.isin(entities, positives.saturated).any():
        bad = np.intersect1d(entities, positives.saturated)[:5].tolist()
        raise ValueError(
            f"entities {bad} have every one of the {positives.n_items} items as a positive: "
            "no negative can be drawn for them."
        )
    rows = np.repeat(entities, n_negatives)
    draw = _drawer(positives.n_items, weights, rng)
    draws = draw(rows.shape[0])
    todo = np.flatnonzero(positives.contains(rows, draws))
    for _ in range(MAX_ROUNDS):
        if todo.shape[0] == 0:
            break
        draws[todo] = draw(todo.shape[0])
        todo = todo[positives.contains(rows[todo], draws[todo])]
    if todo.shape[0]:  # entities with very few non-positives: pick among them exactly
        for index in todo:
            entity = rows[index]
            own = positives.keys[
                (positives.keys >= entity * positives.n_items)
                & (positives.keys < (entity + 1) * positives.n_items)
            ] - entity * positives.n_items
            free = np.setdiff1d(np.arange(positives.n_items), own)
            draws[index] = free[rng.integers(0, free.shape[0])]
    return draws.reshape(entities.shape[0], n_negatives)


def _drawer(n_items, weights, rng):
    """``draw(n)``: ``n`` item indices, uniform or by ``weights`` (inverse of their CDF)."""
    if weights is None:
        return lambda n: rng.integers(0, n_items, n)
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != (n_items,) or not np.isfinite(weights).all() or (weights < 0).any():
        raise ValueError(
            f"weights must be {n_items} finite non-negative numbers, one per item; got an "
            f"array of shape {weights.shape}."
        )
    cdf = np.cumsum(weights)
    if not cdf[-1] > 0:
        raise ValueError("weights must have at least one positive entry.")
    cdf /= cdf[-1]
    return lambda n: np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), n_items - 1)


def item_weights(items, n_items, exponent):
    """Drawing weights ``(count + 1) ** exponent`` of the items, ``count`` the item's rows.

    ``exponent=0`` is uniform sampling, ``1`` draws each item about as often as it is a
    positive (popularity sampling), values in between (word2vec's 0.75) temper it; the
    ``+ 1`` keeps every item of the catalogue drawable.

    Parameters
    ----------
    items : array-like of int
        The item index of every positive row (duplicates count).
    n_items : int
        Size of the catalogue.
    exponent : float
        Non-negative.

    Returns
    -------
    ndarray of float64 of shape (n_items,), or None for ``exponent == 0`` (uniform).

    Examples
    --------
    >>> from sk_grouprec._negatives import item_weights
    >>> item_weights([0, 0, 0, 1], n_items=3, exponent=1.0).tolist()
    [4.0, 2.0, 1.0]
    >>> item_weights([0, 1], n_items=3, exponent=0.0) is None
    True
    """
    if exponent == 0:
        return None
    counts = np.bincount(np.asarray(items, dtype=np.int64), minlength=n_items)
    return (counts + 1.0) ** float(exponent)
