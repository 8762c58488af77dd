"""Matrix factorisation trained with the Bayesian personalised ranking loss (BPR-MF)."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.utils import check_random_state

from .._implicit import BaseScoreRecommender, check_positive_threshold
from .._validation import check_choice, check_non_negative, check_positive_int

__all__ = ["BPRMF"]

#: Default rounds of re-drawing the negatives that are positives of their user; the few
#: left after them (a user who interacted with almost every item) are skipped for the epoch.
NEGATIVE_REDRAWS = 20
#: Accepted values of ``BPRMF(negative_sampling=...)``.
NEGATIVE_SAMPLING = ("uniform", "popularity")
#: Up to this many user-item pairs, "is (u, j) a positive?" is a lookup in a boolean
#: mask of all pairs (one byte each); above, a binary search in the sorted positives.
DENSE_MASK_PAIRS = 1 << 26


class BPRMF(BaseScoreRecommender):
    """Matrix factorisation for implicit feedback trained with the BPR loss.

    The score of user ``u`` for item ``i`` is :math:`\\hat x_{ui} = p_u^\\top q_i + b_i`.
    Each epoch draws, for every training positive ``(u, i)`` in a random order, one
    negative item ``j`` that is not a positive of ``u`` (uniformly by default, see
    ``negative_sampling``), and takes stochastic gradient steps on the BPR criterion
    (Rendle et al. 2009)

    .. math:: \\ln \\sigma(\\hat x_{ui} - \\hat x_{uj})
              - \\text{reg}\\,(\\|p_u\\|^2 + \\|q_i\\|^2 + \\|q_j\\|^2 + b_i^2 + b_j^2).

    Training is vectorised with torch: the per-triple updates of a mini-batch of
    ``batch_size`` triples are computed from the factors before the batch and summed
    (so ``learning_rate`` and ``reg`` keep their per-triple meaning, as in the SGD of
    ``implicit``'s BPR, which runs the same updates one triple at a time).

    Parameters
    ----------
    n_factors : int, default=64
        Dimension of the user and item factors.
    n_epochs : int, default=100
        Passes over the training positives (one sampled negative each).
    learning_rate : float, default=0.05
        SGD step size.
    reg : float, default=0.001
        L2 regularisation of the factors and item biases touched by a triple.
    batch_size : int, default=1024
        Triples per vectorised step. Smaller is closer to sequential SGD; larger is faster.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial factors, the order of the positives and the negatives.
    positive_threshold : float, default=None
        With ratings ``y``, the rows rated at or above it are positives; ``None`` (or
        ``y=None``): every row is a positive.
    negative_sampling : {"uniform", "popularity"}, default="uniform"
        How a triple's negative is drawn. ``"uniform"``: every item equally likely.
        ``"popularity"``: a uniformly drawn entry of the training matrix, so each item in
        proportion to its number of training users -- the sampler of ``implicit``'s BPR.
        Uniform negatives suit evaluations against uniformly sampled negatives (the
        default was chosen on such a validation split); popularity negatives push
        popular items down harder.
    negative_redraws : int, default=20
        A drawn negative that is a positive of the user is drawn again, up to this many
        times; the triples still without a negative are skipped for the epoch. ``0``
        skips such a triple at once, as ``implicit``'s BPR does with
        ``verify_negative_samples=True`` (users with many positives then get fewer
        updates). With ``negative_sampling="popularity"`` and ``negative_redraws=0``,
        BPRMF's HR@10 is within 0.01 of ``implicit``'s
        ``BayesianPersonalizedRanking`` with the same factors, epochs, learning rate and
        regularisation (at ``implicit``'s defaults 0.01 and 0.01, and at BPRMF's) on
        Mafengwo's users and MovieLens 100K, three seeds each
        (``bpr_matched_table`` in ``benchmarks/grouprec_bench/implicit_compare.py``).

    Attributes
    ----------
    user_factors_ : ndarray of shape (n_users_, n_factors), dtype float32
    item_factors_ : ndarray of shape (n_items_, n_factors), dtype float32
    item_bias_ : ndarray of shape (n_items_,), dtype float32
    interactions_ : scipy.sparse.csr_matrix of shape (n_users_, n_items_)
        The binary training matrix.
    item_popularity_ : ndarray of shape (n_items_,)
        Fraction of training users of each item (the fall-back for unknown users).

    Notes
    -----
    Factors start uniform in ``[-0.5, 0.5) / n_factors`` (as in ``implicit``), biases at
    0. Unknown users get the items' popularity; an unknown item ranks below every
    known item of a known user (its lowest score minus one).

    Differences from ``implicit.cpu.bpr.BayesianPersonalizedRanking`` that remain with
    the settings above: ``implicit`` runs one triple at a time (hogwild threads) where
    BPRMF sums the updates of a mini-batch; it draws the positives with replacement where
    BPRMF visits each once per epoch in a random order; it starts the item biases (an
    extra factor column, the user's fixed at 1) uniform like the factors, BPRMF at 0.

    References
    ----------
    Rendle, Freudenthaler, Gantner and Schmidt-Thieme (2009), "BPR: Bayesian personalized
    ranking from implicit feedback", UAI.

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_grouprec.baselines import BPRMF
    >>> X = pd.DataFrame({"user_id": [1, 1, 2, 2, 3, 3], "item_id": [10, 11, 10, 11, 12, 13]})
    >>> model = BPRMF(n_factors=4, n_epochs=50, random_state=0).fit(X)
    >>> model.predict(pd.DataFrame({"user_id": [1, 1], "item_id": [12, 13]})).shape
    (2,)
    >>> len(model.recommend([1], n_items=2))
    2

    Configured like ``implicit``'s BPR (popularity negatives, skipped when positive, its
    step and regularisation):

    >>> like_implicit = BPRMF(n_factors=4, n_epochs=50, learning_rate=0.01, reg=0.01,
    ...                       negative_sampling="popularity", negative_redraws=0,
    ...                       random_state=0).fit(X)
    >>> like_implicit.item_factors_.shape
    (4, 4)
    """

    def __init__(
        self,
        n_factors=64,
        n_epochs=100,
        learning_rate=0.05,
        reg=0.001,
        batch_size=1024,
        random_state=None,
        positive_threshold=None,
        negative_sampling="uniform",
        negative_redraws=NEGATIVE_REDRAWS,
    ):
        self.n_factors = n_factors
        self.n_epochs = n_epochs
        self.learning_rate = learning_rate
        self.reg = reg
        self.batch_size = batch_size
        self.random_state = random_state
        self.positive_threshold = positive_threshold
        self.negative_sampling = negative_sampling
        self.negative_redraws = negative_redraws

    def _fit_implicit(self, matrix):
        n_factors = check_positive_int(self.n_factors, "n_factors")
        n_epochs = check_positive_int(self.n_epochs, "n_epochs", minimum=0)
        lr = check_non_negative(self.learning_rate, "learning_rate")
        reg = check_non_negative(self.reg, "reg")
        batch_size = check_positive_int(self.batch_size, "batch_size")
        check_positive_threshold(self.positive_threshold)
        sampling = check_choice(self.negative_sampling, "negative_sampling", NEGATIVE_SAMPLING)
        redraws = check_positive_int(self.negative_redraws, "negative_redraws", minimum=0)
        rng = check_random_state(self.random_state)
        self.user_factors_, self.item_factors_, self.item_bias_ = _bpr_sgd(
            matrix, n_factors, n_epochs, lr, reg, batch_size, rng, sampling, redraws
        )

    def _score_users(self, users):
        scores = self.user_factors_[users] @ self.item_factors_.T + self.item_bias_
        return scores.astype(np.float64)

    def _score_pairs(self, users, items):
        dot = np.einsum("ij,ij->i", self.user_factors_[users], self.item_factors_[items])
        return (dot + self.item_bias_[items]).astype(np.float64)


def _bpr_sgd(
    matrix, n_factors, n_epochs, lr, reg, batch_size, rng, sampling="uniform",
    redraws=NEGATIVE_REDRAWS,
):
    """BPR-MF by mini-batch SGD on the binary CSR ``matrix``; numpy float32 results."""
    n_users, n_items = matrix.shape
    matrix = matrix.tocsr()
    matrix.sort_indices()
    users = np.repeat(np.arange(n_users, dtype=np.int64), np.diff(matrix.indptr))
    items = matrix.indices.astype(np.int64)
    n = users.shape[0]
    # row-major keys of the positives, sorted
    keys = torch.from_numpy(users * n_items + items)
    if n_users * n_items <= DENSE_MASK_PAIRS:
        mask = torch.zeros(n_users * n_items, dtype=torch.bool)
        mask[keys] = True

        def is_positive(query):
            return mask[query]
    else:

        def is_positive(query):
            pos = torch.searchsorted(keys, query).clamp_(max=keys.shape[0] - 1)
            return keys[pos] == query
    users_t, items_t = torch.from_numpy(users), torch.from_numpy(items)
    p = torch.from_numpy(((rng.random_sample((n_users, n_factors)) - 0.5) / n_factors).astype(np.float32))
    q = torch.from_numpy(((rng.random_sample((n_items, n_factors)) - 0.5) / n_factors).astype(np.float32))
    b = torch.zeros(n_items)
    gen = torch.Generator().manual_seed(int(rng.randint(2**31 - 1)))
    for _ in range(n_epochs):
        order = torch.randperm(n, generator=gen)
        u_ep, i_ep = users_t[order], items_t[order]
        j_ep = _draw_negatives(
            u_ep, is_positive, n_items, gen,
            candidates=items_t if sampling == "popularity" else None, redraws=redraws,
        )
        valid = j_ep >= 0
        if not bool(valid.all()):
            u_ep, i_ep, j_ep = u_ep[valid], i_ep[valid], j_ep[valid]
        for start in range(0, u_ep.shape[0], batch_size):
            u = u_ep[start : start + batch_size]
            i = i_ep[start : start + batch_size]
            j = j_ep[start : start + batch_size]
            pu, qi, qj = p.index_select(0, u), q.index_select(0, i), q.index_select(0, j)
            bi, bj = b.index_select(0, i), b.index_select(0, j)
            diff = qi - qj
            # d/dx ln sigma(x) = sigma(-x)
            z = torch.sigmoid(bj - bi - torch.einsum("bf,bf->b", pu, diff))
            zc = z[:, None]
            zpu = zc * pu
            # gradient ascent on ln sigma - reg * ||.||^2; scatter_add_ over an expanded index
            # is faster than index_add_ on the CPU
            u_rows, i_rows, j_rows = (t[:, None].expand(-1, n_factors) for t in (u, i, j))
            p.scatter_add_(0, u_rows, (zc * diff).sub_(pu, alpha=reg).mul_(lr))
            q.scatter_add_(0, i_rows, zpu.sub(qi, alpha=reg).mul_(lr))
            q.scatter_add_(0, j_rows, zpu.add_(qj, alpha=reg).mul_(-lr))
            b.scatter_add_(0, i, z.sub(bi, alpha=reg).mul_(lr))
            b.scatter_add_(0, j, z.add_(bj, alpha=reg).mul_(-lr))
    return p.numpy(), q.numpy(), b.numpy()


def _draw_negatives(users, is_positive, n_items, gen, candidates=None, redraws=NEGATIVE_REDRAWS):
    """One item per entry of ``users`` that is not a positive of that user (``-1`` where
    the first draw and ``redraws`` more were all positives).

    Items are drawn uniformly from ``range(n_items)``, or, with ``candidates`` (a 1-d
    tensor of item indices, e.g. the item of every training positive), as a uniform entry
    of ``candidates``: in proportion to how often each item occurs in it.
    """

    def draw(shape):
        if candidates is None:
            return torch.randint(n_items, shape, generator=gen)
        return candidates[torch.randint(candidates.shape[0], shape, generator=gen)]

    neg = draw(users.shape)
    todo = torch.arange(users.shape[0])
    for round_ in range(redraws + 1):
        todo = todo[is_positive(users[todo] * n_items + neg[todo])]
        if todo.shape[0] == 0:
            return neg
        if round_ < redraws:
            neg[todo] = draw(todo.shape)
    neg[todo] = -1
    return neg
