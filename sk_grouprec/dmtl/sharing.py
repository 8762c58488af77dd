"""Multi-task sharing schemes that replace the DMTL shared bottom.

Every scheme maps the user side ``h_u`` and the attended item side ``h_ai`` (each of width
``H``) to one representation per task, like :class:`SharedBottom` (the paper's):
``forward(h_user, h_item) -> (z_rec, z_profile)`` (a tuple of ``n_tasks`` tensors of shape
``(batch, H)``, task 0 = recommendation, task 1 = profiling).

- :class:`SharedBottom`: the paper's ``z_g = ReLU(W_z [h_u ; h_ai] + b_z)``, one tensor for
  both tasks;
- :class:`MMoEBottom`: multi-gate mixture of experts (Ma et al., KDD 2018);
- :class:`PLEBottom`: progressive layered extraction (Tang et al., RecSys 2020);
- :class:`STEMBottom`: shared and task-specific embeddings with the All-Forward
  Task-specific-Backward gate (STEM-Net, Su et al., AAAI 2024). It owns one copy of the
  user/item towers per task, so its ``forward`` also takes the batch indices.

Experts are one ``ReLU(W x + b)`` layer each; all experts of a kind are evaluated in one
``einsum``. Every scheme derives from :class:`SharingScheme`, the protocol a scheme defined
outside the package follows too.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


class ExpertBank(nn.Module):
    """``n_sets`` sets of ``n_experts`` one-layer experts ``ReLU(W_k x + b_k)``.

    Parameters
    ----------
    n_sets : int
        Number of expert sets; set ``s`` reads its own input ``x[s]``.
    n_experts : int
        Experts per set.
    in_size, out_size : int
        Input and output widths of each expert.

    Examples
    --------
    >>> import torch
    >>> from sk_grouprec.dmtl.sharing import ExpertBank
    >>> bank = ExpertBank(n_sets=2, n_experts=3, in_size=4, out_size=5)
    >>> tuple(bank(torch.ones(2, 7, 4)).shape)
    (2, 7, 3, 5)
    """

    def __init__(self, n_sets, n_experts, in_size, out_size):
        super().__init__()
        bound = 1.0 / math.sqrt(in_size)  # nn.Linear's default initialisation
        self.weight = nn.Parameter(
            torch.empty(n_sets, n_experts, in_size, out_size).uniform_(-bound, bound)
        )
        self.bias = nn.Parameter(torch.empty(n_sets, n_experts, out_size).uniform_(-bound, bound))

    def forward(self, x):
        """Expert outputs ``(n_sets, batch, n_experts, out_size)`` for ``x`` of shape
        ``(n_sets, batch, in_size)``."""
        return F.relu(torch.einsum("sbi,seio->sbeo", x, self.weight) + self.bias.unsqueeze(1))


class GateBank(nn.Module):
    """``n_gates`` softmax gates ``softmax(W_g x + b_g)`` over ``n_choices`` experts.

    Parameters
    ----------
    n_gates : int
        Number of gates; gate ``g`` reads its own input ``x[g]``.
    in_size : int
        Input width.
    n_choices : int
        Number of experts each gate weighs.

    Examples
    --------
    >>> import torch
    >>> from sk_grouprec.dmtl.sharing import GateBank
    >>> gates = GateBank(n_gates=2, in_size=4, n_choices=3)
    >>> g = gates(torch.randn(2, 5, 4))
    >>> tuple(g.shape), bool(torch.allclose(g.sum(-1), torch.ones(2, 5)))
    ((2, 5, 3), True)
    """

    def __init__(self, n_gates, in_size, n_choices):
        super().__init__()
        bound = 1.0 / math.sqrt(in_size)
        self.weight = nn.Parameter(torch.empty(n_gates, in_size, n_choices).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.zeros(n_gates, n_choices))

    def forward(self, x):
        """Gate weights ``(n_gates, batch, n_choices)`` for ``x`` of shape
        ``(n_gates, batch, in_size)``; each row sums to 1."""
        logits = torch.einsum("gbi,gic->gbc", x, self.weight) + self.bias.unsqueeze(1)
        return torch.softmax(logits, dim=-1)


class SharingScheme(nn.Module):
    """Base class of a sharing scheme: ``(h_u, h_ai) -> one representation per task``.

    The protocol, for a scheme of your own (pass the class or an instance as
    ``GroupDMTLRecommender(sharing=...)``):

    - ``forward(h_user, h_item, **tower_inputs)`` returns a tuple of ``n_tasks`` tensors of
      shape ``(batch, H)``: task 0 is the recommendation, task 1 the profiling.
      ``tower_inputs`` (the batch's index tensors) are passed only when ``owns_towers``;
    - :meth:`shared_parameters`: the parameters every task reaches (default: all);
    - :meth:`last_shared_parameters`: the last shared layer (what GradNorm measures;
      default: the first shared parameter);
    - :meth:`from_config` builds the scheme from the network's settings (default:
      ``cls(hidden_size)``); override it when the constructor takes other arguments.

    Attributes
    ----------
    owns_towers : bool, default=False
        ``True`` when the scheme holds task-specific copies of the user and item towers
        (STEM): the network then passes the batch's index tensors to ``forward``, and no
        task refinement can wrap the scheme.

    Examples
    --------
    >>> import torch
    >>> from sk_grouprec.dmtl.sharing import SharingScheme
    >>> class Sum(SharingScheme):
    ...     def __init__(self, hidden_size):
    ...         super().__init__()
    ...         self.linear = torch.nn.Linear(hidden_size, hidden_size)
    ...     def forward(self, h_user, h_item):
    ...         z = torch.relu(self.linear(h_user + h_item))
    ...         return z, z
    >>> z_rec, z_profile = Sum(4)(torch.ones(2, 4), torch.ones(2, 4))
    >>> tuple(z_rec.shape), Sum.owns_towers
    ((2, 4), False)
    """

    owns_towers = False

    @classmethod
    def from_config(cls, config):
        """Build the scheme from a :class:`~sk_grouprec.dmtl.components.NetworkConfig`."""
        return cls(config.hidden_size)

    def shared_parameters(self):
        """Parameters every task reaches (all of them by default)."""
        return list(self.parameters())

    def last_shared_parameters(self):
        """The last shared layer's parameters (the first shared parameter by default)."""
        return self.shared_parameters()[:1]


class SharedBottom(SharingScheme):
    """``z_g = ReLU(W_z [h_u ; h_ai] + b_z)``, shared by the tasks.

    ``forward`` returns ``(z_rec, z_profile)``: other sharing schemes (mixtures of experts,
    progressive layered extraction) return a different tensor per task.
    """

    @classmethod
    def from_config(cls, config):
        """One shared layer with the network's dropout."""
        return cls(config.hidden_size, config.dropout)

    def __init__(self, hidden_size, dropout=0.0):
        super().__init__()
        self.linear = nn.Linear(2 * hidden_size, hidden_size)
        self.dropout = nn.Dropout(dropout)

    def forward(self, h_user, h_item):
        """Return ``(z_rec, z_profile)``, here the same tensor twice."""
        z = self.dropout(F.relu(self.linear(torch.cat([h_user, h_item], dim=-1))))
        return z, z

    def last_shared_parameters(self):
        """The last shared layer's weight (what GradNorm measures)."""
        return [self.linear.weight]


def _check_sizes(**sizes):
    for name, value in sizes.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int; got {value!r}.")


class MMoEBottom(SharingScheme):
    """Multi-gate mixture of experts (Ma et al., KDD 2018).

    ``n_experts`` experts ``f_k(x) = ReLU(W_k x + b_k)`` read ``x = [h_u ; h_ai]``; task ``t``
    mixes them with its own gate ``g_t(x) = softmax(W_t x)``: ``z_t = sum_k g_tk(x) f_k(x)``.

    Parameters
    ----------
    hidden_size : int
        Width ``H`` of ``h_u``, ``h_ai`` and of each ``z_t``.
    n_experts : int, default=4
    n_tasks : int, default=2
    dropout : float, default=0.0
        Dropout on each ``z_t``.

    Examples
    --------
    >>> import torch
    >>> from sk_grouprec.dmtl.sharing import MMoEBottom
    >>> bottom = MMoEBottom(hidden_size=8, n_experts=3)
    >>> z_rec, z_profile = bottom(torch.randn(5, 8), torch.randn(5, 8))
    >>> tuple(z_rec.shape), tuple(bottom.gate_weights(torch.randn(5, 8), torch.randn(5, 8)).shape)
    ((5, 8), (2, 5, 3))
    """

    @classmethod
    def from_config(cls, config):
        """``n_experts`` experts, dropout of the network."""
        return cls(config.hidden_size, config.n_experts, dropout=config.dropout)

    def __init__(self, hidden_size, n_experts=4, n_tasks=2, dropout=0.0):
        super().__init__()
        _check_sizes(hidden_size=hidden_size, n_experts=n_experts, n_tasks=n_tasks)
        self.n_tasks = n_tasks
        self.experts = ExpertBank(1, n_experts, 2 * hidden_size, hidden_size)
        self.gates = GateBank(n_tasks, 2 * hidden_size, n_experts)
        self.dropout = nn.Dropout(dropout)

    def _mix(self, h_user, h_item):
        x = torch.cat([h_user, h_item], dim=-1)
        experts = self.experts(x.unsqueeze(0))[0]  # (batch, E, H)
        gates = self.gates(x.unsqueeze(0).expand(self.n_tasks, -1, -1))  # (T, batch, E)
        return torch.einsum("tbe,beh->tbh", gates, experts), gates

    def gate_weights(self, h_user, h_item):
        """Gate weights of shape ``(n_tasks, batch, n_experts)`` (rows sum to 1)."""
        return self._mix(h_user, h_item)[1]

    def forward(self, h_user, h_item):
        """Return one representation per task: ``(z_rec, z_profile)`` for two tasks."""
        z, _ = self._mix(h_user, h_item)
        return tuple(self.dropout(z[t]) for t in range(self.n_tasks))

    def shared_parameters(self):
        """Parameters every task reaches: the experts."""
        return list(self.experts.parameters())

    def last_shared_parameters(self):
        """The last shared layer: the experts' weights."""
        return [self.experts.weight]


class _ExtractionLevel(nn.Module):
    """One PLE level: task-specific and shared experts, task gates (and a shared gate)."""

    def __init__(self, in_size, out_size, n_shared, n_specific, n_tasks, last):
        super().__init__()
        self.n_tasks, self.n_specific, self.last = n_tasks, n_specific, last
        self.task_experts = ExpertBank(n_tasks, n_specific, in_size, out_size)
        self.shared_experts = ExpertBank(1, n_shared, in_size, out_size)
        self.task_gates = GateBank(n_tasks, in_size, n_specific + n_shared)
        self.shared_gate = None if last else GateBank(1, in_size, n_tasks * n_specific + n_shared)

    def forward(self, task_inputs, shared_input):
        """``task_inputs`` (T, B, in), ``shared_input`` (B, in) -> (T, B, out), (B, out) or None."""
        specific = self.task_experts(task_inputs)  # (T, B, S, H)
        shared = self.shared_experts(shared_input.unsqueeze(0))[0]  # (B, Sh, H)
        own = torch.cat([specific, shared.unsqueeze(0).expand(self.n_tasks, -1, -1, -1)], dim=2)
        gates = self.task_gates(task_inputs)  # (T, B, S + Sh)
        task_out = torch.einsum("tbe,tbeh->tbh", gates, own)
        if self.shared_gate is None:
            return task_out, None, gates
        every = torch.cat([specific.permute(1, 0, 2, 3).flatten(1, 2), shared], dim=1)
        shared_out = torch.einsum(
            "be,beh->bh", self.shared_gate(shared_input.unsqueeze(0))[0], every
        )
        return task_out, shared_out, gates


class PLEBottom(SharingScheme):
    """Progressive layered extraction (Tang et al., RecSys 2020).

    Each level has ``n_task_experts`` experts per task and ``n_shared_experts`` shared experts.
    Task ``t``'s gate (fed with task ``t``'s input) mixes its own experts and the shared ones;
    below the last level a shared gate mixes *all* experts into the next level's shared input.
    Level 1 reads ``x = [h_u ; h_ai]`` for every task. Consequently, in the last level the
    experts of task ``t`` receive gradient from task ``t`` only; with ``n_levels=2`` the
    first level's task experts also feed the shared gate, hence both tasks (as in the paper).

    Parameters
    ----------
    hidden_size : int
    n_shared_experts, n_task_experts : int, default=2
    n_levels : int, default=1
        Number of extraction levels (1 is the Customized Gate Control, CGC).
    n_tasks : int, default=2
    dropout : float, default=0.0

    Examples
    --------
    >>> import torch
    >>> from sk_grouprec.dmtl.sharing import PLEBottom
    >>> bottom = PLEBottom(hidden_size=8, n_levels=2)
    >>> [tuple(z.shape) for z in bottom(torch.randn(5, 8), torch.randn(5, 8))]
    [(5, 8), (5, 8)]
    """

    @classmethod
    def from_config(cls, config):
        """One level (CGC) of ``n_experts // 2`` shared and task experts (at least 1)."""
        half = max(1, config.n_experts // 2)
        return cls(config.hidden_size, half, half, 1, dropout=config.dropout)

    def __init__(
        self, hidden_size, n_shared_experts=2, n_task_experts=2, n_levels=1, n_tasks=2, dropout=0.0
    ):
        super().__init__()
        _check_sizes(
            hidden_size=hidden_size,
            n_shared_experts=n_shared_experts,
            n_task_experts=n_task_experts,
            n_levels=n_levels,
            n_tasks=n_tasks,
        )
        self.n_tasks = n_tasks
        self.levels = nn.ModuleList(
            _ExtractionLevel(
                (2 if level == 0 else 1) * hidden_size,
                hidden_size,
                n_shared_experts,
                n_task_experts,
                n_tasks,
                last=level == n_levels - 1,
            )
            for level in range(n_levels)
        )
        self.dropout = nn.Dropout(dropout)

    def _run(self, h_user, h_item):
        x = torch.cat([h_user, h_item], dim=-1)
        task_inputs, shared_input = x.unsqueeze(0).expand(self.n_tasks, -1, -1), x
        gates = []
        for level in self.levels:  # a handful of levels, not a loop over samples
            task_inputs, shared_input, g = level(task_inputs, shared_input)
            gates.append(g)
        return task_inputs, gates

    def gate_weights(self, h_user, h_item):
        """Per level, task gate weights ``(n_tasks, batch, n_task_experts + n_shared_experts)``."""
        return self._run(h_user, h_item)[1]

    def forward(self, h_user, h_item):
        """Return one representation per task: ``(z_rec, z_profile)`` for two tasks."""
        z, _ = self._run(h_user, h_item)
        return tuple(self.dropout(z[t]) for t in range(self.n_tasks))

    def shared_parameters(self):
        """Parameters every task reaches: the shared experts and shared gates."""
        params = []
        for level in self.levels:
            params += list(level.shared_experts.parameters())
            if level.shared_gate is not None:
                params += list(level.shared_gate.parameters())
        return params

    def last_shared_parameters(self):
        """The last level's shared experts' weights."""
        return [self.levels[-1].shared_experts.weight]


class TowerPair(nn.Module):
    """A user tower, an item tower and an attention: ``(index inputs) -> (h_u, h_ai)``.

    The towers are :class:`~sk_grouprec.dmtl.network.EntityTower`-like (``tower(index,
    context, features) -> (h, id_embedding, bias)``) and the attention maps ``(h_u, h_i)`` to
    ``(h_ai, a)``. :class:`STEMBottom` holds one pair per task.

    Natural-group rows (``group_rows``) take as user side the weighted sum of their members'
    ``h`` (``member_index`` of shape ``(n_group_rows, slots)``, ``member_weights`` of the
    same shape, zero on padding), the weights being those of the shared towers' pooling.

    Parameters
    ----------
    user_tower, item_tower : torch.nn.Module
        ``tower(index, context=None, features=None) -> (h, id_embedding, bias)``.
    attention : torch.nn.Module
        ``attention(h_user, h_item) -> (h_ai, weights)``.

    Examples
    --------
    >>> import torch
    >>> from sk_grouprec.dmtl.network import EntityTower, FeatureAttention
    >>> from sk_grouprec.dmtl.sharing import TowerPair
    >>> pair = TowerPair(EntityTower(torch.zeros(4, 2), 6, 3), EntityTower(torch.zeros(5, 1), 6, 3),
    ...                  FeatureAttention(6))
    >>> h_u, h_ai = pair(torch.tensor([0, 1]), torch.tensor([4, 2]))
    >>> tuple(h_u.shape), tuple(h_ai.shape)
    ((2, 6), (2, 6))
    """

    def __init__(self, user_tower, item_tower, attention):
        super().__init__()
        self.user_tower = user_tower
        self.item_tower = item_tower
        self.attention = attention

    def forward(
        self,
        user,
        item,
        context=None,
        user_x=None,
        item_x=None,
        group_rows=None,
        member_index=None,
        member_weights=None,
    ):
        """Return ``(h_u, h_ai)`` of this pair for a batch of index tensors."""
        h_u = self.user_tower(user, context, user_x)[0]
        h_i = self.item_tower(item, None, item_x)[0]
        if group_rows is not None and group_rows.numel():
            ctx = None
            if context is not None and context.shape[-1]:
                ctx = context[group_rows].unsqueeze(1).expand(-1, member_index.shape[1], -1)
            h_m = self.user_tower(member_index, ctx)[0]
            h_u = h_u.index_copy(0, group_rows, (member_weights.unsqueeze(-1) * h_m).sum(1))
        h_ai, _ = self.attention(h_u, h_i)
        return h_u, h_ai


class STEMBottom(SharingScheme):
    """Shared and task-specific embeddings with an All-Forward Task-specific-Backward gate.

    STEM-Net (Su et al., AAAI 2024). Besides the shared towers (those of the caller, which
    give ``h_user``/``h_item``), each task ``t`` has its own copy of the towers, built by
    ``make_towers()`` (a :class:`TowerPair` or anything with the same call), i.e. its own
    id embeddings. Per embedding set ``s`` (task 0..T-1, shared = T), ``n_experts`` experts
    read ``x_s = [h_u^s ; h_ai^s]``. Task ``t``'s gate reads ``[x_shared ; x_0 ; ... ; x_T-1]``
    and mixes *all* experts (all forward), but the inputs and expert outputs of the other
    tasks are detached (task-specific backward): task ``t``'s loss reaches only the shared
    set and its own set.

    Parameters
    ----------
    make_towers : callable
        Zero-argument factory returning a new tower pair (called ``n_tasks`` times).
    hidden_size : int
    n_tasks : int, default=2
    n_experts : int, default=1
        Experts per embedding set.
    dropout : float, default=0.0

    Notes
    -----
    The caller (``DMTLNetwork``) computes the shared ``(h_u, h_ai)`` as usual and calls
    ``sharing(h_u, h_ai, user=..., item=..., context=..., user_x=..., item_x=...,
    group_rows=..., member_index=..., member_weights=...)``; ``owns_towers = True``
    tells it to pass the indices. The rating head's bias and dot-product terms keep using
    the shared towers.

    Examples
    --------
    >>> import torch
    >>> from sk_grouprec.dmtl.network import EntityTower, FeatureAttention
    >>> from sk_grouprec.dmtl.sharing import STEMBottom, TowerPair
    >>> users, items = torch.zeros(4, 2), torch.zeros(5, 1)
    >>> make = lambda: TowerPair(EntityTower(users, 6, 3), EntityTower(items, 6, 3), FeatureAttention(6))
    >>> shared, stem = make(), STEMBottom(make, hidden_size=6)
    >>> u, i = torch.tensor([0, 1]), torch.tensor([4, 2])
    >>> z_rec, z_profile = stem(*shared(u, i), user=u, item=i)
    >>> tuple(z_rec.shape), tuple(z_profile.shape)
    ((2, 6), (2, 6))
    """

    owns_towers = True

    @classmethod
    def from_config(cls, config):
        """``max(1, n_experts // 3)`` experts per set; towers from ``config.make_towers``."""
        return cls(
            config.make_towers,
            config.hidden_size,
            n_experts=max(1, config.n_experts // 3),
            dropout=config.dropout,
        )

    def __init__(self, make_towers, hidden_size, n_tasks=2, n_experts=1, dropout=0.0):
        super().__init__()
        _check_sizes(hidden_size=hidden_size, n_tasks=n_tasks, n_experts=n_experts)
        if not callable(make_towers):
            raise TypeError(f"make_towers must be a callable; got {make_towers!r}.")
        self.n_tasks, self.n_experts = n_tasks, n_experts
        self.task_towers = nn.ModuleList(make_towers() for _ in range(n_tasks))
        self.task_experts = ExpertBank(n_tasks, n_experts, 2 * hidden_size, hidden_size)
        self.shared_experts = ExpertBank(1, n_experts, 2 * hidden_size, hidden_size)
        self.gates = GateBank(n_tasks, 2 * hidden_size * (n_tasks + 1), (n_tasks + 1) * n_experts)
        sets = torch.arange(n_tasks + 1)
        # own[t, s]: embedding/expert set s is trained by task t (its own set or the shared one)
        self.register_buffer("own", (sets[None, :] == sets[:n_tasks, None]) | (sets == n_tasks))
        self.dropout = nn.Dropout(dropout)

    def embedding_sets(self, h_user, h_item, **tower_inputs):
        """Inputs ``x_s`` of every set, shape ``(n_tasks + 1, batch, 2H)`` (shared last)."""
        task_x = [torch.cat(pair(**tower_inputs), dim=-1) for pair in self.task_towers]
        return torch.stack(task_x + [torch.cat([h_user, h_item], dim=-1)])

    def _mix(self, h_user, h_item, **tower_inputs):
        x = self.embedding_sets(h_user, h_item, **tower_inputs)  # (S, B, 2H), S = T + 1
        experts = torch.cat([self.task_experts(x[:-1]), self.shared_experts(x[-1:])])  # (S,B,E,H)
        own = self.own[:, :, None, None]
        # all forward, task-specific backward: other tasks' sets enter task t detached
        gate_in = torch.where(own, x.unsqueeze(0), x.detach().unsqueeze(0))  # (T, S, B, 2H)
        gate_in = gate_in.permute(0, 2, 1, 3).flatten(2)  # (T, B, S * 2H)
        gates = self.gates(gate_in)  # (T, B, S * E)
        mixed = torch.where(own[..., None], experts.unsqueeze(0), experts.detach().unsqueeze(0))
        mixed = mixed.permute(0, 2, 1, 3, 4).flatten(2, 3)  # (T, B, S * E, H)
        return torch.einsum("tbe,tbeh->tbh", gates, mixed), gates

    def gate_weights(self, h_user, h_item, **tower_inputs):
        """Gate weights ``(n_tasks, batch, (n_tasks + 1) * n_experts)``, shared set last."""
        return self._mix(h_user, h_item, **tower_inputs)[1]

    def forward(self, h_user, h_item, **tower_inputs):
        """Return ``(z_rec, z_profile)``; ``tower_inputs`` are the batch's index tensors
        (``user``, ``item``, optionally ``context``, ``user_x``, ``item_x``, ``group_rows``,
        ``member_index``, ``member_weights``)."""
        z, _ = self._mix(h_user, h_item, **tower_inputs)
        return tuple(self.dropout(z[t]) for t in range(self.n_tasks))

    def shared_parameters(self):
        """Parameters of the shared set's experts (the shared towers belong to the caller)."""
        return list(self.shared_experts.parameters())

    def last_shared_parameters(self):
        """The shared experts' weights."""
        return [self.shared_experts.weight]
