"""Item-based k-nearest neighbours on binary interactions (top-N)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._base import PREDICT_BATCH_SIZE
from .._implicit import BaseScoreRecommender, check_positive_threshold
from .._validation import check_non_negative, check_positive_int
from .similarities import BLOCK_ELEMENTS

__all__ = ["ItemKNN"]


class ItemKNN(BaseScoreRecommender):
    """Item-based top-N recommendation with cosine similarity on binary interactions.

    With ``R`` the binary user x item training matrix, the similarity of items ``i`` and
    ``j`` is the shrunk cosine

    .. math:: s_{ij} = \\frac{|U_i \\cap U_j|}{\\sqrt{|U_i|\\,|U_j|} + \\lambda}

    (``lambda`` = ``shrinkage``; ``U_i`` the users of ``i``). Each item keeps its ``k``
    most similar other items (Deshpande and Karypis 2004), and the score of user ``u`` for
    item ``i`` sums the similarities to ``i`` of the items ``u`` interacted with, over the
    items of which ``i`` is a kept neighbour:

    .. math:: \\hat x_{ui} = \\sum_{j \\in I_u} s^{(k)}_{ji}

    Similarities are whole-array sparse products (``R^T R``), computed for blocks of
    items whose dense part holds at most about two million values, and only the ``k``
    largest of each item are stored: memory is ``n_items * k`` values plus one block, never
    ``n_items ** 2``, as in the rating k-NN models.

    Parameters
    ----------
    k : int, default=50
        Neighbours kept per item.
    shrinkage : float, default=0.0
        Added to the cosine's denominator; damps similarities supported by few users
        (0: the plain cosine, best on a validation split of Mafengwo's training file).
    positive_threshold : float, default=None
        With ratings ``y``, the rows rated at or above it are positives; ``None`` (or
        ``y=None``): every row is a positive.

    Attributes
    ----------
    similarity_ : scipy.sparse.csr_matrix of shape (n_items_, n_items_)
        Row ``j`` holds the ``k`` largest positive similarities of item ``j`` (the
        diagonal is left out).
    interactions_ : scipy.sparse.csr_matrix of shape (n_users_, n_items_)
        The binary training matrix.
    item_popularity_ : ndarray of shape (n_items_,)
        Fraction of training users of each item (the fall-back for unknown users).

    Notes
    -----
    Unknown users get the items' popularity; an unknown item ranks below every known item
    of a known user (its lowest score minus one). Pairs of items that share no user have
    similarity 0 and are never stored.

    References
    ----------
    Sarwar, Karypis, Konstan and Riedl (2001), "Item-based collaborative filtering
    recommendation algorithms", WWW. Deshpande and Karypis (2004), "Item-based top-N
    recommendation algorithms", ACM TOIS 22(1).

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_grouprec.baselines import ItemKNN
    >>> X = pd.DataFrame({"user_id": [1, 1, 2, 2, 3, 3], "item_id": [10, 11, 10, 11, 10, 12]})
    >>> model = ItemKNN(k=2, shrinkage=0).fit(X)
    >>> model.recommend([3], n_items=1)
       user_id  item_id     score  rank
    0        3       11  0.816497     1
    """

    def __init__(self, k=50, shrinkage=0.0, positive_threshold=None):
        self.k = k
        self.shrinkage = shrinkage
        self.positive_threshold = positive_threshold

    def _fit_implicit(self, matrix):
        k = check_positive_int(self.k, "k")
        shrinkage = check_non_negative(self.shrinkage, "shrinkage")
        check_positive_threshold(self.positive_threshold)
        self.similarity_ = _top_k_cosine(matrix, k, shrinkage)
        # row i: the similarities s_ji of the items j that keep i (scores of pairs)
        self._kept_by = self.similarity_.T.tocsr()

    def _score_users(self, users):
        return (self.interactions_[users] @ self.similarity_).toarray().astype(np.float64)

    def _score_pairs(self, users, items):
        out = np.empty(users.shape[0], dtype=np.float64)
        per_chunk = max(1, PREDICT_BATCH_SIZE // 8)
        for start in range(0, users.shape[0], per_chunk):
            sl = slice(start, start + per_chunk)
            history = self.interactions_[users[sl]]
            neighbours = self._kept_by[items[sl]]
            out[sl] = np.asarray(history.multiply(neighbours).sum(axis=1)).ravel()
        return out


def _top_k_cosine(matrix, k, shrinkage):
    """Shrunk cosine between the columns of the binary ``matrix``, the ``k`` largest
    positive ones of each row kept (diagonal excluded), as CSR."""
    n_items = matrix.shape[1]
    by_item = matrix.T.tocsr().astype(np.float64)
    norms = np.sqrt(np.asarray(by_item.sum(axis=1)).ravel())
    keep = min(k, max(n_items - 1, 1))
    block = max(1, BLOCK_ELEMENTS // max(1, n_items))
    rows, cols, vals = [], [], []
    for start in range(0, n_items, block):
        stop = min(n_items, start + block)
        co = (by_item[start:stop] @ by_item.T).toarray()
        sim = co / (norms[start:stop, None] * norms[None, :] + shrinkage + 1e-12)
        sim[np.arange(stop - start), np.arange(start, stop)] = 0.0
        if keep < n_items:
            top = np.argpartition(-sim, keep - 1, axis=1)[:, :keep]
        else:
            top = np.broadcast_to(np.arange(n_items), (stop - start, n_items))
        top_sim = np.take_along_axis(sim, top, axis=1)
        positive = top_sim > 0
        rows.append(np.nonzero(positive)[0] + start)
        cols.append(top[positive])
        vals.append(top_sim[positive])
    return sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_items, n_items),
    )
