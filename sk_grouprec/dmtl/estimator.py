"""``GroupDMTLRecommender``: the DMTL model as a scikit-learn regressor, trained with skorch.

This module is the scikit-learn face only: parameters, fit orchestration and the public
prediction methods. The skorch plumbing is in :mod:`._net`, input preparation in
:mod:`._inputs`, natural-group rating queries in :mod:`._group_rating`, the tasks in
:mod:`.tasks` and the pluggable components in
:mod:`.components` (see the contributors' architecture page of the documentation).
"""

from __future__ import annotations

import threading
import warnings

import numpy as np
import torch
from scipy.special import softmax
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._base import BaseRecommender
from .._implicit import BaseScoreRecommender
from .._validation import check_interactions
from . import _group_rating, _inputs, _ranking
from . import _params as P
from ._batching import sorted_by_user
from ._net import InteractionDataset, batching, build_module, make_net, module_tables
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

    The terms in brackets are departures from the paper, on by default because they improve
    rating accuracy on MovieLens 100K (``use_biases``, ``use_dot_product``,
    ``use_implicit_feedback``); ``mu`` is the training mean rating and ``H`` (hidden size)
    keeps ``h_ai`` on the scale of ``h_i``.

    **Groups.** ``group_id`` in ``X`` is the *profiling label* of each interaction (e.g.
    from a :class:`~sk_grouprec.grouping.KMeansGrouper` earlier in a Pipeline), required
    unless ``lambda_profile == 0``. *Natural groups* come to ``fit`` as ``groups``,
    ``X_group`` and ``y_group`` (see :ref:`natural_groups`). :meth:`predict_profile`,
    :meth:`group_profile` (``z_g``) and :meth:`attention_weights` expose the internals.

    **Unknown users and items** take the zero id embedding and bias and the side features
    of their row in ``X`` (the features-only path); **missing feature values** follow the
    package's one policy, shared with :class:`~sk_grouprec.grouping.KMeansGrouper` (training
    mean for numbers, a category of its own for categories, infinite values raise). See
    :ref:`dmtl_unknown`. With a ranking objective, unknown users and groups get the item's
    popularity, and a known user's (group's) unseen item ranks below all items seen in
    ``fit`` (:ref:`implicit_groups`).

    Parameters
    ----------
    lambda_profile : float, default=0.1
        Weight of the profiling loss; ``0`` disables the profiling task (``group_id`` then
        optional, ``predict_profile`` meaningless).
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
    dropout : float or None, default=None
        Dropout rate on ``h_u``, ``h_i`` and ``z_g``, in [0, 1). ``None``: 0.0 with
        ``objective="mse"``, 0.5 with a ranking objective (chosen on validation splits of the
        train files of Mafengwo and of two group folders the package does not ship; see
        :ref:`implicit_groups`).
    weight_decay : float or None, default=None
        Weight decay passed to the optimizer (decoupled for ``"adamw"``, an L2 penalty for
        ``"adam"``/``"sgd"``: scale it accordingly). Not applied to the heads' biases.
        ``None``: 1.0 with ``objective="mse"``, 0.1 with a ranking objective (chosen on a
        validation split of Mafengwo's train files).
    lr : float, default=0.01
        Learning rate.
    lr_schedule : {"cosine", "constant"}, default="cosine"
        ``"cosine"`` anneals the learning rate to 0 over ``max_epochs`` epochs.
    max_epochs : int or None, default=None
        Number of epochs (fewer with early stopping). ``None``: 15 with ``objective="mse"``,
        50 with a ranking objective (chosen on a validation split of Mafengwo's train files).
    batch_size : int or "auto", default="auto"
        Mini-batch size. ``"auto"``: 1024 (rows fully shuffled) up to about 175,000 training
        rows; beyond, larger batches of user blocks, so the time per rating falls as the
        data grows (8,192 at a million rows, at most 16,384; see :ref:`scaling`).
    optimizer : {"adamw", "adam", "sgd"} or torch optimizer class, default="adamw"
        ``"adamw"`` trains the embedding tables with sparse gradients and a row-wise AdamW,
        except with ``task_weighting="gradnorm"``/``"pmtrec"`` and in data-parallel runs
        (dense gradients); see :ref:`scaling`.
    early_stopping : bool or int, default=False
        Stop when the validation rating loss has not improved for ``patience`` epochs
        (``True`` = 3, an int sets the patience) and restore the best weights. Uses a
        random ``validation_fraction`` of the training rows as validation set.
    validation_fraction : float, default=0.1
        Share of rows held out for early stopping (only when ``early_stopping``), in (0, 1).
    lambda_group : float, default=1.0
        Weight of the natural-group rating loss (only with ``X_group``/``y_group``).
    objective : {"mse", "bpr", "bce"}, default="mse"
        ``"mse"``: the paper's rating regression. ``"bpr"`` and ``"bce"`` learn to rank from
        implicit feedback (every thresholded row of ``X`` is a positive, ``y`` may be
        ``None``; ``predict`` returns scores, ``score`` is the full-catalogue HR@10) with
        their own ranking network. It uses ``hidden_size``, ``embedding_size``, ``dropout``,
        ``use_attention``, ``use_biases``, ``use_dot_product``, ``use_implicit_feedback``,
        the optimisation options and ``device``; it has no profiling task, and a
        non-default ``use_id_embeddings``, ``sharing``, ``task_refinement``,
        ``task_weighting``, ``early_stopping``, feature selector, ``accelerator`` or
        ``callbacks`` raises a ``ValueError`` (side-feature columns of ``X`` get a
        ``UserWarning``). See :ref:`implicit_groups`.
    n_negatives : int, default=4
        Ranking objectives: negatives per positive, drawn each epoch among the items that
        are not a positive of the same user (or group).
    negative_sampling : {"uniform", "popularity"} or float, default="uniform"
        Ranking objectives: how the negatives are drawn. A float ``a`` in [0, 1] draws an
        item with probability proportional to ``(count + 1) ** a``, ``count`` its positive
        rows in the task (user rows for users, group rows for groups): ``"uniform"`` is
        ``a = 0``, ``"popularity"`` ``a = 1``.
    negative_temperature : float or None, default=None
        Ranking objectives: ``None`` weights a positive's negatives equally. A float
        weights them by the softmax of their current scores at this temperature (the
        weights carry no gradient), so the negatives the model ranks highest, the ones
        competing for the top of a ranking, count most; near 0 only the highest counts
        (dynamic negative sampling). On Mafengwo's validation splits 1.0 ranks better for
        groups and over the full catalogue, worse for users among sampled negatives; see
        :ref:`implicit_groups`.
    positive_threshold : float or None, default=None
        Ranking objectives with ratings ``y``: the rows rated at or above it are positives.
    group_embedding : bool, default=True
        Ranking objectives: add a learned per-group embedding to the pooled members.
    member_pooling : {"attention", "mean"}, default="attention"
        Ranking objectives: item-conditioned attention over a group's members, or their mean.
    sharing : str, SharingScheme class or instance, default="shared_bottom"
        How the tasks share the layer after the attention: ``"shared_bottom"`` (the paper),
        ``"mmoe"``, ``"ple"``, ``"stem"``, or a
        :class:`~sk_grouprec.dmtl.sharing.SharingScheme` of your own. See :ref:`multitask`.
    task_refinement : None, "senet", TaskRefinement class or instance, default=None
        ``"senet"``: per-task SENet re-weighting of the sharing layer's input fields.
    task_weighting : str, TaskWeighting class or instance, default="fixed"
        ``"fixed"`` (the paper's weighted sum), ``"uncertainty"``, ``"gradnorm"``,
        ``"pmtrec"``, or a :class:`~sk_grouprec.dmtl.task_weighting.TaskWeighting` of your
        own (learned weights make ``lambda_*`` mere on/off switches).
    n_experts : int, default=4
        Experts per task for ``"mmoe"``/``"ple"``; ``max(1, n_experts // 3)`` per embedding
        set for ``"stem"``.
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
        Train through Hugging Face Accelerate (skorch's ``AccelerateMixin``): mixed
        precision and multi-GPU / multi-process data parallelism under ``torchrun`` or
        ``accelerate launch`` (needs the ``distributed`` extra; see :ref:`scaling`).
    verbose : int, default=0
        ``> 0`` prints one line per epoch with every task loss.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, dropout and the validation split.
    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Extra callbacks for the skorch net.

    Attributes
    ----------
    net_ : DMTLNet
        The fitted skorch net; its ``criterion_`` is the
        :class:`~sk_grouprec.dmtl.tasks.TaskCriterion` of the trained tasks.
    module_ : DMTLNetwork
        The fitted torch module (``net_.module_``).
    history_ : skorch.History
        Per-epoch ``train_loss`` and each task's ``train_*_loss`` (``valid_*`` with early
        stopping), ``dur``.
    groups_, natural_groups_ : ndarray
        Profiling labels (the columns of :meth:`predict_profile`) and natural group ids
        (each empty when absent).
    user_index_, item_index_ : IdIndex
    user_feature_names_, item_feature_names_, context_feature_names_ : list of str
    global_mean_ : float
    rating_range_ : tuple of float
        Predictions are clipped to it.
    n_features_in_ : int

    Notes
    -----
    Side features are encoded once into per-user and per-item tables (module buffers); the
    net is fed index batches only. On a busy machine, ``torch.set_num_threads(1)`` is often
    faster. The CUDA path is not exercised by the test suite.

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
        dropout=None,
        weight_decay=None,
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
        negative_sampling="uniform",
        negative_temperature=None,
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
        self.negative_sampling = negative_sampling
        self.negative_temperature = negative_temperature
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
        groups = P.check_fit_arguments(self, groups, X_group, y_group)
        for stale in ("ranker_", "_ranking_history", "net_"):  # from a previous fit
            self.__dict__.pop(stale, None)
        if self.objective != "mse":
            return _ranking.fit_estimator(self, X, y, groups, X_group, y_group)
        if self.lambda_profile > 0:
            check_interactions(X, require_group=True, estimator_name=type(self).__name__)
        return self._fit(X, y, groups=groups, X_group=X_group, y_group=y_group)

    def _fit_indexed(self, users, items, ratings, X, *, groups, X_group, y_group):
        for stale in ("_natural_index", "_members", "_rated_by_group"):  # from a previous fit
            self.__dict__.pop(stale, None)
        device = P.resolve_device(self.device)
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        inputs, target = _inputs.training_inputs(self, X, users, items, ratings)
        inputs, target, members = _inputs.attach_natural_groups(
            self, groups, X_group, y_group, inputs, target
        )
        if batching(self, target.shape[0])[1] > 1:
            inputs, target = sorted_by_user(inputs, target)
        tables = module_tables(self, X, users, items)
        cuda = P.cuda_devices(device)
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

    def _predict_block(self, users, items, X_block=None):
        if self._ranks:
            return _ranking.user_scores(self.ranker_, users, items, self._user_popularity,
                                        self.rated_)
        return self._forward(self._row_inputs(users, items, X_block))[0]

    _predict_indexed = _predict_block

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
        return _inputs.query_outputs(self, X)

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
        return softmax(self._outputs(X)[1], axis=1)

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
        return _group_rating.predict_group_ratings(self, X_group, groups)

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
        return _group_rating.recommend_group_ratings(
            self, group_ids, n_items, exclude_rated, items, groups
        )
