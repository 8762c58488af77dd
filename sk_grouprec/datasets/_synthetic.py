"""Synthetic ratings with a planted group structure: :func:`make_group_ratings`."""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from .._validation import (
    GROUP_COL,
    ITEM_COL,
    USER_COL,
    check_non_negative,
    check_positive_int,
)

#: The exact weighted fall-back runs once at most max(this, 4 * n_ratings) cells are free.
_EXACT_MAX_FREE = 1 << 23
_MAX_ROUNDS = 200
_MAX_SEGMENTS = 8


def make_group_ratings(
    n_users=1000,
    n_items=500,
    n_groups=10,
    n_ratings=20000,
    *,
    n_factors=8,
    rating_scale=(1, 5),
    discrete=True,
    noise=0.5,
    group_cohesion=0.8,
    activity_skew=1.0,
    popularity_skew=1.5,
    n_user_features=3,
    n_item_genres=8,
    shuffle=True,
    return_groups=False,
    random_state=None,
):
    """Generate ratings whose users fall into planted taste groups.

    Every user belongs to one of ``n_groups`` groups. Users of a group share taste and
    side features: each user quantity (latent factors, bias, numeric features) is
    ``sqrt(c) * group_value + sqrt(1 - c) * individual_value`` with ``c =
    group_cohesion`` and both parts standard normal, so the total spread does not depend
    on ``c``. Items have latent factors, a popularity and features derived from them.

    A rating is the biased matrix-factorisation model::

        r_ui = mu + b_u + b_i + <p_u, q_i> + noise * e_ui,   e_ui ~ N(0, 1)

    with, for a scale of width ``w = high - low`` and ``s = w / 4``: ``mu = low +
    0.625 w`` (3.5 on a 1-5 scale), ``b_u`` of standard deviation ``0.35 s``, ``b_i`` of
    standard deviation ``0.35 s`` and positively correlated with popularity (popular
    items are rated a little higher), and ``<p_u, q_i>`` of standard deviation ``0.8
    s``. Ratings are then rounded to integers (``discrete=True``) and clipped to
    ``rating_scale``.

    Which pairs are rated is skewed like real data: user activity and item popularity
    are log-normal weights (``activity_skew`` and ``popularity_skew`` are the standard
    deviations of their logarithms), and a pair is drawn with probability proportional
    to the product of its two weights. Each (user, item) pair appears at most once:
    pairs are drawn in batches, de-duplicated, and topped up batch after batch until
    ``n_ratings`` distinct pairs exist. Dense requests, or skews so strong that batches
    mostly repeat pairs, switch to exact weighted sampling without replacement among the
    free cells (when they are at most ``max(2**23, 4 * n_ratings)``; beyond that the skew
    is flattened batch after batch until enough pairs exist). Users (items) that drew no
    pair do not appear in ``X``.

    Parameters
    ----------
    n_users : int, default=1000
        Number of users; ids are ``0 .. n_users - 1``.
    n_items : int, default=500
        Number of items; ids are ``0 .. n_items - 1``.
    n_groups : int, default=10
        Number of planted groups, at most ``n_users``. Every group gets at least one
        user; the others are assigned uniformly at random.
    n_ratings : int, default=20000
        Number of distinct (user, item) ratings, at most ``n_users * n_items``.
    n_factors : int, default=8
        Dimension of the latent taste vectors ``p_u`` and ``q_i``.
    rating_scale : tuple of (low, high), default=(1, 5)
        Ratings are clipped to ``[low, high]``; ``low < high``, both integers when
        ``discrete=True``.
    discrete : bool, default=True
        Round ratings to the nearest integer (before clipping).
    noise : float, default=0.5
        Standard deviation of the Gaussian rating noise, ``>= 0``.
    group_cohesion : float, default=0.8
        Share ``c`` in ``[0, 1]`` of each user quantity that comes from the group: ``1``
        makes the users of a group identical (up to rating noise), ``0`` makes groups
        meaningless. It drives taste, user bias, ``user_age``, ``user_f*`` and how often
        ``user_segment`` equals the group's home segment.
    activity_skew : float, default=1.0
        Standard deviation of the log of the user activity weights, ``>= 0``; ``0``
        gives every user the same expected activity. With ``1.0`` the most active 10%
        of users hold about 35-40% of the ratings.
    popularity_skew : float, default=1.5
        Standard deviation of the log of the item popularity weights, ``>= 0``.
    n_user_features : int, default=3
        Number of numeric user features ``user_f0, user_f1, ...`` (``>= 0``), besides
        ``user_age`` and ``user_segment`` which are always present.
    n_item_genres : int, default=8
        Number of boolean genre flags ``item_genre_0, item_genre_1, ...`` (``>= 0``);
        each flag depends on the item's latent factors, so genres carry taste signal.
    shuffle : bool, default=True
        Shuffle the rows. Without shuffling they are sorted by user then item.
    return_groups : bool, default=False
        Also return the planted group of every user.
    random_state : int, RandomState instance or None, default=None
        Seeds the generator; an int gives the same output on every call.

    Returns
    -------
    X : pandas.DataFrame of shape (n_ratings, 5 + n_user_features + n_item_genres)
        One row per rating, in the data contract's form:

        - ``user_id``, ``item_id`` (int32; int64 only for more than 2**31 - 1 ids);
        - ``user_age`` (int8, 16-80, centred on a group mean);
        - ``user_segment`` (category ``"segment_0"``, ...: one of ``min(n_groups, 8)``
          segments; group ``g``'s home segment is ``g % n_segments``, taken with
          probability ``c + (1 - c) / n_segments``, otherwise a uniform segment);
        - ``user_f0 ...`` (float32, group mean plus individual deviation);
        - ``item_genre_0 ...`` (bool);
        - ``item_year`` (int16, 1920-2025, newer items slightly more popular).
    y : ndarray of shape (n_ratings,), dtype float64
        The ratings.
    groups : pandas.Series of shape (n_users,)
        Only when ``return_groups=True``: the planted group (int, ``0 .. n_groups -
        1``) of every user, indexed by user id (including users without ratings), named
        ``group_id``.

    Raises
    ------
    ValueError
        When a size is not a positive integer, ``n_groups > n_users``, ``n_ratings >
        n_users * n_items``, ``noise`` or a skew is negative or not finite,
        ``group_cohesion`` is outside ``[0, 1]``, or ``rating_scale`` is not an
        increasing pair (of integers when ``discrete=True``).

    Examples
    --------
    >>> from sk_grouprec.datasets._synthetic import make_group_ratings
    >>> X, y, groups = make_group_ratings(
    ...     n_users=50, n_items=40, n_groups=3, n_ratings=300, return_groups=True,
    ...     random_state=0)
    >>> X.shape, y.shape, groups.shape
    ((300, 16), (300,), (50,))
    >>> list(X.columns[:5])
    ['user_id', 'item_id', 'user_age', 'user_segment', 'user_f0']
    >>> bool(y.min() >= 1 and y.max() <= 5)
    True
    >>> bool(X.duplicated(["user_id", "item_id"]).any())
    False
    >>> sorted(groups.unique().tolist())
    [0, 1, 2]
    """
    n_users, n_items, n_groups, n_ratings, n_factors, n_user_features, n_item_genres = (
        _check_sizes(
            n_users, n_items, n_groups, n_ratings, n_factors, n_user_features, n_item_genres
        )
    )
    noise = check_non_negative(noise, "noise")
    activity_skew = check_non_negative(activity_skew, "activity_skew")
    popularity_skew = check_non_negative(popularity_skew, "popularity_skew")
    cohesion = _check_group_cohesion(group_cohesion)
    flags = (("discrete", discrete), ("shuffle", shuffle), ("return_groups", return_groups))
    for name, flag in flags:
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False; got {flag!r}.")
    low, high = _check_rating_scale(rating_scale, discrete)

    rng = np.random.default_rng(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    unit = (high - low) / 4.0
    factor_scale = float(np.sqrt(0.8 * unit / np.sqrt(n_factors)))  # <p_u, q_i> has std 0.8 * unit
    user_side = _make_users(
        rng, n_users, n_groups, n_factors, n_user_features, cohesion, unit, factor_scale
    )
    item_side = _make_items(
        rng, n_items, n_factors, n_item_genres, popularity_skew, unit, factor_scale
    )
    users, items = _rated_pairs(
        rng, n_users, n_items, n_ratings, activity_skew, item_side.log_popularity, shuffle
    )
    y = _rate(rng, users, items, user_side, item_side, low, high, noise, discrete)
    X = _ratings_frame(users, items, user_side, item_side)
    if not return_groups:
        return X, y
    groups = pd.Series(user_side.group, index=pd.RangeIndex(n_users, name=USER_COL), name=GROUP_COL)
    return X, y, groups


class _Users(NamedTuple):
    """The planted user side; per-factor and per-feature arrays are one row per factor."""

    group: np.ndarray
    factors: np.ndarray
    bias: np.ndarray
    age: np.ndarray
    numeric: np.ndarray
    segment: np.ndarray
    n_segments: int


class _Items(NamedTuple):
    """The item side; ``factors`` and ``genres`` are one row per factor (genre)."""

    factors: np.ndarray
    log_popularity: np.ndarray
    bias: np.ndarray
    genres: np.ndarray
    year: np.ndarray


def _check_sizes(n_users, n_items, n_groups, n_ratings, n_factors, n_user_features, n_item_genres):
    n_users = check_positive_int(n_users, "n_users")
    n_items = check_positive_int(n_items, "n_items")
    n_groups = check_positive_int(n_groups, "n_groups")
    n_ratings = check_positive_int(n_ratings, "n_ratings")
    n_factors = check_positive_int(n_factors, "n_factors")
    n_user_features = check_positive_int(n_user_features, "n_user_features", minimum=0)
    n_item_genres = check_positive_int(n_item_genres, "n_item_genres", minimum=0)
    if n_groups > n_users:
        raise ValueError(
            f"n_groups ({n_groups}) cannot be larger than n_users ({n_users}): every group "
            "needs at least one user."
        )
    if n_ratings > n_users * n_items:
        raise ValueError(
            f"n_ratings ({n_ratings}) is larger than n_users * n_items ({n_users * n_items}): "
            "each (user, item) pair is rated at most once."
        )
    return n_users, n_items, n_groups, n_ratings, n_factors, n_user_features, n_item_genres


def _check_group_cohesion(group_cohesion):
    if (
        isinstance(group_cohesion, bool)
        or not isinstance(group_cohesion, numbers.Real)
        or not 0 <= group_cohesion <= 1
    ):
        raise ValueError(f"group_cohesion must be a number in [0, 1]; got {group_cohesion!r}.")
    return float(group_cohesion)


def _mix(rng, group, cohesion, group_values, size):
    """Group part plus individual part, both standard normal (float32)."""
    shared, own = float(np.sqrt(cohesion)), float(np.sqrt(1.0 - cohesion))
    individual = rng.standard_normal(size, dtype=np.float32)
    return (shared * group_values[group] + own * individual).astype(np.float32, copy=False)


def _make_users(rng, n_users, n_groups, n_factors, n_user_features, cohesion, unit, factor_scale):
    """Planted groups (each at least one user), then each user's taste, bias and features."""
    group = rng.integers(0, n_groups, n_users)
    group[rng.permutation(n_users)[:n_groups]] = np.arange(n_groups)

    def mixed(group_shape, size):
        return _mix(rng, group, cohesion, rng.standard_normal(group_shape, dtype=np.float32), size)

    user_factors = factor_scale * mixed((n_groups, n_factors), (n_users, n_factors))
    user_factors = np.ascontiguousarray(user_factors.T)  # one contiguous row per factor: fast gathers
    user_bias = 0.35 * unit * mixed(n_groups, n_users)
    age = 38.0 + 12.0 * mixed(n_groups, n_users)
    user_age = np.clip(np.rint(age), 16, 80).astype(np.int8)
    user_numeric = mixed((n_groups, n_user_features), (n_users, n_user_features))
    user_numeric = np.ascontiguousarray(user_numeric.T)
    n_segments = min(n_groups, _MAX_SEGMENTS)
    at_home = rng.random(n_users) < cohesion
    segment = np.where(at_home, group % n_segments, rng.integers(0, n_segments, n_users)).astype(np.int8)
    return _Users(group, user_factors, user_bias, user_age, user_numeric, segment, n_segments)


def _make_items(rng, n_items, n_factors, n_item_genres, popularity_skew, unit, factor_scale):
    """Item taste, popularity, a bias that grows with popularity, genres and year."""
    item_factors = factor_scale * rng.standard_normal((n_items, n_factors), dtype=np.float32)
    log_popularity = popularity_skew * rng.standard_normal(n_items)
    pop_z = (log_popularity - log_popularity.mean()) / (log_popularity.std() or 1.0)
    item_bias = (0.35 * unit * (0.5 * pop_z + np.sqrt(0.75) * rng.standard_normal(n_items))).astype(np.float32)
    genre_axes = rng.standard_normal((n_factors, n_item_genres)).astype(np.float32)
    genre_logit = (item_factors / factor_scale) @ genre_axes / np.sqrt(n_factors)
    genre_logit += 0.5 * rng.standard_normal((n_items, n_item_genres), dtype=np.float32)
    item_genres = np.ascontiguousarray((genre_logit > 0.6).T)  # about 30% of the items per genre
    item_factors = np.ascontiguousarray(item_factors.T)
    year = 2000.0 + 12.0 * rng.standard_normal(n_items) + 3.0 * pop_z
    item_year = np.clip(np.rint(year), 1920, 2025).astype(np.int16)
    return _Items(item_factors, log_popularity, item_bias, item_genres, item_year)


def _rated_pairs(rng, n_users, n_items, n_ratings, activity_skew, log_popularity, shuffle):
    """Which (user, item) pairs are rated: user and item id arrays, one entry per rating."""
    log_activity = activity_skew * rng.standard_normal(n_users)
    codes = _sample_pairs(log_activity, log_popularity, n_ratings, rng)
    if shuffle:
        codes = codes[rng.permutation(codes.shape[0])]
    id_dtype = np.int32 if max(n_users, n_items) <= np.iinfo(np.int32).max else np.int64
    users = (codes // n_items).astype(id_dtype)
    items = (codes - users.astype(np.int64) * n_items).astype(id_dtype)
    return users, items


def _rate(rng, users, items, user_side, item_side, low, high, noise, discrete):
    """The ratings of the pairs, one latent factor at a time (a few arrays of n_ratings)."""
    mu = low + 0.625 * (high - low)
    score = user_side.bias[users] + item_side.bias[items]
    score += np.float32(mu)
    for f in range(user_side.factors.shape[0]):
        score += user_side.factors[f][users] * item_side.factors[f][items]
    if noise > 0:
        score += np.float32(noise) * rng.standard_normal(users.shape[0], dtype=np.float32)
    y = score.astype(np.float64)
    del score
    if discrete:
        np.rint(y, out=y)
    np.clip(y, low, high, out=y)
    return y


def _ratings_frame(users, items, user_side, item_side):
    """``X``: ids, then the user's and the item's features of every rating."""
    columns = {
        USER_COL: users,
        ITEM_COL: items,
        "user_age": user_side.age[users],
        "user_segment": pd.Categorical.from_codes(
            user_side.segment[users],
            categories=[f"segment_{s}" for s in range(user_side.n_segments)],
        ),
    }
    for j in range(user_side.numeric.shape[0]):
        columns[f"user_f{j}"] = user_side.numeric[j][users]
    for j in range(item_side.genres.shape[0]):
        columns[f"item_genre_{j}"] = item_side.genres[j][items]
    columns["item_year"] = item_side.year[items]
    return pd.DataFrame(columns, copy=False)


def _check_rating_scale(rating_scale, discrete):
    try:
        low, high = rating_scale
    except (TypeError, ValueError):
        raise ValueError(
            f"rating_scale must be a pair (low, high); got {rating_scale!r}."
        ) from None
    for bound in (low, high):
        if isinstance(bound, bool) or not isinstance(bound, numbers.Real) or not np.isfinite(bound):
            raise ValueError(f"rating_scale bounds must be finite numbers; got {rating_scale!r}.")
    if not low < high:
        raise ValueError(f"rating_scale must satisfy low < high; got {rating_scale!r}.")
    if discrete and (low != int(low) or high != int(high)):
        raise ValueError(
            f"rating_scale must have integer bounds when discrete=True; got {rating_scale!r}."
        )
    return float(low), float(high)


def _sample_pairs(log_user_weight, log_item_weight, n_pairs, rng):
    """Draw ``n_pairs`` distinct cells ``user * n_items + item`` (sorted int64 codes).

    A pair's chance is proportional to ``exp(log_user_weight[u] + log_item_weight[i])``.
    Batches of independent draws are de-duplicated and merged until enough distinct pairs
    exist.
    Dense requests (more than a quarter of the free cells) and stalled progress (few new
    pairs per draw, skewed weights) switch to exact weighted sampling without replacement
    (exponential keys) among the free cells, as long as at most ``max(_EXACT_MAX_FREE, 4
    * n_pairs)`` cells are free (memory in proportion to the output); otherwise the
    weights are flattened batch after batch.
    """
    n_users, n_items = log_user_weight.shape[0], log_item_weight.shape[0]
    log_user_weight = log_user_weight - log_user_weight.max()
    log_item_weight = log_item_weight - log_item_weight.max()
    n_cells = n_users * n_items
    have = np.empty(0, dtype=np.int64)
    yield_rate = 1.0
    for round_ in range(_MAX_ROUNDS):
        deficit = n_pairs - have.shape[0]
        if deficit == 0:
            return have
        free = n_cells - have.shape[0]
        stalled = round_ >= 3 or yield_rate < 0.5
        if free <= max(_EXACT_MAX_FREE, 4 * n_pairs) and (deficit > 0.25 * free or stalled):
            extra = np.sort(_exact_free_cells(have, log_user_weight, log_item_weight, deficit, rng))
            return np.sort(np.concatenate([have, extra]), kind="stable")
        flatten = 1.0 if round_ < 3 else 0.5 ** (round_ - 2)
        n_draws = int(min(deficit / max(yield_rate, 1e-3) * 1.05 + 64, 4 * n_pairs + 64))
        user_weight = np.exp(flatten * log_user_weight)  # flattening never zeroes a weight
        item_weight = np.exp(flatten * log_item_weight)
        drawn = _draw_cells(user_weight, item_weight, n_draws, rng)
        drawn = _sorted_unique(drawn)
        if have.shape[0]:
            pos = np.minimum(np.searchsorted(have, drawn), have.shape[0] - 1)
            drawn = drawn[have[pos] != drawn]
        yield_rate = max(drawn.shape[0] / n_draws, 1e-6)
        if drawn.shape[0] > deficit:
            drawn = drawn[np.sort(rng.choice(drawn.shape[0], deficit, replace=False))]
        # two sorted runs: the stable sort (timsort) merges them in linear time
        have = np.sort(np.concatenate([have, drawn]), kind="stable") if have.shape[0] else drawn
    raise RuntimeError(  # pragma: no cover - not reached for valid sizes
        f"could not draw {n_pairs} distinct pairs in {_MAX_ROUNDS} batches."
    )


def _draw_cells(user_weight, item_weight, n_draws, rng):
    """``n_draws`` independent weighted cells; counts per side, then a random pairing."""
    n_items = item_weight.shape[0]
    users = np.repeat(
        np.arange(user_weight.shape[0], dtype=np.int64),
        rng.multinomial(n_draws, user_weight / user_weight.sum()),
    )
    items = np.repeat(
        np.arange(n_items, dtype=np.int64), rng.multinomial(n_draws, item_weight / item_weight.sum())
    )
    rng.shuffle(items)
    users *= n_items
    users += items
    return users


def _sorted_unique(codes):
    codes.sort()
    keep = np.empty(codes.shape[0], dtype=bool)
    keep[:1] = True
    np.not_equal(codes[1:], codes[:-1], out=keep[1:])
    return codes[keep]


def _exact_free_cells(have, log_user_weight, log_item_weight, n_needed, rng):
    """Weighted sampling without replacement among the cells not in ``have``.

    Efraimidis-Spirakis: the cells with the smallest ``E / w`` (``E`` exponential), taken
    in log space so that tiny weights do not underflow.
    """
    n_items = log_item_weight.shape[0]
    # the free cells are the gaps between consecutive taken codes (``have`` is sorted)
    bounds = np.concatenate([[-1], have, [log_user_weight.shape[0] * n_items]])
    gap = np.diff(bounds) - 1
    gap_offset = np.cumsum(gap) - gap
    cells = np.arange(gap.sum(), dtype=np.int64) + np.repeat(bounds[:-1] + 1 - gap_offset, gap)
    log_weight = log_user_weight[cells // n_items] + log_item_weight[cells % n_items]
    keys = np.log(rng.exponential(size=cells.shape[0])) - log_weight
    if n_needed < cells.shape[0]:
        cells = cells[np.argpartition(keys, n_needed - 1)[:n_needed]]
    return cells
