"""Task-specific bottom representations by SENet-like field re-weighting (after DTRN).

DTRN (Liu et al., 2023) gives each task its own view of the input: per task, a
squeeze-and-excitation network re-weights each feature field's embedding before the shared
layers. Here the *fields* are the inputs of the sharing layer: the user side ``h_u`` and the
attended item side ``h_ai``, each cut into ``n_fields_per_side`` contiguous blocks. They are
chosen there, rather than at the towers' inputs (side features, id embedding, context),
because a natural group's user side only exists after its members' towers are pooled: every
row, individual or group, has the same fields. With ``n_fields_per_side=1`` the two fields
are simply "user side" and "item side".

- :class:`SENetRefinement`: per-task field weights ``w_t = 2 sigmoid(W2_t ReLU(W1_t s))``
  from the squeezed fields ``s_f = mean(field f)``; the last layer starts at zero, so every
  weight starts at exactly 1 (the plain bottom) and lies in (0, 2);
- :class:`TaskRefinement`: the base class (the protocol a refinement defined outside the
  package follows): a :class:`~sk_grouprec.dmtl.sharing.SharingScheme` that wraps another one;
- :class:`RefinedBottom`: wraps any sharing bottom
  (``forward(h_user, h_item) -> (z_rec, z_profile)``) and feeds task ``t``'s output from task
  ``t``'s re-weighted input (all tasks in one call on a stacked batch).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .sharing import SharingScheme


class SENetRefinement(nn.Module):
    """Per-task squeeze-and-excitation weights over feature fields.

    Parameters
    ----------
    field_sizes : sequence of int
        Width of each field.
    n_tasks : int, default=2
    reduction_ratio : int, default=2
        The excitation's hidden width is ``ceil(n_fields / reduction_ratio)``.

    Examples
    --------
    >>> import torch
    >>> from sk_grouprec.dmtl.refinement import SENetRefinement
    >>> se = SENetRefinement([4, 4, 2])
    >>> w = se([torch.randn(5, 4), torch.randn(5, 4), torch.randn(5, 2)])
    >>> tuple(w.shape), float(w.detach().min()), float(w.detach().max())  # 1 at initialisation
    ((2, 5, 3), 1.0, 1.0)
    """

    def __init__(self, field_sizes, n_tasks=2, reduction_ratio=2):
        super().__init__()
        field_sizes = [int(size) for size in field_sizes]
        if not field_sizes or min(field_sizes) < 1:
            raise ValueError(f"field_sizes must be positive widths; got {field_sizes!r}.")
        for name, value in (("n_tasks", n_tasks), ("reduction_ratio", reduction_ratio)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive int; got {value!r}.")
        self.field_sizes = field_sizes
        n_fields = len(field_sizes)
        width = math.ceil(n_fields / reduction_ratio)
        bound = 1.0 / math.sqrt(n_fields)
        self.squeeze_weight = nn.Parameter(
            torch.empty(n_tasks, n_fields, width).uniform_(-bound, bound)
        )
        self.squeeze_bias = nn.Parameter(torch.zeros(n_tasks, width))
        self.excite_weight = nn.Parameter(torch.zeros(n_tasks, width, n_fields))
        self.excite_bias = nn.Parameter(torch.zeros(n_tasks, n_fields))

    def forward(self, fields):
        """Field weights ``(n_tasks, batch, n_fields)`` in (0, 2) for a list of field tensors."""
        squeezed = torch.stack([f.mean(dim=-1) for f in fields], dim=-1)  # (B, F)
        hidden = torch.relu(
            torch.einsum("bf,tfr->tbr", squeezed, self.squeeze_weight)
            + self.squeeze_bias.unsqueeze(1)
        )
        logits = torch.einsum("tbr,trf->tbf", hidden, self.excite_weight)
        return 2.0 * torch.sigmoid(logits + self.excite_bias.unsqueeze(1))

    def refine(self, fields, weights):
        """Concatenated re-weighted fields, ``(n_tasks, batch, sum(field_sizes))``."""
        sizes = torch.as_tensor(self.field_sizes, device=weights.device)
        scale = torch.repeat_interleave(weights, sizes, dim=-1)
        return scale * torch.cat(fields, dim=-1).unsqueeze(0)


class TaskRefinement(SharingScheme):
    """Base class of a task refinement: a sharing scheme wrapping another one (``bottom``).

    Subclasses keep the wrapped scheme as ``self.bottom`` and implement ``forward(h_user,
    h_item) -> tuple of n_tasks tensors``; :meth:`from_config` builds one around ``bottom``
    (default: ``cls(bottom, hidden_size)``). The shared parameters are the wrapped scheme's.
    A scheme that owns task-specific towers cannot be wrapped
    (:func:`~sk_grouprec.dmtl.components.check_compatible`).

    Examples
    --------
    >>> import torch
    >>> from sk_grouprec.dmtl.refinement import TaskRefinement
    >>> from sk_grouprec.dmtl.sharing import SharedBottom
    >>> class Scaled(TaskRefinement):
    ...     def __init__(self, bottom, hidden_size):
    ...         super().__init__()
    ...         self.bottom = bottom
    ...         self.scale = torch.nn.Parameter(torch.ones(2))
    ...     def forward(self, h_user, h_item):
    ...         return tuple(s * z for s, z in zip(self.scale, self.bottom(h_user, h_item)))
    >>> z_rec, z_profile = Scaled(SharedBottom(4), 4)(torch.ones(3, 4), torch.ones(3, 4))
    >>> tuple(z_rec.shape)
    (3, 4)
    """

    @classmethod
    def from_config(cls, bottom, config):
        """Wrap ``bottom`` for the settings of ``config``."""
        return cls(bottom, config.hidden_size)

    def shared_parameters(self):
        """The wrapped bottom's shared parameters."""
        return self.bottom.shared_parameters()

    def last_shared_parameters(self):
        """The wrapped bottom's last shared layer."""
        return self.bottom.last_shared_parameters()


class RefinedBottom(TaskRefinement):
    """A sharing bottom whose input is re-weighted per task (SENet-like, after DTRN).

    ``z_t = bottom(refined_t(h_u), refined_t(h_ai))[t]``: all tasks' refined inputs are
    stacked into one batch of ``n_tasks * batch`` rows and the bottom runs once.

    Parameters
    ----------
    bottom : SharingScheme
        ``forward(h_user, h_item) -> tuple of n_tasks tensors`` (a ``SharedBottom``,
        :class:`~sk_grouprec.dmtl.sharing.MMoEBottom` or
        :class:`~sk_grouprec.dmtl.sharing.PLEBottom`; not ``STEMBottom``, which already has
        task-specific embeddings).
    hidden_size : int
        Width of ``h_u`` and ``h_ai``.
    n_tasks : int, default=2
    n_fields_per_side : int, default=4
        Blocks each side is cut into (sizes differ by at most one when ``hidden_size`` is
        not a multiple).
    reduction_ratio : int, default=2

    Examples
    --------
    >>> import torch
    >>> from sk_grouprec.dmtl.sharing import SharedBottom
    >>> from sk_grouprec.dmtl.refinement import RefinedBottom
    >>> bottom = RefinedBottom(SharedBottom(8), hidden_size=8)
    >>> h_u, h_ai = torch.randn(5, 8), torch.randn(5, 8)
    >>> tuple(bottom.field_weights(h_u, h_ai).shape)
    (2, 5, 8)
    >>> z_rec, z_profile = bottom(h_u, h_ai)
    >>> bool(torch.allclose(z_rec, bottom.bottom(h_u, h_ai)[0]))
    True
    """

    def __init__(self, bottom, hidden_size, n_tasks=2, n_fields_per_side=4, reduction_ratio=2):
        super().__init__()
        from .components import check_compatible  # components imports this module

        check_compatible(bottom, type(self))
        if not isinstance(n_fields_per_side, int) or not 1 <= n_fields_per_side <= hidden_size:
            raise ValueError(
                f"n_fields_per_side must be an int in [1, hidden_size={hidden_size}]; "
                f"got {n_fields_per_side!r}."
            )
        self.bottom = bottom
        self.n_tasks = n_tasks
        side = [len(block) for block in np.array_split(np.arange(hidden_size), n_fields_per_side)]
        self.side_sizes = side
        self.refinement = SENetRefinement(side + side, n_tasks, reduction_ratio)

    def _fields(self, h_user, h_item):
        return list(torch.split(h_user, self.side_sizes, dim=-1)) + list(
            torch.split(h_item, self.side_sizes, dim=-1)
        )

    def field_weights(self, h_user, h_item):
        """Field weights ``(n_tasks, batch, 2 * n_fields_per_side)``, user-side fields first."""
        return self.refinement(self._fields(h_user, h_item))

    def forward(self, h_user, h_item, field_weights=None):
        """Return ``(z_rec, z_profile)``; ``field_weights`` overrides the learned weights
        (e.g. all ones: the plain bottom)."""
        fields = self._fields(h_user, h_item)
        weights = self.refinement(fields) if field_weights is None else field_weights
        x = self.refinement.refine(fields, weights).flatten(0, 1)  # (T * B, 2H)
        width = h_user.shape[-1]
        outputs = self.bottom(x[:, :width], x[:, width:])
        n = h_user.shape[0]
        return tuple(outputs[t][t * n : (t + 1) * n] for t in range(self.n_tasks))
