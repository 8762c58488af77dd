"""Data-parallel training of the DMTL net through Hugging Face Accelerate.

skorch's :class:`~skorch.hf.AccelerateMixin` prepares the module, the criterion and the
optimiser with the accelerator and passes the batch iterator to ``accelerator.prepare``.
Under ``torchrun`` / ``accelerate launch`` with several processes that fails or does not do
what it should:

- a criterion without trainable parameters (``MSELoss``; the DMTL task weighting lives in
  the module) is wrapped in ``DistributedDataParallel``, which refuses modules without a
  parameter that requires a gradient;
- a custom batch iterator is not a ``DataLoader``: Accelerate returns it unchanged, so
  every process would train on all the data;
- gradient weightings that write ``.grad`` themselves (``autograd.grad`` per task) bypass
  the hooks through which ``DistributedDataParallel`` averages gradients.

:class:`DataParallelMixin` (placed before ``AccelerateMixin``) fixes the three: it prepares
only criteria with trainable parameters (the others are just moved to the device), shards a
:class:`~sk_grouprec.dmtl._batching.ShardedBatchIterator` by rank and moves its batches to
the accelerator's device, and averages the gradients of a custom backward over processes
itself. ``net.module_`` stays the plain module (attributes such as ``task_weighting`` are
read from it); the ``DistributedDataParallel`` wrapper, when there is one, runs the
training forward passes (:attr:`DataParallelMixin.module_wrapper_`). With several processes the
embedding tables get dense gradients (``DistributedDataParallel`` averages dense tensors),
and the module's constant buffers (feature tables, histories) are not re-broadcast at
every step.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from skorch.hf import AccelerateMixin

from ._batching import ShardedBatchIterator
from .network import EntityTower


def has_trainable_parameters(module):
    """Whether ``module`` has a parameter that requires a gradient.

    Examples
    --------
    >>> import torch
    >>> from sk_grouprec.dmtl._distributed import has_trainable_parameters
    >>> has_trainable_parameters(torch.nn.MSELoss()), has_trainable_parameters(torch.nn.Linear(1, 1))
    (False, True)
    """
    return any(p.requires_grad for p in module.parameters())


def _ddp_kwargs_handler():
    from accelerate.utils import DistributedDataParallelKwargs

    # find_unused_parameters: a head can be switched off (lambda_profile=0) and get no
    # gradient; broadcast_buffers: the buffers are constant tables, identical everywhere
    return DistributedDataParallelKwargs(find_unused_parameters=True, broadcast_buffers=False)


class DataParallelMixin:
    """Mixin for a skorch net with :class:`~skorch.hf.AccelerateMixin`, placed before it.

    Examples
    --------
    >>> from skorch import NeuralNet
    >>> from skorch.hf import AccelerateMixin
    >>> from sk_grouprec.dmtl._distributed import DataParallelMixin
    >>> class Net(DataParallelMixin, AccelerateMixin, NeuralNet):
    ...     pass
    """

    @property
    def num_processes_(self):
        """Number of data-parallel processes of the accelerator."""
        return int(getattr(self.accelerator, "num_processes", 1))

    def _initialize_accelerator(self):
        if self._wrapped_with_accelerator:
            return self
        accelerator = self.accelerator
        several = self.num_processes_ > 1
        if several and getattr(accelerator, "ddp_handler", None) is None:
            accelerator.ddp_handler = _ddp_kwargs_handler()
        with self._current_init_context("criterion"):
            for name in self._criteria:
                criterion = getattr(self, name + "_")
                if not isinstance(criterion, torch.nn.Module):
                    continue
                if has_trainable_parameters(criterion):
                    setattr(self, name + "_", accelerator.prepare(criterion))
                else:  # nothing to synchronise: placement only
                    setattr(self, name + "_", criterion.to(accelerator.device))
        # kept out of skorch's registry of modules (it would save and unwrap them)
        self._wrappers = {}
        with self._current_init_context("module"):
            for name in self._modules:
                module = getattr(self, name + "_")
                if not isinstance(module, torch.nn.Module):
                    continue
                if several:
                    for tower in module.modules():
                        if isinstance(tower, EntityTower):
                            tower.set_sparse_gradients(False)
                wrapped = accelerator.prepare(module)
                if wrapped is not module:
                    self._wrappers[name] = wrapped
                    wrapped = accelerator.unwrap_model(wrapped)
                setattr(self, name + "_", wrapped)
        with self._current_init_context("optimizer"):
            for name in self._optimizers:
                optimizer = getattr(self, name + "_")
                if isinstance(optimizer, torch.optim.Optimizer):
                    setattr(self, name + "_", accelerator.prepare(optimizer))
        self._wrapped_with_accelerator = True
        return self

    def _unwrap_accelerator(self):
        self.__dict__.pop("_wrappers", None)
        return super()._unwrap_accelerator()

    @property
    def module_wrapper_(self):
        """The data-parallel wrapper of ``module_`` while training (None without one)."""
        return getattr(self, "_wrappers", {}).get("module")

    def get_iterator(self, dataset, training=False):
        """The parent's iterator; a :class:`ShardedBatchIterator` gets this process's shard
        (when training) and the accelerator's device."""
        iterator = super().get_iterator(dataset, training=training)
        if isinstance(iterator, ShardedBatchIterator):
            if training:
                iterator.num_replicas = self.num_processes_
                iterator.rank = int(self.accelerator.process_index)
            iterator.device = self.accelerator.device
        return iterator

    def infer(self, x, **fit_params):
        """Forward pass; in training, through the data-parallel wrapper when there is one."""
        wrapper = self.module_wrapper_
        if wrapper is None or not self.module_.training or getattr(self, "_manual_sync", False):
            return super().infer(x, **fit_params)
        if isinstance(x, Mapping):
            return wrapper(**self._merge_x_and_fit_params(x, fit_params))
        return wrapper(x, **fit_params)

    def train_step_single(self, batch, **fit_params):
        """AccelerateMixin's step, except for weightings with a custom backward: the net's
        own step, then the gradients averaged over the processes."""
        weighting = getattr(self.module_, "task_weighting", None)
        if not getattr(weighting, "needs_custom_backward", False):
            return super().train_step_single(batch, **fit_params)
        self._manual_sync = True
        try:
            step = super(AccelerateMixin, self).train_step_single(batch, **fit_params)
        finally:
            self._manual_sync = False
        self._average_gradients()
        return step

    def _average_gradients(self):
        if self.num_processes_ <= 1:
            return
        import torch.distributed as dist

        for p in self.module_.parameters():
            if p.requires_grad:
                if p.grad is None:
                    p.grad = torch.zeros_like(p)
                elif p.grad.is_sparse:
                    p.grad = p.grad.to_dense()
                dist.all_reduce(p.grad)
                p.grad.div_(self.num_processes_)
