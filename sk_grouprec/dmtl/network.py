"""PyTorch modules of the DMTL model (arXiv 2504.06274) and its documented extensions.

The network is built from swappable pieces so that other sharing schemes and loss weightings
can replace the paper's ones without touching the rest:

- :class:`EntityTower`: ``h = ReLU(W [x ; id embedding ; context] + b)`` for users or items;
- :class:`FeatureAttention`: ``a = softmax(W_a [h_u ; h_i] + b_a)``, ``h_ai = H * a * h_i``;
- a sharing scheme (:mod:`sk_grouprec.dmtl.sharing`; the paper's is
  :class:`~sk_grouprec.dmtl.sharing.SharedBottom`), optionally wrapped by a task refinement
  (:mod:`sk_grouprec.dmtl.refinement`), returning one representation per task;
- :class:`MemberAttentionPooling`: a natural group's user-side vector as an item-conditioned
  attention average of its members' user-side vectors;
- a task weighting (:mod:`sk_grouprec.dmtl.task_weighting`) combining the task losses;
- :class:`DMTLNetwork`: the whole model; its ``forward`` returns
  ``(rating, group_logits, z, attention)``.

The components are chosen by name, class or instance (:mod:`sk_grouprec.dmtl.components`).
"""

from __future__ import annotations

import warnings

import torch
from torch import nn
from torch.nn import functional as F

from ._segments import concatenated_runs
from ._sparse import bag_sum, row_lookup
from .components import NetworkConfig, build_component, check_compatible, component_class
from .sharing import SharedBottom, TowerPair

__all__ = [
    "DMTLNetwork",
    "EntityTower",
    "FeatureAttention",
    "MemberAttentionPooling",
    "SharedBottom",
    "UniformAttention",
]


class EntityTower(nn.Module):
    """User- or item-side encoder ``h = ReLU(W [x ; e_id ; c] + b)``.

    Parameters
    ----------
    features : torch.Tensor of shape (n_entities + 1, n_features)
        Encoded side features, one row per known entity and a last row (the mean row) for
        unknown entities. Stored as a buffer: batches carry integer indices only.
    hidden_size : int
        Width of ``h``.
    embedding_size : int
        Width of the id embedding (0: no id embedding).
    n_context : int, default=0
        Width of the per-interaction context concatenated to the input (user side only).
    dropout : float, default=0.0
        Dropout applied to ``h``.
    use_bias_term : bool, default=False
        Also learn a scalar bias per entity (used by the rating head).
    history : tuple of (indptr, columns, n_columns), optional
        Implicit feedback in CSR form: row ``r`` interacted with ``columns[indptr[r]:indptr[r+1]]``
        (indices into another table of ``n_columns`` rows). When given (and
        ``embedding_size > 0``), the id embedding becomes ``e + |N(r)|^{-1/2} sum_j y_j``
        with learned implicit vectors ``y_j`` (SVD++'s implicit-feedback term).

    Attributes
    ----------
    sparse_gradients : bool
        ``False`` after construction. When ``True`` (see :meth:`set_sparse_gradients`), the
        id embedding, bias and implicit-feedback tables get sparse gradients holding only
        the rows of the batch, for an optimiser that updates those rows only (such as
        :class:`~sk_grouprec.dmtl._optim.SparseAdamW`).

    Examples
    --------
    >>> import torch
    >>> from sk_grouprec.dmtl.network import EntityTower
    >>> tower = EntityTower(torch.zeros(4, 2), hidden_size=5, embedding_size=3)
    >>> h, e, b = tower(torch.tensor([0, 3]))
    >>> tuple(h.shape), tuple(e.shape), tuple(b.shape)
    ((2, 5), (2, 3), (2,))
    """

    def __init__(
        self,
        features,
        hidden_size,
        embedding_size,
        n_context=0,
        dropout=0.0,
        use_bias_term=False,
        history=None,
    ):
        super().__init__()
        self.register_buffer("features", features)
        n_rows, n_features = features.shape
        self.unknown_index = n_rows - 1
        self.embedding_size = embedding_size
        if embedding_size:
            # the last row is the unknown entity: zero and never updated (padding_idx)
            self.embedding = nn.Embedding(n_rows, embedding_size, padding_idx=self.unknown_index)
            nn.init.normal_(self.embedding.weight, std=0.05)
            with torch.no_grad():
                self.embedding.weight[self.unknown_index].zero_()
        else:
            self.embedding = None
        self.bias = (
            nn.Embedding(n_rows, 1, padding_idx=self.unknown_index) if use_bias_term else None
        )
        if self.bias is not None:
            nn.init.zeros_(self.bias.weight)
        self.implicit = None
        if history is not None and embedding_size:
            indptr, columns, n_columns = history
            self.register_buffer("history_indptr", indptr)
            self.register_buffer("history_columns", columns)
            counts = (indptr[1:] - indptr[:-1]).clamp(min=1).to(features.dtype)
            self.register_buffer("history_norm", counts.rsqrt())
            self.implicit = nn.Embedding(n_columns, embedding_size)
            nn.init.normal_(self.implicit.weight, std=0.01)
        in_size = n_features + embedding_size + n_context
        self.linear = nn.Linear(in_size, hidden_size) if in_size else None
        self.hidden_size = hidden_size
        self.dropout = nn.Dropout(dropout)
        self.sparse_gradients = False

    def set_sparse_gradients(self, enabled=True):
        """Switch sparse gradients of the embedding tables on or off; return ``self``."""
        self.sparse_gradients = bool(enabled)
        return self

    def _lookup(self, table, index, unique):
        if unique is not None:
            return row_lookup(table.weight, index, self.unknown_index, unique)
        return table(index)

    def forward(self, index, context=None, features=None):
        """Return ``(h, id_embedding, bias)`` for integer ``index`` (unknown = last row).

        ``features`` overrides the stored feature rows (used for entities unseen at fit time
        whose features come with the prediction input).
        """
        x = self.features[index] if features is None else features
        parts = [x]
        emb = None
        # sparse gradients: the batch's distinct rows, found once for every table
        unique = None
        if getattr(self, "sparse_gradients", False):  # (models pickled before the flag)
            unique = torch.unique(index.reshape(-1), return_inverse=True)
        if self.embedding is not None:
            emb = self._lookup(self.embedding, index, unique)
            if self.implicit is not None:
                emb = emb + self._implicit(index, unique)
            parts.append(emb)
        if context is not None and context.shape[-1]:
            parts.append(context)
        if self.linear is None:
            h = x.new_zeros(index.shape + (self.hidden_size,))
        else:
            h = self.dropout(F.relu(self.linear(torch.cat(parts, dim=-1))))
        bias = self._lookup(self.bias, index, unique).squeeze(-1) if self.bias is not None else x.new_zeros(index.shape)
        if emb is None:
            emb = x.new_zeros(index.shape + (0,))
        return h, emb, bias

    def _implicit(self, index, unique=None):
        # normalised sum of implicit vectors over each distinct row's history, gathered back:
        # the cost is the total history length of the batch's distinct rows, not the table's
        if unique is None:
            unique = torch.unique(index.reshape(-1), return_inverse=True)
        rows, inverse = unique
        starts = self.history_indptr[rows]
        lengths = self.history_indptr[rows + 1] - starts
        positions, offsets = concatenated_runs(starts, lengths)
        weights = torch.repeat_interleave(self.history_norm[rows], lengths)
        columns = self.history_columns[positions]
        if getattr(self, "sparse_gradients", False) and torch.is_grad_enabled():
            # a bag sum whose gradient holds the histories' distinct items only (inference
            # keeps the CSR product, whose result does not depend on the batch's row order)
            pooled = bag_sum(self.implicit.weight, columns, offsets, weights)
        else:
            pooled = self._csr_pool(offsets, lengths, columns, weights, rows.shape[0])
        return pooled[inverse].reshape(index.shape + (-1,))

    def _csr_pool(self, offsets, lengths, columns, weights, n_rows):
        # a CSR product (rows x items) @ (items x E): with a dense gradient, faster than a
        # dense-gradient embedding_bag, forward and backward
        crow = torch.cat([offsets.new_zeros(1), torch.cumsum(lengths, 0)])
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message="Sparse CSR tensor support is in beta", category=UserWarning
            )
            selection = torch.sparse_csr_tensor(
                crow,
                columns,
                weights,
                (n_rows, self.implicit.weight.shape[0]),
                check_invariants=False,
            )
        return selection @ self.implicit.weight


class FeatureAttention(nn.Module):
    """Attention over the item dimensions conditioned on the user.

    ``a = softmax(W_a [h_u ; h_i] + b_a)`` and ``h_ai = H * a * h_i``. The factor ``H``
    (the hidden size) is a departure from the paper's ``a * h_i``: it keeps the scale of
    ``h_i`` so that uniform attention is the identity, which is exactly what
    ``use_attention=False`` computes.

    Examples
    --------
    >>> import torch
    >>> from sk_grouprec.dmtl.network import FeatureAttention
    >>> att = FeatureAttention(4)
    >>> h_ai, a = att(torch.ones(2, 4), torch.ones(2, 4))
    >>> [round(float(s), 4) for s in a.detach().sum(1)]
    [1.0, 1.0]
    """

    def __init__(self, hidden_size):
        super().__init__()
        self.linear = nn.Linear(2 * hidden_size, hidden_size)
        self.hidden_size = hidden_size

    def forward(self, h_user, h_item):
        """Return ``(h_ai, a)``."""
        a = torch.softmax(self.linear(torch.cat([h_user, h_item], dim=-1)), dim=-1)
        return self.hidden_size * a * h_item, a


class UniformAttention(nn.Module):
    """The ``use_attention=False`` ablation: ``a = 1/H`` everywhere, ``h_ai = h_i``."""

    def __init__(self, hidden_size):
        super().__init__()
        self.hidden_size = hidden_size

    def forward(self, h_user, h_item):
        """Return ``(h_item, uniform weights)``."""
        return h_item, h_item.new_full(h_item.shape, 1.0 / self.hidden_size)


class MemberAttentionPooling(nn.Module):
    """Item-conditioned attention pooling of a natural group's members.

    ``s_m = v^T tanh(W [h_m ; h_i] + b)``, ``w = softmax_m(s)`` over the group's members and
    the group's user-side vector is ``sum_m w_m h_m`` (the same weights pool the members' id
    embeddings and biases).
    """

    def __init__(self, hidden_size):
        super().__init__()
        self.score = nn.Sequential(
            nn.Linear(2 * hidden_size, hidden_size), nn.Tanh(), nn.Linear(hidden_size, 1)
        )

    def forward(self, h_members, h_item, mask):
        """Weights of shape (n_rows, n_slots) for members (n_rows, n_slots, H), mask True = member."""
        h_item = h_item.unsqueeze(1).expand(-1, h_members.shape[1], -1)
        scores = self.score(torch.cat([h_members, h_item], dim=-1)).squeeze(-1)
        return torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)


def _task_names(n_groups, lambda_profile, pool_members, group_members):
    """The trained tasks: rating, profiling (with labels), natural-group rating (pooled)."""
    tasks = ["rec"]
    if n_groups and lambda_profile > 0:
        tasks.append("profile")
    if pool_members and group_members is not None and group_members.shape[0] > 1:
        tasks.append("group")  # natural-group ratings
    return tuple(tasks)


class DMTLNetwork(nn.Module):
    """The DMTL model: user/item towers, attention, shared representation and two heads.

    Parameters
    ----------
    user_features, item_features : torch.Tensor of shape (n + 1, d)
        Encoded side features of the known users / items plus a last "unknown" row.
    n_context : int
        Width of the encoded per-interaction context (concatenated to the user tower input).
    n_groups : int
        Number of profiling classes (0: no profiling head).
    hidden_size, embedding_size : int, default=32
        Width of ``h``/``z`` and of the id embeddings (0 = no id embeddings).
    use_attention : bool, default=True
        ``False`` replaces the attention by the identity (uniform weights).
    use_biases : bool, default=True
        Add user and item bias terms to the rating head (departure from the paper).
    use_dot_product : bool, default=True
        Add the dot product of the user and item id embeddings to the rating head (a
        GMF/matrix-factorisation term; departure from the paper).
    user_history : tuple (indptr, columns, n_items + 1), optional
        Items each user rated at fit time (CSR), for SVD++-style implicit feedback in the user
        id embedding (departure from the paper).
    dropout : float, default=0.0
        Dropout on ``h_u``, ``h_i`` and ``z_g``.
    rating_offset : float, default=0.0
        Constant added to every rating (the training mean rating).
    group_members : torch.Tensor of shape (n_natural_groups + 1, max_size), optional
        Member user indices of each natural group, ``-1`` for padding; the last row is the
        unknown group (one unknown member).
    pool_members : bool, default=True
        Learn item-conditioned attention over a natural group's members; ``False`` averages
        them uniformly.
    lambda_profile, lambda_group : float, default=1.0
        Task weights of :class:`~sk_grouprec.dmtl.task_weighting.FixedTaskWeighting`. With
        another ``task_weighting``, ``lambda_profile == 0`` only switches the profiling task
        off.
    sharing : str, SharingScheme class or instance, default="shared_bottom"
        How the tasks share the layer after the attention (registry names: see
        :mod:`sk_grouprec.dmtl.components`); ``"stem"`` adds one copy of the towers per task.
    task_refinement : None, str, TaskRefinement class or instance, default=None
        ``"senet"`` wraps the sharing in a per-task SENet field re-weighting
        (:class:`~sk_grouprec.dmtl.refinement.RefinedBottom`); not with ``"stem"``.
    task_weighting : str, TaskWeighting class or instance, default="fixed"
        How the task losses are combined (see :mod:`sk_grouprec.dmtl.task_weighting`).
    n_experts : int, default=4
        Experts per task view: MMoE's experts; PLE's ``n_experts // 2`` shared and
        ``n_experts // 2`` task experts (at least 1 each); STEM's
        ``max(1, n_experts // 3)`` experts per embedding set.
    gradnorm_alpha : float, default=1.5
        GradNorm's asymmetry ``alpha``.

    Examples
    --------
    >>> import torch
    >>> from sk_grouprec.dmtl.network import DMTLNetwork
    >>> net = DMTLNetwork(torch.zeros(3, 2), torch.zeros(4, 1), n_context=0, n_groups=2)
    >>> rating, logits, z, attention = net(torch.tensor([0, 1]), torch.tensor([2, 0]))
    >>> tuple(rating.shape), tuple(logits.shape), tuple(z.shape), tuple(attention.shape)
    ((2,), (2, 2), (2, 32), (2, 32))
    """

    def __init__(
        self,
        user_features,
        item_features,
        n_context,
        n_groups,
        hidden_size=32,
        embedding_size=32,
        use_attention=True,
        use_biases=True,
        use_dot_product=True,
        user_history=None,
        dropout=0.0,
        rating_offset=0.0,
        group_members=None,
        pool_members=True,
        lambda_profile=1.0,
        lambda_group=1.0,
        sharing="shared_bottom",
        task_refinement=None,
        task_weighting="fixed",
        n_experts=4,
        gradnorm_alpha=1.5,
    ):
        super().__init__()
        self.user_tower = EntityTower(
            user_features, hidden_size, embedding_size, n_context, dropout,
            use_bias_term=use_biases, history=user_history,
        )
        self.item_tower = EntityTower(
            item_features, hidden_size, embedding_size, 0, dropout, use_bias_term=use_biases
        )
        attention = FeatureAttention if use_attention else UniformAttention
        self.attention = attention(hidden_size)

        def make_towers():
            return TowerPair(
                EntityTower(user_features, hidden_size, embedding_size, n_context, dropout,
                            history=user_history),
                EntityTower(item_features, hidden_size, embedding_size, 0, dropout),
                attention(hidden_size),
            )

        tasks = _task_names(n_groups, lambda_profile, pool_members, group_members)
        config = NetworkConfig(
            hidden_size=hidden_size,
            dropout=dropout,
            n_experts=n_experts,
            make_towers=make_towers,
            tasks=tasks,
            lambda_profile=float(lambda_profile),
            lambda_group=float(lambda_group),
            gradnorm_alpha=gradnorm_alpha,
        )
        check_compatible(
            component_class("sharing", sharing),
            component_class("task_refinement", task_refinement),
        )
        self.sharing = build_component("sharing", sharing, config)
        if task_refinement is not None:
            self.sharing = build_component("task_refinement", task_refinement, config, self.sharing)
        self.profile_head = nn.Linear(hidden_size, n_groups) if n_groups else None
        self.rating_head = nn.Linear(hidden_size, 1)
        nn.init.zeros_(self.rating_head.bias)
        self.register_buffer("rating_offset", torch.tensor(float(rating_offset)))
        self.use_dot_product = bool(use_dot_product and embedding_size)
        self.n_groups = n_groups
        if group_members is None:
            group_members = torch.full((1, 1), user_features.shape[0] - 1, dtype=torch.long)
        self.register_buffer("group_members", group_members)
        self.member_pooling = MemberAttentionPooling(hidden_size) if pool_members else None
        self.lambda_profile = float(lambda_profile)
        self.task_weighting = build_component("task_weighting", task_weighting, config)

    def shared_parameters(self, scope="all"):
        """Parameters every task reaches (``"all"``) or the last shared layer (``"last"``)."""
        if scope == "last":
            return list(self.sharing.last_shared_parameters())
        modules = [self.user_tower, self.item_tower, self.attention, self.member_pooling]
        params = [p for m in modules if m is not None for p in m.parameters()]
        return params + list(self.sharing.shared_parameters())

    def entity_tables(self):
        """The user and item id-embedding tables (empty without id embeddings)."""
        return {
            key: tower.embedding.weight
            for key, tower in (("user", self.user_tower), ("item", self.item_tower))
            if tower.embedding is not None
        }

    def natural_group_side(self, members, context, h_item):
        """Pool members (rows, slots; -1 = padding) into ``(h, e, b)`` and their weights."""
        mask = members >= 0
        index = torch.where(mask, members, torch.full_like(members, self.user_tower.unknown_index))
        ctx = None
        if context is not None and context.shape[-1]:
            ctx = context.unsqueeze(1).expand(-1, members.shape[1], -1)
        h_m, e_m, b_m = self.user_tower(index, ctx)
        if self.member_pooling is None:
            weights = mask.to(h_m.dtype) / mask.sum(1, keepdim=True).clamp(min=1).to(h_m.dtype)
        else:
            weights = self.member_pooling(h_m, h_item, mask)
        w = weights.unsqueeze(-1)
        return ((w * h_m).sum(1), (w * e_m).sum(1), (weights * b_m).sum(1)), weights

    def forward(self, user, item, context=None, group=None, members=None, user_x=None, item_x=None):
        """Score a batch of interactions.

        Parameters
        ----------
        user, item : LongTensor of shape (batch,)
            Indices; the last row of each feature table is the unknown entity.
        context : FloatTensor of shape (batch, n_context), optional
        group : LongTensor of shape (batch,), optional
            Natural-group index for group rows (``-1`` on individual rows): those rows take
            the attention-pooled members as their user side.
        members : LongTensor of shape (n_groups_in_input, slots), optional
            Member table overriding the fitted one (``group`` then indexes its rows).
        user_x, item_x : FloatTensor, optional
            Feature rows overriding the stored ones (entities unseen at fit time).

        Returns
        -------
        rating : FloatTensor of shape (batch,)
        group_logits : FloatTensor of shape (batch, n_groups)
        z : FloatTensor of shape (batch, hidden_size)
            Shared representation (the group profile).
        attention : FloatTensor of shape (batch, hidden_size)
        """
        h_u, e_u, b_u = self.user_tower(user, context, user_x)
        h_i, e_i, b_i = self.item_tower(item, None, item_x)
        group_inputs = {}
        if group is not None:
            is_group = group >= 0
            if bool(is_group.any()):
                rows = is_group.nonzero().squeeze(1)
                table = self.group_members if members is None else members
                ctx_rows = context[rows] if context is not None else None
                member_table = table[group[rows]]
                (h_g, e_g, b_g), member_weights = self.natural_group_side(
                    member_table, ctx_rows, h_i[rows]
                )
                unknown = torch.full_like(member_table, self.user_tower.unknown_index)
                group_inputs = {
                    "group_rows": rows,
                    "member_index": torch.where(member_table >= 0, member_table, unknown),
                    "member_weights": member_weights,
                }
                h_u = h_u.index_copy(0, rows, h_g)
                e_u = e_u.index_copy(0, rows, e_g)
                b_u = b_u.index_copy(0, rows, b_g)
        h_ai, attention = self.attention(h_u, h_i)
        if self.sharing.owns_towers:  # STEM: task-specific towers
            z_rec, z_profile = self.sharing(
                h_u,
                h_ai,
                user=user,
                item=item,
                context=context,
                user_x=user_x,
                item_x=item_x,
                **group_inputs,
            )
        else:
            z_rec, z_profile = self.sharing(h_u, h_ai)
        rating = self.rating_head(z_rec).squeeze(-1) + b_u + b_i + self.rating_offset
        if self.use_dot_product:
            rating = rating + (e_u * e_i).sum(-1)
        if self.profile_head is not None:
            logits = self.profile_head(z_profile)
        else:
            logits = z_profile.new_zeros(z_profile.shape[0], 0)
        return rating, logits, z_rec, attention
