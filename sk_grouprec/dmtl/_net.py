"""skorch plumbing of the DMTL estimator: dataset, batch iterator and the net subclass.

:func:`build_module` and :func:`make_net` assemble the module and the net from the
estimator's parameters. The net follows skorch's loop unchanged except for two hooks: :meth:`DMTLNet.get_loss`
(the task losses from ``criterion_``, a :class:`~sk_grouprec.dmtl.tasks.TaskCriterion`,
combined by the module's task weighting) and :meth:`DMTLNet.train_step_single` (weightings
with a custom backward write the gradients themselves). With the default ``"adamw"``
optimiser the embedding tables train with sparse gradients and
:class:`~sk_grouprec.dmtl._optim.SparseAdamW` (a step costs the batch's rows, not the
tables'), except for weightings with a custom backward (GradNorm, PMTRec: they combine
per-task gradients of the shared parameters, dense) and other optimisers.
"""

from __future__ import annotations

import torch
from skorch import NeuralNet
from skorch.callbacks import EarlyStopping, LRScheduler, PassthroughScoring
from skorch.dataset import ValidSplit
from skorch.hf import AccelerateMixin, unpack_data

from .._validation import ITEM_COL, USER_COL
from . import _params as P
from ._batching import ShardedBatchIterator, auto_batching
from ._distributed import DataParallelMixin
from ._inputs import entity_matrix, user_history
from ._optim import SparseAdamW
from ._params import optimizer_class
from .network import DMTLNetwork, EntityTower
from .task_weighting import reduce_task_loss
from .tasks import TaskCriterion

__all__ = [
    "AcceleratedDMTLNet",
    "BatchIterator",
    "DMTLNet",
    "InteractionDataset",
    "build_module",
    "make_net",
    "module_tables",
]


class InteractionDataset(torch.utils.data.Dataset):
    """Interactions as a dict of index/context tensors plus a ``(n, 2)`` float32 target.

    The target holds ``[rating, profiling class]`` per row (class ``-1``: no label, e.g.
    natural-group rows). Batches are sliced by :class:`BatchIterator`, never per sample.
    """

    def __init__(self, inputs, target):
        self.inputs = inputs
        self.target = target

    def __len__(self):
        return self.target.shape[0]

    def __getitem__(self, i):
        return {k: v[i] for k, v in self.inputs.items()}, self.target[i]


#: the training and validation iterator: tensor slicing, user blocks, one shard per process
BatchIterator = ShardedBatchIterator


class DMTLNet(NeuralNet):
    """skorch ``NeuralNet`` whose loss combines the DMTL tasks.

    ``criterion_`` is the :class:`~sk_grouprec.dmtl.tasks.TaskCriterion`: per batch it
    returns one loss per task (``rec``, ``group``, ``profile``...), per-row vectors (NaN
    outside a task) when the weighting asks for them (``needs_row_losses``). The module's
    ``task_weighting`` combines them. Each task loss is recorded in the history as
    ``train_<task>_loss`` / ``valid_<task>_loss``; with ``lambda_profile == 0`` the profiling
    loss is logged only. Weightings with ``needs_custom_backward`` (GradNorm, PMTRec) write
    the gradients themselves in :meth:`train_step_single`.
    """

    def task_losses(self, y_pred, y_true, X):
        """Dict of the task losses of a batch (tensors)."""
        per_row = self.module_.task_weighting.needs_row_losses
        return self.criterion_(y_pred, y_true, X, per_row=per_row)

    def _record_losses(self, losses, prefix):
        """Record each task loss; drop the profiling loss when it is switched off."""
        for name, value in losses.items():
            self.history.record_batch(
                f"{prefix}_{name}_loss", float(reduce_task_loss(value.detach()))
            )
        if self.module_.lambda_profile > 0:
            return losses
        return {name: value for name, value in losses.items() if name != "profile"}

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """The task losses of ``criterion_`` combined by the module's task weighting."""
        losses = self.task_losses(y_pred, y_true, X)
        return self.module_.task_weighting(
            self._record_losses(losses, "train" if training else "valid")
        )

    def on_epoch_end(self, net, **kwargs):
        """Bring the rows of sparse-gradient tables up to date before anything reads them
        (validation scores, early-stopping checkpoints, prediction)."""
        optimizer = getattr(self, "optimizer_", None)
        optimizer = getattr(optimizer, "optimizer", optimizer)  # Accelerate's wrapper
        if isinstance(optimizer, SparseAdamW):
            optimizer.flush()
        super().on_epoch_end(net, **kwargs)

    def train_step_single(self, batch, **fit_params):
        """skorch's step, except that gradient weightings write the gradients themselves."""
        module = self.module_
        weighting = module.task_weighting
        if not weighting.needs_custom_backward:
            return super().train_step_single(batch, **fit_params)
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        y_pred = self.infer(Xi, **fit_params)
        losses = self._record_losses(self.task_losses(y_pred, yi, Xi), "train")
        loss = weighting.backward(
            losses,
            [p for p in module.parameters() if p.requires_grad],
            module.shared_parameters(weighting.shared_scope),
            batch={key: Xi[key].to(self.device) for key in ("user", "item")},
            entity_tables=module.entity_tables(),
        )
        return {"loss": loss, "y_pred": y_pred}


class AcceleratedDMTLNet(DataParallelMixin, AccelerateMixin, DMTLNet):
    """:class:`DMTLNet` trained through Hugging Face Accelerate (``accelerator=`` of the
    estimator): mixed precision, several GPUs or processes, as ``torchrun`` or ``accelerate
    launch`` sets up; each process trains on its own shard of every epoch
    (:class:`~sk_grouprec.dmtl._distributed.DataParallelMixin`). Needs the ``accelerate``
    package (the ``distributed`` extra)."""


def module_tables(est, X, users, items):
    """User / item feature tables and the user history of ``est``'s network.

    Computed before the network is built, outside the lock on torch's global generator: the
    encoders may run joblib work (nested tasks under a Dask backend) that must not wait for it.
    """
    history = None
    if est.use_id_embeddings and est.use_implicit_feedback:
        history = user_history(users, items, est.n_users_, est.n_items_)
    return (
        torch.as_tensor(entity_matrix(est._encoders["user"], X, USER_COL, est.user_index_)),
        torch.as_tensor(entity_matrix(est._encoders["item"], X, ITEM_COL, est.item_index_)),
        history,
    )


def build_module(est, tables, ratings, members, pool_members):
    """The :class:`~sk_grouprec.dmtl.network.DMTLNetwork` of the estimator ``est``."""
    use_ids = bool(est.use_id_embeddings)
    user_x, item_x, history = tables
    return DMTLNetwork(
        user_x,
        item_x,
        n_context=est._encoders["context"].n_output_,
        n_groups=len(est.groups_),
        hidden_size=est.hidden_size,
        embedding_size=est.embedding_size if use_ids else 0,
        use_attention=bool(est.use_attention),
        use_biases=bool(est.use_biases),
        use_dot_product=bool(est.use_dot_product and use_ids),
        user_history=history,
        dropout=P.dropout(est),
        rating_offset=float(ratings.mean()),
        group_members=members,
        pool_members=pool_members,
        lambda_profile=float(est.lambda_profile),
        lambda_group=float(est.lambda_group),
        sharing=est.sharing,
        task_refinement=est.task_refinement,
        task_weighting=est.task_weighting,
        n_experts=int(est.n_experts),
        gradnorm_alpha=float(est.gradnorm_alpha),
    )


def _callbacks(est, names, seed):
    """Loss logging, early stopping, the learning-rate schedule and the user's callbacks."""
    callbacks = [
        (f"train_{task}_loss", PassthroughScoring(name=f"train_{task}_loss", on_train=True))
        for task in names
    ]
    train_split = None
    if est.early_stopping:
        patience = 3 if est.early_stopping is True else int(est.early_stopping)
        train_split = ValidSplit(
            cv=float(est.validation_fraction), stratified=False, random_state=seed
        )
        callbacks += [
            (f"valid_{task}_loss", PassthroughScoring(name=f"valid_{task}_loss")) for task in names
        ]
        callbacks.append(
            (
                "early_stopping",
                EarlyStopping(monitor="valid_rec_loss", patience=patience, load_best=True),
            )
        )
    if est.lr_schedule == "cosine":
        scheduler = LRScheduler(
            policy="CosineAnnealingLR", T_max=P.n_epochs(est), step_every="epoch"
        )
        callbacks.append(("lr_schedule", scheduler))
    return callbacks + list(est.callbacks or []), train_split


def sparse_embeddings(est, module):
    """Whether the embedding tables train with sparse gradients (and SparseAdamW)."""
    return est.optimizer == "adamw" and not module.task_weighting.needs_custom_backward


def batching(est, n_rows):
    """``(batch_size, user_block)`` of the training iterator."""
    if est.batch_size == "auto":
        return auto_batching(n_rows)
    return int(est.batch_size), 1


def make_net(est, module, device, seed, tasks, n_rows):
    """The skorch net of ``est`` around ``module``, its criterion made of ``tasks``."""
    names = ["rec", "profile"] + (["group"] if any(t.name == "group" for t in tasks) else [])
    callbacks, train_split = _callbacks(est, names, seed)
    optimizer = optimizer_class(est.optimizer)
    sparse = sparse_embeddings(est, module)
    for tower in module.modules():
        if isinstance(tower, EntityTower):
            tower.set_sparse_gradients(sparse)
    if sparse:
        optimizer = SparseAdamW
    batch_size, user_block = batching(est, n_rows)
    no_decay = ["rating_head.bias"] + (
        ["profile_head.bias"] if module.profile_head is not None else []
    )
    no_decay.append("task_weighting.*")  # learned task weights / log-variances
    net_class, placement = DMTLNet, {"device": device}
    if est.accelerator is not None:
        # Accelerate places the module and batches itself (skorch's AccelerateMixin)
        net_class, placement = (
            AcceleratedDMTLNet,
            {"accelerator": est.accelerator, "device": None},
        )
    return net_class(
        module,
        criterion=TaskCriterion(tasks),
        optimizer=optimizer,
        lr=float(est.lr),
        optimizer__weight_decay=P.weight_decay(est),
        optimizer__param_groups=[(pattern, {"weight_decay": 0.0}) for pattern in no_decay],
        max_epochs=P.n_epochs(est),
        batch_size=batch_size,
        iterator_train=BatchIterator,
        iterator_train__shuffle=True,
        iterator_train__seed=seed,
        iterator_train__user_block=user_block,
        iterator_valid=BatchIterator,
        train_split=train_split,
        callbacks=callbacks,
        verbose=int(est.verbose),
        **placement,
    )
