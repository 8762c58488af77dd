"""Learned and gradient-based task weightings for the DMTL losses.

A weighting combines a dict of task losses (``"rec"``, ``"profile"``, optionally
``"group"``) into the training signal. Each value is either an already reduced scalar or a
per-row vector over the batch in which ``NaN`` marks rows that do not take part in that
task (e.g. rows without a profiling label); :func:`reduce_task_loss` averages it.

Every weighting derives from :class:`TaskWeighting`, the protocol a weighting defined outside
the package follows too. Two kinds of weighting:

- loss weightings (``needs_custom_backward = False``): ``forward(losses)`` returns the
  scalar to back-propagate (the paper's :class:`FixedTaskWeighting`,
  :class:`UncertaintyWeighting`);
- gradient weightings (``needs_custom_backward = True``): they need each task's gradient
  with respect to the shared parameters, so the training step calls
  ``backward(losses, parameters, shared_parameters, batch, entity_tables)``, which runs one
  ``torch.autograd.grad`` per task, combines the gradients and *adds* them to ``.grad`` of
  every parameter (like ``loss.backward()``). ``shared_scope`` says which shared parameters
  the caller passes: ``"last"`` (the last shared layer, :class:`GradNormWeighting`) or
  ``"all"`` (every parameter more than one task reaches, :class:`PMTRecWeighting`).
  ``forward(losses)`` still returns a scalar (for logging and validation).
"""

from __future__ import annotations

import numbers

import torch
from torch import nn

_TINY = 1e-12


def reduce_task_loss(value):
    """Mean of a task loss: a scalar is returned as is, a per-row vector is averaged over
    its non-NaN entries (0 when there are none).

    Parameters
    ----------
    value : torch.Tensor of shape () or (n_rows,)

    Returns
    -------
    loss : torch.Tensor of shape ()

    Examples
    --------
    >>> import torch
    >>> from sk_grouprec.dmtl.task_weighting import reduce_task_loss
    >>> float(reduce_task_loss(torch.tensor([1.0, float("nan"), 3.0])))
    2.0
    """
    if value.dim() == 0:
        return value
    if value.dim() != 1:
        raise ValueError(
            f"a task loss must be a scalar or a 1-D per-row vector; got {value.dim()}-D."
        )
    keep = ~torch.isnan(value)
    total = torch.where(keep, value, torch.zeros_like(value)).sum()
    return total / keep.sum().clamp(min=1).to(value.dtype)


def _check_tasks(tasks, name="tasks"):
    if isinstance(tasks, str) or not all(isinstance(t, str) for t in tasks):
        raise TypeError(f"{name} must be a sequence of task names; got {tasks!r}.")
    tasks = tuple(tasks)
    if not tasks or len(set(tasks)) != len(tasks):
        raise ValueError(f"{name} must name at least one task, each once; got {tasks!r}.")
    return tasks


def _add_grads(parameters, grads):
    for p, g in zip(parameters, grads):
        if g is None:
            continue
        p.grad = g.detach().clone() if p.grad is None else p.grad + g.detach()


def _task_grads(loss, parameters):
    """Gradients of ``loss`` (None where unused), keeping the graph for the next task."""
    if not loss.requires_grad:
        return [None] * len(parameters)
    return list(torch.autograd.grad(loss, parameters, retain_graph=True, allow_unused=True))


def _flat(grads, parameters):
    return torch.cat(
        [
            (g if g is not None else torch.zeros_like(p)).reshape(-1)
            for g, p in zip(grads, parameters)
        ]
    )


class TaskWeighting(nn.Module):
    """Base class: ``forward(losses) -> scalar`` and a default ``backward``.

    Subclasses set ``tasks`` and implement ``forward``; gradient weightings override
    :meth:`backward` and set ``needs_custom_backward = True``. :meth:`from_config` builds a
    weighting for the network's tasks (default: ``cls(config.tasks)``); override it when the
    constructor takes other arguments. A class or instance of a subclass can be passed as
    ``GroupDMTLRecommender(task_weighting=...)``. Learned weights are parameters of the
    weighting (the estimator's optimizer trains them, without weight decay).

    Attributes
    ----------
    needs_custom_backward : bool
        The training step must call :meth:`backward` instead of ``loss.backward()``.
    needs_row_losses : bool
        The task losses must be per-row vectors (NaN outside a task), not scalars.
    shared_scope : {"all", "last"}
        Which shared parameters :meth:`backward` expects.

    Examples
    --------
    >>> import torch
    >>> from sk_grouprec.dmtl.task_weighting import TaskWeighting
    >>> class Equal(TaskWeighting):
    ...     tasks = ("rec", "profile")
    ...     def forward(self, losses):
    ...         return sum(losses.values())
    >>> x = torch.tensor(2.0, requires_grad=True)
    >>> float(Equal().backward({"rec": x**2, "profile": 3 * x}, [x], [x])), float(x.grad)
    (10.0, 7.0)
    """

    needs_custom_backward = False
    needs_row_losses = False
    shared_scope = "all"

    @classmethod
    def from_config(cls, config):
        """Build the weighting from a :class:`~sk_grouprec.dmtl.components.NetworkConfig`."""
        return cls(config.tasks)

    def _present(self, losses):
        unknown = sorted(set(losses) - set(self.tasks))
        if unknown:
            raise ValueError(
                f"{type(self).__name__} got losses for unknown task(s) {unknown}; "
                f"it weighs {list(self.tasks)}."
            )
        return [k for k, task in enumerate(self.tasks) if task in losses]

    def backward(self, losses, parameters, shared_parameters, batch=None, entity_tables=None):
        """Back-propagate ``forward(losses)``; return it detached."""
        total = self(losses)
        total.backward()
        return total.detach()


class FixedTaskWeighting(TaskWeighting):
    """``L = L_rec + lambda_group * L_group + lambda_profile * L_profile`` (the paper's loss).

    A module (not a function) so that learned weightings (uncertainty, GradNorm) can hold
    parameters the optimizer sees. Task losses may be scalars or per-row vectors (NaN on
    rows outside a task), see :func:`reduce_task_loss`.

    Examples
    --------
    >>> import torch
    >>> from sk_grouprec.dmtl.task_weighting import FixedTaskWeighting
    >>> float(FixedTaskWeighting(0.5)({"rec": torch.tensor(2.0), "profile": torch.tensor(1.0)}))
    2.5
    """

    @classmethod
    def from_config(cls, config):
        """The estimator's ``lambda_profile`` and ``lambda_group``."""
        return cls(config.lambda_profile, config.lambda_group)

    def __init__(self, lambda_profile=1.0, lambda_group=1.0):
        super().__init__()
        self.lambda_profile = float(lambda_profile)
        self.lambda_group = float(lambda_group)

    def forward(self, losses):
        """Combine a dict of task losses (``rec``, ``group``, ``profile``) into one scalar."""
        total = reduce_task_loss(losses["rec"])
        if "group" in losses:
            total = total + self.lambda_group * reduce_task_loss(losses["group"])
        if "profile" in losses and self.lambda_profile:
            total = total + self.lambda_profile * reduce_task_loss(losses["profile"])
        return total


class UncertaintyWeighting(TaskWeighting):
    """Homoscedastic uncertainty weighting (Kendall, Gal & Cipolla, CVPR 2018).

    One learned log-variance ``s_t = log sigma_t^2`` per task (initialised at 0)::

        regression (Gaussian likelihood):      0.5 * exp(-s_t) * L_t + 0.5 * s_t
        classification (softmax likelihood):         exp(-s_t) * L_t + 0.5 * s_t

    summed over the tasks present in the batch. ``0.5 s_t = log sigma_t`` is the
    regulariser that stops ``sigma_t`` from growing without bound.

    Parameters
    ----------
    tasks : sequence of str, default=("rec", "profile")
    classification_tasks : sequence of str, default=("profile",)
        Tasks with a cross-entropy loss; the others are regression (squared error).

    Attributes
    ----------
    log_variance : torch.nn.Parameter of shape (n_tasks,)

    Examples
    --------
    >>> import torch
    >>> from sk_grouprec.dmtl.task_weighting import UncertaintyWeighting
    >>> weighting = UncertaintyWeighting()
    >>> float(weighting({"rec": torch.tensor(2.0), "profile": torch.tensor(1.0)}).detach())
    2.0
    """

    def __init__(self, tasks=("rec", "profile"), classification_tasks=("profile",)):
        super().__init__()
        self.tasks = _check_tasks(tasks)
        classification = tuple(classification_tasks)
        extra = sorted(set(classification) - set(self.tasks))
        if extra:
            raise ValueError(f"classification_tasks {extra} are not in tasks {list(self.tasks)}.")
        self.register_buffer(
            "is_classification", torch.tensor([t in classification for t in self.tasks])
        )
        self.log_variance = nn.Parameter(torch.zeros(len(self.tasks)))

    def forward(self, losses):
        """``sum_t c_t exp(-s_t) L_t + 0.5 s_t`` with ``c_t`` = 1 (classification) or 0.5."""
        present = self._present(losses)
        s = self.log_variance[present]
        values = torch.stack([reduce_task_loss(losses[self.tasks[k]]) for k in present])
        scale = torch.where(self.is_classification[present], 1.0, 0.5).to(values.dtype)
        return (scale * torch.exp(-s) * values + 0.5 * s).sum()

    def task_weights(self):
        """Effective weight ``c_t exp(-s_t)`` of each task, as a dict of floats."""
        s = self.log_variance.detach()
        scale = torch.where(self.is_classification, 1.0, 0.5)
        return {t: float(w) for t, w in zip(self.tasks, scale * torch.exp(-s))}


class GradNormWeighting(TaskWeighting):
    """GradNorm (Chen et al., ICML 2018): learn task weights that balance gradient norms.

    With ``G_t = ||grad_W (w_t L_t)||`` on the last shared layer ``W``, the relative inverse
    training rate ``r_t = (L_t / L_t(0)) / mean_k (L_k / L_k(0))`` and the target
    ``mean(G) * r_t ** alpha`` (held constant), the weights get the gradient of
    ``sum_t |G_t - target_t|`` and the model the gradient of ``sum_t w_t L_t``. Weights are
    renormalised to sum to ``n_tasks`` before each use (so after every optimizer step).
    ``L_t(0)`` is the loss of the first training batch.

    Parameters
    ----------
    tasks : sequence of str, default=("rec", "profile")
    alpha : float, default=1.5
        Asymmetry: 0 pulls every ``G_t`` to the same norm; larger values favour tasks that
        train slower.

    Attributes
    ----------
    weight : torch.nn.Parameter of shape (n_tasks,)
        Raw weights (optimised by the model's optimizer; exclude them from weight decay).
    initial_losses : torch.Tensor of shape (n_tasks,)
        ``L_t(0)`` (NaN until the first training step).
    last_gradient_norms : torch.Tensor of shape (n_present_tasks,)
        ``G_t`` of the last training batch (set by :meth:`backward`).

    Examples
    --------
    >>> import torch
    >>> from sk_grouprec.dmtl.task_weighting import GradNormWeighting
    >>> weighting = GradNormWeighting(alpha=1.0)
    >>> sorted(weighting.task_weights().items())
    [('profile', 1.0), ('rec', 1.0)]
    """

    needs_custom_backward = True
    shared_scope = "last"

    @classmethod
    def from_config(cls, config):
        """The network's tasks and the estimator's ``gradnorm_alpha``."""
        return cls(config.tasks, alpha=config.gradnorm_alpha)

    def __init__(self, tasks=("rec", "profile"), alpha=1.5):
        super().__init__()
        self.tasks = _check_tasks(tasks)
        if not isinstance(alpha, numbers.Real) or isinstance(alpha, bool) or alpha < 0:
            raise ValueError(f"alpha must be a non-negative number; got {alpha!r}.")
        self.alpha = float(alpha)
        self.weight = nn.Parameter(torch.ones(len(self.tasks)))
        self.register_buffer("initial_losses", torch.full((len(self.tasks),), float("nan")))

    def normalized_weight(self):
        """The weights rescaled to sum to ``n_tasks`` (a tensor, no gradient)."""
        w = self.weight.detach().clamp(min=1e-4)
        return w * (len(self.tasks) / w.sum())

    def task_weights(self):
        """Current weights (summing to ``n_tasks``) as a dict of floats."""
        return {t: float(w) for t, w in zip(self.tasks, self.normalized_weight())}

    def forward(self, losses):
        """``sum_t w_t L_t`` with the current weights held constant."""
        present = self._present(losses)
        w = self.normalized_weight()[present]
        return sum(w[i] * reduce_task_loss(losses[self.tasks[k]]) for i, k in enumerate(present))

    def backward(self, losses, parameters, shared_parameters, batch=None, entity_tables=None):
        """Write the model's and the weights' gradients; return ``sum_t w_t L_t``."""
        present = self._present(losses)
        with torch.no_grad():
            self.weight.copy_(self.normalized_weight())
        values = torch.stack([reduce_task_loss(losses[self.tasks[k]]) for k in present])
        w = self.weight[present]
        total = (w.detach() * values).sum()
        own = {id(p) for p in self.parameters()}
        model = [p for p in parameters if p.requires_grad and id(p) not in own]
        shared = [p for p in shared_parameters if p.requires_grad]
        if len(present) > 1 and shared:
            norms = torch.stack(
                [_flat(_task_grads(values[i], shared), shared).norm() for i in range(len(present))]
            )
            with torch.no_grad():
                unset = torch.isnan(self.initial_losses)
                self.initial_losses.copy_(
                    torch.where(
                        unset & _mask(present, len(self.tasks), values.device),
                        _scatter(values.detach(), present, len(self.tasks)),
                        self.initial_losses,
                    )
                )
            G = w * norms  # differentiable in w only
            ratio = values.detach() / self.initial_losses[present].clamp(min=_TINY)
            target = (G.detach().mean() * (ratio / ratio.mean()) ** self.alpha).detach()
            gradnorm_loss = (G - target).abs().sum()
            _add_grads([self.weight], torch.autograd.grad(gradnorm_loss, [self.weight]))
            self.last_gradient_norms = norms.detach() * w.detach()
        if total.requires_grad:
            _add_grads(model, torch.autograd.grad(total, model, allow_unused=True))
        return total.detach()


def _mask(present, n, device):
    mask = torch.zeros(n, dtype=torch.bool, device=device)
    mask[present] = True
    return mask


def _scatter(values, present, n):
    out = torch.full((n,), float("nan"), dtype=values.dtype, device=values.device)
    out[present] = values
    return out


class PMTRecWeighting(TaskWeighting):
    """Personalised multi-task training after PMTRec (2024), with our reading of its modules.

    Only PMTRec's abstract is available to us; its three modules are implemented as follows.

    1. **Personalised task weights.** For every entity table (user and item id embeddings,
       ``entity_tables``) and task ``t``, the norm ``n_{e,t}`` of the gradient of ``L_t`` with
       respect to entity ``e``'s embedding row (one ``autograd.grad`` per task, vectorised
       over entities and tables). The main task keeps weight 1; an auxiliary task gets
       ``w_{e,t} = min(1, (n_{e,main} / n_{e,t}) ** alpha)``: for a user (or item) whose
       embedding the auxiliary task pulls harder than the main task, it counts less. A
       row's weight is the geometric mean of its user's and its item's; the weighted task
       loss is the mean of ``w_{row,t} * l_{row,t}`` over the task's rows (per-row losses
       are required).
       Without entity tables (no id embeddings) every weight is 1.
    2. **Task focusing.** On the shared parameters, an auxiliary task's gradient ``g_a``
       that conflicts with the main task's ``g_m`` (``g_a . g_m < 0``) loses its conflicting
       component: ``g_a <- g_a - (g_a . g_m / ||g_m||^2) g_m`` (so ``g_a . g_m >= 0``).
    3. **Gradient-magnitude balancing.** An auxiliary gradient larger than
       ``relax_factor * ||g_m|| + (1 - relax_factor) * ||g_a||`` is shrunk to that norm
       (MetaBalance's rule, applied only to shrink): with ``relax_factor=1`` no auxiliary
       task outweighs the main one.

    Parameters that only one task reaches get the plain sum of the weighted task gradients.

    Parameters
    ----------
    tasks : sequence of str, default=("rec", "profile")
    main_task : str, default="rec"
    alpha : float, default=1.0
        Strength of the personalisation (0: every weight is 1).
    relax_factor : float, default=1.0
        In [0, 1]; 0 disables the magnitude balancing.
    focus : bool, default=True
        Apply task focusing.

    Attributes
    ----------
    last_row_weights : dict of str to torch.Tensor
        Per-row weights of the last training batch.
    last_shared_gradients : dict of str to torch.Tensor
        Each task's flattened shared gradient after focusing and balancing.

    Examples
    --------
    >>> import torch
    >>> from sk_grouprec.dmtl.task_weighting import PMTRecWeighting
    >>> g = PMTRecWeighting.focus(torch.tensor([-1.0, 1.0]), torch.tensor([1.0, 0.0]))
    >>> [float(v) for v in g]
    [0.0, 1.0]
    """

    needs_custom_backward = True
    needs_row_losses = True
    shared_scope = "all"

    def __init__(
        self, tasks=("rec", "profile"), main_task="rec", alpha=1.0, relax_factor=1.0, focus=True
    ):
        super().__init__()
        self.tasks = _check_tasks(tasks)
        if main_task not in self.tasks:
            raise ValueError(f"main_task {main_task!r} is not in tasks {list(self.tasks)}.")
        if not isinstance(alpha, numbers.Real) or isinstance(alpha, bool) or alpha < 0:
            raise ValueError(f"alpha must be a non-negative number; got {alpha!r}.")
        if not isinstance(relax_factor, numbers.Real) or not 0 <= relax_factor <= 1:
            raise ValueError(f"relax_factor must be in [0, 1]; got {relax_factor!r}.")
        if not isinstance(focus, bool):
            raise ValueError(f"focus must be True or False; got {focus!r}.")
        self.main_task = main_task
        self.alpha = float(alpha)
        self.relax_factor = float(relax_factor)
        self.use_focus = focus

    def forward(self, losses):
        """Unweighted sum of the reduced task losses (for logging and validation)."""
        present = self._present(losses)
        return sum(reduce_task_loss(losses[self.tasks[k]]) for k in present)

    @staticmethod
    def focus(g_aux, g_main):
        """Remove from ``g_aux`` its component against ``g_main`` when they conflict."""
        dot = torch.dot(g_aux, g_main)
        if dot >= 0:
            return g_aux
        return g_aux - (dot / g_main.dot(g_main).clamp(min=_TINY)) * g_main

    def balance(self, g_aux, g_main):
        """Shrink ``g_aux`` to ``r ||g_main|| + (1 - r) ||g_aux||`` when that is smaller."""
        norm = g_aux.norm()
        target = self.relax_factor * g_main.norm() + (1.0 - self.relax_factor) * norm
        if norm <= _TINY or target >= norm:
            return g_aux
        return g_aux * (target / norm)

    def row_weights(self, losses, batch=None, entity_tables=None):
        """Per-row task weights ``(n_present_tasks, n_rows)``, detached.

        The main task's weights are 1; an auxiliary task's weight on a row is the geometric
        mean over the row's entities (user, item) of ``min(1, (n_main / n_aux) ** alpha)``,
        where ``n_t`` is the norm of task ``t``'s gradient on the entity's embedding. An
        entity that one of the two tasks does not reach keeps weight 1, and so do rows
        outside a task.
        """
        present = self._present(losses)
        names = [self.tasks[k] for k in present]
        rows = [losses[t] for t in names]
        if any(r.dim() != 1 for r in rows) or len({r.shape[0] for r in rows}) != 1:
            raise ValueError(
                "PMTRecWeighting needs per-row task losses of the batch length (NaN on rows "
                "outside a task)."
            )
        takes_part = ~torch.isnan(torch.stack([r.detach() for r in rows]))  # (T, rows)
        log_w = torch.zeros(takes_part.shape, dtype=rows[0].dtype, device=rows[0].device)
        tables = list((entity_tables or {}).items()) if batch is not None else []
        if self.alpha > 0 and len(names) > 1 and self.main_task in names and tables:
            main = names.index(self.main_task)
            params = [table for _, table in tables]
            per_task = [_task_grads(reduce_task_loss(r), params) for r in rows]
            for j, (key, _) in enumerate(tables):
                index = batch[key]
                norms = torch.stack(
                    [
                        grads[j].norm(dim=-1)[index] if grads[j] is not None else log_w[0]
                        for grads in per_task
                    ]
                )  # (T, rows): norm of each task's gradient on the row's entity
                reached = (norms > 0) & (norms[main] > 0)
                log_ratio = self.alpha * (torch.log(norms[main]) - torch.log(norms))
                log_w = log_w + torch.where(reached, log_ratio.clamp(max=0.0), 0.0)
            log_w = log_w / len(tables)  # geometric mean over user and item
            log_w[main] = 0.0
        return torch.where(takes_part, log_w.exp(), torch.ones_like(log_w)).detach()

    def backward(self, losses, parameters, shared_parameters, batch=None, entity_tables=None):
        """Write the focused, balanced, personally weighted gradients; return the weighted
        total loss."""
        present = self._present(losses)
        names = [self.tasks[k] for k in present]
        if self.main_task not in names:
            raise ValueError(f"the batch has no loss for the main task {self.main_task!r}.")
        weights = self.row_weights(losses, batch, entity_tables)
        weighted = {t: reduce_task_loss(weights[i] * losses[t]) for i, t in enumerate(names)}
        parameters = [p for p in parameters if p.requires_grad]
        shared_ids = {id(p) for p in shared_parameters}
        shared = [p for p in parameters if id(p) in shared_ids]
        rest = [p for p in parameters if id(p) not in shared_ids]
        grads = {t: _task_grads(weighted[t], parameters) for t in names}
        position = {id(p): i for i, p in enumerate(parameters)}
        flat = {t: _flat([grads[t][position[id(p)]] for p in shared], shared) for t in names}
        g_main = flat[self.main_task]
        for t in names:
            if t == self.main_task:
                continue
            if self.use_focus:
                flat[t] = self.focus(flat[t], g_main)
            flat[t] = self.balance(flat[t], g_main)
        if shared:
            combined = torch.stack(list(flat.values())).sum(0)
            sizes = [p.numel() for p in shared]
            _add_grads(
                shared,
                [g.view_as(p) for g, p in zip(torch.split(combined, sizes), shared)],
            )
        for p in rest:
            parts = [grads[t][position[id(p)]] for t in names]
            parts = [g for g in parts if g is not None]
            if parts:
                _add_grads([p], [torch.stack(parts).sum(0)])
        self.last_row_weights = {t: weights[i] for i, t in enumerate(names)}
        self.last_shared_gradients = {t: g.detach() for t, g in flat.items()}
        return sum(weighted.values()).detach()
