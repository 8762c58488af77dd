"""Implicit-feedback alternating least squares, delegated to the ``implicit`` package."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

from .._implicit import BaseScoreRecommender, check_positive_threshold
from .._validation import check_non_negative, check_positive_int

__all__ = ["ALS"]

INSTALL_HINT = 'pip install "sk-grouprec[implicit]"'


def _import_implicit_als():
    try:
        from implicit.cpu.als import AlternatingLeastSquares
    except ImportError as exc:
        raise ImportError(
            "ALS delegates to the 'implicit' package (fast C++ implicit-feedback ALS), which "
            f"is not installed; install the extra with: {INSTALL_HINT}"
        ) from exc
    return AlternatingLeastSquares


class ALS(BaseScoreRecommender):
    """Implicit-feedback matrix factorisation by alternating least squares (Hu, Koren and
    Volinsky 2008), fitted by the ``implicit`` package on the CPU.

    Every user-item pair is a target: 1 for a training positive, 0 otherwise, with the
    confidence :math:`c_{ui} = \\alpha` on positives and 1 elsewhere (``implicit``'s
    convention: the confidence is ``alpha`` times the matrix entry, here 1); ALS minimises

    .. math:: \\sum_{u,i} c_{ui} (x_{ui} - p_u^\\top q_i)^2
              + \\text{reg} \\,(\\sum_u \\|p_u\\|^2 + \\sum_i \\|q_i\\|^2)

    by solving for all user factors, then all item factors, ``n_epochs`` times. This class
    is a thin wrapper: it builds the binary user x item matrix of the data contract, hands
    it to :class:`implicit.cpu.als.AlternatingLeastSquares` (``factors=n_factors``,
    ``regularization=reg``, ``alpha=alpha``, ``iterations=n_epochs``, ``use_cg=use_cg``)
    and keeps the learnt factors as numpy arrays, so the fitted estimator pickles without
    ``implicit``. The score of ``u`` for ``i`` is :math:`p_u^\\top q_i`, exactly what
    ``implicit`` ranks by.

    Needs the ``implicit`` extra (``pip install "sk-grouprec[implicit]"``); ``fit`` raises
    an ImportError naming it when the package is missing.

    Parameters
    ----------
    n_factors : int, default=64
        Dimension of the factors.
    n_epochs : int, default=15
        ALS sweeps (``implicit``'s ``iterations``).
    reg : float, default=50.0
        L2 regularisation (``implicit``'s ``regularization``).
    alpha : float, default=40.0
        Confidence of the positives (weight of an unobserved pair: 1); must be > 0.
    use_cg : bool, default=True
        Conjugate-gradient solver (``implicit``'s default, faster) instead of Cholesky.
    n_jobs : int or None, default=None
        Threads of ``implicit``: ``None`` is 1, ``-1`` all cores. BLAS is held to one
        thread during the fit, as ``implicit`` recommends (its threads replace BLAS's).
    random_state : int, RandomState instance or None, default=None
        Seeds ``implicit``'s initial factors (an int is passed on unchanged, so the same
        seed gives the same model as ``implicit`` called directly on the same matrix).
    positive_threshold : float, default=None
        With ratings ``y``, the rows rated at or above it are positives; ``None`` (or
        ``y=None``): every row is a positive.

    Attributes
    ----------
    user_factors_ : ndarray of shape (n_users_, n_factors), dtype float32
    item_factors_ : ndarray of shape (n_items_, n_factors), dtype float32
    interactions_ : scipy.sparse.csr_matrix of shape (n_users_, n_items_)
        The binary matrix given to ``implicit`` (users and items in order of first
        appearance in ``X``).
    item_popularity_ : ndarray of shape (n_items_,)
        Fraction of training users of each item (the fall-back for unknown users).

    Notes
    -----
    Unknown users get the items' popularity; an unknown item ranks below every
    known item of a known user (its lowest score minus one).

    References
    ----------
    Hu, Koren and Volinsky (2008), "Collaborative filtering for implicit feedback
    datasets", ICDM. Takács, Pilászy and Tikk (2011), "Applications of the conjugate
    gradient method for implicit feedback collaborative filtering", RecSys.

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_grouprec.baselines import ALS
    >>> X = pd.DataFrame({"user_id": [1, 1, 2, 2, 3, 3], "item_id": [10, 11, 10, 11, 12, 13]})
    >>> model = ALS(n_factors=4, random_state=0).fit(X)
    >>> model.user_factors_.shape
    (3, 4)
    >>> len(model.recommend([1], n_items=2))
    2
    """

    def __init__(
        self,
        n_factors=64,
        n_epochs=15,
        reg=50.0,
        alpha=40.0,
        use_cg=True,
        n_jobs=None,
        random_state=None,
        positive_threshold=None,
    ):
        self.n_factors = n_factors
        self.n_epochs = n_epochs
        self.reg = reg
        self.alpha = alpha
        self.use_cg = use_cg
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.positive_threshold = positive_threshold

    def _fit_implicit(self, matrix):
        n_factors = check_positive_int(self.n_factors, "n_factors")
        n_epochs = check_positive_int(self.n_epochs, "n_epochs", minimum=0)
        reg = check_non_negative(self.reg, "reg")
        alpha = check_non_negative(self.alpha, "alpha")
        if alpha == 0:
            raise ValueError("alpha must be > 0 (the confidence of the positives); got 0.")
        if not isinstance(self.use_cg, (bool, np.bool_)):
            raise ValueError(f"use_cg must be True or False; got {self.use_cg!r}.")
        check_positive_threshold(self.positive_threshold)
        AlternatingLeastSquares = _import_implicit_als()
        # implicit parallelises over rows itself and warns when BLAS threads too
        with threadpool_limits(1, "blas"):
            model = AlternatingLeastSquares(
                factors=n_factors,
                regularization=reg,
                alpha=alpha,
                iterations=n_epochs,
                use_cg=bool(self.use_cg),
                num_threads=_num_threads(self.n_jobs),
                random_state=_seed(self.random_state),
            )
            model.fit(matrix.astype(np.float32), show_progress=False)
        self.user_factors_ = np.ascontiguousarray(model.user_factors, dtype=np.float32)
        self.item_factors_ = np.ascontiguousarray(model.item_factors, dtype=np.float32)

    def _score_users(self, users):
        return (self.user_factors_[users] @ self.item_factors_.T).astype(np.float64)

    def _score_pairs(self, users, items):
        dot = np.einsum("ij,ij->i", self.user_factors_[users], self.item_factors_[items])
        return dot.astype(np.float64)


def _num_threads(n_jobs):
    if n_jobs is None:
        return 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0:
        raise ValueError(f"n_jobs must be None, -1 or an integer >= 1; got {n_jobs!r}.")
    return 0 if n_jobs < 0 else int(n_jobs)


def _seed(random_state):
    """What ``implicit`` receives: ints and None unchanged, a RandomState's next seed."""
    if random_state is None or (
        isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool)
    ):
        return random_state
    return int(check_random_state(random_state).randint(2**31 - 1))
