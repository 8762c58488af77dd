"""An AdamW whose step on an embedding table costs the batch's rows, not the table's.

Dense AdamW touches every row of every embedding table at every step (the moment updates
and the decoupled weight decay), so the cost of a step grows with the number of users and
items. :class:`SparseAdamW` takes sparse gradients (``sparse=True`` lookups, see
:meth:`~sk_grouprec.dmtl.network.EntityTower.set_sparse_gradients`) and updates only the
rows they hold ("lazy" Adam, like :class:`torch.optim.SparseAdam`). The decoupled weight
decay a row missed while it was not in a batch is applied when it comes back, exactly:
``p *= prod_s (1 - lr_s * weight_decay)`` over the skipped steps (kept as a running log so
the learning-rate schedule is honoured), and :meth:`SparseAdamW.flush` applies what is
still pending to every row (call it before the weights are read, e.g. at each epoch's
end). Dense gradients get the usual AdamW update.
"""

from __future__ import annotations

import math

import torch


def _rows_and_values(grad):
    """Distinct rows and their gradient rows of a sparse gradient.

    Autograd drops the "coalesced" mark of a sparse gradient when it stores it in
    ``.grad``; strictly increasing row indices (what :mod:`._sparse` lookups produce) are
    distinct, so they are used as they are instead of paying for a sort.
    """
    if not grad.is_coalesced():
        rows = grad._indices()[0]
        if rows.shape[0] < 2 or bool((rows[1:] > rows[:-1]).all()):
            return rows, grad._values()
        grad = grad.coalesce()
    return grad.indices()[0], grad.values()


class SparseAdamW(torch.optim.Optimizer):
    """AdamW with lazy row updates for sparse gradients and exact lazy weight decay.

    Parameters
    ----------
    params : iterable of tensors or parameter-group dicts
    lr : float, default=1e-3
    betas : tuple of float, default=(0.9, 0.999)
    eps : float, default=1e-8
    weight_decay : float, default=1e-2
        Decoupled weight decay, ``p *= 1 - lr * weight_decay`` per step, on every row of a
        table (lazily for rows missing from a step's sparse gradient).

    Notes
    -----
    For a dense gradient the step equals :class:`torch.optim.AdamW`'s. For a sparse one, a
    row's moments advance only at the steps where the row is in the gradient (the bias
    correction uses the table's step count), and its weight decay is caught up exactly.

    Examples
    --------
    >>> import torch
    >>> from sk_grouprec.dmtl._optim import SparseAdamW
    >>> table = torch.nn.Embedding(5, 2, sparse=True)
    >>> opt = SparseAdamW(table.parameters(), lr=0.1, weight_decay=1.0)
    >>> before = table.weight.detach().clone()
    >>> table(torch.tensor([1])).sum().backward()
    >>> opt.step()
    >>> changed = (table.weight.detach() != before).any(1).tolist()
    >>> changed  # only row 1 moved; the others' decay is pending
    [False, True, False, False, False]
    >>> opt.flush()
    >>> torch.allclose(table.weight[0], before[0] * 0.9)
    True
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        if not lr >= 0:
            raise ValueError(f"lr must be >= 0; got {lr!r}.")
        if not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"betas must be in [0, 1); got {betas!r}.")
        if not eps >= 0:
            raise ValueError(f"eps must be >= 0; got {eps!r}.")
        if not weight_decay >= 0:
            raise ValueError(f"weight_decay must be >= 0; got {weight_decay!r}.")
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay}
        super().__init__(params, defaults)

    def _state(self, p, sparse, group_decay):
        state = self.state[p]
        if not state:
            state["step"] = 0
            if sparse:
                # both moments in one table: one gather and one scatter per step
                state["moments"] = p.new_zeros((p.shape[0], 2) + tuple(p.shape[1:]))
                state["row_step"] = torch.zeros(p.shape[0], dtype=torch.long, device=p.device)
                if group_decay:
                    state["log_decay"] = 0.0
                    state["row_log_decay"] = p.new_zeros(p.shape[0], dtype=torch.float64)
            else:
                state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        return state

    @torch.no_grad()
    def step(self, closure=None):
        """One optimisation step (``closure`` re-evaluates the loss, as in torch)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, (beta1, beta2) = group["lr"], group["betas"]
            eps, decay = group["eps"], group["weight_decay"]
            dense = {"p": [], "g": [], "m": [], "v": [], "step_size": [], "root2": []}
            for p in group["params"]:
                if p.grad is None:
                    continue
                sparse = p.grad.is_sparse
                state = self._state(p, sparse, decay)
                if sparse and "moments" not in state:
                    raise RuntimeError("a parameter switched from dense to sparse gradients")
                state["step"] += 1
                step = state["step"]
                step_size = lr / (1 - beta1**step)
                root2 = math.sqrt(1 - beta2**step)
                if sparse:
                    _sparse_step(p, state, lr, beta1, beta2, eps, decay, step_size, root2)
                    continue
                if "exp_avg" not in state:  # switched from sparse to dense gradients
                    self._flush_one(p, state, group)
                    moments = state.pop("moments")
                    state["exp_avg"], state["exp_avg_sq"] = (t.clone() for t in moments.unbind(1))
                    for key in ("row_step", "log_decay", "row_log_decay"):
                        state.pop(key, None)
                for key, value in zip(
                    ("p", "g", "m", "v", "step_size", "root2"),
                    (p, p.grad, state["exp_avg"], state["exp_avg_sq"], step_size, root2),
                ):
                    dense[key].append(value)
            if dense["p"]:
                _dense_step(dense, lr, beta1, beta2, eps, decay)
        return loss

    @torch.no_grad()
    def flush(self):
        """Bring every row of the sparse-gradient tables up to date (the moves and decay
        dense AdamW would have applied to rows absent from the last steps)."""
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state.get(p)
                if state and "moments" in state:
                    self._flush_one(p, state, group)

    @staticmethod
    def _flush_one(p, state, group):
        (beta1, beta2), step = group["betas"], state["step"]
        if step == 0:
            return
        rows = torch.arange(p.shape[0], device=p.device)
        missed = step - state["row_step"]
        value, moments = _coast(
            p, rows, state, missed, group["lr"], beta1, beta2, group["eps"], group["weight_decay"]
        )
        p.copy_(value)
        state["moments"].copy_(moments)
        state["row_step"].fill_(step)


def _broadcast(values, like):
    return values.to(like.dtype).view(-1, *([1] * (like.dim() - 1)))


def _coast(p, rows, state, missed, lr, beta1, beta2, eps, decay):
    """Bring rows absent for ``missed`` steps up to date, as dense AdamW would have moved
    them with zero gradients: decayed moments, the momentum's coasting steps and the
    decoupled weight decay. Returns the rows' values and moments (not written back)."""
    value = p.index_select(0, rows)
    moments = state["moments"].index_select(0, rows)
    m, v = moments[:, 0], moments[:, 1]
    k = missed.to(torch.float64)
    # At its j-th absent step t, dense AdamW decays a row by q = 1 - lr * decay and moves
    # it by lr * c_t * r^j * m / sqrt(v), r = beta1 / sqrt(beta2), c_t = sqrt(1 - beta2^t)
    # / (1 - beta1^t); the move is then decayed by the k - j later steps. The sum
    # sum_j r^j q^(k-j) is geometric; r^j puts nearly all of it on the first steps after
    # the row's last update, where c_t is taken.
    r = beta1 / math.sqrt(beta2)
    q = 1.0 - min(lr * decay, 1.0 - 1e-12)
    if abs(q - r) > 1e-9:
        weight = r * (q**k - r**k) / (q - r)
    else:
        weight = k * r**k
    first = (state["row_step"].index_select(0, rows) + 1).to(torch.float64)
    coasting = lr * weight * (1 - beta2**first).sqrt() / (1 - beta1**first)
    if "row_log_decay" in state:
        pending = (state["log_decay"] - state["row_log_decay"].index_select(0, rows)).exp_()
        value.mul_(_broadcast(pending, value))
        state["row_log_decay"].index_fill_(0, rows, state["log_decay"])
    value.addcdiv_(m * _broadcast(coasting, m), v.sqrt().add_(eps), value=-1.0)
    m.mul_(_broadcast(beta1**k, m))
    v.mul_(_broadcast(beta2**k, v))
    return value, moments


def _sparse_step(p, state, lr, beta1, beta2, eps, decay, step_size, root2):
    rows, grad = _rows_and_values(p.grad)
    step = state["step"]
    if decay:
        state["log_decay"] += math.log1p(-min(lr * decay, 1.0 - 1e-12))
    missed = (step - 1) - state["row_step"].index_select(0, rows)
    # catch up the steps the rows missed (this step's decay included), then the Adam step
    value, moments = _coast(p, rows, state, missed, lr, beta1, beta2, eps, decay)
    m, v = moments[:, 0], moments[:, 1]
    m.lerp_(grad, 1 - beta1)
    v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    value.addcdiv_(m, v.sqrt().div_(root2).add_(eps), value=-step_size)
    state["moments"].index_copy_(0, rows, moments)
    state["row_step"].index_fill_(0, rows, step)
    p.index_copy_(0, rows, value)


def _dense_step(dense, lr, beta1, beta2, eps, decay):
    params, grads, ms, vs = dense["p"], dense["g"], dense["m"], dense["v"]
    if decay:
        torch._foreach_mul_(params, 1 - lr * decay)
    torch._foreach_lerp_(ms, grads, 1 - beta1)
    torch._foreach_mul_(vs, beta2)
    torch._foreach_addcmul_(vs, grads, grads, value=1 - beta2)
    denom = torch._foreach_sqrt(vs)
    torch._foreach_div_(denom, dense["root2"])
    torch._foreach_add_(denom, eps)
    torch._foreach_mul_(denom, [-1.0 / s for s in dense["step_size"]])
    torch._foreach_addcdiv_(params, ms, denom)
