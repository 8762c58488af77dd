"""The ranking objectives of ``GroupDMTLRecommender`` (``objective="bpr"`` / ``"bce"``).

The network mirrors the DMTL shape (user and item towers, user-conditioned attention over
item dimensions, the shared representation ``z`` and a linear head) and adds, for ranking,
the dot product of the raw id embeddings and one item bias per task (user rows, group rows)::

    s(u, i) = w^T z(u, i) + <e_u, e_i> + b_i^task
    e_u = E_user[u] + |N(u)|^-1/2 sum_{j in N(u)} y_j                (SVD++-style history)
    e_g = E_group[g] + |N(g)|^-1/2 sum_{j in N(g)} y'_j + sum_m w_m e_m
    h_g = tower(E_group[g] + history) + sum_m w_m h_m

with ``w`` an item-conditioned attention over the members (or uniform). The towers, the
attentions and ``z`` are ``hidden_size`` wide, the embeddings ``embedding_size``;
``dropout``, ``use_biases`` (``b_i``) and ``use_dot_product`` (``<e_u, e_i>``) act as in the
rating network. Training draws
``n_negatives`` negatives per positive each epoch (:mod:`sk_grouprec._negatives`, excluding
the same user's or group's positives; uniformly, or by popularity with ``negative_sampling``)
and minimises the losses of :mod:`.tasks` (the negatives weighted equally, or by the softmax
of their scores with ``negative_temperature``).

Two choices keep the training pairs like the pairs scored later (both chosen on a validation
split of Mafengwo's train files):

- *leave-one-out histories*: a training positive ``(u, i)`` is scored with ``i`` left out of
  ``N(u)`` (and likewise for a group), so the model learns to rank an item from the rest of
  the history, not from the item's own presence in it; ``predict`` scores a pair that is a
  training positive the same way;
- *group item offsets*: the group task scores ``e_i + d_i`` with its own offsets ``d_i`` and
  does not move the shared ``e_i``, so an item seen only in group rows does not rise in every
  member's individual ranking.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from torch import nn
from torch.nn import functional as F

from .._base import IdIndex, _unique
from .._implicit import positive_interactions
from .._negatives import PositiveSet, item_weights, sample_negatives
from .._topk import top_k
from .._validation import (
    FEATURE_PREFIXES,
    GROUP_COL,
    ITEM_COL,
    RATING_COL,
    USER_COL,
    check_interactions,
    check_positive_int,
    select_features,
)
from . import _params
from ._dropout import RandDropout
from ._segments import concatenated_runs
from .tasks import ranking_loss

PREDICT_ROWS = 8192


def _history(pairs_rows, pairs_items, n_rows, n_items):
    """The rows' item sets in CSR form ``(indptr, items, sizes)`` (duplicates count once)."""
    m = sp.csr_matrix(
        (np.ones(len(pairs_rows), np.float32), (pairs_rows, pairs_items)), shape=(n_rows, n_items)
    )
    m.sum_duplicates()
    indptr = torch.as_tensor(m.indptr.astype(np.int64))
    return indptr, torch.as_tensor(m.indices.astype(np.int64)), torch.diff(indptr).float()


def _pooled(history, table, rows, left_out=None):
    """``|N(r)|^-1/2 sum_{j in N(r)} y_j`` for each row ``r``; with ``left_out`` items (one per
    row, in its row's set, or -1 for none), the same over ``N(r)`` without that item. The sums
    are taken once per distinct row, over those rows' histories only."""
    indptr, columns, count = history
    uniq, inverse = torch.unique(rows.reshape(-1), return_inverse=True)
    starts = indptr[uniq]
    positions, offsets = concatenated_runs(starts, indptr[uniq + 1] - starts)
    total = F.embedding_bag(columns[positions], table.weight, offsets, mode="sum")
    total = total[inverse].reshape(*rows.shape, -1)
    size = count[rows]
    if left_out is not None:
        drop = (left_out >= 0).float()
        total = total - table(left_out.clamp(min=0)) * drop[..., None]
        size = size - drop
    return total * torch.rsqrt(size.clamp(min=1))[..., None]


def _linear_of_pair(layer, a, b):
    """``layer(torch.cat([a, b], -1))`` without the concatenation: ``a`` may broadcast
    against ``b`` (one user side for all its candidates is then projected once)."""
    width = a.shape[-1]
    return a @ layer.weight[:, :width].T + (b @ layer.weight[:, width:].T + layer.bias)


class RankingNetwork(nn.Module):
    """Scores of (user, item) and (group, item) pairs; see the module docstring."""

    def __init__(self, n_users, n_items, n_groups, dim, *, group_embedding, member_pooling,
                 use_attention, user_history, group_history, hidden=None, dropout=0.0,
                 use_biases=True, use_dot_product=True):
        super().__init__()
        hidden = dim if hidden is None else hidden
        self.dim, self.hidden = dim, hidden
        self.user_emb = nn.Embedding(n_users, dim)
        self.item_emb = nn.Embedding(n_items, dim)
        self.group_emb = nn.Embedding(max(n_groups, 1), dim) if group_embedding else None
        for table in (self.user_emb, self.item_emb, self.group_emb):
            if table is not None:
                nn.init.normal_(table.weight, std=0.1)
        self.user_tower = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU())
        self.item_tower = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU())
        self.att = nn.Linear(2 * hidden, hidden)
        self.use_attention = use_attention
        self.shared = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.ReLU())
        self.head = nn.Linear(hidden, 1)
        self.member_pooling = member_pooling
        self.mem_att = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.Tanh(), nn.Linear(hidden, 1))
        self.group_item = nn.Embedding(n_items, dim)
        nn.init.zeros_(self.group_item.weight)
        self.item_bias = nn.Embedding(n_items, 2) if use_biases else None
        if use_biases:
            nn.init.zeros_(self.item_bias.weight)
        self.use_dot_product = use_dot_product
        # no dropout module at rate 0, so that the default draws nothing from the generator
        self.drop = RandDropout(dropout) if dropout > 0 else nn.Identity()
        self.hist = user_history
        self.implicit = nn.Embedding(n_items, dim) if user_history is not None else None
        self.ghist = group_history
        self.gimplicit = nn.Embedding(n_items, dim) if group_history is not None else None
        for table in (self.implicit, self.gimplicit):
            if table is not None:
                nn.init.normal_(table.weight, std=0.01)

    def _apply(self, fn, recurse=True):
        # the CSR histories are plain tensors (not parameters or buffers): move them too
        super()._apply(fn, recurse)
        for name in ("hist", "ghist"):
            history = getattr(self, name)
            if history is not None:
                setattr(self, name, tuple(fn(t) for t in history))
        return self

    def user_side(self, users, left_out=None):
        e = self.user_emb(users)
        if self.hist is not None:
            e = e + _pooled(self.hist, self.implicit, users, left_out)
        return self.drop(self.user_tower(e)), e

    def combine(self, h_u, e_u, h_i, e_i, items, task):
        """Scores ``(B, C)`` from the (user or group) side ``h_u, e_u`` and the candidates'
        ``h_i, e_i``; the side may be ``(B, 1, .)`` for all candidates, or ``(B, C, .)``."""
        h_ai = h_i
        if self.use_attention:
            h_ai = torch.softmax(_linear_of_pair(self.att, h_u, h_i), -1) * self.hidden * h_i
        z = self.drop(torch.relu(_linear_of_pair(self.shared[0], h_u, h_ai)))
        score = self.head(z).squeeze(-1)
        if self.use_dot_product:
            score = score + (e_u * e_i).sum(-1)
        if self.item_bias is not None:
            score = score + self.item_bias(items)[..., task]
        return score

    def user_scores(self, users, items, left_out=None):
        """Scores ``(B, C)`` of candidate items ``(B, C)`` for users ``(B,)``; ``left_out``: an
        item ``(B,)`` of each user's history to leave out of it (its training positive)."""
        h_u, e_u = self.user_side(users, left_out)
        e_i = self.item_emb(items)
        h_i = self.drop(self.item_tower(e_i))
        return self.combine(h_u[:, None], e_u[:, None], h_i, e_i, items, 0)

    def member_weights(self, members, mask, h_i, h_m=None):
        """Weights ``(B, C, M)`` of the members for each candidate item (``h_m``: the members'
        tower outputs, when the caller has them)."""
        if self.member_pooling == "mean":
            w = mask.float() / mask.float().sum(1, keepdim=True)
            return w[:, None, :].expand(-1, h_i.shape[1], -1)
        if h_m is None:
            h_m, _ = self.user_side(members)
        first = self.mem_att[0]
        w_m, w_i = first.weight[:, : self.hidden], first.weight[:, self.hidden:]
        # the attention layer runs on the real member slots only, not on the padding; its
        # weight is split as in _linear_of_pair, the candidates projected once per group
        rows, slots = mask.nonzero(as_tuple=True)
        a = torch.tanh((h_m[rows, slots] @ w_m.T)[:, None] + (h_i @ w_i.T + first.bias)[rows])
        logits = h_i.new_full((*mask.shape, h_i.shape[1]), float("-inf"))
        logits = logits.index_put((rows, slots), self.mem_att[2](a).squeeze(-1))
        return torch.softmax(logits.transpose(1, 2), -1)

    def group_scores(self, groups, members, mask, items, return_weights=False, left_out=None):
        """Scores ``(B, C)`` of candidate items for groups ``(B,)`` with members ``(B, M)``."""
        # the group task moves its own item offsets, not the items' shared embeddings
        e_i = self.item_emb(items).detach() + self.group_item(items)
        h_i = self.drop(self.item_tower(e_i))
        h_m, e_m = self.user_side(members)
        w = self.member_weights(members, mask, h_i, h_m)
        h, e = w @ h_m, w @ e_m
        if self.group_emb is not None:
            own = self.group_emb(groups)
            if self.ghist is not None:
                own = own + _pooled(self.ghist, self.gimplicit, groups, left_out)
            h = h + self.drop(self.user_tower(own))[:, None]
            e = e + own[:, None]
        scores = self.combine(h, e, h_i, e_i, items, 1)
        return (scores, w) if return_weights else scores


def member_table(group_index, user_index, groups):
    """Padded member indices ``(n_groups, M)`` and mask; unknown members are left out."""
    g = group_index.transform(groups["group_id"])
    u = user_index.transform(groups["user_id"])
    keep = (g >= 0) & (u >= 0)
    frame = pd.DataFrame({"g": g[keep], "u": u[keep]}).drop_duplicates()
    sizes = np.bincount(frame["g"], minlength=len(group_index))
    if (sizes == 0).any():
        bad = group_index.ids[np.flatnonzero(sizes == 0)[:5]].tolist()
        raise ValueError(f"groups {bad} have no member with training interactions in X.")
    frame = frame.sort_values("g", kind="stable")
    slot = np.arange(len(frame)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    members = np.zeros((len(group_index), sizes.max()), dtype=np.int64)
    members[frame["g"].to_numpy(), slot] = frame["u"].to_numpy()
    mask = np.zeros(members.shape, dtype=bool)
    mask[frame["g"].to_numpy(), slot] = True
    return torch.as_tensor(members), torch.as_tensor(mask)


def _group_rows(est, groups, X_group):
    """Index the natural groups (members, and ``_group_rated`` from ``X_group``): the group
    and item indices of the distinct group positives (``None`` without ``X_group``) and the
    number of groups."""
    if groups is None:
        return None, None, 0
    est._natural_index = IdIndex(groups["group_id"])
    n_groups = len(est._natural_index)
    est._members, est._member_mask = member_table(est._natural_index, est.user_index_, groups)
    if X_group is None:
        return None, None, n_groups
    g_rows = est._natural_index.transform(X_group["group_id"])
    g_items = est.item_index_.transform(X_group["item_id"])
    if (g_rows < 0).any() or (g_items < 0).any():
        raise ValueError(f"{type(est).__name__}: X_group has group ids missing from `groups`.")
    pairs = pd.DataFrame({"g": g_rows, "i": g_items}).drop_duplicates()
    g_rows, g_items = pairs["g"].to_numpy(), pairs["i"].to_numpy()
    est._group_rated = sp.csr_matrix(
        (np.ones(len(g_rows), dtype=bool), (g_rows, g_items)), shape=(n_groups, est.n_items_)
    )
    return g_rows, g_items, n_groups


def make_optimizer(optimizer, params, lr, weight_decay):
    """The ``optimizer`` parameter as a torch optimizer over ``params`` (``"adamw"``:
    :class:`torch.optim.AdamW`; ``"adam"`` and ``"sgd"`` take ``weight_decay`` as an L2
    penalty; a :class:`torch.optim.Optimizer` subclass gets ``lr`` and ``weight_decay``)."""
    cls = _params.optimizer_class(optimizer)
    params = list(params)
    if cls is torch.optim.AdamW and {p.device.type for p in params} <= {"cpu", "cuda"}:
        # the fused step: three times faster than the per-tensor loop on CPU
        return cls(params, lr=lr, weight_decay=weight_decay, fused=True)
    return cls(params, lr=lr, weight_decay=weight_decay)


def fit_ranking(est, users, items, groups, X_group, *, max_epochs, weight_decay, seed,
                device="cpu"):
    """Train the ranking network of ``est`` on positive pairs (and natural-group rows) on
    ``device``; the trained network is returned on the CPU, where it scores."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    n_users, n_items = est.n_users_, est.n_items_
    natural = X_group is not None
    g_rows, g_items, n_groups = _group_rows(est, groups, X_group)
    history = _history(users, items, n_users, n_items) if est.use_implicit_feedback else None
    ghistory = None
    if natural and est.group_embedding and est.use_implicit_feedback:
        ghistory = _history(g_rows, g_items, n_groups, n_items)
    net = RankingNetwork(
        n_users, n_items, n_groups, est.embedding_size,
        group_embedding=est.group_embedding and natural,
        member_pooling=est.member_pooling, use_attention=est.use_attention,
        user_history=history, group_history=ghistory, hidden=est.hidden_size,
        dropout=_params.dropout(est), use_biases=est.use_biases,
        use_dot_product=est.use_dot_product,
    ).to(device)
    opt = make_optimizer(est.optimizer, net.parameters(), est.lr, weight_decay)
    sched = None
    if est.lr_schedule == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, max_epochs))
    batch = 1024 if est.batch_size == "auto" else int(est.batch_size)
    user_pos = PositiveSet(users, items, n_items)
    group_pos = PositiveSet(g_rows, g_items, n_items) if natural else None
    exponent = _params.negative_exponent(est.negative_sampling)
    u_weights = item_weights(items, n_items, exponent)
    g_weights = item_weights(g_items, n_items, exponent) if natural else None
    # a user (group) with every item as a positive has nothing to rank below its positives:
    # its rows give the ranking loss no pair and are not trained on
    # (when no row is left, e.g. a one-item catalogue, the network keeps its initial weights)
    keep = ~np.isin(users, user_pos.saturated)
    users, items = users[keep], items[keep]
    if users.shape[0] == 0:
        max_epochs = 0
    if natural:
        keep = ~np.isin(g_rows, group_pos.saturated)
        g_rows, g_items = g_rows[keep], g_items[keep]
        natural = g_rows.shape[0] > 0
    members = mask = None
    if natural:
        members, mask = est._members.to(device), est._member_mask.to(device)

    def tensor(array):
        return torch.as_tensor(array).to(device)

    losses = []
    start = time.perf_counter()
    for epoch in range(max_epochs):
        u_neg = sample_negatives(user_pos, users, est.n_negatives, rng, u_weights)
        u_order = rng.permutation(len(users))
        n_batches = max(1, int(np.ceil(len(users) / batch)))
        u_batches = np.array_split(u_order, n_batches)
        if natural:
            g_neg = sample_negatives(group_pos, g_rows, est.n_negatives, rng, g_weights)
            g_batches = np.array_split(rng.permutation(len(g_rows)), n_batches)
        total = {"rec": 0.0, "group": 0.0}
        for b, ub in enumerate(u_batches):
            u = tensor(users[ub])
            cand = tensor(np.column_stack([items[ub], u_neg[ub]]))
            s = net.user_scores(u, cand, left_out=cand[:, 0])
            loss_rec = ranking_loss(s[:, 0], s[:, 1:], est.objective, est.negative_temperature)
            loss = loss_rec
            total["rec"] += loss_rec.item()
            if natural and len(g_batches[b]):
                gb = g_batches[b]
                g = tensor(g_rows[gb])
                cand = tensor(np.column_stack([g_items[gb], g_neg[gb]]))
                s = net.group_scores(g, members[g], mask[g], cand, left_out=cand[:, 0])
                loss_group = ranking_loss(s[:, 0], s[:, 1:], est.objective,
                                          est.negative_temperature)
                loss = loss + est.lambda_group * loss_group
                total["group"] += loss_group.item()
            opt.zero_grad()
            loss.backward()
            opt.step()
        if sched is not None:
            sched.step()
        row = {"epoch": epoch + 1, "train_rec_loss": total["rec"] / n_batches,
               "dur": time.perf_counter() - start}
        if natural:
            row["train_group_loss"] = total["group"] / n_batches
        row["train_loss"] = row["train_rec_loss"] + est.lambda_group * row.get(
            "train_group_loss", 0.0)
        losses.append(row)
        if est.verbose:
            print(" ".join(f"{k}={v:.4f}" for k, v in row.items()), flush=True)
    net.eval()
    return net.cpu(), losses


def fallback(popularity, items):
    """Score of a pair with an unknown user or group: the item's popularity (the share of
    users, or of groups, with it as a positive; 0 for an unknown item)."""
    return np.where(items >= 0, popularity[np.maximum(items, 0)], 0.0)


def _catalogue_minimum(score_rows, rows, n_items, width=1):
    """The lowest score of the whole catalogue for each of ``rows``, from
    ``score_rows(rows_tensor, candidates)`` over blocks of rows (memory bounded: about
    ``8 * PREDICT_ROWS`` candidate pairs, times ``width`` members for groups, per block)."""
    lowest = np.empty(len(rows))
    step = max(1, PREDICT_ROWS * 8 // (n_items * width))
    catalogue = torch.arange(n_items)
    for s in range(0, len(rows), step):
        r = torch.as_tensor(rows[s: s + step])
        lowest[s: s + step] = score_rows(r, catalogue.expand(len(r), -1)).min(1).values.numpy()
    return lowest


@torch.no_grad()
def user_floor(net, users, rated=None):
    """For distinct known users, a score below the user's score of every item seen at fit
    time (training positives scored as in training): the lowest of them minus one. An item
    unseen at fit time gets it, so it ranks last on the model's own scale (a fixed fallback
    such as 0 would land anywhere among the model's scores, which have no fixed origin)."""
    lowest = _catalogue_minimum(net.user_scores, users, net.item_emb.num_embeddings)
    if rated is not None:
        own = rated[users]
        row = np.repeat(np.arange(len(users)), np.diff(own.indptr))
        for s in range(0, row.shape[0], PREDICT_ROWS):
            r, i = row[s: s + PREDICT_ROWS], torch.as_tensor(own.indices[s: s + PREDICT_ROWS])
            scores = net.user_scores(torch.as_tensor(users[r]), i[:, None], left_out=i)[:, 0]
            np.minimum.at(lowest, r, scores.numpy())
    return lowest - 1.0


@torch.no_grad()
def group_floor(net, members, mask, groups):
    """:func:`user_floor` for distinct known natural groups."""
    def score_rows(g, candidates):
        return net.group_scores(g, members[g], mask[g], candidates)

    n_items = net.item_emb.num_embeddings
    return _catalogue_minimum(score_rows, groups, n_items, width=members.shape[1]) - 1.0


def _unseen_items(rows, items):
    """Positions of the pairs of a known user (group) with an item unseen at fit time, the
    distinct rows among them and each pair's position in that list."""
    cold = np.flatnonzero((rows >= 0) & (items < 0))
    distinct, inverse = np.unique(rows[cold], return_inverse=True)
    return cold, distinct, inverse


def _left_out(rated, rows, items):
    """``items`` where the pair is in ``rated`` (a training positive), else -1."""
    if rated is None:
        return None
    seen = np.asarray(rated[rows, items]).ravel().astype(bool)
    return torch.as_tensor(np.where(seen, items, -1))


@torch.no_grad()
def user_scores(net, users, items, popularity, rated=None):
    """Scores of the pairs ``(users[k], items[k])``: an unknown user's pairs get
    :func:`fallback`, a known user's unseen item :func:`user_floor`. A pair in ``rated`` (a
    training positive) is scored as in training, its item left out of the user's history."""
    out = fallback(popularity, items)
    cold, distinct, inverse = _unseen_items(users, items)
    if cold.shape[0]:
        out[cold] = user_floor(net, distinct, rated)[inverse]
    known = np.flatnonzero((users >= 0) & (items >= 0))
    for s in range(0, known.shape[0], PREDICT_ROWS):
        rows = known[s: s + PREDICT_ROWS]
        u = torch.as_tensor(users[rows])
        i = torch.as_tensor(items[rows])[:, None]
        left_out = _left_out(rated, users[rows], items[rows])
        out[rows] = net.user_scores(u, i, left_out=left_out)[:, 0].numpy()
    return out


@torch.no_grad()
def group_scores(net, members, mask, groups, items, popularity, return_weights=False):
    """Scores (and member weights ``(n, M)``) of ``(groups[k], items[k])``: an unknown
    group's pairs get :func:`fallback`, a known group's unseen item :func:`group_floor`
    (with zero member weights)."""
    out = fallback(popularity, items)
    cold, distinct, inverse = _unseen_items(groups, items)
    if cold.shape[0]:
        out[cold] = group_floor(net, members, mask, distinct)[inverse]
    weights = np.zeros((groups.shape[0], members.shape[1]), dtype=np.float64)
    known = np.flatnonzero((groups >= 0) & (items >= 0))
    for s in range(0, known.shape[0], PREDICT_ROWS):
        rows = known[s: s + PREDICT_ROWS]
        g = torch.as_tensor(groups[rows])
        i = torch.as_tensor(items[rows])[:, None]
        scores, w = net.group_scores(g, members[g], mask[g], i, return_weights=True)
        out[rows] = scores[:, 0].numpy()
        weights[rows] = w[:, 0].numpy()
    return (out, weights) if return_weights else out


@torch.no_grad()
def group_score_grid(net, members, mask, groups, items):
    """Scores ``(len(groups), len(items))`` of every candidate for each group."""
    g = torch.as_tensor(groups)
    cand = torch.as_tensor(items)[None].expand(len(groups), -1)
    return net.group_scores(g, members[g], mask[g], cand).numpy().astype(np.float64)


def fit_estimator(est, X, y, groups, X_group, y_group):
    """``GroupDMTLRecommender.fit`` with a ranking objective (validated parameters)."""
    from sklearn.utils import check_random_state
    from skorch.history import History

    name = type(est).__name__
    if X_group is not None and groups is None:
        raise ValueError(f"{name}: X_group needs the membership table `groups` (group_id, user_id).")
    is_array = not isinstance(X, pd.DataFrame)
    X = check_interactions(X, estimator_name=name)
    _warn_unused_columns(X, est)
    _warn_unread_ratings(X, y, "X", "y", est)
    device = _params.resolve_device(est.device)
    positives = positive_interactions(X, y, est.positive_threshold, estimator_name=name)
    if X_group is not None:
        _warn_unread_ratings(X_group, y_group, "X_group", "y_group", est)
        X_group = check_group_frame(X_group, name)
        if y_group is not None:
            X_group = positive_interactions(
                X_group.rename(columns={GROUP_COL: USER_COL}), y_group, est.positive_threshold,
                estimator_name=name,
            ).rename(columns={USER_COL: GROUP_COL})
    est.n_features_in_ = X.shape[1]
    est._array_columns = X.shape[1] if is_array else None
    # members without rows of their own get an embedding too (trained by the group task)
    user_ids = positives[USER_COL]
    if groups is not None:
        user_ids = pd.concat([user_ids, groups[USER_COL]], ignore_index=True)
    est.user_index_ = IdIndex(user_ids)
    item_ids = positives[ITEM_COL]
    if X_group is not None:
        item_ids = pd.concat([item_ids, X_group[ITEM_COL]], ignore_index=True)
    est.item_index_ = IdIndex(item_ids)
    est.n_users_, est.n_items_ = len(est.user_index_), len(est.item_index_)
    users = est.user_index_.transform(positives[USER_COL])
    items = est.item_index_.transform(positives[ITEM_COL])
    est.rated_ = sp.csr_matrix(
        (np.ones(users.shape[0], dtype=bool), (users, items)), shape=(est.n_users_, est.n_items_)
    )
    est.interactions_ = est.rated_
    est._user_popularity = np.asarray(est.rated_.sum(0), dtype=np.float64).ravel() / max(
        1, np.unique(users).shape[0])
    est.global_mean_ = 0.0
    est.rating_range_ = (-np.inf, np.inf)  # scores are never clipped
    est.groups_ = np.array([])  # no profiling task with a ranking objective
    est.user_feature_names_ = est.item_feature_names_ = est.context_feature_names_ = []
    for stale in ("_natural_index", "_members", "_member_mask", "_group_rated"):
        est.__dict__.pop(stale, None)
    seed = int(check_random_state(est.random_state).randint(np.iinfo(np.int32).max))
    with torch.random.fork_rng(devices=_params.cuda_devices(device)):
        net, rows = fit_ranking(est, users, items, groups, X_group,
                                max_epochs=_params.n_epochs(est),
                                weight_decay=_params.weight_decay(est), seed=seed,
                                device=device)
    est.natural_groups_ = (
        est._natural_index.ids.to_numpy() if groups is not None else np.array([])
    )
    est.ranker_ = net
    est._group_popularity = est._user_popularity
    if X_group is not None:
        rated = est._group_rated
        est._group_popularity = np.asarray(rated.sum(0), np.float64).ravel() / rated.shape[0]
    est._ranking_history = History(rows)
    return est


def _warn_unused_columns(X, est):
    """Warn about the columns of ``X`` that the rating network would use (side features by
    the prefix rule, the profiling label ``group_id``) and the ranking network does not."""
    unused = [c for prefix in FEATURE_PREFIXES for c in select_features(X, None, prefix)]
    unused += [GROUP_COL] if GROUP_COL in X.columns else []
    if unused:
        warnings.warn(
            f"{type(est).__name__}(objective={est.objective!r}) learns from user_id and "
            f"item_id only: the columns {unused} of X are not used (side features and the "
            "profiling label group_id are used by objective='mse' only).",
            UserWarning, stacklevel=4,
        )


def _warn_unread_ratings(X, y, x_name, y_name, est):
    """Warn when ``X`` carries a ``rating`` column (as ``load_group_folder`` returns a third
    column) and no ``y``: every row is then a positive, whatever its rating."""
    if y is None and isinstance(X, pd.DataFrame) and RATING_COL in X.columns:
        warnings.warn(
            f"{type(est).__name__}(objective={est.objective!r}): the column "
            f"'{RATING_COL}' of {x_name} is not read and every row of {x_name} is a "
            f"positive; to keep the rows rated at or above a threshold, pass "
            f"{y_name}={x_name}['{RATING_COL}'] and positive_threshold.",
            UserWarning, stacklevel=4,
        )


def check_group_frame(X_group, name):
    if not isinstance(X_group, pd.DataFrame) or not {GROUP_COL, ITEM_COL} <= set(X_group):
        raise ValueError(f"{name}: X_group must be a DataFrame with columns group_id and item_id.")
    if X_group[[GROUP_COL, ITEM_COL]].isna().any().any():
        raise ValueError(f"{name}: X_group has missing group_id or item_id values.")
    return X_group[[GROUP_COL, ITEM_COL]].reset_index(drop=True)


def _group_index(est, group_ids):
    index = getattr(est, "_natural_index", None)
    if index is None:
        return np.full(len(group_ids), -1, dtype=np.int64)
    return index.transform(group_ids)


def _check_no_groups(est, groups):
    if groups is not None:
        raise ValueError(
            f"{type(est).__name__}: `groups` for unseen groups is not supported with "
            f"objective={est.objective!r}; refit with the new groups."
        )


def predict_group(est, X_group, groups):
    _check_no_groups(est, groups)
    X_group = check_group_frame(X_group, type(est).__name__)
    g = _group_index(est, X_group[GROUP_COL])
    i = est.item_index_.transform(X_group[ITEM_COL])
    if getattr(est, "_members", None) is None:
        return fallback(est._group_popularity, i)
    return group_scores(est.ranker_, est._members, est._member_mask, g, i,
                        est._group_popularity)


def recommend_group(est, group_ids, n_items, exclude_rated, items, groups):
    _check_no_groups(est, groups)
    n_items = check_positive_int(n_items, "n_items")
    group_ids = _unique(group_ids)
    item_ids = est.item_index_.ids.to_numpy() if items is None else _unique(items)
    cand = est.item_index_.transform(item_ids)
    known_cand = cand >= 0
    g_all = _group_index(est, group_ids)
    rated = getattr(est, "_group_rated", None) if exclude_rated else None
    members = getattr(est, "_members", None)

    def score_block(start, stop):
        g = g_all[start:stop]
        scores = np.tile(fallback(est._group_popularity, cand), (len(g), 1))
        known = np.flatnonzero(g >= 0)
        if known.shape[0] and members is not None and known_cand.any():
            grid = group_score_grid(est.ranker_, est._members, est._member_mask, g[known],
                                    cand[known_cand])
            scores[np.ix_(known, np.flatnonzero(known_cand))] = grid
        if known.shape[0] and members is not None and not known_cand.all():
            floor = group_floor(est.ranker_, est._members, est._member_mask, g[known])
            scores[np.ix_(known, np.flatnonzero(~known_cand))] = floor[:, None]
        if rated is not None and known.shape[0]:
            seen = rated[np.maximum(g, 0)][:, np.maximum(cand, 0)].toarray()
            seen &= (g >= 0)[:, None] & known_cand[None, :]
            scores[seen] = -np.inf
        return scores

    rows_per_block = max(1, PREDICT_ROWS // max(1, cand.shape[0]) * 8)
    return top_k(group_ids, item_ids, min(n_items, cand.shape[0]), score_block,
                 row_col=GROUP_COL, rows_per_block=rows_per_block)


def member_weights_frame(est, X_group):
    name = type(est).__name__
    X_group = check_group_frame(X_group, name)
    g = _group_index(est, X_group[GROUP_COL])
    i = est.item_index_.transform(X_group[ITEM_COL])
    if (g < 0).any() or (i < 0).any():
        raise ValueError(
            f"{name}.member_weights: X_group has groups or items unseen at fit time "
            f"(first row {int(np.flatnonzero((g < 0) | (i < 0))[0])})."
        )
    _, w = group_scores(est.ranker_, est._members, est._member_mask, g, i,
                        est._group_popularity, return_weights=True)
    mask = est._member_mask[g].numpy()
    row, slot = np.nonzero(mask)
    users = est.user_index_.ids.to_numpy()[est._members[g].numpy()[row, slot]]
    return pd.DataFrame({
        GROUP_COL: X_group[GROUP_COL].to_numpy()[row],
        ITEM_COL: X_group[ITEM_COL].to_numpy()[row],
        USER_COL: users,
        "weight": w[row, slot],
    })
