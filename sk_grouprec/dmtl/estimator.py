"""``GroupDMTLRecommender``: the DMTL model as a scikit-learn regressor, trained with skorch.

This module is the scikit-learn face only: parameters, fit orchestration and the public
prediction methods. The skorch plumbing is in :mod:`._net`, input preparation in
:mod:`._inputs`, the tasks in :mod:`.tasks` and the pluggable components in
:mod:`.components` (see the contributors' architecture page of the documentation).
"""

from __future__ import annotations

import threading
import warnings

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._base import BaseRecommender, _unique
from .._implicit import BaseScoreRecommender
from .._topk import top_k
from .._validation import GROUP_COL, ITEM_COL, USER_COL, check_interactions, check_positive_int
from ..grouping import check_membership
from . import _inputs, _ranking
from . import _params as P
from ._net import InteractionDataset, build_module, make_net, module_tables
from .tasks import dmtl_tasks

_GLOBAL_RNG_LOCK = threading.Lock()


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

    The terms in brackets are departures from the paper, options on by default because they
    improve rating accuracy on MovieLens 100K: bias terms (``use_biases``), the dot product
    of the id embeddings (``use_dot_product``) and SVD++-style implicit feedback in the user
    id embedding (``use_implicit_feedback``). ``mu`` is the training mean rating.
    The factor ``H`` (hidden size) keeps ``h_ai`` on the scale of ``h_i``; with
    ``use_attention=False`` the attention is the identity (``h_ai = h_i``).

    **Groups.** ``group_id`` in ``X`` at fit time is the *profiling label* of each
    interaction (e.g. from a :class:`~sk_grouprec.grouping.KMeansGrouper` before this
    estimator in a Pipeline); it is required unless ``lambda_profile == 0``. *Natural
    groups* (ITM-Rec) come to ``fit`` as ``groups`` (membership), ``X_group`` and
    ``y_group``: a group's user side is an item-conditioned attention pooling of its
    members, trained on the group ratings (weight ``lambda_group``); with ``groups`` but no
    group ratings, a group is the uniform average of its members. See :ref:`dmtl` and
    :ref:`natural_groups`; :meth:`predict_profile`, :meth:`group_profile` (``z_g``) and
    :meth:`attention_weights` expose the model's internals.

    **Fall-backs.** A user or item unseen at fit time takes the zero ("unknown") id
    embedding and bias, no implicit feedback, and the side features of its row in ``X``
    (the mean encoded features of the fitted entities when ``X`` lacks those columns):
    the feature-only path. Known users and items always use the features stored at fit time
    (first occurrence). For ``recommend`` (no interaction rows) the context is the mean
    encoded training context.

    **Missing values** (the package's one policy, shared with
    :class:`~sk_grouprec.grouping.KMeansGrouper`): a missing numeric feature takes the
    training mean of its column; a missing categorical value is a category of its own
    ("missing"), and categories unseen at fit time encode to all zeros. Infinite values
    raise a ValueError.

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
    max_epochs : int or None, default=None
        Number of epochs (fewer with early stopping). ``None``: 15 with ``objective="mse"``,
        30 with a ranking objective (chosen on a validation split of Mafengwo's train files).
    batch_size : int or "auto", default="auto"
        Mini-batch size. ``"auto"``: 1024 up to about 350,000 training rows (fully
        shuffled rows, what MovieLens-size data is tuned for); beyond, the batch doubles with
        each doubling of the data (4,096 at a million rows, at most 16,384) and rows are
        shuffled in blocks of up to 32 rows of one user, so that the per-user
        implicit-feedback sums are shared by more rows: the time per rating then falls as
        the data grows (see :ref:`scaling`). An int: that size, rows fully shuffled.
    optimizer : {"adamw", "adam", "sgd"} or torch optimizer class, default="adamw"
        ``"adamw"`` trains the embedding tables with sparse gradients and a row-wise AdamW
        (a step updates the batch's rows only, catching up the decay and momentum of the
        others), except with ``task_weighting="gradnorm"``/``"pmtrec"`` and in
        data-parallel runs (dense gradients); see :ref:`scaling`.
    early_stopping : bool or int, default=False
        Stop when the validation rating loss has not improved for ``patience`` epochs
        (``True`` = 3, an int sets the patience) and restore the best weights. Uses a
        random ``validation_fraction`` of the training rows as validation set.
    validation_fraction : float, default=0.1
        Share of rows held out for early stopping (only when ``early_stopping``), in (0, 1).
    lambda_group : float, default=1.0
        Weight of the natural-group rating loss (only with ``X_group``/``y_group``).
    objective : {"mse", "bpr", "bce"}, default="mse"
        ``"mse"``: the paper's rating regression. ``"bpr"`` (``-log sigmoid(s_pos - s_neg)``)
        and ``"bce"`` (logistic loss on positives and sampled negatives) learn to rank from
        implicit feedback: every (thresholded) row of ``X`` is a positive, ``y`` may be
        ``None``, ``predict``/``predict_group`` return scores (higher is better, not
        clipped), ``recommend``/``recommend_group`` rank them leaving out training items, and
        ``score`` is the full-catalogue hit rate at 10 (as the top-N baselines). Ranking fits
        use their own ranking network (see :ref:`implicit_groups`), with no profiling task
        (``group_id`` labels and ``lambda_profile`` are ignored), no side features and no
        ``sharing``/``task_refinement``/``task_weighting``/``early_stopping``.
    n_negatives : int, default=4
        Ranking objectives: negatives per positive, drawn afresh each epoch from
        ``random_state``, uniformly among the items that are not a positive of the same user
        (or group).
    positive_threshold : float or None, default=None
        Ranking objectives with ratings ``y``: the rows rated at or above it are positives.
    group_embedding : bool, default=True
        Ranking objectives: add a learned per-group embedding (plus the group's training
        items) to the pooled members.
    member_pooling : {"attention", "mean"}, default="attention"
        Ranking objectives: item-conditioned attention over a group's members, or their mean.
    sharing : str, SharingScheme class or instance, default="shared_bottom"
        How the two tasks share the layer after the attention: the paper's shared
        ``z_g`` (``"shared_bottom"``), a multi-gate mixture of experts (``"mmoe"``),
        progressive layered extraction (``"ple"``) or STEM-Net's shared and task-specific
        embeddings (``"stem"``: one more copy of the towers per task), or a scheme of your
        own (a :class:`~sk_grouprec.dmtl.sharing.SharingScheme`). With anything but
        ``"shared_bottom"``, :meth:`group_profile` returns the recommendation task's
        representation. See :ref:`multitask`.
    task_refinement : None, "senet", TaskRefinement class or instance, default=None
        ``"senet"``: per-task SENet re-weighting of the sharing layer's input fields
        (after DTRN). Not with ``sharing="stem"``.
    task_weighting : str, TaskWeighting class or instance, default="fixed"
        ``"fixed"`` is the paper's ``L_rec + lambda_profile L_profile``; ``"uncertainty"``,
        ``"gradnorm"`` and ``"pmtrec"`` (or a
        :class:`~sk_grouprec.dmtl.task_weighting.TaskWeighting` of your own) learn or
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
        by the accelerator (e.g. under ``torchrun`` or ``accelerate launch``: each process
        trains on its own shard of every epoch, gradients averaged). Needs the
        ``distributed`` extra. With ``Accelerator(cpu=True)`` in one process it trains
        exactly as without.
    verbose : int, default=0
        ``> 0`` prints one line per epoch with every task loss.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, dropout and the validation split.
    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Extra callbacks for the skorch net.

    Attributes
    ----------
    net_ : DMTLNet
        The fitted skorch net (its ``criterion_`` is the
        :class:`~sk_grouprec.dmtl.tasks.TaskCriterion` of the trained tasks).
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
    #: Rows per forward pass at prediction time (tests lower it to cross batch boundaries).
    _infer_batch_size = 1 << 16

    #: The declarative parameter table, checked at the start of ``fit``.
    _parameter_constraints = P.DMTL_PARAMETER_CONSTRAINTS

    def __init__(
        self,
        lambda_profile=0.1,
        hidden_size=32,
        *,
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
        max_epochs=None,
        batch_size="auto",
        optimizer="adamw",
        early_stopping=False,
        validation_fraction=0.1,
        lambda_group=1.0,
        objective="mse",
        n_negatives=4,
        positive_threshold=None,
        group_embedding=True,
        member_pooling="attention",
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
        self.objective = objective
        self.n_negatives = n_negatives
        self.positive_threshold = positive_threshold
        self.group_embedding = group_embedding
        self.member_pooling = member_pooling
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

    @property
    def module_(self):
        """The fitted torch module (the same object as ``net_.module_``)."""
        return self.net_.module_

    @property
    def history_(self):
        """The skorch history of the fit (per-epoch losses)."""
        ranking = getattr(self, "_ranking_history", None)
        return ranking if ranking is not None else self.net_.history

    @property
    def _predicts_scores(self):
        return self.objective != "mse"

    @property
    def _ranks(self):
        return getattr(self, "ranker_", None) is not None

    # fit --------------------------------------------------------------------------------
    def fit(self, X, y=None, *, groups=None, X_group=None, y_group=None):
        """Fit on individual ratings, and optionally on natural-group ratings.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_interactions, n_columns)
            Individual interactions (``user_id``, ``item_id``, side features) with the
            profiling label ``group_id`` (required unless ``lambda_profile == 0``).
        y : array-like of shape (n_interactions,) or None
            Ratings (required with ``objective="mse"``). With a ranking objective, ``None``
            makes every row a positive (see ``positive_threshold``).
        groups : pandas.DataFrame, optional
            Natural-group membership, columns ``group_id`` and ``user_id`` (one row per
            membership; a membership listed twice counts once), checked by
            :func:`~sk_grouprec.grouping.check_membership`.
        X_group : pandas.DataFrame, optional
            Group interactions: ``group_id`` (a natural group of ``groups``), ``item_id`` and
            the same ``ctx_*`` context columns as ``X``. Requires ``groups`` and ``y_group``.
        y_group : array-like of shape (n_group_interactions,), optional
            Group ratings.

        Returns
        -------
        self : GroupDMTLRecommender
        """
        P.validate_params(self)
        name = type(self).__name__
        if (X_group is None) != (y_group is None) and self.objective == "mse":
            raise ValueError(f"{name}: X_group and y_group must be given together.")
        if X_group is not None and groups is None:
            raise ValueError(
                f"{name}: X_group needs the membership table `groups` (group_id, user_id)."
            )
        if groups is not None:
            groups = check_membership(groups, estimator_name=name)
        for stale in ("ranker_", "_ranking_history", "net_"):  # from a previous fit
            self.__dict__.pop(stale, None)
        if self.objective != "mse":
            return _ranking.fit_estimator(self, X, y, groups, X_group, y_group)
        if self.lambda_profile > 0:
            check_interactions(X, require_group=True, estimator_name=name)
        return self._fit(X, y, groups=groups, X_group=X_group, y_group=y_group)

    def _fit_indexed(self, users, items, ratings, X, *, groups, X_group, y_group):
        for stale in ("_natural_index", "_members", "_rated_by_group"):  # from a previous fit
            self.__dict__.pop(stale, None)
        device = P.resolve_device(self.device)
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        names, self._encoders = _inputs.fit_encoders(
            X, self.user_features, self.item_features, self.context_features
        )
        self.user_feature_names_ = names["user"]
        self.item_feature_names_ = names["item"]
        self.context_feature_names_ = names["context"]
        self.groups_, labels = _inputs.profiling_labels(X, users.shape[0])
        inputs = {
            "user": torch.as_tensor(users),
            "item": torch.as_tensor(items),
            "context": torch.as_tensor(self._encoders["context"].transform(X)),
        }
        target = np.column_stack([ratings.astype(np.float32), labels])
        members = None
        self.natural_groups_ = np.array([])
        if groups is not None:
            natural = _inputs.natural_groups(
                groups,
                X_group,
                y_group,
                self.user_index_,
                self.item_index_,
                self._encoders,
                type(self).__name__,
            )
            self._natural_index, self._members, self._rated_by_group, extra = natural
            self.natural_groups_ = self._natural_index.ids.to_numpy()
            members = torch.as_tensor(self._members)
            if extra is not None:
                inputs, target = _inputs.append_rows(inputs, target, *extra)
                low, high = self.rating_range_
                group_ratings = extra[1][:, 0]
                self.rating_range_ = (
                    min(low, float(group_ratings.min())),
                    max(high, float(group_ratings.max())),
                )
        tables = module_tables(self, X, users, items)
        cuda = [torch.device(device).index or 0] if device.startswith("cuda") else []
        # The seed goes through torch's global generator (weight initialisation, dropout):
        # fits running in threads of one process take turns so that each stays reproducible.
        with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=cuda):
            torch.manual_seed(seed)
            module = build_module(self, tables, ratings, members, X_group is not None)
            dataset = InteractionDataset(inputs, torch.as_tensor(target, dtype=torch.float32))
            tasks = self._tasks(natural=X_group is not None)
            self.net_ = make_net(self, module, device, seed, tasks, len(dataset))
            with warnings.catch_warnings():
                # skorch warns that an initialized module is re-used: that is the intent here
                warnings.filterwarnings("ignore", message=".*initialized.*", category=UserWarning)
                self.net_.fit(dataset, None)
        self.module_.eval()

    def _tasks(self, natural):
        """The trained tasks: rating, natural-group rating, profiling (when there are labels)."""
        return dmtl_tasks(natural, len(self.groups_) > 0, self.lambda_profile > 0)

    # inference ----------------------------------------------------------------------------
    def _forward(self, inputs):
        return _inputs.forward(self.module_, inputs, self._infer_batch_size)

    def _row_inputs(self, users, items, X=None):
        return _inputs.row_inputs(
            users, items, X, self._encoders, self.module_, type(self).__name__
        )

    def _predict_block(self, users, items, X_block):
        if self._ranks:
            return _ranking.user_scores(self.ranker_, users, items, self._user_popularity)
        return self._forward(self._row_inputs(users, items, X_block))[0]

    def _predict_indexed(self, users, items):
        if self._ranks:
            return _ranking.user_scores(self.ranker_, users, items, self._user_popularity)
        return self._forward(self._row_inputs(users, items))[0]

    def score(self, X, y=None, sample_weight=None):
        """R² of the ratings (``"mse"``), or the full-catalogue hit rate at 10 of the positives
        of ``X`` with a ranking objective (see :meth:`BaseScoreRecommender.score
        <sk_grouprec._implicit.BaseScoreRecommender.score>`)."""
        if self._ranks:
            return BaseScoreRecommender.score(self, X, y, sample_weight)
        return super().score(X, y, sample_weight=sample_weight)

    def member_weights(self, X_group):
        """Weight of each member behind a group's score of an item (ranking objectives).

        Parameters
        ----------
        X_group : pandas.DataFrame
            Columns ``group_id`` (a natural group seen at fit time) and ``item_id``.

        Returns
        -------
        weights : pandas.DataFrame
            Columns ``group_id``, ``item_id``, ``user_id``, ``weight``: one row per member
            of each (group, item) row, the weights of a row summing to 1 (uniform with
            ``member_pooling="mean"``).
        """
        check_is_fitted(self, "ranker_")
        return _ranking.member_weights_frame(self, X_group)

    def _outputs(self, X):
        """The four module outputs for the rows of ``X`` (in blocks of the predict size)."""
        check_is_fitted(self, "net_")
        X = check_interactions(X, estimator_name=type(self).__name__).reset_index(drop=True)
        users = self.user_index_.transform(X[USER_COL])
        items = self.item_index_.transform(X[ITEM_COL])
        size = self._predict_batch_size
        blocks = [
            self._forward(
                self._row_inputs(users[s : s + size], items[s : s + size], X.iloc[s : s + size])
            )
            for s in range(0, X.shape[0], size)
        ]
        return [np.concatenate(parts) for parts in zip(*blocks)]

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
        logits = self._outputs(X)[1]
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
        return self._outputs(X)[2]

    def attention_weights(self, X):
        """Attention weights ``a`` over the item dimensions (rows sum to 1).

        Parameters
        ----------
        X : pandas.DataFrame or array-like

        Returns
        -------
        a : ndarray of shape (n_interactions, hidden_size)
        """
        return self._outputs(X)[3]

    # natural groups -------------------------------------------------------------------------
    def _group_inputs(self, group_ids, item_ids, X_group=None, groups=None):
        return _inputs.group_inputs(self, group_ids, item_ids, X_group, groups)

    def predict_group(self, X_group, *, groups=None):
        """Predict natural groups' ratings of items.

        Parameters
        ----------
        X_group : pandas.DataFrame
            Columns ``group_id`` (natural group), ``item_id`` and the ``ctx_*`` context
            columns used at fit time. Any number of rows.
        groups : pandas.DataFrame, optional
            Membership (``group_id``, ``user_id``) for groups not seen at fit time (or to
            override the fitted membership). A group unknown to both is scored as one
            unknown user. Without group ratings at fit time, members are averaged uniformly.

        Returns
        -------
        ratings : ndarray of shape (n_rows,)
            Clipped to the rating range seen at fit time.
        """
        if self._ranks:
            return _ranking.predict_group(self, X_group, groups)
        check_is_fitted(self, "net_")
        name = type(self).__name__
        X_group, _ = _inputs.check_group_rows(X_group, None, self.context_feature_names_, name)
        X_group = X_group.reset_index(drop=True)
        out = np.empty(X_group.shape[0])
        size = self._predict_batch_size
        for start in range(0, X_group.shape[0], size):
            block = X_group.iloc[start : start + size]
            inputs = self._group_inputs(
                block[GROUP_COL].to_numpy(), block[ITEM_COL].to_numpy(), block, groups
            )
            out[start : start + block.shape[0]] = self._forward(inputs)[0]
        return np.clip(out, *self.rating_range_)

    def recommend_group(
        self, group_ids, n_items=10, *, exclude_rated=True, items=None, groups=None
    ):
        """Recommend the top ``n_items`` items to each natural group.

        Groups are scored block by block (memory bounded by the block, not by the number
        of groups times the number of items).

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
        if self._ranks:
            return _ranking.recommend_group(self, group_ids, n_items, exclude_rated, items, groups)
        check_is_fitted(self, "net_")
        n_items = check_positive_int(n_items, "n_items")
        group_ids = _unique(group_ids)
        item_ids = self.item_index_.ids.to_numpy() if items is None else _unique(items)
        rated = getattr(self, "_rated_by_group", None) if exclude_rated else None
        cand = self.item_index_.transform(item_ids)
        n_cand = item_ids.shape[0]

        def score_block(start, stop):
            chunk = group_ids[start:stop]
            grid = self._group_inputs(
                np.repeat(chunk, n_cand), np.tile(item_ids, len(chunk)), None, groups
            )
            scores = np.clip(self._forward(grid)[0], *self.rating_range_).reshape(
                len(chunk), n_cand
            )
            if rated is not None:
                g = self._natural_index.transform(chunk)
                known = (g >= 0)[:, None] & (cand >= 0)[None, :]
                seen = rated[np.maximum(g, 0)][:, np.maximum(cand, 0)].toarray() & known
                scores = np.where(seen, -np.inf, scores)
            return scores

        rows_per_block = max(1, self._predict_batch_size // max(1, n_cand))
        return top_k(
            group_ids,
            item_ids,
            min(n_items, n_cand),
            score_block,
            row_col=GROUP_COL,
            rows_per_block=rows_per_block,
        )
