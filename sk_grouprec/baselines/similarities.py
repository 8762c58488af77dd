"""Similarity measures between users (or items) over their co-rated items.

The four measures of Surprise (``msd``, ``cosine``, ``pearson``, ``pearson_baseline``),
computed exactly as Surprise defines them but as whole-array sparse matrix products instead
of a loop over pairs of ratings. Write ``x`` for the entities compared (users for a
user-based k-NN) and ``y`` for what they are compared over (items). With ``C`` the
``n_x x n_y`` count matrix, ``S1`` the sums of ratings and ``S2`` the sums of squared
ratings, every statistic Surprise accumulates over common ``y`` is one product:

- number of common ``y``: ``C C^T``;
- ``sum r_x r_x'``: ``S1 S1^T``; ``sum r_x``: ``S1 C^T``; ``sum r_x^2``: ``S2 C^T``;
- ``sum (r_x - r_x')^2 = S2 C^T + C S2^T - 2 S1 S1^T``.

Duplicated ``(x, y)`` ratings enter these sums exactly as in Surprise (every pair of
entries counts). Rows are produced in blocks (:func:`iter_similarity_blocks`) so the memory
of one step stays bounded whatever the number of entities.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._validation import check_choice, check_non_negative

SIMILARITIES = ("msd", "cosine", "pearson", "pearson_baseline")

#: Elements of one ``(rows, n_x)`` block of intermediate results (several such arrays
#: live at once while a block is computed).
BLOCK_ELEMENTS = 1 << 21


def iter_similarity_blocks(
    x,
    y,
    ratings,
    n_x,
    n_y,
    *,
    similarity="msd",
    min_support=1,
    shrinkage=100,
    baseline=None,
    block_rows=None,
):
    """Yield the similarity matrix between entities ``0..n_x-1`` block of rows by block.

    Parameters
    ----------
    x, y : ndarray of int, shape (n_ratings,)
        Entity index (compared) and co-rating index (compared over) of each rating.
    ratings : ndarray of float, shape (n_ratings,)
        The ratings.
    n_x, n_y : int
        Number of entities and of co-rating indices.
    similarity : {"msd", "cosine", "pearson", "pearson_baseline"}, default="msd"
        The measure, as in Surprise:

        - ``msd``: ``1 / (mean squared difference over common y + 1)``;
        - ``cosine``: ``sum r r' / sqrt(sum r^2 * sum r'^2)`` over common ``y``;
        - ``pearson``: Pearson correlation over common ``y`` (0 when a variance is 0);
        - ``pearson_baseline``: the correlation of the residuals ``r - b_xy`` from the
          baseline estimates (centred on baselines, not means), shrunk by
          ``(n_common - 1) / (n_common - 1 + shrinkage)``.
    min_support : int, default=1
        Pairs with fewer common ``y`` get similarity 0 (``pearson_baseline`` uses at least
        2). Pairs with no common ``y`` always get 0.
    shrinkage : float, default=100
        Shrinkage of ``pearson_baseline``.
    baseline : tuple (global_mean, x_bias, y_bias), optional
        Baseline estimates, required by ``pearson_baseline``.
    block_rows : int, optional
        Rows per block; default keeps a block near :data:`BLOCK_ELEMENTS` elements.

    Yields
    ------
    start, stop : int
        The rows ``start..stop-1`` of the block.
    block : ndarray of shape (stop - start, n_x)
        Their similarities to every entity; the diagonal is 1.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_grouprec.baselines.similarities import iter_similarity_blocks
    >>> x, y, r = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]), np.array([5.0, 3.0, 4.0, 3.0])
    >>> [(a, b, blk.round(3).tolist()) for a, b, blk in iter_similarity_blocks(x, y, r, 2, 2)]
    [(0, 2, [[1.0, 0.667], [0.667, 1.0]])]
    """
    similarity = check_choice(similarity, "similarity", SIMILARITIES)
    if isinstance(min_support, bool) or not isinstance(min_support, (int, np.integer)):
        raise ValueError(f"min_support must be an integer; got {min_support!r}.")
    shrinkage = check_non_negative(shrinkage, "shrinkage")
    x = np.asarray(x, dtype=np.int64)
    y = np.asarray(y, dtype=np.int64)
    ratings = np.asarray(ratings, dtype=np.float64)
    ones = np.ones_like(ratings)
    counts = _summed(x, y, ones, n_x, n_y)
    if similarity == "pearson_baseline":
        if baseline is None:
            raise ValueError("similarity='pearson_baseline' needs baseline=(global_mean, x_bias, y_bias).")
        mu, x_bias, y_bias = baseline
        residual = ratings - (mu + np.asarray(y_bias)[y] + np.asarray(x_bias)[x])
        first, second = _summed(x, y, residual, n_x, n_y), _summed(x, y, residual**2, n_x, n_y)
        min_support = max(2, int(min_support))
    else:
        first, second = _summed(x, y, ratings, n_x, n_y), _summed(x, y, ratings**2, n_x, n_y)
    min_support = max(1, int(min_support))
    counts_t, first_t, second_t = counts.T.tocsr(), first.T.tocsr(), second.T.tocsr()
    if block_rows is None:
        block_rows = max(1, BLOCK_ELEMENTS // max(1, n_x))

    def product(a, b_t, start, stop):
        return (a[start:stop] @ b_t).toarray()

    for start in range(0, n_x, block_rows):
        stop = min(n_x, start + block_rows)
        freq = product(counts, counts_t, start, stop)
        prods = product(first, first_t, start, stop)
        sq_i = product(second, counts_t, start, stop)
        sq_j = product(counts, second_t, start, stop)
        supported = freq >= min_support
        with np.errstate(divide="ignore", invalid="ignore"):
            if similarity == "msd":
                sq_diff = np.maximum(sq_i + sq_j - 2.0 * prods, 0.0)
                sim = 1.0 / (sq_diff / freq + 1.0)
            elif similarity == "cosine":
                denum = np.sqrt(sq_i * sq_j)
                sim = prods / denum
                supported &= denum > 0
            elif similarity == "pearson":
                s_i = product(first, counts_t, start, stop)
                s_j = product(counts, first_t, start, stop)
                num = freq * prods - s_i * s_j
                denum = np.sqrt(np.maximum((freq * sq_i - s_i**2) * (freq * sq_j - s_j**2), 0.0))
                sim = num / denum
                supported &= denum > 0
            else:
                denum = np.sqrt(sq_i * sq_j)
                sim = prods / denum
                sim *= (freq - 1.0) / (freq - 1.0 + shrinkage)
                supported &= denum > 0
        sim = np.where(supported, sim, 0.0)
        rows = np.arange(start, stop)
        sim[rows - start, rows] = 1.0
        yield start, stop, sim


def similarity_matrix(x, y, ratings, n_x, n_y, **params):
    """The full ``n_x x n_x`` similarity matrix (see :func:`iter_similarity_blocks`).

    Parameters
    ----------
    x, y, ratings, n_x, n_y
        As in :func:`iter_similarity_blocks`.
    **params
        ``similarity``, ``min_support``, ``shrinkage``, ``baseline``: as in
        :func:`iter_similarity_blocks`.

    Returns
    -------
    similarity : ndarray of shape (n_x, n_x)

    Examples
    --------
    >>> import numpy as np
    >>> from sk_grouprec.baselines.similarities import similarity_matrix
    >>> x, y = np.array([0, 0, 1, 1, 2]), np.array([0, 1, 0, 1, 0])
    >>> r = np.array([5.0, 1.0, 4.0, 2.0, 1.0])
    >>> similarity_matrix(x, y, r, 3, 2, similarity="pearson").round(2)
    array([[1., 1., 0.],
           [1., 1., 0.],
           [0., 0., 1.]])
    """
    out = np.empty((n_x, n_x))
    for start, stop, block in iter_similarity_blocks(x, y, ratings, n_x, n_y, **params):
        out[start:stop] = block
    return out


def _summed(rows, cols, values, n_rows, n_cols):
    """CSR matrix of ``values`` with duplicated (row, col) entries summed."""
    return sp.csr_matrix((values, (rows, cols)), shape=(n_rows, n_cols))
