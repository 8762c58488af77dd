"""Natural-group rating prediction of a fitted ``GroupDMTLRecommender`` (``objective="mse"``).

``predict_group`` and ``recommend_group`` of the estimator call these; the group rows are
built by :func:`._inputs.group_inputs` (members pooled by the network's attention).
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._base import _unique
from .._topk import top_k
from .._validation import GROUP_COL, ITEM_COL, check_positive_int
from . import _inputs


def predict_group_ratings(est, X_group, groups):
    """Clipped rating predictions for the ``(group_id, item_id)`` rows of ``X_group``."""
    check_is_fitted(est, "net_")
    name = type(est).__name__
    X_group, _ = _inputs.check_group_rows(X_group, None, est.context_feature_names_, name)
    X_group = X_group.reset_index(drop=True)
    out = np.empty(X_group.shape[0])
    size = est._predict_batch_size
    for start in range(0, X_group.shape[0], size):
        block = X_group.iloc[start : start + size]
        inputs = _inputs.group_inputs(
            est, block[GROUP_COL].to_numpy(), block[ITEM_COL].to_numpy(), block, groups
        )
        out[start : start + block.shape[0]] = est._forward(inputs)[0]
    return np.clip(out, *est.rating_range_)


def recommend_group_ratings(est, group_ids, n_items, exclude_rated, items, groups):
    """Top ``n_items`` of each group by predicted rating, scored block by block."""
    check_is_fitted(est, "net_")
    n_items = check_positive_int(n_items, "n_items")
    group_ids = _unique(group_ids)
    item_ids = est.item_index_.ids.to_numpy() if items is None else _unique(items)
    rated = getattr(est, "_rated_by_group", None) if exclude_rated else None
    cand = est.item_index_.transform(item_ids)
    n_cand = item_ids.shape[0]

    def score_block(start, stop):
        chunk = group_ids[start:stop]
        grid = _inputs.group_inputs(
            est, np.repeat(chunk, n_cand), np.tile(item_ids, len(chunk)), None, groups
        )
        scores = np.clip(est._forward(grid)[0], *est.rating_range_).reshape(len(chunk), n_cand)
        if rated is not None:
            g = est._natural_index.transform(chunk)
            known = (g >= 0)[:, None] & (cand >= 0)[None, :]
            seen = rated[np.maximum(g, 0)][:, np.maximum(cand, 0)].toarray() & known
            scores = np.where(seen, -np.inf, scores)
        return scores

    rows_per_block = max(1, est._predict_batch_size // max(1, n_cand))
    return top_k(group_ids, item_ids, min(n_items, n_cand), score_block,
                 row_col=GROUP_COL, rows_per_block=rows_per_block)
