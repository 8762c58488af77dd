"""The one top-k routine of the package: ranked lists chunk by chunk, in bounded memory.

:func:`top_k` scores a block of query rows (users or groups) against every candidate at a
time, keeps each row's ``k`` best with :func:`numpy.argpartition` and never holds more than
one block of scores. Ties keep the candidates' order (the result equals a full stable sort);
excluded candidates (score ``-inf``) never appear in the lists.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["CHUNK_SIZE", "top_k", "top_k_indices"]

#: Scores held at once (query rows x candidates) when the caller gives no block size.
CHUNK_SIZE = 1 << 18


def top_k_indices(scores, k):
    """Column indices of the ``k`` best scores of each row, best first, ties in column order.

    Parameters
    ----------
    scores : ndarray of shape (n_rows, n_columns)
    k : int
        At most ``n_columns``.

    Returns
    -------
    indices : ndarray of shape (n_rows, k)

    Examples
    --------
    >>> import numpy as np
    >>> from sk_grouprec._topk import top_k_indices
    >>> top_k_indices(np.array([[1.0, 3.0, 3.0, 2.0]]), 2)
    array([[1, 2]])
    """
    n_rows, n_columns = scores.shape
    if k >= n_columns:
        return np.argsort(-scores, axis=1, kind="stable")[:, :k]
    kth = -np.partition(-scores, k - 1, axis=1)[:, k - 1 : k]  # k-th largest of each row
    greater = scores > kth
    ties = scores == kth
    room = k - greater.sum(axis=1, keepdims=True)
    keep = greater | (ties & (np.cumsum(ties, axis=1) <= room))
    chosen = np.nonzero(keep)[1].reshape(n_rows, k)  # column order within each row
    order = np.argsort(-np.take_along_axis(scores, chosen, axis=1), axis=1, kind="stable")
    return np.take_along_axis(chosen, order, axis=1)


def top_k(row_ids, item_ids, k, score_block, *, row_col, rows_per_block=None):
    """Ranked lists of the ``k`` best candidates for each query row, block by block.

    Parameters
    ----------
    row_ids : ndarray of shape (n_rows,)
        Query ids (users or groups), in output order.
    item_ids : ndarray of shape (n_items,)
        Candidate ids.
    k : int
        Length of each list (at most ``n_items``).
    score_block : callable
        ``score_block(start, stop) -> ndarray (stop - start, n_items)``: the scores of query
        rows ``start:stop``; ``-inf`` marks an excluded candidate.
    row_col : str
        Name of the query id column of the output.
    rows_per_block : int, optional
        Query rows scored at once (default: ``CHUNK_SIZE // n_items``, at least 1).

    Returns
    -------
    recommendations : pandas.DataFrame
        Columns ``row_col``, ``item_id``, ``score`` and ``rank`` (1 = best), sorted by query
        row then rank; excluded candidates left out.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_grouprec._topk import top_k
    >>> scores = np.array([[1.0, 5.0, 3.0], [2.0, -np.inf, 1.0]])
    >>> top_k(np.array(["a", "b"]), np.array([10, 11, 12]), 2,
    ...       lambda start, stop: scores[start:stop], row_col="user_id")
      user_id  item_id  score  rank
    0       a       11    5.0     1
    1       a       12    3.0     2
    2       b       10    2.0     1
    3       b       12    1.0     2
    """
    n_items = item_ids.shape[0]
    if rows_per_block is None:
        rows_per_block = max(1, CHUNK_SIZE // max(1, n_items))
    frames = []
    for start in range(0, row_ids.shape[0], rows_per_block):
        stop = min(start + rows_per_block, row_ids.shape[0])
        scores = score_block(start, stop)
        top = top_k_indices(scores, k)
        top_scores = np.take_along_axis(scores, top, axis=1).ravel()
        frame = pd.DataFrame(
            {
                row_col: np.repeat(row_ids[start:stop], k),
                "item_id": item_ids[top.ravel()],
                "score": top_scores,
                "rank": np.tile(np.arange(1, k + 1), stop - start),
            }
        )
        frames.append(frame[np.isfinite(top_scores)])
    if not frames:
        return pd.DataFrame({row_col: [], "item_id": [], "score": [], "rank": []})
    return pd.concat(frames, ignore_index=True)
