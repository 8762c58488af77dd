"""Matrix factorisation baselines: SVD (biased MF), SVD++ and non-negative MF.

Parameters, defaults and update rules are those of Surprise 1.1.5 (``SVD``, ``SVDpp``,
``NMF``) so that the same grid means the same model. Training is vectorised:

- ``SVD`` and ``SVDpp`` run Surprise's stochastic gradient updates on mini-batches of
  ``batch_size`` ratings (a new random partition each epoch) in float32 torch tensors, on
  one torch thread. Each batch applies the *sum* of the
  per-rating updates Surprise would apply one after the other, so learning rates and
  regularisation constants keep their per-rating meaning. SVD++'s implicit-feedback term
  ``|N(u)|^-1/2 sum_{j in N(u)} y_j`` is gathered for the users of the batch's block only
  (an ``embedding_bag`` over their rating histories, or a product with the dense matrix of
  their histories on dense data), so an epoch costs time linear in the number of
  ratings; its batch sizes are capped where summed updates would oscillate (dense data,
  see ``_svdpp_batching``).
- Both train on ratings divided by a scale ``s`` (:func:`rating_scale`): 1 on a 1-5 scale,
  where training is exactly Surprise's, ``(max - min) / 4`` on other scales, so that
  learning rates and regularisation mean on any scale what they mean on 1-5 and the summed
  updates stay stable (a 0-100 scale would otherwise diverge). The learned biases and
  factors are scaled back (by ``s`` and ``sqrt(s)``): estimates are on the data's scale.
- A training that becomes non-finite anyway raises :class:`NonFiniteTrainingError`.
- ``NMF`` runs Surprise's multiplicative updates exactly (they are already epoch-wise), as
  sparse matrix products.
"""

from __future__ import annotations

import contextlib
import numbers
import warnings
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils import check_random_state

from .._base import BaseRecommender
from .._validation import check_non_negative, check_positive_int
from .bias import _gather, _sgd_bias_epoch

# Ratings per mini-batch. SVD++ (larger learning rate, y_j updated by every rating of the
# users who rated j) needs smaller batches than SVD to match Surprise's accuracy on
# MovieLens 100K (measured: see benchmarks/BASELINES.md).
SVD_BATCH_SIZE = 8192
SVDPP_BATCH_SIZE = 4096
# SVD++'s batches hold few enough ratings that their summed y_j updates move the mean
# user's implicit term by at most this many ratings' worth (weighted by history overlap, see
# _svdpp_batching): 80% of MovieLens 100K, with 675 at the default batch size, is not
# affected; on dense data (1,000 users, 200 items, 100K ratings: 2,770) larger batches
# oscillate and lose accuracy, or diverge.
SVDPP_BATCH_OVERLAP = 700
# ... SVD++ shuffles the ratings of blocks of users holding at most this many batches of
# ratings: a batch then touches a bounded set of users, whose implicit terms are all that
# is computed.
SVDPP_BLOCK_BATCHES = 25
# ... and as few as hold at most this many ratings of a user at the 99th percentile of
# ratings per user in each batch (in expectation). Small blocks make batches cheap (their
# users' histories are all that is gathered) and, on dense data, more accurate; but the
# summed updates of many ratings of the same user diverge (with the median user instead,
# MovieLens 100K's heaviest users get 500 ratings per batch and diverge). MovieLens 100K
# gets 3 blocks (its heaviest users about 80 ratings per batch).
SVDPP_RATINGS_PER_USER = 48
# ... and at most this many ratings per item on average (MovieLens 100K, with 2.4 at the
# default batch size, is not affected).
SVDPP_RATINGS_PER_ITEM = 10
# Data whose users x items grid has at most this many cells per rating (density at least
# 1/4) keep their histories as a dense matrix: two small matrix products per batch then cost
# less than gathering every history entry.
SVDPP_DENSE_CELLS_PER_RATING = 4


class NonFiniteTrainingError(FloatingPointError, ValueError):
    """Raised when a training diverges: a loss or parameter became NaN or infinite.

    A subclass of both :class:`FloatingPointError` and :class:`ValueError`. The message
    names the estimator and the epoch and suggests what to change (smaller ``lr_*``, larger
    ``reg_*``, smaller ``batch_size``, or rescaled ratings).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sk_grouprec.baselines import SVD, NonFiniteTrainingError
    >>> X = pd.DataFrame({"user_id": [0, 0, 1, 1], "item_id": [0, 1, 0, 1]})
    >>> y = np.array([1.0, 5.0, 5.0, 1.0])
    >>> try:
    ...     SVD(lr_all=1e6, n_epochs=5, random_state=0).fit(X, y)
    ... except NonFiniteTrainingError as error:
    ...     print("diverged")
    diverged
    """


def rating_scale(ratings, biased=True):
    """The factor that brings ``ratings`` to the size of a 1-5 scale for SGD training.

    ``(max - min) / 4`` (1 on a 1-5 scale); without biases (no global mean to subtract)
    at least ``max |r| / 5``. A scale of 0 (all ratings equal, or all 0) gives 1.

    Parameters
    ----------
    ratings : ndarray of float
        Training ratings.
    biased : bool, default=True
        Whether the model subtracts the global mean and biases.

    Returns
    -------
    scale : float

    Examples
    --------
    >>> import numpy as np
    >>> from sk_grouprec.baselines.matrix_factorization import rating_scale
    >>> rating_scale(np.array([1.0, 5.0])), rating_scale(np.array([0.0, 100.0]))
    (1.0, 25.0)
    """
    ratings = np.asarray(ratings, dtype=np.float64)
    scale = (float(ratings.max()) - float(ratings.min())) / 4.0
    if not biased:
        scale = max(scale, float(np.abs(ratings).max()) / 5.0)
    return scale if scale > 0 and np.isfinite(scale) else 1.0


def _diverged(name, epoch, what="the training error"):
    return NonFiniteTrainingError(
        f"{name} training diverged: {what} became NaN or infinite at epoch {epoch}. Use "
        "smaller learning rates (lr_all / lr_*), more regularisation (reg_all / reg_*), a "
        "smaller batch_size, or rescale the ratings."
    )


def _check_real(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite real number; got {value!r}.")
    return float(value)


def _check_bool(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False; got {value!r}.")
    return bool(value)


def _resolve(specific, shared, name):
    """Per-parameter value (``lr_bu``...) falling back to the shared one (``lr_all``)."""
    return check_non_negative(shared if specific is None else specific, name)


@contextlib.contextmanager
def _single_torch_thread():
    """Run torch on one intra-op thread (restored afterwards).

    The mini-batch operations are small, so thread synchronisation costs more than it
    saves, and on a busy machine oversubscribed OpenMP threads slow training down by an
    order of magnitude.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _csr(crow, col, values, shape):
    """A CSR tensor from trusted parts (no invariant check, no beta warning)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(crow, col, values, size=shape, check_invariants=False)


def _sgd_factorize(
    users, items, ratings, n_users, n_items, *, n_factors, n_epochs, biased, implicit,
    init_mean, init_std_dev, lr, reg, batch_size, random_state, verbose, name="SVD",
):
    """Mini-batch version of Surprise's SVD / SVD++ SGD (see the module docstring).

    ``lr`` and ``reg`` are dicts keyed by ``bu, bi, pu, qi`` (and ``yj`` for SVD++).
    Returns numpy float64 arrays ``(bu, bi, pu, qi, yj_or_None, implicit_or_None)``.

    Each batch is held as a sparse user x item matrix (and its transpose): the estimates
    are a sampled dense product and the summed factor gradients are sparse-dense products,
    which avoids materialising a row of factors per rating.
    """
    if implicit:
        return _sgd_factorize_implicit(
            users, items, ratings, n_users, n_items, n_factors=n_factors, n_epochs=n_epochs,
            init_mean=init_mean, init_std_dev=init_std_dev, lr=lr, reg=reg,
            batch_size=batch_size, random_state=random_state, verbose=verbose, name=name,
        )
    rng = check_random_state(random_state)
    shape_u, shape_i = (n_users, n_factors), (n_items, n_factors)
    pu = torch.from_numpy(rng.normal(init_mean, init_std_dev, size=shape_u).astype(np.float32))
    qi = torch.from_numpy(rng.normal(init_mean, init_std_dev, size=shape_i).astype(np.float32))
    bu = torch.zeros(n_users)
    bi = torch.zeros(n_items)
    mu = float(ratings.mean()) if biased else 0.0
    # ratings grouped by user (data order) and, as a permutation of those, grouped by item
    by_user = np.argsort(users, kind="stable")
    users, items, ratings = users[by_user], items[by_user], ratings[by_user]
    by_item = np.argsort(items, kind="stable")
    u_all = torch.from_numpy(users.astype(np.int64))
    i_all = torch.from_numpy(items.astype(np.int64))
    r_all = torch.from_numpy(ratings.astype(np.float32))
    zero = torch.zeros(1, dtype=torch.int64)
    n = users.shape[0]
    n_batches = -(-n // batch_size)
    batch_dtype = np.int16 if n_batches < 2**15 else np.int64
    err_ep = torch.zeros(n)
    for epoch in range(n_epochs):
        if verbose:
            print(f"Processing epoch {epoch}")
        # A random partition into batches of batch_size ratings; stable sorts by batch keep
        # each batch's ratings grouped by user (and, in the second order, by item).
        batch_of = (rng.permutation(n) // batch_size).astype(batch_dtype)
        order_u = np.argsort(batch_of, kind="stable")
        order_i = by_item[np.argsort(batch_of[by_item], kind="stable")]
        # item-ordered entries as positions in the user-ordered epoch arrays
        position = np.empty(n, dtype=np.int64)
        position[order_u] = np.arange(n)
        item_to_user_pos = torch.from_numpy(position[order_i])
        order_u = torch.from_numpy(order_u)
        u_ep, i_ep, r_ep = u_all[order_u], i_all[order_u], r_all[order_u]
        u_ep_i = u_all[torch.from_numpy(order_i)]
        for start in range(0, n, batch_size):
            stop = start + batch_size
            u, i, r = u_ep[start:stop], i_ep[start:stop], r_ep[start:stop]
            count_u = torch.bincount(u, minlength=n_users)
            count_i = torch.bincount(i, minlength=n_items)
            crow_u = torch.cat([zero, torch.cumsum(count_u, 0)])
            crow_i = torch.cat([zero, torch.cumsum(count_i, 0)])
            user_vec = pu
            # (a gather, not a sampled sparse product: a batch may repeat a (user, item) pair)
            err = r - (user_vec.index_select(0, u) * qi.index_select(0, i)).sum(1)
            if biased:
                err -= mu + bu.index_select(0, u) + bi.index_select(0, i)
            err_ep[start:stop] = err
            # Sums over the batch of the per-rating gradients e q_i (users), e (p_u [+ implicit])
            # (items), both from the factors before this batch, as Surprise's update uses.
            grad_u = torch.sparse.mm(_csr(crow_u, i, err, (n_users, n_items)), qi)
            item_err = _csr(
                crow_i, u_ep_i[start:stop], err_ep.index_select(0, item_to_user_pos[start:stop]),
                (n_items, n_users),
            )
            grad_i = torch.sparse.mm(item_err, user_vec)
            # x += lr (sum of gradients - reg * count * x): decay rows by their batch count
            count_u, count_i = count_u.to(torch.float32), count_i.to(torch.float32)
            if biased:
                bu.mul_(1.0 - lr["bu"] * reg["bu"] * count_u).index_add_(0, u, err, alpha=lr["bu"])
                bi.mul_(1.0 - lr["bi"] * reg["bi"] * count_i).index_add_(0, i, err, alpha=lr["bi"])
            pu.mul_((1.0 - lr["pu"] * reg["pu"] * count_u)[:, None]).add_(grad_u, alpha=lr["pu"])
            qi.mul_((1.0 - lr["qi"] * reg["qi"] * count_i)[:, None]).add_(grad_i, alpha=lr["qi"])
        if not bool(torch.isfinite(err_ep).all()):
            raise _diverged(name, epoch)
    if not all(bool(torch.isfinite(t).all()) for t in (bu, bi, pu, qi)):
        raise _diverged(name, n_epochs - 1, "a parameter")
    return (
        bu.numpy().astype(np.float64),
        bi.numpy().astype(np.float64),
        pu.numpy().astype(np.float64),
        qi.numpy().astype(np.float64),
        None,
        None,
    )


def _sgd_factorize_implicit(
    users, items, ratings, n_users, n_items, *, n_factors, n_epochs, init_mean,
    init_std_dev, lr, reg, batch_size, random_state, verbose, name="SVDpp",
):
    """Mini-batch version of Surprise's SVD++ SGD whose cost is linear in the ratings.

    Each epoch splits the users at random into blocks (:func:`_svdpp_batching`), shuffles
    each block's ratings and cuts them into batches. A batch's estimates need the implicit
    term of its block's users only, and the summed ``y_j`` updates (``e q_i / sqrt|N(u)|
    - reg y_j`` for every batch rating of every user ``u`` who rated ``j``) sum over the
    same histories: two products with the block's histories (:class:`_BlockHistories`).

    The parameters are held augmented, so that one dot product gives an estimate and one
    scatter-add per side gives every summed gradient: users ``[p_u, b_u, 1]``, items
    ``[q_i, 1, b_i]``, implicit factors ``[y_j, 0, 0]``, with per-column learning rates
    (0 on the constant columns).
    """
    rng = check_random_state(random_state)
    bu, bi, pu, qi, yj = _svdpp_init(rng, n_users, n_items, n_factors, init_mean, init_std_dev)
    f = n_factors
    user_rows = torch.cat([pu, bu[:, None], torch.ones(n_users, 1)], 1)
    item_rows = torch.cat([qi, torch.ones(n_items, 1), bi[:, None]], 1)
    implicit_rows = torch.cat([yj, torch.zeros(n_items, 2)], 1)

    def columns(factor, first, second):
        return torch.tensor([factor] * f + [first, second], dtype=torch.float32)

    rates = _SvdppRates(
        columns(lr["pu"], lr["bu"], 0.0), columns(lr["pu"] * reg["pu"], lr["bu"] * reg["bu"], 0.0),
        columns(lr["qi"], 0.0, lr["bi"]), columns(lr["qi"] * reg["qi"], 0.0, lr["bi"] * reg["bi"]),
        columns(lr["yj"], 0.0, 0.0), columns(lr["yj"] * reg["yj"], 0.0, 0.0),
    )
    mu = float(ratings.mean())
    count = np.bincount(users, minlength=n_users)
    norm = torch.from_numpy((1.0 / np.sqrt(np.maximum(count, 1))).astype(np.float32))
    batch_size, n_blocks = _svdpp_batching(users, items, n_users, n_items, batch_size)
    # the ratings ordered by user are also the histories N(u)
    by_user = np.argsort(users, kind="stable")
    hist = _Histories(users[by_user], items[by_user])
    dense = _dense_histories(hist, count, norm, n_users, n_items)
    u_all = torch.from_numpy(hist.u_user.astype(np.int64))
    i_all = torch.from_numpy(hist.u_item.astype(np.int64))
    r_all = torch.from_numpy((ratings[by_user] - mu).astype(np.float32))  # estimates exclude mu
    for epoch in range(n_epochs):
        if verbose:
            print(f"Processing epoch {epoch}")
        layout = _BlockLayout.draw(rng, n_users, count, n_blocks)
        local = torch.from_numpy(layout.local)
        for block in range(n_blocks):
            order = torch.from_numpy(layout.ratings(block, rng))
            if order.shape[0] == 0:
                continue
            histories = layout.histories(block, hist, count, norm, n_items, dense)
            _svdpp_block(
                local.index_select(0, u_all.index_select(0, order)), i_all.index_select(0, order),
                r_all.index_select(0, order), histories, user_rows, item_rows, implicit_rows,
                rates, batch_size,
            )
        if not all(bool(torch.isfinite(t.sum())) for t in (user_rows, item_rows, implicit_rows)):
            raise _diverged(name, epoch, "a parameter")
    bu, bi = user_rows[:, f].contiguous(), item_rows[:, f + 1].contiguous()
    pu, qi = user_rows[:, :f].contiguous(), item_rows[:, :f].contiguous()
    yj = implicit_rows[:, :f].contiguous()
    if not all(bool(torch.isfinite(t).all()) for t in (bu, bi, pu, qi, yj)):
        raise _diverged(name, n_epochs - 1, "a parameter")
    user_implicit = _svdpp_user_implicit(yj, count, hist)
    return (
        *(t.numpy().astype(np.float64) for t in (bu, bi, pu, qi, yj)),
        user_implicit.numpy().astype(np.float64),
    )


def _svdpp_batching(users, items, n_users, n_items, batch_size):
    """``(batch_size, n_blocks)`` of SVD++'s epochs over the ratings ``(users, items)``.

    The batch size is capped three ways (see the module's constants):

    - the summed ``y_j`` updates of a batch move every user's implicit term
      ``|N(u)|^-1/2 sum_{j in N(u)} y_j`` by the batch's errors weighted by the cosine
      similarity of the histories of ``u`` and of each rating's user. Batches hold few
      enough ratings that this sum of similarities is at most ``SVDPP_BATCH_OVERLAP`` for
      the mean user (dense data, where all histories overlap, need smaller batches);
    - at most ``SVDPP_RATINGS_PER_ITEM`` ratings per item on average;
    - blocks hold about ``r / SVDPP_RATINGS_PER_USER`` batches (at most
      ``SVDPP_BLOCK_BATCHES``), where ``r`` is the 99th percentile of the users' numbers of
      ratings: a batch holds in expectation at most ``SVDPP_RATINGS_PER_USER`` ratings of
      such a user of its block (heavier users more, in proportion).
    """
    n = users.shape[0]
    count = np.bincount(users, minlength=n_users)
    # sum_v (n_v / n) cos(N(u), N(v)) = sum_{j in N(u)} sum_{v rated j} sqrt(n_v) / (n sqrt(n_u))
    root = np.sqrt(count)
    per_item = np.bincount(items, weights=root[users], minlength=n_items)
    per_user = np.bincount(users, weights=per_item[items], minlength=n_users)
    rated = count > 0
    overlap = float(np.mean(per_user[rated] / root[rated])) / n
    batch_size = min(
        batch_size,
        max(1, SVDPP_RATINGS_PER_ITEM * n_items),
        max(1, int(SVDPP_BATCH_OVERLAP / overlap)) if overlap > 0 else batch_size,
    )
    heavy = float(np.percentile(count[rated], 99))
    batches_per_block = min(SVDPP_BLOCK_BATCHES, max(1.0, heavy / SVDPP_RATINGS_PER_USER))
    n_blocks = max(1, round(n / (batches_per_block * batch_size)))
    batch_size = min(batch_size, max(1, int(SVDPP_RATINGS_PER_USER * n / (n_blocks * heavy))))
    return int(batch_size), int(n_blocks)


class _SvdppRates(NamedTuple):
    """Per-column learning rates and ``lr * reg`` of the augmented user, item and implicit
    rows (see :func:`_sgd_factorize_implicit`)."""

    user: torch.Tensor
    user_decay: torch.Tensor
    item: torch.Tensor
    item_decay: torch.Tensor
    implicit: torch.Tensor
    implicit_decay: torch.Tensor


def _svdpp_block(ul, i, r, histories, user_rows, item_rows, implicit_rows, rates, batch_size):
    """Train on one block's shuffled ratings, cut into equal batches of at most
    ``batch_size``; ``ul`` are the users' ids local to the block, ``r`` the ratings minus
    the global mean. Updates the rows in place."""
    m = ul.shape[0]
    n_batches = -(-m // batch_size)
    n_local, n_items = histories.users.shape[0], item_rows.shape[0]
    batch_of = torch.arange(m) * n_batches // m
    bounds = torch.searchsorted(batch_of, torch.arange(n_batches + 1)).tolist()
    # rating counts of every batch, per user, per item and summed over the users who rated
    # each item (the y_j decays)
    count_u = torch.bincount(batch_of * n_local + ul, minlength=n_batches * n_local)
    count_u = count_u.view(n_batches, n_local).to(torch.float32)
    count_i = torch.bincount(batch_of * n_items + i, minlength=n_batches * n_items)
    count_i = count_i.view(n_batches, n_items).to(torch.float32)
    count_y = histories.item_sums(count_u.t() / histories.norm[:, None]).t().contiguous()
    # the block's users are updated by this block's batches only
    block_rows = user_rows.index_select(0, histories.users)
    width = block_rows.shape[1]
    for k in range(n_batches):
        start, stop = bounds[k], bounds[k + 1]
        u_b, i_b = ul[start:stop], i[start:stop]
        user_vec = block_rows + histories.implicit(implicit_rows)
        uv, iv = user_vec.index_select(0, u_b), item_rows.index_select(0, i_b)
        err = (r[start:stop] - (uv * iv).sum(1))[:, None]
        # summed per-rating gradients, all from the parameters before this batch, as
        # Surprise's updates use: [e q_i, e, -] per user, [e (p_u + implicit), -, e] per
        # item, and [sum over the users u who rated j of e q_i / sqrt|N(u)|, -, -] per item
        grad_u = torch.zeros(n_local, width).index_add_(0, u_b, iv * err)
        grad_i = torch.zeros(n_items, width).index_add_(0, i_b, uv * err)
        grad_y = histories.item_sums(grad_u)
        # x += lr (sum of gradients - reg * count * x)
        block_rows.mul_(1.0 - count_u[k, :, None] * rates.user_decay).addcmul_(grad_u, rates.user)
        item_rows.mul_(1.0 - count_i[k, :, None] * rates.item_decay).addcmul_(grad_i, rates.item)
        implicit_rows.mul_(1.0 - count_y[k, :, None] * rates.implicit_decay).addcmul_(
            grad_y, rates.implicit
        )
    user_rows.index_copy_(0, histories.users, block_rows)


def _svdpp_init(rng, n_users, n_items, n_factors, init_mean, init_std_dev):
    """Surprise's initialisation: normal factors (``p_u``, ``q_i``, ``y_j``), zero biases.

    Returns ``(b_u, b_i, p_u, q_i, y_j)`` as float32 tensors."""
    shape_u, shape_i = (n_users, n_factors), (n_items, n_factors)
    pu = torch.from_numpy(rng.normal(init_mean, init_std_dev, size=shape_u).astype(np.float32))
    qi = torch.from_numpy(rng.normal(init_mean, init_std_dev, size=shape_i).astype(np.float32))
    yj = torch.from_numpy(rng.normal(init_mean, init_std_dev, size=shape_i).astype(np.float32))
    return torch.zeros(n_users), torch.zeros(n_items), pu, qi, yj


class _Histories(NamedTuple):
    """The histories ``N(u)`` (one entry per rating), ordered by user."""

    u_user: np.ndarray
    u_item: np.ndarray


def _dense_histories(hist, count, norm, n_users, n_items):
    """The ``users x items`` matrix of rating counts times ``|N(u)|^-1/2`` when the grid has
    at most ``SVDPP_DENSE_CELLS_PER_RATING`` cells per rating, else None."""
    if n_users * n_items > SVDPP_DENSE_CELLS_PER_RATING * hist.u_user.shape[0]:
        return None
    rated = torch.zeros(n_users, n_items)
    entries = (torch.from_numpy(hist.u_user.astype(np.int64)), torch.from_numpy(hist.u_item.astype(np.int64)))
    rated.index_put_(entries, torch.ones(hist.u_user.shape[0]), accumulate=True)
    return rated * norm[:, None]


def _group_by_block(block_keys, n_blocks):
    """Stable order grouping entries by block (radix sort) and each block's start offsets."""
    key_dtype = np.int16 if n_blocks < 2**15 else np.int64
    order = np.argsort(block_keys.astype(key_dtype), kind="stable")
    return order, np.searchsorted(block_keys[order], np.arange(n_blocks + 1))


class _BlockLayout(NamedTuple):
    """One epoch's random blocks of users: who is in which block, and in which order.

    ``users_by_block`` (ascending index within a block) with offsets ``user_ptr``; ``local``
    the users' ids within their block; ``entries`` the positions of the histories ordered by
    user (:class:`_Histories`, also the ratings) grouped by block, offsets ``entry_ptr``.
    """

    users_by_block: np.ndarray
    user_ptr: np.ndarray
    local: np.ndarray
    entries: np.ndarray
    entry_ptr: np.ndarray

    @classmethod
    def draw(cls, rng, n_users, count, n_blocks):
        """``n_blocks`` blocks of users (random order) with about equal numbers of ratings."""
        n = int(count.sum())
        user_order = rng.permutation(n_users)
        before = np.cumsum(count[user_order]) - count[user_order]
        block_of_user = np.empty(n_users, dtype=np.int64)
        block_of_user[user_order] = before * n_blocks // n
        users_by_block, user_ptr = _group_by_block(block_of_user, n_blocks)
        local = np.empty(n_users, dtype=np.int64)
        local[users_by_block] = np.arange(n_users) - user_ptr[block_of_user[users_by_block]]
        # each user's run of the by-user histories, users in block order
        runs = count[users_by_block]
        run_ptr = np.concatenate([[0], np.cumsum(runs)])
        first = (np.cumsum(count) - count)[users_by_block]
        entries = np.repeat(first - run_ptr[:-1], runs) + np.arange(n)
        return cls(users_by_block, user_ptr, local, entries, run_ptr[user_ptr])

    def ratings(self, block, rng):
        """The block's ratings (positions in the by-user order), shuffled."""
        sel = self.entries[self.entry_ptr[block] : self.entry_ptr[block + 1]]
        return sel[rng.permutation(sel.shape[0])]

    def histories(self, block, hist, count, norm, n_items, dense=None):
        """The block's users and their histories (rows of ``dense`` if given)."""
        members = self.users_by_block[self.user_ptr[block] : self.user_ptr[block + 1]]
        block_users = torch.from_numpy(members)
        if dense is not None:
            return _DenseBlockHistories(block_users, norm[block_users], dense[block_users])
        sel = self.entries[self.entry_ptr[block] : self.entry_ptr[block + 1]]
        entry_items, entry_users = hist.u_item[sel], hist.u_user[sel]
        entry_norm = norm.numpy()[entry_users]
        # the same entries ordered by item (a radix sort for up to 2**15 items)
        item_dtype = np.int16 if n_items < 2**15 else np.int64
        by_item = np.argsort(entry_items.astype(item_dtype), kind="stable")
        per_item = np.bincount(entry_items, minlength=n_items)
        return _BlockHistories(
            block_users, norm[block_users], torch.from_numpy(entry_items),
            torch.from_numpy(entry_norm), torch.from_numpy(np.cumsum(count[members]) - count[members]),
            torch.from_numpy(self.local[entry_users[by_item]]), torch.from_numpy(entry_norm[by_item]),
            torch.from_numpy(np.cumsum(per_item) - per_item),
        )


class _BlockHistories(NamedTuple):
    """A block's users (global ids, their ``|N(u)|^-1/2``) and their histories.

    ``gather_*``: by user, for the implicit terms; ``scatter_*``: by item with local user
    ids, for the ``y_j`` sums.
    """

    users: torch.Tensor
    norm: torch.Tensor
    gather_items: torch.Tensor
    gather_norm: torch.Tensor
    gather_offsets: torch.Tensor
    scatter_users: torch.Tensor
    scatter_norm: torch.Tensor
    scatter_offsets: torch.Tensor

    def implicit(self, yj):
        """``|N(u)|^-1/2 sum_{j in N(u)} y_j`` for the block's users."""
        return torch.nn.functional.embedding_bag(
            self.gather_items, yj, self.gather_offsets, mode="sum",
            per_sample_weights=self.gather_norm,
        )

    def item_sums(self, per_user):
        """For every item ``j``: ``sum over the block users u who rated j of
        |N(u)|^-1/2 per_user[u]``."""
        return torch.nn.functional.embedding_bag(
            self.scatter_users, per_user, self.scatter_offsets, mode="sum",
            per_sample_weights=self.scatter_norm,
        )


class _DenseBlockHistories(NamedTuple):
    """A block's histories as rows of the dense matrix of :func:`_dense_histories` (dense
    data, where matrix products cost less than per-rating gathers); same interface as
    :class:`_BlockHistories`."""

    users: torch.Tensor
    norm: torch.Tensor
    rated: torch.Tensor  # rating counts times |N(u)|^-1/2, block users x items

    def implicit(self, yj):
        return self.rated @ yj

    def item_sums(self, per_user):
        return self.rated.t() @ per_user


def _svdpp_user_implicit(yj, count, hist):
    """``|N(u)|^-1/2 sum_{j in N(u)} y_j`` for every user."""
    hist_norm = torch.from_numpy((1.0 / np.sqrt(count[hist.u_user])).astype(np.float32))
    offsets = torch.from_numpy(np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64))
    return torch.nn.functional.embedding_bag(
        torch.from_numpy(hist.u_item.astype(np.int64)), yj, offsets, mode="sum",
        per_sample_weights=hist_norm,
    )


class SVD(BaseRecommender):
    """Biased matrix factorisation trained by SGD (Surprise's ``SVD``, Funk / Koren 2009).

    The estimate is ``mu + b_u + b_i + q_i . p_u`` (with ``biased=False``: ``q_i . p_u``,
    equivalent to probabilistic MF). Each rating contributes the SGD updates
    ``b_u += lr_bu (e - reg_bu b_u)``, ``b_i += lr_bi (e - reg_bi b_i)``,
    ``p_u += lr_pu (e q_i - reg_pu p_u)``, ``q_i += lr_qi (e p_u - reg_qi q_i)``, for
    ``n_epochs`` passes. Unlike Surprise's strictly sequential loop, each epoch splits the
    ratings at random into mini-batches of ``batch_size`` whose per-rating updates are
    summed (vectorised, float32 torch); the initial factors are drawn as in Surprise.
    Training runs on the ratings divided by ``rating_scale_`` (1 on a 1-5 scale, see
    :func:`rating_scale`), so the learning rates and regularisation mean on any scale what
    they mean on 1-5; the fitted biases and factors are on the data's scale. A diverging
    training raises :class:`NonFiniteTrainingError`.

    Fall-backs: an unknown user has ``b_u = 0`` and ``p_u = 0`` (likewise for items), so
    the estimate is the global mean plus the known side's bias, or the global mean when
    both are unknown. With ``biased=False`` any unknown side gives the global mean.
    Estimates are clipped to the training rating range.

    Parameters
    ----------
    n_factors : int, default=100
        Number of latent factors.
    n_epochs : int, default=20
        Number of passes over the ratings.
    biased : bool, default=True
        Whether to learn the global mean and biases.
    init_mean : float, default=0
        Mean of the normal initialisation of the factors.
    init_std_dev : float, default=0.1
        Standard deviation of the normal initialisation of the factors.
    lr_all : float, default=0.005
        Learning rate of every parameter not given its own.
    reg_all : float, default=0.02
        Regularisation of every parameter not given its own.
    lr_bu, lr_bi, lr_pu, lr_qi : float or None, default=None
        Per-parameter learning rates (``None``: ``lr_all``).
    reg_bu, reg_bi, reg_pu, reg_qi : float or None, default=None
        Per-parameter regularisation (``None``: ``reg_all``).
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation and the random mini-batches.
    verbose : bool, default=False
        Print the epoch number while training.
    batch_size : int, default=8192
        Ratings per mini-batch (not a Surprise parameter). Larger batches are faster but,
        since updates are summed, too large a batch makes SGD less accurate or unstable.

    Attributes
    ----------
    global_mean_ : float
        Mean training rating.
    user_bias_, item_bias_ : ndarray of shape (n_users_,), (n_items_,)
        ``b_u`` and ``b_i`` (zeros when ``biased=False``).
    user_factors_ : ndarray of shape (n_users_, n_factors)
        ``p_u``.
    item_factors_ : ndarray of shape (n_items_, n_factors)
        ``q_i``.
    rating_scale_ : float
        The scale the ratings were divided by for training (1 on a 1-5 scale).
    n_users_, n_items_ : int
        Number of users and items seen in ``fit``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sk_grouprec.baselines.matrix_factorization import SVD
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"user_id": rng.integers(0, 20, 200), "item_id": rng.integers(0, 15, 200)})
    >>> y = rng.integers(1, 6, 200).astype(float)
    >>> est = SVD(n_factors=5, random_state=0).fit(X, y)
    >>> est.user_factors_.shape, est.predict(X.head(3)).shape
    ((20, 5), (3,))
    """

    def __init__(
        self,
        n_factors=100,
        n_epochs=20,
        biased=True,
        init_mean=0,
        init_std_dev=0.1,
        lr_all=0.005,
        reg_all=0.02,
        lr_bu=None,
        lr_bi=None,
        lr_pu=None,
        lr_qi=None,
        reg_bu=None,
        reg_bi=None,
        reg_pu=None,
        reg_qi=None,
        random_state=None,
        verbose=False,
        batch_size=SVD_BATCH_SIZE,
    ):
        self.n_factors = n_factors
        self.n_epochs = n_epochs
        self.biased = biased
        self.init_mean = init_mean
        self.init_std_dev = init_std_dev
        self.lr_all = lr_all
        self.reg_all = reg_all
        self.lr_bu = lr_bu
        self.lr_bi = lr_bi
        self.lr_pu = lr_pu
        self.lr_qi = lr_qi
        self.reg_bu = reg_bu
        self.reg_bi = reg_bi
        self.reg_pu = reg_pu
        self.reg_qi = reg_qi
        self.random_state = random_state
        self.verbose = verbose
        self.batch_size = batch_size

    _parts = ("bu", "bi", "pu", "qi")
    _implicit = False

    def _fit_indexed(self, users, items, ratings, X):
        lr = {p: _resolve(getattr(self, f"lr_{p}"), self.lr_all, f"lr_{p}") for p in self._parts}
        reg = {p: _resolve(getattr(self, f"reg_{p}"), self.reg_all, f"reg_{p}") for p in self._parts}
        biased = True if self._implicit else _check_bool(self.biased, "biased")
        self._biased_fit = biased
        scale = rating_scale(ratings, biased)
        with _single_torch_thread():
            bu, bi, pu, qi, yj, user_implicit = _sgd_factorize(
                users, items, ratings / scale, self.n_users_, self.n_items_,
                n_factors=check_positive_int(self.n_factors, "n_factors"),
                n_epochs=check_positive_int(self.n_epochs, "n_epochs"),
                biased=biased, implicit=self._implicit,
                init_mean=_check_real(self.init_mean, "init_mean"),
                init_std_dev=check_non_negative(self.init_std_dev, "init_std_dev"),
                lr=lr, reg=reg, batch_size=check_positive_int(self.batch_size, "batch_size"),
                random_state=self.random_state, verbose=self.verbose, name=type(self).__name__,
            )
        # back to the data's scale: estimates mu + b_u + b_i + q_i . p_u scale by s
        root = np.sqrt(scale)
        self.rating_scale_ = scale
        self.user_bias_, self.item_bias_ = bu * scale, bi * scale
        self.user_factors_, self.item_factors_ = pu * root, qi * root
        if self._implicit:
            self.implicit_factors_, self.user_implicit_ = yj * root, user_implicit * root

    def _user_vectors(self, users):
        return self.user_factors_[users]

    def _predict_indexed(self, users, items):
        known = (users >= 0) & (items >= 0)
        u, i = np.where(known, users, 0), np.where(known, items, 0)
        dot = np.where(known, np.einsum("nf,nf->n", self._user_vectors(u), self.item_factors_[i]), 0.0)
        if self._biased_fit:
            return self.global_mean_ + _gather(self.user_bias_, users) + _gather(self.item_bias_, items) + dot
        return np.where(known, dot, self.global_mean_)


class SVDpp(SVD):
    """SVD++: biased MF with implicit feedback from which items each user rated (Koren 2008).

    The estimate is ``mu + b_u + b_i + q_i . (p_u + |N(u)|^-1/2 sum_{j in N(u)} y_j)``
    where ``N(u)`` are the items ``u`` rated in the training data. The SGD updates are
    Surprise's ``SVDpp`` ones (including ``y_j += lr_yj (e q_i / sqrt|N(u)| - reg_yj y_j)``
    for every ``j`` in ``N(u)``), applied on mini-batches of ``batch_size``
    ratings with summed per-rating updates (float32 torch). Each epoch splits the users at
    random into blocks (3 on MovieLens 100K; blocks of about 48 batches' worth of the
    ratings of a user at the 99th percentile of ratings per user, up to ``25 *
    batch_size`` ratings) and cuts each block's shuffled ratings into batches; the
    implicit term is gathered for the block's users only, so training time grows linearly
    with the number of ratings. The initial factors are drawn as in Surprise. Ratings are scaled as in :class:`SVD` (``rating_scale_``);
    a diverging training raises :class:`NonFiniteTrainingError`.

    Fall-backs: an unknown user has no bias, factors nor implicit feedback (likewise for
    an unknown item), so the estimate is the global mean plus the known side's bias, or
    the global mean when both are unknown. Estimates are clipped to the training rating
    range.

    Parameters
    ----------
    n_factors : int, default=20
        Number of latent factors.
    n_epochs : int, default=20
        Number of passes over the ratings.
    init_mean : float, default=0
        Mean of the normal initialisation of the factors.
    init_std_dev : float, default=0.1
        Standard deviation of the normal initialisation of the factors.
    lr_all : float, default=0.007
        Learning rate of every parameter not given its own.
    reg_all : float, default=0.02
        Regularisation of every parameter not given its own.
    lr_bu, lr_bi, lr_pu, lr_qi, lr_yj : float or None, default=None
        Per-parameter learning rates (``None``: ``lr_all``).
    reg_bu, reg_bi, reg_pu, reg_qi, reg_yj : float or None, default=None
        Per-parameter regularisation (``None``: ``reg_all``).
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation and the random mini-batches.
    verbose : bool, default=False
        Print the epoch number while training.
    batch_size : int, default=4096
        Ratings per mini-batch (not a Surprise parameter). Larger batches are faster but
        less accurate: 8192 costs about 0.006 RMSE on MovieLens 100K. On dense data the
        batches are smaller (MovieLens 100K is not affected): a batch's summed ``y_j``
        updates move each user's implicit term by the errors of every batch rating whose
        user's history overlaps, so batches hold at most about 700 ratings' worth of
        overlap (cosine similarity of the histories) for the mean user, at most 10 ratings
        per item on average and, in expectation, at most 48 ratings of a user at the 99th
        percentile of ratings per user; larger summed updates oscillate or diverge.

    Attributes
    ----------
    global_mean_ : float
        Mean training rating.
    user_bias_, item_bias_ : ndarray of shape (n_users_,), (n_items_,)
        ``b_u`` and ``b_i``.
    user_factors_ : ndarray of shape (n_users_, n_factors)
        ``p_u``.
    item_factors_ : ndarray of shape (n_items_, n_factors)
        ``q_i``.
    implicit_factors_ : ndarray of shape (n_items_, n_factors)
        ``y_j``.
    user_implicit_ : ndarray of shape (n_users_, n_factors)
        ``|N(u)|^-1/2 sum_{j in N(u)} y_j`` per user.
    rating_scale_ : float
        The scale the ratings were divided by for training (1 on a 1-5 scale).
    n_users_, n_items_ : int
        Number of users and items seen in ``fit``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sk_grouprec.baselines.matrix_factorization import SVDpp
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"user_id": rng.integers(0, 20, 200), "item_id": rng.integers(0, 15, 200)})
    >>> y = rng.integers(1, 6, 200).astype(float)
    >>> est = SVDpp(n_factors=4, random_state=0).fit(X, y)
    >>> est.implicit_factors_.shape, est.predict(X.head(3)).shape
    ((15, 4), (3,))
    """

    _parts = ("bu", "bi", "pu", "qi", "yj")
    _implicit = True

    def __init__(
        self,
        n_factors=20,
        n_epochs=20,
        init_mean=0,
        init_std_dev=0.1,
        lr_all=0.007,
        reg_all=0.02,
        lr_bu=None,
        lr_bi=None,
        lr_pu=None,
        lr_qi=None,
        lr_yj=None,
        reg_bu=None,
        reg_bi=None,
        reg_pu=None,
        reg_qi=None,
        reg_yj=None,
        random_state=None,
        verbose=False,
        batch_size=SVDPP_BATCH_SIZE,
    ):
        self.n_factors = n_factors
        self.n_epochs = n_epochs
        self.init_mean = init_mean
        self.init_std_dev = init_std_dev
        self.lr_all = lr_all
        self.reg_all = reg_all
        self.lr_bu = lr_bu
        self.lr_bi = lr_bi
        self.lr_pu = lr_pu
        self.lr_qi = lr_qi
        self.lr_yj = lr_yj
        self.reg_bu = reg_bu
        self.reg_bi = reg_bi
        self.reg_pu = reg_pu
        self.reg_qi = reg_qi
        self.reg_yj = reg_yj
        self.random_state = random_state
        self.verbose = verbose
        self.batch_size = batch_size

    def _user_vectors(self, users):
        return self.user_factors_[users] + self.user_implicit_[users]


class NMF(BaseRecommender):
    """Non-negative matrix factorisation with Surprise's multiplicative updates.

    The estimate is ``q_i . p_u`` (``biased=True``: ``mu + b_u + b_i + q_i . p_u``). Each
    epoch computes, with the current factors, ``est_ui`` for every training rating, then
    (Luo et al. 2014, as Surprise's ``NMF``)::

        p_uf <- p_uf * sum_i q_if r_ui / (sum_i q_if est_ui + |I_u| reg_pu p_uf)
        q_if <- q_if * sum_u p_uf r_ui / (sum_u p_uf est_ui + |U_i| reg_qi q_if)

    both from the factors of the start of the epoch, exactly as Surprise does, but as
    sparse matrix products. Where a denominator is not positive (only possible with
    ``biased=True``) the factor is set to 0, so factors stay non-negative. With
    ``biased=True`` the biases follow Surprise's per-rating SGD
    ``b += lr (e - reg b)``, vectorised per epoch as in
    :func:`~sk_grouprec.baselines.bias.fit_baselines` (close to, not bit-identical with,
    Surprise); Surprise warns that the biased version is prone to overfitting.

    Ratings must be non-negative. Fall-backs: with ``biased=False`` any unknown user or
    item gets the global mean; with ``biased=True`` the global mean plus the known side's
    bias. Estimates are clipped to the training rating range.

    Parameters
    ----------
    n_factors : int, default=15
        Number of latent factors.
    n_epochs : int, default=50
        Number of multiplicative updates.
    biased : bool, default=False
        Whether to add the global mean and SGD-trained biases.
    reg_pu, reg_qi : float, default=0.06
        Regularisation of user and item factors.
    reg_bu, reg_bi : float, default=0.02
        Regularisation of user and item biases (``biased=True``).
    lr_bu, lr_bi : float, default=0.005
        Learning rates of the biases (``biased=True``).
    init_low, init_high : float, default=0, 1
        The factors start uniform in ``[init_low, init_high)``; ``init_low >= 0``.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation.
    verbose : bool, default=False
        Print the epoch number while training.

    Attributes
    ----------
    global_mean_ : float
        Mean training rating.
    user_bias_, item_bias_ : ndarray of shape (n_users_,), (n_items_,)
        ``b_u`` and ``b_i`` (zeros when ``biased=False``).
    user_factors_ : ndarray of shape (n_users_, n_factors)
        ``p_u`` (non-negative).
    item_factors_ : ndarray of shape (n_items_, n_factors)
        ``q_i`` (non-negative).
    n_users_, n_items_ : int
        Number of users and items seen in ``fit``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sk_grouprec.baselines.matrix_factorization import NMF
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"user_id": rng.integers(0, 20, 200), "item_id": rng.integers(0, 15, 200)})
    >>> y = rng.integers(1, 6, 200).astype(float)
    >>> est = NMF(n_factors=3, random_state=0).fit(X, y)
    >>> bool((est.user_factors_ >= 0).all()), est.predict(X.head(3)).shape
    (True, (3,))
    """

    def __init__(
        self,
        n_factors=15,
        n_epochs=50,
        biased=False,
        reg_pu=0.06,
        reg_qi=0.06,
        reg_bu=0.02,
        reg_bi=0.02,
        lr_bu=0.005,
        lr_bi=0.005,
        init_low=0,
        init_high=1,
        random_state=None,
        verbose=False,
    ):
        self.n_factors = n_factors
        self.n_epochs = n_epochs
        self.biased = biased
        self.reg_pu = reg_pu
        self.reg_qi = reg_qi
        self.reg_bu = reg_bu
        self.reg_bi = reg_bi
        self.lr_bu = lr_bu
        self.lr_bi = lr_bi
        self.init_low = init_low
        self.init_high = init_high
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = True  # multiplicative updates need ratings >= 0
        return tags

    def _fit_indexed(self, users, items, ratings, X):
        n_factors = check_positive_int(self.n_factors, "n_factors")
        n_epochs = check_positive_int(self.n_epochs, "n_epochs")
        biased = _check_bool(self.biased, "biased")
        reg_pu = check_non_negative(self.reg_pu, "reg_pu")
        reg_qi = check_non_negative(self.reg_qi, "reg_qi")
        reg_bu = check_non_negative(self.reg_bu, "reg_bu")
        reg_bi = check_non_negative(self.reg_bi, "reg_bi")
        lr_bu = check_non_negative(self.lr_bu, "lr_bu")
        lr_bi = check_non_negative(self.lr_bi, "lr_bi")
        low = check_non_negative(self.init_low, "init_low")
        high = _check_real(self.init_high, "init_high")
        if high < low:
            raise ValueError(f"init_high must be >= init_low; got init_low={low}, init_high={high}.")
        if ratings.min() < 0:
            raise ValueError(
                f"NMF needs non-negative ratings; got a minimum of {ratings.min()}. Shift the "
                "ratings or use SVD."
            )
        rng = check_random_state(self.random_state)
        n_users, n_items = self.n_users_, self.n_items_
        pu = rng.uniform(low, high, size=(n_users, n_factors))
        qi = rng.uniform(low, high, size=(n_items, n_factors))
        bu = np.zeros(n_users)
        bi = np.zeros(n_items)
        mu = self.global_mean_ if biased else 0.0
        count_u = np.bincount(users, minlength=n_users)[:, None]
        count_i = np.bincount(items, minlength=n_items)[:, None]
        # Surprise's visiting order (user by user), for the bias SGD
        visit = np.argsort(users, kind="stable")
        users, items, ratings = users[visit], items[visit], ratings[visit]
        by_item = np.argsort(items, kind="stable")
        # user x item CSR structure; a repeated (user, item) pair shares a slot (sums add up)
        pairs, slot = np.unique(users * n_items + items, return_inverse=True)
        pair_u, pair_i = np.divmod(pairs, n_items)
        indptr = np.concatenate([[0], np.cumsum(np.bincount(pair_u, minlength=n_users))])
        n_slots = pairs.shape[0]
        rated = sp.csr_matrix(
            (np.bincount(slot, weights=ratings, minlength=n_slots), pair_i, indptr),
            shape=(n_users, n_items),
        )
        estimates = rated.copy()
        for epoch in range(n_epochs):
            if self.verbose:
                print(f"Processing epoch {epoch}")
            dot = np.einsum("nf,nf->n", pu[users], qi[items])
            estimates.data = np.bincount(slot, weights=mu + bu[users] + bi[items] + dot, minlength=n_slots)
            if biased:
                # Surprise updates the biases rating by rating in the same pass
                bu, bi = _sgd_bias_epoch(
                    users, items, ratings - mu - dot, bu, bi, by_item, lr_bu, lr_bi, reg_bu, reg_bi
                )
            user_num, user_den = rated @ qi, estimates @ qi
            item_num, item_den = rated.T @ pu, estimates.T @ pu
            pu = _multiplicative(pu, user_num, user_den + count_u * reg_pu * pu)
            qi = _multiplicative(qi, item_num, item_den + count_i * reg_qi * qi)
        self._biased_fit = biased
        self.user_bias_, self.item_bias_ = bu, bi
        self.user_factors_, self.item_factors_ = pu, qi

    def _predict_indexed(self, users, items):
        known = (users >= 0) & (items >= 0)
        u, i = np.where(known, users, 0), np.where(known, items, 0)
        dot = np.where(known, np.einsum("nf,nf->n", self.user_factors_[u], self.item_factors_[i]), 0.0)
        if self._biased_fit:
            return self.global_mean_ + _gather(self.user_bias_, users) + _gather(self.item_bias_, items) + dot
        return np.where(known, dot, self.global_mean_)


def _multiplicative(factors, numerator, denominator):
    """``factors * numerator / denominator``; zero factors stay as they are (Surprise skips
    them) and a non-positive denominator gives 0."""
    ratio = np.divide(numerator, denominator, out=np.zeros_like(factors), where=denominator > 0)
    return np.where(factors != 0, factors * ratio, factors)
