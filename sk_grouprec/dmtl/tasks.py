"""The DMTL training tasks and the criterion they form together.

A *task* is a small object that turns one batch into one loss. It has

- ``name``: the key of its loss (``"rec"``, ``"group"``, ``"profile"``), used by the task
  weightings and in the history (``train_<name>_loss``);
- ``rows(y_pred, y_true, X)``: a boolean mask of the batch rows it reads, or ``None`` for
  every row;
- ``row_loss(y_pred, y_true, X)``: the loss of every row of the batch, a tensor of shape
  ``(batch,)`` (values outside ``rows`` are ignored);
- ``trains``: ``False`` computes the loss without gradient (logged only).

:class:`Task` implements the two reductions the training loop needs from these three
pieces: :meth:`Task.loss` (the mean over the task's rows, ``0`` with a gradient path when the
batch has none) and :meth:`Task.row_losses` (the per-row vector with ``NaN`` outside the task,
for weightings such as PMTRec that weigh rows). A new objective (for example a ranking loss
over sampled negatives) is one more subclass: override ``row_loss`` (and ``rows`` when it reads
only some rows) and add an instance to the list :func:`dmtl_tasks` builds.

The batch passed to every task is skorch's: ``y_pred`` is the module's output
``(rating, group_logits, z, attention)``, ``y_true`` the ``(batch, 2)`` target
``[rating, profiling class]`` (class ``-1``: no label) and ``X`` the dict of input tensors
(``X["group"] >= 0`` marks natural-group rows).

:class:`TaskCriterion` holds the tasks and is the skorch ``criterion``: it returns the dict
of task losses that the task weighting combines. It has no parameters (it never needs to be
wrapped for data-parallel training).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["GroupRatingTask", "ProfileTask", "RatingTask", "Task", "TaskCriterion", "dmtl_tasks"]


class Task:
    """Base class of a training task (see the module docstring for the protocol).

    Parameters
    ----------
    trains : bool, default=True
        ``False``: the loss is computed without gradient (logged, never trained on).

    Examples
    --------
    >>> import torch
    >>> from sk_grouprec.dmtl.tasks import Task
    >>> class AbsoluteError(Task):
    ...     name = "abs"
    ...     def row_loss(self, y_pred, y_true, X):
    ...         return (y_pred[0] - y_true[:, 0]).abs()
    >>> y_pred, y_true = (torch.tensor([1.0, 3.0]),), torch.tensor([[2.0, -1], [2.0, -1]])
    >>> float(AbsoluteError().loss(y_pred, y_true, {}))
    1.0
    """

    name = "task"

    def __init__(self, trains=True):
        self.trains = trains

    def rows(self, y_pred, y_true, X):
        """Boolean mask of the rows this task reads, or ``None`` for all rows."""
        return None

    def row_loss(self, y_pred, y_true, X):  # pragma: no cover - abstract
        """Loss of every row, shape ``(batch,)``."""
        raise NotImplementedError

    def loss(self, y_pred, y_true, X):
        """Mean loss over the task's rows (a zero with a gradient path when there are none)."""
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.trains):
            values = self.row_loss(y_pred, y_true, X)
            mask = self.rows(y_pred, y_true, X)
            if mask is None:
                return values.mean()
            return values[mask].mean() if bool(mask.any()) else values.sum() * 0.0

    def row_losses(self, y_pred, y_true, X):
        """Per-row loss with ``NaN`` on the rows outside the task."""
        values = self.row_loss(y_pred, y_true, X)
        mask = self.rows(y_pred, y_true, X)
        if mask is None:
            return values
        return torch.where(mask, values, torch.full_like(values, float("nan")))

    def __repr__(self):
        return f"{type(self).__name__}(trains={self.trains})"


def _group_rows(X, device):
    return X["group"].to(device) >= 0


class RatingTask(Task):
    """Squared error of the predicted rating on individual (not natural-group) rows."""

    name = "rec"

    def rows(self, y_pred, y_true, X):
        """Individual rows (all rows unless the batch has natural-group rows)."""
        if not isinstance(X, dict) or "group" not in X:
            return None
        return ~_group_rows(X, y_pred[0].device)

    def row_loss(self, y_pred, y_true, X):
        """``(r_hat - r)^2`` per row."""
        return (y_pred[0] - y_true[:, 0].to(y_pred[0].device)) ** 2


class GroupRatingTask(RatingTask):
    """Squared error of the predicted rating on natural-group rows."""

    name = "group"

    def rows(self, y_pred, y_true, X):
        """Natural-group rows (``X["group"] >= 0``)."""
        return _group_rows(X, y_pred[0].device)


class ProfileTask(Task):
    """Cross-entropy of the profiling head on rows with a profiling class."""

    name = "profile"

    def rows(self, y_pred, y_true, X):
        """Rows whose profiling class is not ``-1``."""
        return y_true[:, 1].to(y_pred[1].device).long() >= 0

    def row_loss(self, y_pred, y_true, X):
        """Cross-entropy per row (class ``-1`` is scored as class 0, then masked)."""
        label = y_true[:, 1].to(y_pred[1].device).long()
        return F.cross_entropy(y_pred[1], label.clamp(min=0), reduction="none")

    def loss(self, y_pred, y_true, X):
        """Mean cross-entropy over labelled rows (one reduced call, as the paper's loss)."""
        logits = y_pred[1]
        label = y_true[:, 1].to(logits.device).long()
        has_label = label >= 0
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.trains):
            if bool(has_label.any()):
                return F.cross_entropy(logits[has_label], label[has_label])
            return logits.sum() * 0.0


class TaskCriterion(nn.Module):
    """The skorch criterion of the DMTL net: a dict of task losses per batch.

    Parameters
    ----------
    tasks : sequence of Task
        The tasks, each with a distinct ``name``.

    Examples
    --------
    >>> import torch
    >>> from sk_grouprec.dmtl.tasks import ProfileTask, RatingTask, TaskCriterion
    >>> criterion = TaskCriterion([RatingTask(), ProfileTask()])
    >>> y_pred = (torch.tensor([3.0, 4.0]), torch.zeros(2, 3))
    >>> losses = criterion(y_pred, torch.tensor([[4.0, 0], [4.0, -1]]), {})
    >>> sorted(losses), float(losses["rec"])
    (['profile', 'rec'], 0.5)
    """

    def __init__(self, tasks):
        super().__init__()
        self.tasks = list(tasks)
        names = [task.name for task in self.tasks]
        if len(set(names)) != len(names):
            raise ValueError(f"task names must be distinct; got {names}.")

    @property
    def names(self):
        """The task names, in order."""
        return [task.name for task in self.tasks]

    def forward(self, y_pred, y_true, X=None, per_row=False):
        """Dict ``name -> loss``: reduced scalars, or per-row vectors with ``per_row``."""
        y_true = y_true.to(y_pred[0].device)
        if per_row:
            return {task.name: task.row_losses(y_pred, y_true, X) for task in self.tasks}
        return {task.name: task.loss(y_pred, y_true, X) for task in self.tasks}


def dmtl_tasks(natural, profiling, train_profiling=True):
    """The tasks of a DMTL fit: rating, natural-group rating, profiling.

    Parameters
    ----------
    natural : bool
        The batch holds natural-group rows (``X_group`` given to ``fit``).
    profiling : bool
        There are profiling labels (``group_id`` in ``X``).
    train_profiling : bool, default=True
        ``False`` (``lambda_profile == 0``) logs the profiling loss without training on it.

    Returns
    -------
    tasks : list of Task
    """
    tasks = [RatingTask()]
    if natural:
        tasks.append(GroupRatingTask())
    if profiling:
        tasks.append(ProfileTask(trains=train_profiling))
    return tasks


def ranking_loss(positive, negatives, objective, temperature=None):
    """Mean ranking loss of positive scores ``(B,)`` against sampled negatives ``(B, n)``.

    ``"bpr"``: ``-log sigmoid(s_pos - s_neg)`` over every (positive, negative) pair;
    ``"bce"``: logistic loss of the positives as 1 and the negatives as 0, per scored pair.
    With a ``temperature``, each row's negatives are weighted by the softmax of their own
    scores at that temperature instead of equally (see :class:`RankingTask`).

    Examples
    --------
    >>> import torch
    >>> from sk_grouprec.dmtl.tasks import ranking_loss
    >>> round(float(ranking_loss(torch.zeros(2), torch.zeros(2, 3), "bpr")), 4)
    0.6931
    >>> round(float(ranking_loss(torch.zeros(1), torch.tensor([[0.0, 2.0]]), "bpr")), 4)
    1.41
    >>> round(float(ranking_loss(torch.zeros(1), torch.tensor([[0.0, 2.0]]), "bpr", 1.0)), 4)
    1.956
    """
    if objective not in ("bpr", "bce"):
        raise ValueError(f"unknown ranking objective {objective!r}; expected 'bpr' or 'bce'.")
    task = RankingTask("rank", objective, temperature=temperature)
    return task.row_loss((positive, negatives), None, None).mean()


class RankingTask(Task):
    """A ranking task over sampled negatives: ``y_pred = (positive (B,), negatives (B, n))``.

    The per-row loss of :func:`ranking_loss` (BPR: mean over the row's negatives; BCE: the
    logistic loss of the positive and of its negatives, averaged over the ``1 + n`` pairs).

    With ``temperature=t``, the mean over a row's negatives becomes a weighted sum with the
    weights ``softmax(s_neg / t)`` of the negatives' current scores, taken as constants (no
    gradient flows through them): the negatives the model ranks highest, the ones that
    compete with the positive at the top of a ranking, count most. ``t -> 0`` keeps only the
    highest-scored negative (dynamic negative sampling, Zhang et al., SIGIR 2013),
    ``t -> inf`` is the plain mean; ``None`` is the plain mean.

    Parameters
    ----------
    name : {"rec", "group"}
    objective : {"bpr", "bce"}
    trains : bool, default=True
    temperature : float or None, default=None
    """

    def __init__(self, name, objective, trains=True, temperature=None):
        super().__init__(trains=trains)
        self.name = name
        self.objective = objective
        self.temperature = temperature

    def row_loss(self, y_pred, y_true, X):
        positive, negatives = y_pred[0], y_pred[1]
        weights = None
        if self.temperature is not None:
            weights = torch.softmax(negatives.detach() / self.temperature, 1)
        if self.objective == "bpr":
            terms = -F.logsigmoid(positive[:, None] - negatives)
            return terms.mean(1) if weights is None else (weights * terms).sum(1)
        terms = F.softplus(negatives)
        n = negatives.shape[1]
        negative_total = terms.sum(1) if weights is None else n * (weights * terms).sum(1)
        return (F.softplus(-positive) + negative_total) / (1 + n)
