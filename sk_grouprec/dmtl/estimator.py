"""``GroupDMTLRecommender``: the DMTL model as a scikit-learn regressor, trained with skorch."""

from __future__ import annotations

import numbers
import threading
import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNet
from skorch.callbacks import EarlyStopping, LRScheduler, PassthroughScoring
from skorch.dataset import ValidSplit
from skorch.hf import AccelerateMixin, unpack_data

from .._base import PREDICT_BATCH_SIZE, BaseRecommender, IdIndex, _unique
from .._validation import (
    GROUP_COL,
    ITEM_COL,
    USER_COL,
    check_choice,
    check_interactions,
    check_non_negative,
    check_positive_int,
    check_ratings,
    entity_table,
    select_features,
)
from ._features import FeatureEncoder
from .network import (
    SHARING_CHOICES,
    TASK_REFINEMENT_CHOICES,
    TASK_WEIGHTING_CHOICES,
    DMTLNetwork,
)
from .task_weighting import reduce_task_loss

_OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}
_GLOBAL_RNG_LOCK = threading.Lock()
_INFER_BATCH = 1 << 16


# --------------------------------------------------------------------------------------
# skorch plumbing: a dataset of index tensors, a fast batch iterator, the two-task loss
# --------------------------------------------------------------------------------------
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


class BatchIterator:
    """Yield ``(inputs, target)`` mini-batches by slicing tensors (no per-sample work).

    Accepts an :class:`InteractionDataset` or a :class:`torch.utils.data.Subset` of one
    (what skorch's ``ValidSplit`` produces). Shuffling uses its own seeded generator.
    """

    def __init__(self, dataset, batch_size=1024, shuffle=False, seed=None):
        if isinstance(dataset, torch.utils.data.Subset):
            self.base = dataset.dataset
            self.rows = torch.as_tensor(np.asarray(dataset.indices), dtype=torch.long)
        else:
            self.base = dataset
            self.rows = None
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = torch.Generator()
        self.generator.manual_seed(0 if seed is None else int(seed))

    def __len__(self):
        n = len(self.base) if self.rows is None else len(self.rows)
        return -(-n // self.batch_size)

    def __iter__(self):
        n = len(self.base) if self.rows is None else len(self.rows)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        if self.rows is not None:
            order = self.rows[order]
        for start in range(0, n, self.batch_size):
            sel = order[start : start + self.batch_size]
            yield {k: v[sel] for k, v in self.base.inputs.items()}, self.base.target[sel]


class DMTLNet(NeuralNet):
    """skorch ``NeuralNet`` whose loss combines the DMTL tasks.

    The module returns ``(rating, group_logits, z, attention)``; the target is
    ``[rating, profiling class]``. Per batch, :meth:`task_losses` computes

    - ``rec``: mean squared error on individual rows;
    - ``group``: mean squared error on natural-group rows (only when there are some);
    - ``profile``: cross-entropy of the profiling head on rows with a class;

    and the module's ``task_weighting`` combines them (override :meth:`get_loss` or swap
    the weighting module for other schemes). Each task loss is recorded in the history as
    ``train_<task>_loss`` / ``valid_<task>_loss``. With ``lambda_profile == 0`` the profiling
    loss is computed without gradient (logged only): the profiling head receives none.
    Weightings with ``needs_row_losses`` get per-row loss vectors (NaN on rows outside a
    task); those with ``needs_custom_backward`` (GradNorm, PMTRec) write the gradients
    themselves in :meth:`train_step_single`.
    """

    def task_losses(self, y_pred, y_true, X):
        """Dict of the task losses of a batch (tensors)."""
        rating, logits = y_pred[0], y_pred[1]
        y_true = y_true.to(rating.device)
        target, label = y_true[:, 0], y_true[:, 1].long()
        group = X.get("group") if isinstance(X, dict) else None
        weighting = self.module_.task_weighting
        if getattr(weighting, "needs_row_losses", False):
            return self._row_losses(rating, logits, target, label, group)
        losses = {}
        if group is None:
            losses["rec"] = torch.mean((rating - target) ** 2)
        else:
            is_group = group.to(rating.device) >= 0
            indiv = ~is_group
            sq = (rating - target) ** 2
            losses["rec"] = sq[indiv].mean() if bool(indiv.any()) else sq.sum() * 0.0
            losses["group"] = sq[is_group].mean() if bool(is_group.any()) else sq.sum() * 0.0
        if logits.shape[1]:
            has_label = label >= 0
            with torch.set_grad_enabled(
                torch.is_grad_enabled() and self.module_.lambda_profile > 0
            ):
                if bool(has_label.any()):
                    losses["profile"] = torch.nn.functional.cross_entropy(
                        logits[has_label], label[has_label]
                    )
                else:
                    losses["profile"] = logits.sum() * 0.0
        return losses

    @staticmethod
    def _row_losses(rating, logits, target, label, group):
        """Per-row task losses, NaN on the rows outside a task."""
        sq = (rating - target) ** 2
        nan = torch.full_like(sq, float("nan"))
        losses = {"rec": sq}
        if group is not None:
            is_group = group.to(rating.device) >= 0
            losses = {
                "rec": torch.where(is_group, nan, sq),
                "group": torch.where(is_group, sq, nan),
            }
        if logits.shape[1]:
            ce = torch.nn.functional.cross_entropy(logits, label.clamp(min=0), reduction="none")
            losses["profile"] = torch.where(label >= 0, ce, nan)
        return losses

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
        """Combined loss ``L_rec + lambda_group L_group + lambda_profile L_profile``."""
        losses = self.task_losses(y_pred, y_true, X)
        return self.module_.task_weighting(
            self._record_losses(losses, "train" if training else "valid")
        )

    def train_step_single(self, batch, **fit_params):
        """skorch's step, except that gradient weightings write the gradients themselves."""
        module = self.module_
        weighting = module.task_weighting
        if not getattr(weighting, "needs_custom_backward", False):
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


class AcceleratedDMTLNet(AccelerateMixin, DMTLNet):
    """:class:`DMTLNet` trained through Hugging Face Accelerate (``accelerator=`` of the
    estimator): mixed precision, several GPUs or processes, as ``accelerate launch`` sets up.
    Needs the ``accelerate`` package (the ``distributed`` extra)."""


# --------------------------------------------------------------------------------------
# the estimator
# --------------------------------------------------------------------------------------
class GroupDMTLRecommender(BaseRecommender):
    """Deep multi-task group profiling and recommendation (DMTL, arXiv 2504.06274).

    For an interaction of user ``u`` with item ``i``::

        h_u  = ReLU(W_u [x_u ; e_u ; c] + b_u)     x: encoded side features, e: id embedding,
        h_i  = ReLU(W_i [x_i ; e_i] + b_i)         c: encoded ctx_* context of the interaction
        a    = softmax(W_a [h_u ; h_i] + b_a)      attention over item dimensions
        h_ai = H * a * h_i
        z_g  = ReLU(W_z [h_u ; h_ai] + b_z)        shared representation = group profile
        p_g  = softmax(W_p z_g + b_p)              profiling head (cross-entropy on group_id)
        r    = W_r z_g + b_r + mu [+ b_u + b_i] [+ <e_u, e_i>]
        L    = L_rec + lambda_profile * L_profile [+ lambda_group * L_group]

    The terms in brackets are departures from the paper, each an option that is on by
    default because it improves rating accuracy on MovieLens 100K (see
    ``benchmarks/DMTL.md``): bias terms (``use_biases``), the dot product of the id
    embeddings (``use_dot_product``, a GMF/matrix-factorisation path next to the paper's
    MLP path), and SVD++-style implicit feedback added to the user id embedding
    (``use_implicit_feedback``: ``e_u + |N(u)|^{-1/2} sum_{j in N(u)} y_j`` over the items
    ``N(u)`` the user rated at fit time). ``mu`` is the training mean rating (a constant).
    The factor ``H`` (hidden size) keeps ``h_ai`` on the scale of ``h_i``; with
    ``use_attention=False`` the attention is the identity (``h_ai = h_i``).

    **Groups.** ``group_id`` in ``X`` at fit time is the *profiling label* of each
    interaction (e.g. the cluster of a :class:`~sk_grouprec.grouping.KMeansGrouper` placed
    before this estimator in a Pipeline); it is required unless ``lambda_profile == 0`` and
    never needed at predict time. *Natural groups* (ITM-Rec) are a separate thing passed to
    ``fit`` as ``groups`` (membership), ``X_group`` and ``y_group`` (group ratings), where
    ``group_id`` names the natural group: a group's user side is an item-conditioned
    attention pooling of its members' user-side vectors (``h_u``, id embedding, bias), fed
    through the same attention, shared layer and rating head. Individual and group ratings
    train together; the group-rating MSE is its own term weighted by ``lambda_group``.
    Members absent from ``X`` take the unknown-user path (mean features, zero embedding).
    With ``groups`` but no group ratings, a group is the uniform average of its members.
    Use :meth:`predict_group` and :meth:`recommend_group` for natural groups;
    :meth:`predict_profile`, :meth:`group_profile` (``z_g``; deliberately not named
    ``transform``, so a Pipeline never takes this regressor for a transformer) and
    :meth:`attention_weights` expose the model's internals for individual rows.

    **Fall-backs.** A user or item unseen at fit time takes the zero ("unknown") id
    embedding and bias, no implicit feedback, and the side features of its row in ``X``
    (the mean encoded features of the fitted entities when ``X`` lacks those columns):
    the feature-only path. Known users and items always use the features stored at fit time
    (first occurrence). Categories unseen at fit time are ignored by the one-hot encoding
    (all zeros); a missing numeric feature takes the training mean. For ``recommend``
    (no interaction rows) the context is the mean encoded training context.

    Parameters
    ----------
    lambda_profile : float, default=0.1
        Weight of the profiling loss. ``0`` disables the profiling task (the profiling head
        gets no gradient and ``group_id`` becomes optional; if ``group_id`` is present the
        head exists but stays untrained, so ``predict_profile`` is then meaningless).
    hidden_size : int, default=32
        Width ``H`` of ``h_u``, ``h_i``, the attention and ``z_g``.
    embedding_size : int, default=32
        Width of the user and item id embeddings (used only with ``use_id_embeddings``).
    use_attention : bool, default=True
        Use the attention layer; ``False`` is the ablation ``h_ai = h_i``.
    use_id_embeddings : bool, default=True
        Concatenate learned id embeddings to the side features. ``False`` gives a pure
        feature model (and disables ``use_dot_product`` and ``use_implicit_feedback``).
    use_biases : bool, default=True
        Add user and item bias terms to the rating (departure from the paper).
    use_dot_product : bool, default=True
        Add ``<e_u, e_i>`` to the rating (departure from the paper).
    use_implicit_feedback : bool, default=True
        Add SVD++'s implicit-feedback term to the user id embedding (departure).
    dropout : float, default=0.0
        Dropout rate on ``h_u``, ``h_i`` and ``z_g``, in [0, 1).
    weight_decay : float, default=1.0
        Weight decay passed to the optimizer (decoupled for ``"adamw"``, an L2 penalty for
        ``"adam"``/``"sgd"``: scale it accordingly). Not applied to the heads' biases.
    lr : float, default=0.01
        Learning rate.
    lr_schedule : {"cosine", "constant"}, default="cosine"
        ``"cosine"`` anneals the learning rate to 0 over ``max_epochs`` epochs.
    max_epochs : int, default=15
        Number of epochs (fewer with early stopping).
    batch_size : int, default=1024
        Mini-batch size.
    optimizer : {"adamw", "adam", "sgd"} or torch optimizer class, default="adamw"
    early_stopping : bool or int, default=False
        Stop when the validation rating loss has not improved for ``patience`` epochs
        (``True`` = 3, an int sets the patience) and restore the best weights. Uses a
        random ``validation_fraction`` of the training rows as validation set.
    validation_fraction : float, default=0.1
        Share of rows held out for early stopping (only when ``early_stopping``), in (0, 1).
    lambda_group : float, default=1.0
        Weight of the natural-group rating loss (only with ``X_group``/``y_group``).
    sharing : {"shared_bottom", "mmoe", "ple", "stem"}, default="shared_bottom"
        How the two tasks share the layer after the attention: the paper's shared
        ``z_g`` (``"shared_bottom"``), a multi-gate mixture of experts (``"mmoe"``),
        progressive layered extraction (``"ple"``) or STEM-Net's shared and task-specific
        embeddings (``"stem"``: one more copy of the towers per task). With anything but
        ``"shared_bottom"``, :meth:`group_profile` returns the recommendation task's
        representation. See :ref:`multitask`.
    task_refinement : {None, "senet"}, default=None
        ``"senet"``: per-task SENet re-weighting of the sharing layer's input fields
        (after DTRN). Not with ``sharing="stem"``.
    task_weighting : {"fixed", "uncertainty", "gradnorm", "pmtrec"}, default="fixed"
        ``"fixed"`` is the paper's ``L_rec + lambda_profile L_profile``; the others learn or
        compute the task weights (then ``lambda_profile`` only switches profiling on/off
        and ``lambda_group`` is unused).
    n_experts : int, default=4
        Experts per task for ``"mmoe"``/``"ple"`` (PLE: half shared, half task-specific),
        ``max(1, n_experts // 3)`` per embedding set for ``"stem"``.
    gradnorm_alpha : float, default=1.5
        GradNorm's asymmetry (only with ``task_weighting="gradnorm"``).
    user_features, item_features, context_features : None, list of str or callable
        Side-feature columns: ``None`` applies the prefix rule (``user_*``, ``item_*``,
        ``ctx_*``), a list names the columns, a callable (e.g.
        :func:`sklearn.compose.make_column_selector`) selects them from ``X``.
    device : {"cpu", "cuda", "auto"} or str, default="cpu"
        Torch device; ``"auto"`` takes CUDA when available. Asking for CUDA when it is not
        available raises a ``ValueError``. Ignored when ``accelerator`` is given.
    accelerator : accelerate.Accelerator, default=None
        Train through Hugging Face Accelerate (skorch's ``AccelerateMixin``): device
        placement, mixed precision and multi-GPU / multi-process data parallelism as set up
        by the accelerator (e.g. under ``accelerate launch``). Needs the ``distributed``
        extra. With ``Accelerator(cpu=True)`` in one process it trains exactly as without.
    verbose : int, default=0
        ``> 0`` prints one line per epoch with every task loss.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, dropout and the validation split.
    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Extra callbacks for the skorch net.

    Attributes
    ----------
    net_ : DMTLNet
        The fitted skorch net.
    module_ : DMTLNetwork
        The fitted torch module (``net_.module_``).
    history_ : skorch.History
        Per-epoch ``train_loss``, ``train_rec_loss``, ``train_profile_loss`` (and
        ``train_group_loss`` with natural groups), ``valid_*`` counterparts with early
        stopping, ``dur``.
    groups_ : ndarray
        Profiling labels in the column order of :meth:`predict_profile` (empty when fitted
        without ``group_id``).
    natural_groups_ : ndarray
        Natural group ids known from ``groups`` (empty without natural groups).
    user_index_, item_index_ : IdIndex
        Id maps of the fitted users and items.
    user_feature_names_, item_feature_names_, context_feature_names_ : list of str
        Selected side-feature columns.
    global_mean_ : float
    rating_range_ : tuple of float
        Predictions are clipped to it.
    n_features_in_ : int

    Notes
    -----
    Training encodes the side features once into per-user and per-item float32 tables
    (module buffers) and feeds the net integer index batches only. The network is small:
    on a busy machine with few cores, ``torch.set_num_threads(1)`` is often much faster
    than the default (the benchmark uses it). The CUDA path (``device="cuda"``) follows
    the same code but is not exercised by the test suite.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sk_grouprec.dmtl import GroupDMTLRecommender
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"user_id": rng.integers(0, 20, 300), "item_id": rng.integers(0, 15, 300)})
    >>> X["user_age"] = 20 + X["user_id"] % 5
    >>> X["group_id"] = X["user_id"] % 2
    >>> y = rng.integers(1, 6, 300).astype(float)
    >>> model = GroupDMTLRecommender(max_epochs=2, random_state=0).fit(X, y)
    >>> model.predict(X.iloc[:3]).shape
    (3,)
    >>> model.predict_profile(X.iloc[:3]).shape
    (3, 2)
    >>> model.group_profile(X.iloc[:3]).shape
    (3, 32)
    """

    _uses_features = True

    def __init__(
        self,
        lambda_profile=0.1,
        hidden_size=32,
        embedding_size=32,
        use_attention=True,
        use_id_embeddings=True,
        use_biases=True,
        use_dot_product=True,
        use_implicit_feedback=True,
        dropout=0.0,
        weight_decay=1.0,
        lr=0.01,
        lr_schedule="cosine",
        max_epochs=15,
        batch_size=1024,
        optimizer="adamw",
        early_stopping=False,
        validation_fraction=0.1,
        lambda_group=1.0,
        sharing="shared_bottom",
        task_refinement=None,
        task_weighting="fixed",
        n_experts=4,
        gradnorm_alpha=1.5,
        user_features=None,
        item_features=None,
        context_features=None,
        device="cpu",
        accelerator=None,
        verbose=0,
        random_state=None,
        callbacks=None,
    ):
        self.lambda_profile = lambda_profile
        self.hidden_size = hidden_size
        self.embedding_size = embedding_size
        self.use_attention = use_attention
        self.use_id_embeddings = use_id_embeddings
        self.use_biases = use_biases
        self.use_dot_product = use_dot_product
        self.use_implicit_feedback = use_implicit_feedback
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.lr = lr
        self.lr_schedule = lr_schedule
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.lambda_group = lambda_group
        self.sharing = sharing
        self.task_refinement = task_refinement
        self.task_weighting = task_weighting
        self.n_experts = n_experts
        self.gradnorm_alpha = gradnorm_alpha
        self.user_features = user_features
        self.item_features = item_features
        self.context_features = context_features
        self.device = device
        self.accelerator = accelerator
        self.verbose = verbose
        self.random_state = random_state
        self.callbacks = callbacks

    # fitted views -------------------------------------------------------------------------
    @property
    def module_(self):
        """The fitted torch module (the same object as ``net_.module_``)."""
        return self.net_.module_

    @property
    def history_(self):
        """The skorch history of the fit (per-epoch losses)."""
        return self.net_.history

    # fit --------------------------------------------------------------------------------
    def fit(self, X, y, *, groups=None, X_group=None, y_group=None):
        """Fit on individual ratings, and optionally on natural-group ratings.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_interactions, n_columns)
            Individual interactions (``user_id``, ``item_id``, side features) with the
            profiling label ``group_id`` (required unless ``lambda_profile == 0``).
        y : array-like of shape (n_interactions,)
            Ratings.
        groups : pandas.DataFrame, optional
            Natural-group membership, columns ``group_id`` and ``user_id`` (one row per
            membership; a membership listed twice counts once).
        X_group : pandas.DataFrame, optional
            Group interactions: ``group_id`` (a natural group of ``groups``), ``item_id`` and
            the same ``ctx_*`` context columns as ``X``. Requires ``groups`` and ``y_group``.
        y_group : array-like of shape (n_group_interactions,), optional
            Group ratings.

        Returns
        -------
        self : GroupDMTLRecommender
        """
        self._check_params()
        name = type(self).__name__
        if (X_group is None) != (y_group is None):
            raise ValueError(f"{name}: X_group and y_group must be given together.")
        if X_group is not None and groups is None:
            raise ValueError(
                f"{name}: X_group needs the membership table `groups` (group_id, user_id)."
            )
        if self.lambda_profile > 0:
            check_interactions(X, require_group=True, estimator_name=name)
        self._natural = (groups, X_group, y_group)
        try:
            super().fit(X, y)
        finally:
            del self._natural
        return self

    def _check_params(self):
        check_non_negative(self.lambda_profile, "lambda_profile")
        check_non_negative(self.lambda_group, "lambda_group")
        check_positive_int(self.hidden_size, "hidden_size")
        check_positive_int(self.embedding_size, "embedding_size")
        check_positive_int(self.max_epochs, "max_epochs")
        check_positive_int(self.batch_size, "batch_size")
        check_choice(self.sharing, "sharing", SHARING_CHOICES)
        check_choice(self.task_refinement, "task_refinement", TASK_REFINEMENT_CHOICES)
        check_choice(self.task_weighting, "task_weighting", TASK_WEIGHTING_CHOICES)
        if self.sharing == "stem" and self.task_refinement is not None:
            raise ValueError(
                "task_refinement='senet' cannot be combined with sharing='stem' (STEM already "
                "has task-specific embeddings)."
            )
        check_positive_int(self.n_experts, "n_experts")
        check_non_negative(self.gradnorm_alpha, "gradnorm_alpha")
        check_non_negative(self.weight_decay, "weight_decay")
        for flag in (
            "use_attention",
            "use_id_embeddings",
            "use_biases",
            "use_dot_product",
            "use_implicit_feedback",
        ):
            if not isinstance(getattr(self, flag), (bool, np.bool_)):
                raise ValueError(f"{flag} must be True or False; got {getattr(self, flag)!r}.")
        if check_non_negative(self.dropout, "dropout") >= 1:
            raise ValueError(f"dropout must be in [0, 1); got {self.dropout!r}.")
        if not check_non_negative(self.lr, "lr") > 0:
            raise ValueError(f"lr must be > 0; got {self.lr!r}.")
        check_choice(self.lr_schedule, "lr_schedule", ("cosine", "constant"))
        if isinstance(self.optimizer, str):
            check_choice(self.optimizer, "optimizer", tuple(_OPTIMIZERS))
        elif not (
            isinstance(self.optimizer, type) and issubclass(self.optimizer, torch.optim.Optimizer)
        ):
            raise ValueError(
                f"optimizer must be 'adam', 'adamw', 'sgd' or a torch.optim.Optimizer subclass; got {self.optimizer!r}."
            )
        es = self.early_stopping
        if not isinstance(es, (bool, np.bool_)) and not (
            isinstance(es, numbers.Integral) and es >= 1
        ):
            raise ValueError(f"early_stopping must be a bool or a patience >= 1; got {es!r}.")
        if not (
            isinstance(self.validation_fraction, numbers.Real) and 0 < self.validation_fraction < 1
        ):
            raise ValueError(
                f"validation_fraction must be in (0, 1); got {self.validation_fraction!r}."
            )
        if not isinstance(self.verbose, numbers.Integral):
            raise ValueError(f"verbose must be an int; got {self.verbose!r}.")
        self._resolve_device()

    def _resolve_device(self):
        device = self.device
        if not isinstance(device, (str, torch.device)):
            raise ValueError(
                f"device must be 'cpu', 'cuda', 'auto' or a torch device string; got {device!r}."
            )
        if device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        try:
            dev = torch.device(device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(f"device {device!r} is not a valid torch device: {exc}") from exc
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} but CUDA is not available on this machine; use device='cpu' or 'auto'."
            )
        return str(dev)

    def _fit_indexed(self, users, items, ratings, X):
        name = type(self).__name__
        groups, X_group, y_group = self._natural
        for stale in ("_natural_index", "_members", "_rated_by_group"):  # from a previous fit
            self.__dict__.pop(stale, None)
        device = self._resolve_device()
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

        # side features, encoded once per user / item / row -------------------------------
        self.user_feature_names_ = select_features(X, self.user_features, "user_")
        self.item_feature_names_ = select_features(X, self.item_features, "item_")
        self.context_feature_names_ = select_features(X, self.context_features, "ctx_")
        self._user_encoder = FeatureEncoder(self.user_feature_names_).fit(
            entity_table(X, USER_COL, self.user_feature_names_)
        )
        self._item_encoder = FeatureEncoder(self.item_feature_names_).fit(
            entity_table(X, ITEM_COL, self.item_feature_names_)
        )
        self._context_encoder = FeatureEncoder(self.context_feature_names_).fit(X)
        user_x = self._entity_matrix(self._user_encoder, X, USER_COL, self.user_index_)
        item_x = self._entity_matrix(self._item_encoder, X, ITEM_COL, self.item_index_)
        context = self._context_encoder.transform(X)

        # profiling labels ---------------------------------------------------------------
        if GROUP_COL in X.columns:
            labels = X[GROUP_COL]
            self.groups_ = np.asarray(pd.unique(labels.to_numpy()))
            try:
                self.groups_ = np.sort(self.groups_)
            except TypeError:  # mixed label types: keep first-seen order
                pass
            label_idx = pd.Index(self.groups_).get_indexer(labels).astype(np.float32)
        else:
            self.groups_ = np.array([])
            label_idx = np.full(users.shape[0], -1.0, dtype=np.float32)

        inputs = {
            "user": torch.as_tensor(users),
            "item": torch.as_tensor(items),
            "context": torch.as_tensor(context),
        }
        target = np.column_stack([ratings.astype(np.float32), label_idx])

        # natural groups ----------------------------------------------------------------
        members = None
        low, high = self.rating_range_
        self.natural_groups_ = np.array([])
        if groups is not None:
            members, extra = self._natural_group_rows(groups, X_group, y_group, name)
            if extra is not None:
                g_inputs, g_target = extra
                n_indiv = users.shape[0]
                inputs = {k: torch.cat([v, g_inputs[k]]) for k, v in inputs.items()}
                inputs["group"] = torch.cat(
                    [torch.full((n_indiv,), -1, dtype=torch.long), g_inputs["group"]]
                )
                target = np.vstack([target, g_target])
                low, high = (
                    min(low, float(g_target[:, 0].min())),
                    max(high, float(g_target[:, 0].max())),
                )
        self.rating_range_ = (low, high)

        use_ids = bool(self.use_id_embeddings)
        history = None
        if use_ids and self.use_implicit_feedback:
            history = self._user_history(users, items)
        cuda = [torch.device(device).index or 0] if device.startswith("cuda") else []
        # The seed goes through torch's global generator (weight initialisation, dropout):
        # fits running in threads of one process take turns so that each stays reproducible.
        with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=cuda):
            torch.manual_seed(seed)
            module = DMTLNetwork(
                torch.as_tensor(user_x),
                torch.as_tensor(item_x),
                n_context=context.shape[1],
                n_groups=len(self.groups_),
                hidden_size=self.hidden_size,
                embedding_size=self.embedding_size if use_ids else 0,
                use_attention=bool(self.use_attention),
                use_biases=bool(self.use_biases),
                use_dot_product=bool(self.use_dot_product and use_ids),
                user_history=history,
                dropout=float(self.dropout),
                rating_offset=float(ratings.mean()),
                group_members=members,
                pool_members=X_group is not None,
                lambda_profile=float(self.lambda_profile),
                lambda_group=float(self.lambda_group),
                sharing=self.sharing,
                task_refinement=self.task_refinement,
                task_weighting=self.task_weighting,
                n_experts=int(self.n_experts),
                gradnorm_alpha=float(self.gradnorm_alpha),
            )
            dataset = InteractionDataset(inputs, torch.as_tensor(target, dtype=torch.float32))
            self.net_ = self._make_net(module, device, seed, natural=X_group is not None)
            with warnings.catch_warnings():
                # skorch warns that an initialized module is re-used: that is the intent here
                warnings.filterwarnings("ignore", message=".*initialized.*", category=UserWarning)
                self.net_.fit(dataset, None)
        self.module_.eval()

    def _make_net(self, module, device, seed, natural):
        callbacks = []
        names = ["rec", "profile"] + (["group"] if natural else [])
        for task in names:
            callbacks.append(
                (f"train_{task}_loss", PassthroughScoring(name=f"train_{task}_loss", on_train=True))
            )
        train_split = None
        if self.early_stopping:
            patience = 3 if self.early_stopping is True else int(self.early_stopping)
            train_split = ValidSplit(
                cv=float(self.validation_fraction), stratified=False, random_state=seed
            )
            for task in names:
                callbacks.append(
                    (f"valid_{task}_loss", PassthroughScoring(name=f"valid_{task}_loss"))
                )
            callbacks.append(
                (
                    "early_stopping",
                    EarlyStopping(monitor="valid_rec_loss", patience=patience, load_best=True),
                )
            )
        if self.lr_schedule == "cosine":
            callbacks.append(
                (
                    "lr_schedule",
                    LRScheduler(
                        policy="CosineAnnealingLR", T_max=int(self.max_epochs), step_every="epoch"
                    ),
                )
            )
        callbacks.extend(self.callbacks or [])
        optimizer = (
            _OPTIMIZERS[self.optimizer] if isinstance(self.optimizer, str) else self.optimizer
        )
        no_decay = (
            ["rating_head.bias", "profile_head.bias"]
            if module.profile_head is not None
            else ["rating_head.bias"]
        ) + ["task_weighting.*"]  # learned task weights / log-variances
        net_class, placement = DMTLNet, {"device": self._resolve_device()}
        if self.accelerator is not None:
            # Accelerate places the module and batches itself (skorch's AccelerateMixin)
            net_class, placement = AcceleratedDMTLNet, {"accelerator": self.accelerator, "device": None}
        return net_class(
            module,
            criterion=torch.nn.MSELoss,
            optimizer=optimizer,
            lr=float(self.lr),
            optimizer__weight_decay=float(self.weight_decay),
            optimizer__param_groups=[(pattern, {"weight_decay": 0.0}) for pattern in no_decay],
            max_epochs=int(self.max_epochs),
            batch_size=int(self.batch_size),
            iterator_train=BatchIterator,
            iterator_train__shuffle=True,
            iterator_train__seed=seed,
            iterator_valid=BatchIterator,
            train_split=train_split,
            callbacks=callbacks,
            verbose=int(self.verbose),
            **placement,
        )

    def _entity_matrix(self, encoder, X, id_col, index):
        table = entity_table(X, id_col, encoder.columns)
        order = index.transform(table.index)
        matrix = np.empty((len(index) + 1, encoder.n_output_), dtype=np.float32)
        matrix[order] = encoder.transform(table)
        matrix[-1] = encoder.mean_
        return matrix

    def _user_history(self, users, items):
        rated = sp.csr_matrix(
            (np.ones(users.shape[0], dtype=np.float32), (users, items)),
            shape=(self.n_users_ + 1, self.n_items_ + 1),
        )
        rated.sum_duplicates()
        return (
            torch.as_tensor(rated.indptr.astype(np.int64)),
            torch.as_tensor(rated.indices.astype(np.int64)),
            self.n_items_ + 1,
        )

    def _natural_group_rows(self, groups, X_group, y_group, name):
        if not isinstance(groups, pd.DataFrame):
            raise TypeError(
                f"{name}: groups must be a DataFrame with columns 'group_id' and 'user_id'."
            )
        missing = [c for c in (GROUP_COL, USER_COL) if c not in groups.columns]
        if missing:
            raise ValueError(f"{name}: groups is missing the column(s) {missing}.")
        if groups[[GROUP_COL, USER_COL]].isna().any().any():
            raise ValueError(f"{name}: groups has missing group or user ids.")
        members = groups[[GROUP_COL, USER_COL]].drop_duplicates()
        self._natural_index = IdIndex(members[GROUP_COL])
        self.natural_groups_ = self._natural_index.ids.to_numpy()
        self._members = self._member_table(members)
        self._rated_by_group = None
        if X_group is None:
            return torch.as_tensor(self._members), None
        X_group, ratings = self._check_group_input(X_group, y_group, name)
        g_idx = self._natural_index.transform(X_group[GROUP_COL])
        if (g_idx < 0).any():
            unknown = pd.unique(X_group[GROUP_COL].to_numpy()[g_idx < 0])[:5]
            raise ValueError(
                f"{name}: X_group has group ids without members in `groups`: {list(unknown)}."
            )
        items = self.item_index_.transform(X_group[ITEM_COL])
        known = items >= 0
        self._rated_by_group = sp.csr_matrix(
            (np.ones(int(known.sum()), dtype=bool), (g_idx[known], items[known])),
            shape=(len(self._natural_index), self.n_items_),
        )
        items = np.where(items < 0, self.n_items_, items)
        context = self._context_encoder.transform(X_group)
        inputs = {
            "user": torch.full((len(g_idx),), self.n_users_, dtype=torch.long),
            "item": torch.as_tensor(items),
            "context": torch.as_tensor(context),
            "group": torch.as_tensor(g_idx),
        }
        target = np.column_stack(
            [ratings.astype(np.float32), np.full(len(g_idx), -1, dtype=np.float32)]
        )
        return torch.as_tensor(self._members), (inputs, target)

    def _member_table(self, members, index=None):
        """(n_groups + 1, slots) member user indices, -1 padding, last row = unknown group."""
        index = self._natural_index if index is None else index
        g = index.transform(members[GROUP_COL])
        u = self.user_index_.transform(members[USER_COL])
        u = np.where(u < 0, self.n_users_, u)
        order = np.argsort(g, kind="stable")
        g, u = g[order], u[order]
        counts = np.bincount(g, minlength=len(index))
        slots = max(1, int(counts.max()) if counts.size else 1)
        table = np.full((len(index) + 1, slots), -1, dtype=np.int64)
        position = np.arange(g.shape[0]) - np.repeat(np.cumsum(counts) - counts, counts)
        table[g, position] = u
        table[-1, 0] = self.n_users_
        empty = table[:, 0] < 0  # groups listed without members cannot happen; kept safe
        table[empty, 0] = self.n_users_
        return table

    def _check_group_input(self, X_group, y_group, name):
        if not isinstance(X_group, pd.DataFrame):
            raise TypeError(
                f"{name}: X_group must be a DataFrame with columns 'group_id' and 'item_id'."
            )
        missing = [
            c
            for c in (GROUP_COL, ITEM_COL, *self.context_feature_names_)
            if c not in X_group.columns
        ]
        if missing:
            raise ValueError(f"{name}: X_group is missing the column(s) {missing}.")
        if X_group.shape[0] == 0:
            raise ValueError(f"{name}: X_group is empty.")
        if X_group[[GROUP_COL, ITEM_COL]].isna().any().any():
            raise ValueError(f"{name}: X_group has missing group or item ids.")
        ratings = (
            None
            if y_group is None
            else check_ratings(y_group, X_group.shape[0], estimator_name=name)
        )
        return X_group, ratings

    # inference ----------------------------------------------------------------------------
    def _row_inputs(self, users, items, X=None):
        """Index tensors plus feature overrides for unseen entities and the context."""
        n = users.shape[0]
        inputs = {
            "user": torch.as_tensor(np.where(users < 0, self.n_users_, users)),
            "item": torch.as_tensor(np.where(items < 0, self.n_items_, items)),
        }
        if X is not None and self.context_feature_names_:
            missing = [c for c in self.context_feature_names_ if c not in X.columns]
            if missing:
                raise ValueError(
                    f"{type(self).__name__}: X is missing the context column(s) {missing}."
                )
            inputs["context"] = torch.as_tensor(self._context_encoder.transform(X))
        else:
            inputs["context"] = torch.as_tensor(np.tile(self._context_encoder.mean_, (n, 1)))
        for key, idx, encoder, table in (
            ("user_x", users, self._user_encoder, self.module_.user_tower.features),
            ("item_x", items, self._item_encoder, self.module_.item_tower.features),
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

    def _forward(self, inputs):
        """Batched no-grad forward of the module; returns the 4 outputs as numpy arrays."""
        module = self.module_
        module.eval()
        device = next(module.parameters()).device
        n = next(iter(inputs.values())).shape[0]
        outputs = [[] for _ in range(4)]
        with torch.no_grad():
            for start in range(0, n, _INFER_BATCH):
                batch = {k: v[start : start + _INFER_BATCH].to(device) for k, v in inputs.items()}
                for store, value in zip(outputs, module(**batch)):
                    store.append(value.cpu().numpy())
        return [np.concatenate(parts).astype(np.float64) for parts in outputs]

    def _predict_block(self, users, items, X_block):
        return self._forward(self._row_inputs(users, items, X_block))[0]

    def _predict_indexed(self, users, items):
        return self._forward(self._row_inputs(users, items))[0]

    def _indexed(self, X):
        check_is_fitted(self, "net_")
        X = check_interactions(X, estimator_name=type(self).__name__)
        users = self.user_index_.transform(X[USER_COL])
        items = self.item_index_.transform(X[ITEM_COL])
        return self._row_inputs(users, items, X.reset_index(drop=True))

    def predict_profile(self, X):
        """Probabilities of each profiling group for each interaction of ``X``.

        Parameters
        ----------
        X : pandas.DataFrame or array-like
            Interactions (``group_id`` is not needed).

        Returns
        -------
        proba : ndarray of shape (n_interactions, len(groups_))
            Columns in the order of ``groups_``.
        """
        check_is_fitted(self, "net_")
        if not len(self.groups_):
            raise ValueError("predict_profile needs a model fitted with a 'group_id' column in X.")
        logits = self._forward(self._indexed(X))[1]
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        return proba / proba.sum(axis=1, keepdims=True)

    def group_profile(self, X):
        """The shared representation ``z_g`` (the group profile) of each interaction.

        Named ``group_profile`` rather than ``transform`` so that a Pipeline never mistakes
        this regressor for a transformer.

        Parameters
        ----------
        X : pandas.DataFrame or array-like

        Returns
        -------
        z : ndarray of shape (n_interactions, hidden_size)
        """
        return self._forward(self._indexed(X))[2]

    def attention_weights(self, X):
        """Attention weights ``a`` over the item dimensions (rows sum to 1).

        Parameters
        ----------
        X : pandas.DataFrame or array-like

        Returns
        -------
        a : ndarray of shape (n_interactions, hidden_size)
        """
        return self._forward(self._indexed(X))[3]

    # natural groups -------------------------------------------------------------------------
    def _group_inputs(self, group_ids, item_ids, X_group=None, groups=None):
        check_is_fitted(self, "net_")
        name = type(self).__name__
        if not hasattr(self, "_natural_index") and groups is None:
            raise ValueError(
                f"{name} was fitted without natural groups: pass `groups` (group_id, user_id)."
            )
        known_index = getattr(self, "_natural_index", None)
        if groups is not None:
            # ad hoc membership: the groups named in `groups` use it, others the fitted one
            if not isinstance(groups, pd.DataFrame) or any(
                c not in groups.columns for c in (GROUP_COL, USER_COL)
            ):
                raise ValueError(
                    f"{name}: groups must be a DataFrame with columns 'group_id' and 'user_id'."
                )
            if groups[[GROUP_COL, USER_COL]].isna().any().any():
                raise ValueError(f"{name}: groups has missing group or user ids.")
            members = groups[[GROUP_COL, USER_COL]].drop_duplicates()
            index = IdIndex(members[GROUP_COL])
            table = self._member_table(members, index)
            if known_index is not None:
                fitted = self._members
                slots = max(table.shape[1], fitted.shape[1])
                pad = lambda t: np.pad(t, ((0, 0), (0, slots - t.shape[1])), constant_values=-1)  # noqa: E731
                table = np.vstack([pad(table[:-1]), pad(fitted)])
                g_new = index.transform(group_ids)
                g_old = known_index.transform(group_ids)
                g = np.where(
                    g_new >= 0, g_new, np.where(g_old >= 0, len(index) + g_old, table.shape[0] - 1)
                )
            else:
                g = index.transform(group_ids)
                g = np.where(g < 0, table.shape[0] - 1, g)
        else:
            table = self._members
            g = known_index.transform(group_ids)
            g = np.where(g < 0, table.shape[0] - 1, g)
        items = self.item_index_.transform(item_ids)
        inputs = self._row_inputs(np.full(len(g), -1), items, None if X_group is None else X_group)
        inputs.pop("user_x", None)
        inputs["group"] = torch.as_tensor(g)
        inputs["members"] = torch.as_tensor(table)
        return inputs

    def predict_group(self, X_group, *, groups=None):
        """Predict natural groups' ratings of items.

        Parameters
        ----------
        X_group : pandas.DataFrame
            Columns ``group_id`` (natural group), ``item_id`` and the ``ctx_*`` context
            columns used at fit time.
        groups : pandas.DataFrame, optional
            Membership (``group_id``, ``user_id``) for groups not seen at fit time (or to
            override the fitted membership). A group unknown to both is scored as one
            unknown user. Without group ratings at fit time, members are averaged uniformly.

        Returns
        -------
        ratings : ndarray of shape (n_rows,)
            Clipped to the rating range seen at fit time.
        """
        check_is_fitted(self, "net_")
        X_group, _ = self._check_group_input(X_group, None, type(self).__name__)
        X_group = X_group.reset_index(drop=True)
        out = np.empty(X_group.shape[0])
        for start in range(0, X_group.shape[0], PREDICT_BATCH_SIZE):
            block = X_group.iloc[start : start + PREDICT_BATCH_SIZE]
            inputs = self._group_inputs(
                block[GROUP_COL].to_numpy(), block[ITEM_COL].to_numpy(), block, groups
            )
            out[start : start + block.shape[0]] = self._forward(inputs)[0]
        return np.clip(out, *self.rating_range_)

    def recommend_group(
        self, group_ids, n_items=10, *, exclude_rated=True, items=None, groups=None
    ):
        """Recommend the top ``n_items`` items to each natural group.

        Parameters
        ----------
        group_ids : array-like
            Natural groups.
        n_items : int, default=10
        exclude_rated : bool, default=True
            Leave out items the group rated in ``X_group`` at fit time.
        items : array-like, optional
            Candidate items (default: every item seen in ``fit``).
        groups : pandas.DataFrame, optional
            Membership of groups unseen at fit time (see :meth:`predict_group`).

        Returns
        -------
        recommendations : pandas.DataFrame
            Columns ``group_id``, ``item_id``, ``score``, ``rank``. The context is the mean
            training context.
        """
        check_is_fitted(self, "net_")
        n_items = check_positive_int(n_items, "n_items")
        group_ids = _unique(group_ids)
        item_ids = self.item_index_.ids.to_numpy() if items is None else _unique(items)
        k = min(n_items, item_ids.shape[0])
        grid_g = np.repeat(group_ids, item_ids.shape[0])
        grid_i = np.tile(item_ids, group_ids.shape[0])
        scores = self._forward(self._group_inputs(grid_g, grid_i, None, groups))[0]
        scores = np.clip(scores, *self.rating_range_).reshape(group_ids.shape[0], item_ids.shape[0])
        if exclude_rated and getattr(self, "_rated_by_group", None) is not None:
            g = self._natural_index.transform(group_ids)
            cand = self.item_index_.transform(item_ids)
            known = (g >= 0)[:, None] & (cand >= 0)[None, :]
            rated = self._rated_by_group[np.maximum(g, 0)][:, np.maximum(cand, 0)].toarray() & known
            scores = np.where(rated, -np.inf, scores)
        top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        top_scores = np.take_along_axis(scores, top, axis=1)
        frame = pd.DataFrame(
            {
                GROUP_COL: np.repeat(group_ids, k),
                ITEM_COL: item_ids[top.ravel()],
                "score": top_scores.ravel(),
                "rank": np.tile(np.arange(1, k + 1), group_ids.shape[0]),
            }
        )
        return frame[np.isfinite(frame["score"].to_numpy())].reset_index(drop=True)
