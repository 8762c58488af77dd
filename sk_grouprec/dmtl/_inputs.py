"""Input preparation of the DMTL estimator: feature encoding, index tensors, member tables.

Everything here turns validated frames into the tensors the network reads, and back:

- side features are encoded once per user / item (:func:`fit_encoders`,
  :func:`entity_matrix`) and per row for the context;
- rows become index tensors (:func:`row_inputs`); entities unseen at fit time take the
  unknown row, with their own feature rows when the query carries them;
- natural groups become a member table (:func:`member_table`) and training rows
  (:func:`natural_group_rows`);
- :func:`forward` runs the module over inputs of any size, batch by batch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from .._base import IdIndex
from .._validation import (
    GROUP_COL,
    ITEM_COL,
    USER_COL,
    check_interactions,
    check_ratings,
    entity_table,
    select_features,
)
from ..grouping import check_membership
from ._features import FeatureEncoder

#: Inputs of ``forward`` that are whole tables, never sliced by the row batch.
TABLE_INPUTS = ("members",)


def fit_encoders(X, user_features, item_features, context_features):
    """Selected column names and fitted encoders of the user, item and context features."""
    names = {
        "user": select_features(X, user_features, "user_"),
        "item": select_features(X, item_features, "item_"),
        "context": select_features(X, context_features, "ctx_"),
    }
    encoders = {
        "user": FeatureEncoder(names["user"]).fit(entity_table(X, USER_COL, names["user"])),
        "item": FeatureEncoder(names["item"]).fit(entity_table(X, ITEM_COL, names["item"])),
        "context": FeatureEncoder(names["context"]).fit(X),
    }
    return names, encoders


def training_inputs(est, X, users, items, ratings):
    """Fit the encoders of ``est`` and set its feature names and profiling classes.

    Returns the index tensors of the training rows and the ``(rating, label)`` targets.
    """
    names, est._encoders = fit_encoders(
        X, est.user_features, est.item_features, est.context_features
    )
    est.user_feature_names_ = names["user"]
    est.item_feature_names_ = names["item"]
    est.context_feature_names_ = names["context"]
    est.groups_, labels = profiling_labels(X, users.shape[0])
    inputs = {
        "user": torch.as_tensor(users),
        "item": torch.as_tensor(items),
        "context": torch.as_tensor(est._encoders["context"].transform(X)),
    }
    return inputs, np.column_stack([ratings.astype(np.float32), labels])


def entity_matrix(encoder, X, id_col, index):
    """(n_entities + 1, width) float32 features in index order; the last row is the mean."""
    table = entity_table(X, id_col, encoder.columns)
    order = index.transform(table.index)
    matrix = np.empty((len(index) + 1, encoder.n_output_), dtype=np.float32)
    matrix[order] = encoder.transform(table)
    matrix[-1] = encoder.mean_
    return matrix


def user_history(users, items, n_users, n_items):
    """The items each user rated, in CSR form ``(indptr, columns, n_items + 1)``."""
    rated = sp.csr_matrix(
        (np.ones(users.shape[0], dtype=np.float32), (users, items)),
        shape=(n_users + 1, n_items + 1),
    )
    rated.sum_duplicates()
    return (
        torch.as_tensor(rated.indptr.astype(np.int64)),
        torch.as_tensor(rated.indices.astype(np.int64)),
        n_items + 1,
    )


def profiling_labels(X, n_rows):
    """Sorted profiling classes (first-seen order if unsortable) and each row's class."""
    if GROUP_COL not in X.columns:
        return np.array([]), np.full(n_rows, -1.0, dtype=np.float32)
    labels = X[GROUP_COL]
    classes = np.asarray(pd.unique(labels.to_numpy()))
    try:
        classes = np.sort(classes)
    except TypeError:  # mixed label types: keep first-seen order
        pass
    return classes, pd.Index(classes).get_indexer(labels).astype(np.float32)


def member_table(members, group_index, user_index):
    """(n_groups + 1, slots) member user indices, -1 padding, last row = unknown group.

    Members unseen at fit time take the unknown user (index ``len(user_index)``).
    """
    n_users = len(user_index)
    g = group_index.transform(members[GROUP_COL])
    u = user_index.transform(members[USER_COL])
    u = np.where(u < 0, n_users, u)
    order = np.argsort(g, kind="stable")
    g, u = g[order], u[order]
    counts = np.bincount(g, minlength=len(group_index))
    slots = max(1, int(counts.max()) if counts.size else 1)
    table = np.full((len(group_index) + 1, slots), -1, dtype=np.int64)
    position = np.arange(g.shape[0]) - np.repeat(np.cumsum(counts) - counts, counts)
    table[g, position] = u
    table[-1, 0] = n_users
    return table


def check_group_rows(X_group, y_group, context_columns, name):
    """Validate group rows (``group_id``, ``item_id``, context); return them and the ratings."""
    if not isinstance(X_group, pd.DataFrame):
        raise TypeError(
            f"{name}: X_group must be a DataFrame with columns 'group_id' and 'item_id'."
        )
    missing = [c for c in (GROUP_COL, ITEM_COL, *context_columns) if c not in X_group.columns]
    if missing:
        raise ValueError(f"{name}: X_group is missing the column(s) {missing}.")
    if X_group.shape[0] == 0:
        raise ValueError(f"{name}: X_group is empty.")
    if X_group[[GROUP_COL, ITEM_COL]].isna().any().any():
        raise ValueError(f"{name}: X_group has missing group or item ids.")
    ratings = (
        None if y_group is None else check_ratings(y_group, X_group.shape[0], estimator_name=name)
    )
    return X_group, ratings


def natural_group_rows(X_group, ratings, group_index, item_index, context_encoder, n_users, name):
    """Training inputs, ``[rating, -1]`` targets and the rated matrix of the group rows."""
    g_idx = group_index.transform(X_group[GROUP_COL])
    if (g_idx < 0).any():
        unknown = pd.unique(X_group[GROUP_COL].to_numpy()[g_idx < 0])[:5]
        raise ValueError(
            f"{name}: X_group has group ids without members in `groups`: {list(unknown)}."
        )
    n_items = len(item_index)
    items = item_index.transform(X_group[ITEM_COL])
    known = items >= 0
    rated = sp.csr_matrix(
        (np.ones(int(known.sum()), dtype=bool), (g_idx[known], items[known])),
        shape=(len(group_index), n_items),
    )
    inputs = {
        "user": torch.full((len(g_idx),), n_users, dtype=torch.long),
        "item": torch.as_tensor(np.where(items < 0, n_items, items)),
        "context": torch.as_tensor(context_encoder.transform(X_group)),
        "group": torch.as_tensor(g_idx),
    }
    target = np.column_stack(
        [ratings.astype(np.float32), np.full(len(g_idx), -1, dtype=np.float32)]
    )
    return inputs, target, rated


def natural_groups(groups, X_group, y_group, user_index, item_index, encoders, name):
    """Index, member table, rated matrix and training rows of checked natural groups.

    Returns ``(group_index, member_table, rated, extra)`` where ``rated`` and ``extra``
    (``(inputs, target)`` of the group rows) are ``None`` without ``X_group``.
    """
    members = groups[[GROUP_COL, USER_COL]].drop_duplicates()
    index = IdIndex(members[GROUP_COL])
    table = member_table(members, index, user_index)
    if X_group is None:
        return index, table, None, None
    X_group, ratings = check_group_rows(X_group, y_group, encoders["context"].columns, name)
    inputs, target, rated = natural_group_rows(
        X_group, ratings, index, item_index, encoders["context"], len(user_index), name
    )
    return index, table, rated, (inputs, target)


def append_rows(inputs, target, extra_inputs, extra_target):
    """Training inputs and targets followed by natural-group rows (``group = -1`` before)."""
    n_indiv = target.shape[0]
    merged = {k: torch.cat([v, extra_inputs[k]]) for k, v in inputs.items()}
    merged["group"] = torch.cat(
        [torch.full((n_indiv,), -1, dtype=torch.long), extra_inputs["group"]]
    )
    return merged, np.vstack([target, extra_target])


def attach_natural_groups(est, groups, X_group, y_group, inputs, target):
    """Set the natural-group attributes of ``est`` and append the group rating rows.

    Returns ``(inputs, target, members)``; ``members`` (a tensor) is ``None`` without
    ``groups``. Group ratings widen ``est.rating_range_``.
    """
    est.natural_groups_ = np.array([])
    if groups is None:
        return inputs, target, None
    natural = natural_groups(
        groups, X_group, y_group, est.user_index_, est.item_index_, est._encoders,
        type(est).__name__,
    )
    est._natural_index, est._members, est._rated_by_group, extra = natural
    est.natural_groups_ = est._natural_index.ids.to_numpy()
    if extra is not None:
        inputs, target = append_rows(inputs, target, *extra)
        group_ratings = extra[1][:, 0]
        low, high = est.rating_range_
        est.rating_range_ = (
            min(low, float(group_ratings.min())), max(high, float(group_ratings.max()))
        )
    return inputs, target, torch.as_tensor(est._members)


def row_inputs(users, items, X, encoders, module, name):
    """Index tensors of rows plus feature overrides for unseen entities and the context.

    ``users`` / ``items`` are indices (``-1``: unseen); ``X`` the query rows (or ``None``:
    the mean training context, no features for unseen entities).
    """
    n_users = module.user_tower.unknown_index
    n_items = module.item_tower.unknown_index
    context = encoders["context"]
    inputs = {
        "user": torch.as_tensor(np.where(users < 0, n_users, users)),
        "item": torch.as_tensor(np.where(items < 0, n_items, items)),
    }
    if X is not None and context.columns:
        missing = [c for c in context.columns if c not in X.columns]
        if missing:
            raise ValueError(f"{name}: X is missing the context column(s) {missing}.")
        inputs["context"] = torch.as_tensor(context.transform(X))
    else:
        inputs["context"] = torch.as_tensor(np.tile(context.mean_, (users.shape[0], 1)))
    for key, idx, encoder, table in (
        ("user_x", users, encoders["user"], module.user_tower.features),
        ("item_x", items, encoders["item"], module.item_tower.features),
    ):
        unknown = idx < 0
        if X is None or not unknown.any() or not encoder.columns:
            continue
        if any(c not in X.columns for c in encoder.columns):
            continue  # no features for unseen entities: they keep the mean row
        rows = table.detach().cpu().numpy()[np.where(unknown, table.shape[0] - 1, idx)]
        rows[unknown] = encoder.transform(X.iloc[np.flatnonzero(unknown)])
        inputs[key] = torch.as_tensor(rows)
    return inputs


def query_members(group_ids, fitted_index, fitted_table, groups, user_index):
    """Member table and row indices for ``group_ids``, ``groups`` overriding the fitted one.

    Groups named in ``groups`` use it, others the fitted membership; a group unknown to
    both takes the last row (one unknown member).
    """
    if groups is None:
        g = fitted_index.transform(group_ids)
        return fitted_table, np.where(g < 0, fitted_table.shape[0] - 1, g)
    members = groups[[GROUP_COL, USER_COL]].drop_duplicates()
    index = IdIndex(members[GROUP_COL])
    table = member_table(members, index, user_index)
    g = index.transform(group_ids)
    if fitted_index is None:
        return table, np.where(g < 0, table.shape[0] - 1, g)
    slots = max(table.shape[1], fitted_table.shape[1])
    table = np.vstack([_pad(table[:-1], slots), _pad(fitted_table, slots)])
    g_old = fitted_index.transform(group_ids)
    g_old = np.where(g_old >= 0, len(index) + g_old, table.shape[0] - 1)
    return table, np.where(g >= 0, g, g_old)


def group_inputs(est, group_ids, item_ids, X_group=None, groups=None):
    """Inputs of natural-group rows for ``est`` (fitted membership, or ``groups``)."""
    name = type(est).__name__
    fitted_index = getattr(est, "_natural_index", None)
    if fitted_index is None and groups is None:
        raise ValueError(
            f"{name} was fitted without natural groups: pass `groups` (group_id, user_id)."
        )
    if groups is not None:
        groups = check_membership(groups, estimator_name=name)
    table, g = query_members(
        group_ids, fitted_index, getattr(est, "_members", None), groups, est.user_index_
    )
    items = est.item_index_.transform(item_ids)
    inputs = row_inputs(np.full(len(g), -1), items, X_group, est._encoders, est.module_, name)
    inputs.pop("user_x", None)
    inputs["group"] = torch.as_tensor(g)
    inputs["members"] = torch.as_tensor(table)
    return inputs


def _pad(table, slots):
    return np.pad(table, ((0, 0), (0, slots - table.shape[1])), constant_values=-1)


def forward(module, inputs, batch_size):
    """No-grad forward over inputs of any size, ``batch_size`` rows at a time.

    Whole tables (:data:`TABLE_INPUTS`) go to every batch unsliced. Returns the module's four
    outputs as float64 numpy arrays.
    """
    module.eval()
    device = next(module.parameters()).device
    tables = {k: v.to(device) for k, v in inputs.items() if k in TABLE_INPUTS}
    rows = {k: v for k, v in inputs.items() if k not in TABLE_INPUTS}
    n = next(iter(rows.values())).shape[0]
    outputs = [[] for _ in range(4)]
    with torch.no_grad():
        for start in range(0, n, batch_size):
            batch = {k: v[start : start + batch_size].to(device) for k, v in rows.items()}
            for store, value in zip(outputs, module(**batch, **tables)):
                store.append(value.cpu().numpy())
    return [np.concatenate(parts).astype(np.float64) for parts in outputs]


def query_outputs(est, X):
    """The four module outputs of a fitted ``est`` for the rows of ``X``, block by block."""
    X = check_interactions(X, estimator_name=type(est).__name__).reset_index(drop=True)
    users = est.user_index_.transform(X[USER_COL])
    items = est.item_index_.transform(X[ITEM_COL])
    size = est._predict_batch_size
    blocks = [
        est._forward(
            est._row_inputs(users[s : s + size], items[s : s + size], X.iloc[s : s + size])
        )
        for s in range(0, X.shape[0], size)
    ]
    return [np.concatenate(parts) for parts in zip(*blocks)]
