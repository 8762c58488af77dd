"""Bias baselines: a random predictor and the baseline estimate ``mu + b_u + b_i``.

:func:`fit_baselines` is the shared, vectorised estimation of the user and item biases (the
"baseline estimates" of Koren 2010, section 2.1) with the semantics of Surprise's
``bsl_options``; the k-NN family (``KNNBaseline``, the ``pearson_baseline`` similarity) reuses it.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

from .._base import BaseRecommender
from .._validation import check_choice, check_non_negative, check_positive_int

BASELINE_METHODS = ("als", "sgd")
DEFAULT_EPOCHS = {"als": 10, "sgd": 20}


def fit_baselines(
    users,
    items,
    ratings,
    n_users,
    n_items,
    *,
    method="als",
    n_epochs=None,
    reg_u=15,
    reg_i=10,
    reg=0.02,
    learning_rate=0.005,
    global_mean=None,
):
    """Estimate user and item biases of ``r_ui ~ mu + b_u + b_i``.

    Same options and defaults as Surprise's ``bsl_options``:

    - ``method="als"`` alternates the closed-form updates
      ``b_i = sum_u (r_ui - mu - b_u) / (reg_i + |U_i|)`` then
      ``b_u = sum_i (r_ui - mu - b_i) / (reg_u + |I_u|)`` for ``n_epochs`` (default 10);
      this is exactly Surprise's ALS.
    - ``method="sgd"`` follows Surprise's stochastic gradient descent
      ``b <- b + learning_rate * (err - reg * b)``, visiting the ratings user by user in
      order, for ``n_epochs`` (default 20). It is vectorised per epoch: each user's bias
      follows its exact sequence of updates given the item biases at the start of the epoch,
      then each item's bias follows its own sequence given those user-bias trajectories. The
      result is close to, but not bit-identical with, Surprise's strictly sequential loop.

    Parameters
    ----------
    users, items : array-like of int, shape (n_ratings,)
        Contiguous indices in ``0..n_users-1`` and ``0..n_items-1``. For ``"sgd"`` the
        order of the ratings is the visiting order.
    ratings : array-like of float, shape (n_ratings,)
        The ratings.
    n_users, n_items : int
        Number of users and items (biases of indices without ratings stay 0).
    method : {"als", "sgd"}, default="als"
        Optimisation method.
    n_epochs : int, optional
        Number of passes; ``None`` means 10 for ``"als"`` and 20 for ``"sgd"``.
    reg_u, reg_i : float, default=15, 10
        Regularisation of user and item biases (ALS only).
    reg : float, default=0.02
        Regularisation of both biases (SGD only).
    learning_rate : float, default=0.005
        Step size (SGD only).
    global_mean : float, optional
        The mean ``mu``; default is the mean of ``ratings``.

    Returns
    -------
    global_mean : float
        The mean rating ``mu`` used.
    user_bias : ndarray of shape (n_users,)
    item_bias : ndarray of shape (n_items,)

    Examples
    --------
    >>> import numpy as np
    >>> from sk_grouprec.baselines.bias import fit_baselines
    >>> users = np.array([0, 0, 1, 2])
    >>> items = np.array([0, 1, 0, 1])
    >>> mu, bu, bi = fit_baselines(users, items, np.array([5.0, 3.0, 4.0, 1.0]), 3, 2)
    >>> round(mu, 2), bu.shape, bi.shape
    (3.25, (3,), (2,))
    >>> bool(bu[0] > bu[2])
    True
    """
    method = check_choice(method, "method", BASELINE_METHODS)
    n_epochs = DEFAULT_EPOCHS[method] if n_epochs is None else check_positive_int(n_epochs, "n_epochs")
    n_users = check_positive_int(n_users, "n_users")
    n_items = check_positive_int(n_items, "n_items")
    users = np.asarray(users, dtype=np.int64)
    items = np.asarray(items, dtype=np.int64)
    ratings = np.asarray(ratings, dtype=np.float64)
    if not users.shape == items.shape == ratings.shape or users.ndim != 1:
        raise ValueError(
            f"users, items and ratings must be 1-D of the same length; got shapes "
            f"{users.shape}, {items.shape}, {ratings.shape}."
        )
    if users.size == 0:
        raise ValueError("fit_baselines needs at least one rating; got none.")
    if users.min() < 0 or users.max() >= n_users or items.min() < 0 or items.max() >= n_items:
        raise ValueError("users and items must be indices in [0, n_users) and [0, n_items).")
    mu = float(ratings.mean()) if global_mean is None else float(global_mean)
    if method == "als":
        bu, bi = _baselines_als(
            users, items, ratings - mu, n_users, n_items, n_epochs,
            check_non_negative(reg_u, "reg_u"), check_non_negative(reg_i, "reg_i"),
        )
    else:
        bu, bi = _baselines_sgd(
            users, items, ratings - mu, n_users, n_items, n_epochs,
            check_non_negative(reg, "reg"), check_non_negative(learning_rate, "learning_rate"),
        )
    return mu, bu, bi


def _baselines_als(users, items, dev, n_users, n_items, n_epochs, reg_u, reg_i):
    count_u = np.bincount(users, minlength=n_users)
    count_i = np.bincount(items, minlength=n_items)
    bu = np.zeros(n_users)
    bi = np.zeros(n_items)
    for _ in range(n_epochs):
        bi = np.bincount(items, weights=dev - bu[users], minlength=n_items) / (reg_i + count_i)
        bu = np.bincount(users, weights=dev - bi[items], minlength=n_users) / (reg_u + count_u)
    return bu, bi


def _decayed_trajectory(groups, targets, start, n_groups, decay, lr):
    """Sequential updates ``b <- decay * b + lr * target`` within each group, vectorised.

    ``groups`` must be sorted (stable) so each group's ratings are contiguous in visiting
    order. Returns the value of ``b`` *before* each update and the final value per group.
    """
    n = groups.shape[0]
    counts = np.bincount(groups, minlength=n_groups)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.arange(n) - first[groups]
    # Within a block of positions, b_t = decay^q b_start + lr sum_{s<q} decay^(q-1-s) c_s is a
    # rescaled cumulative sum; blocks are short enough that decay^-q stays below 1e4.
    block_len = n if decay >= 1.0 else max(1, int(np.log(1e4) / -np.log(decay)))
    block, q = np.divmod(pos, block_len)
    n_blocks = int(block.max()) + 1
    seg = groups * n_blocks + block
    scaled = targets * decay ** (-q.astype(np.float64))
    csum = np.cumsum(scaled)
    seg_first = np.flatnonzero(np.r_[True, seg[1:] != seg[:-1]])
    seg_of_row = np.cumsum(np.r_[False, seg[1:] != seg[:-1]])
    offset = np.concatenate([[0.0], csum])[seg_first][seg_of_row]
    local = lr * decay ** (q - 1.0) * (csum - scaled - offset)
    # value reached at the end of each (group, block) when starting from 0, and its length
    last = np.r_[seg_first[1:] - 1, n - 1]
    local_end = np.zeros(n_groups * n_blocks)
    seg_len = np.zeros(n_groups * n_blocks)
    local_end[seg[last]] = decay * local[last] + lr * targets[last]
    seg_len[seg[last]] = q[last] + 1
    local_end = local_end.reshape(n_groups, n_blocks)
    shrink = decay ** seg_len.reshape(n_groups, n_blocks)
    block_start = np.empty((n_groups, n_blocks + 1))
    block_start[:, 0] = start
    for k in range(n_blocks):
        block_start[:, k + 1] = shrink[:, k] * block_start[:, k] + local_end[:, k]
    before = decay**q * block_start[groups, block] + local
    return before, block_start[:, n_blocks].copy()


def _baselines_sgd(users, items, dev, n_users, n_items, n_epochs, reg, lr):
    visit = np.argsort(users, kind="stable")
    users, items, dev = users[visit], items[visit], dev[visit]
    by_item = np.argsort(items, kind="stable")
    bu = np.zeros(n_users)
    bi = np.zeros(n_items)
    for _ in range(n_epochs):
        bu, bi = _sgd_bias_epoch(users, items, dev, bu, bi, by_item, lr, lr, reg, reg)
    return bu, bi


def _sgd_bias_epoch(users, items, dev, bu, bi, by_item, lr_u, lr_i, reg_u, reg_i):
    """One epoch of Surprise's per-rating bias SGD ``b <- b + lr (dev - b_u - b_i - reg b)``.

    The ratings must be in visiting order with ``users`` sorted (ratings of a user are
    contiguous); ``by_item`` is the stable argsort of ``items``. Each user's bias follows
    its exact sequence of updates given the item biases at the start of the epoch; each
    item's bias then follows its own sequence given those user-bias trajectories.
    """
    decays = []
    for lr, reg, who in ((lr_u, reg_u, "user"), (lr_i, reg_i, "item")):
        decay = 1.0 - lr * (1.0 + reg)
        if not 0.0 < decay <= 1.0:
            raise ValueError(
                f"the {who}-bias learning rate * (1 + reg) must be below 1 for a stable SGD; "
                f"got learning rate {lr} and reg {reg}."
            )
        decays.append(decay)
    bu_before, bu_new = _decayed_trajectory(users, dev - bi[items], bu, bu.shape[0], decays[0], lr_u)
    target_i = dev[by_item] - bu_before[by_item]
    _, bi_new = _decayed_trajectory(items[by_item], target_i, bi, bi.shape[0], decays[1], lr_i)
    return bu_new, bi_new


class NormalPredictor(BaseRecommender):
    """Predict a random rating drawn from a normal fitted to the training ratings.

    ``mu`` and ``sigma`` are the maximum-likelihood mean and standard deviation of the
    training ratings (as Surprise's ``NormalPredictor``). Unlike Surprise, each
    ``(user, item)`` pair always gets the same draw from a fitted estimator, so predictions
    are reproducible and independent of batching: the draw is a counter-based pseudo-random
    function of ``(seed, user index, item index)`` where the seed comes from
    ``random_state`` at fit time. Unknown users (or items) share one index, so they share
    draws per known item (or user). Predictions are clipped to the training rating range.

    Parameters
    ----------
    random_state : int, RandomState instance or None, default=None
        Seeds the draws.

    Attributes
    ----------
    global_mean_ : float
        Mean of the training ratings.
    sigma_ : float
        Standard deviation (maximum likelihood) of the training ratings.
    seed_ : int
        The seed of the per-pair draws.
    n_users_, n_items_ : int
        Number of users and items seen in ``fit``.

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_grouprec.baselines.bias import NormalPredictor
    >>> X = pd.DataFrame({"user_id": [1, 1, 2, 3], "item_id": [10, 11, 10, 12]})
    >>> est = NormalPredictor(random_state=0).fit(X, [4, 3, 5, 2])
    >>> pred = est.predict(X)
    >>> pred.shape, bool((pred >= 2).all() and (pred <= 5).all())
    ((4,), True)
    """

    def __init__(self, random_state=None):
        self.random_state = random_state

    def _fit_indexed(self, users, items, ratings, X):
        self.sigma_ = float(np.sqrt(np.mean((ratings - self.global_mean_) ** 2)))
        self.seed_ = int(check_random_state(self.random_state).randint(0, 2**31 - 1))

    def _predict_indexed(self, users, items):
        z = _pair_normal(self.seed_, users, items)
        return self.global_mean_ + self.sigma_ * z


def _splitmix64(x):
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _pair_normal(seed, users, items):
    """Standard normal draws, a fixed function of ``(seed, user, item)`` (Box-Muller)."""
    u = np.asarray(users, dtype=np.int64).astype(np.uint64)
    i = np.asarray(items, dtype=np.int64).astype(np.uint64)
    with np.errstate(over="ignore"):
        h = _splitmix64(_splitmix64(np.uint64(seed) ^ u) + i)
        h2 = _splitmix64(h)
    scale = 1.0 / float(1 << 53)
    u1 = ((h >> np.uint64(11)).astype(np.float64) + 0.5) * scale
    u2 = (h2 >> np.uint64(11)).astype(np.float64) * scale
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


class BaselineOnly(BaseRecommender):
    """Predict the baseline estimate ``mu + b_u + b_i``.

    Surprise's ``BaselineOnly`` with its ``bsl_options`` as plain keyword arguments; the
    biases come from :func:`fit_baselines` (see there for the two methods). An unknown
    user (item) has ``b_u = 0`` (``b_i = 0``): the prediction is the known side's bias plus
    the global mean, or the global mean when both are unknown. Predictions are clipped to
    the training rating range.

    Parameters
    ----------
    method : {"als", "sgd"}, default="als"
        Alternating least squares or stochastic gradient descent.
    n_epochs : int or None, default=None
        Number of passes; ``None`` means 10 for ``"als"`` and 20 for ``"sgd"`` (Surprise's
        defaults).
    reg_u : float, default=15
        Regularisation of user biases (ALS).
    reg_i : float, default=10
        Regularisation of item biases (ALS).
    reg : float, default=0.02
        Regularisation of both biases (SGD).
    learning_rate : float, default=0.005
        Step size (SGD).
    verbose : bool, default=False
        Print the method used while fitting.

    Attributes
    ----------
    global_mean_ : float
        Mean training rating ``mu``.
    user_bias_ : ndarray of shape (n_users_,)
        ``b_u`` per user index (see ``user_index_``).
    item_bias_ : ndarray of shape (n_items_,)
        ``b_i`` per item index (see ``item_index_``).
    n_users_, n_items_ : int
        Number of users and items seen in ``fit``.

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_grouprec.baselines.bias import BaselineOnly
    >>> X = pd.DataFrame({"user_id": [1, 1, 2, 2, 3], "item_id": [10, 11, 10, 12, 11]})
    >>> est = BaselineOnly(reg_u=0.5, reg_i=0.5).fit(X, [5, 4, 3, 2, 4])
    >>> est.predict(pd.DataFrame({"user_id": [1, 99], "item_id": [12, 99]})).round(2)
    array([3.65, 3.6 ])
    """

    def __init__(
        self,
        method="als",
        n_epochs=None,
        reg_u=15,
        reg_i=10,
        reg=0.02,
        learning_rate=0.005,
        verbose=False,
    ):
        self.method = method
        self.n_epochs = n_epochs
        self.reg_u = reg_u
        self.reg_i = reg_i
        self.reg = reg
        self.learning_rate = learning_rate
        self.verbose = verbose

    def _fit_indexed(self, users, items, ratings, X):
        if self.verbose:
            print(f"Estimating biases using {self.method}...")
        _, self.user_bias_, self.item_bias_ = fit_baselines(
            users, items, ratings, self.n_users_, self.n_items_,
            method=self.method, n_epochs=self.n_epochs, reg_u=self.reg_u, reg_i=self.reg_i,
            reg=self.reg, learning_rate=self.learning_rate, global_mean=self.global_mean_,
        )

    def _predict_indexed(self, users, items):
        return self.global_mean_ + _gather(self.user_bias_, users) + _gather(self.item_bias_, items)


def _gather(values, indices):
    """``values[indices]`` with 0 (or zero rows) where ``indices`` is -1 (unknown)."""
    known = indices >= 0
    out = values[np.where(known, indices, 0)]
    if out.ndim == 1:
        return np.where(known, out, 0.0)
    return np.where(known[:, None], out, 0.0)
