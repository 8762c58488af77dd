"""EASE: the closed-form item-item linear autoencoder for implicit feedback."""

from __future__ import annotations

import numpy as np
import scipy.linalg

from .._implicit import BaseScoreRecommender, check_positive_threshold
from .._validation import check_non_negative, check_positive_int

__all__ = ["EASE"]

#: Dense n_items x n_items float64 matrices alive at once during the fit (Gram, inverse).
_DENSE_COPIES = 2


def ease_memory_bytes(n_items):
    """Bytes of the dense item-item matrices :class:`EASE` holds while fitting."""
    return _DENSE_COPIES * 8 * int(n_items) ** 2


class EASE(BaseScoreRecommender):
    """Embarrassingly shallow autoencoder (Steck 2019): a closed-form item-item model.

    With ``X`` the binary user x item training matrix, EASE learns the item-item weights

    .. math:: B = \\arg\\min_B \\|X - XB\\|_F^2 + \\lambda \\|B\\|_F^2
              \\quad \\text{subject to} \\quad \\operatorname{diag}(B) = 0,

    whose solution is :math:`B = I - P \\operatorname{diagMat}(1 / \\operatorname{diag} P)`
    with :math:`P = (X^\\top X + \\lambda I)^{-1}`, and scores user ``u`` by
    :math:`\\hat x_u = X_u B`. One parameter (``l2`` = :math:`\\lambda`), no iterations;
    very strong on small and medium catalogues.

    The fit holds two dense ``n_items x n_items`` float64 matrices
    (:func:`ease_memory_bytes`): catalogues larger than ``max_items`` are refused with the
    memory they would need.

    Parameters
    ----------
    l2 : float, default=200.0
        L2 regularisation :math:`\\lambda` (> 0).
    max_items : int, default=10000
        Largest catalogue accepted (10,000 items need about 1.6 GB); raise it if the
        machine has the memory.
    positive_threshold : float, default=None
        With ratings ``y``, the rows rated at or above it are positives; ``None`` (or
        ``y=None``): every row is a positive.

    Attributes
    ----------
    weights_ : ndarray of shape (n_items_, n_items_)
        The item-item matrix ``B`` (zero diagonal).
    interactions_ : scipy.sparse.csr_matrix of shape (n_users_, n_items_)
        The binary training matrix.
    item_popularity_ : ndarray of shape (n_items_,)
        Fraction of training users of each item (the fall-back for unknown users).

    Notes
    -----
    Unknown users get the items' popularity; an unknown item ranks below every
    known item of a known user (its lowest score minus one). Scores may be negative.

    References
    ----------
    Steck (2019), "Embarrassingly shallow autoencoders for sparse data", WWW.

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_grouprec.baselines import EASE
    >>> X = pd.DataFrame({"user_id": [1, 1, 2, 2, 3], "item_id": [10, 11, 10, 11, 10]})
    >>> model = EASE(l2=1.0).fit(X)
    >>> model.recommend([3], n_items=1)
       user_id  item_id  score  rank
    0        3       11    0.5     1
    """

    def __init__(self, l2=200.0, max_items=10_000, positive_threshold=None):
        self.l2 = l2
        self.max_items = max_items
        self.positive_threshold = positive_threshold

    def _fit_implicit(self, matrix):
        l2 = check_non_negative(self.l2, "l2")
        if l2 == 0:
            raise ValueError("l2 must be > 0 (X^T X alone may not be invertible); got 0.")
        max_items = check_positive_int(self.max_items, "max_items")
        check_positive_threshold(self.positive_threshold)
        n_items = matrix.shape[1]
        if n_items > max_items:
            gib = ease_memory_bytes(n_items) / 2**30
            raise ValueError(
                f"EASE: the catalogue has {n_items:,} items, more than max_items={max_items:,}; "
                f"its dense item-item matrices would need about {gib:.1f} GiB "
                f"({_DENSE_COPIES} float64 arrays of {n_items:,} x {n_items:,}). Raise max_items "
                "if the machine has that memory, or use ItemKNN, BPRMF or ALS."
            )
        gram = (matrix.T @ matrix).toarray().astype(np.float64)
        gram[np.diag_indices_from(gram)] += l2
        # gram is symmetric positive definite: invert through its Cholesky factor, in place
        weights = scipy.linalg.cho_solve(
            scipy.linalg.cho_factor(gram, overwrite_a=True), np.eye(n_items), overwrite_b=True
        )
        weights /= -np.diag(weights)[None, :]
        weights[np.diag_indices_from(weights)] = 0.0
        self.weights_ = weights

    def _score_users(self, users):
        return np.asarray(self.interactions_[users] @ self.weights_, dtype=np.float64)
