"""Forming user groups: :class:`KMeansGrouper` and helpers for natural (given) groups.

:class:`KMeansGrouper` clusters users (one row per user, never per rating) on their
features or on their rating behaviour and adds a ``group_id`` column to the interactions,
ready for a group-aware estimator placed after it in a :class:`~sklearn.pipeline.Pipeline`.
Datasets that ship real groups (ITM-Rec) come with a membership table instead: see
:func:`check_membership` and :func:`membership_from_frame`.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import TruncatedSVD
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._missing import check_numeric_feature, fill_missing_category
from ._validation import (
    GROUP_COL,
    ITEM_COL,
    USER_COL,
    check_choice,
    check_interactions,
    check_positive_int,
    check_ratings,
    entity_table,
    select_features,
)

__all__ = ["KMeansGrouper", "check_membership", "membership_from_frame"]

_CLUSTER_ON = ("features", "ratings")


class KMeansGrouper(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Form user groups with k-means and add a ``group_id`` column to the interactions.

    ``fit`` builds one row per user (a user with 100 ratings weighs exactly as much as a
    user with one), encodes it and runs :class:`~sklearn.cluster.KMeans`. ``transform``
    returns a copy of ``X`` with a ``group_id`` column (integers ``0..n_groups-1``), which
    a group-aware estimator such as ``GroupDMTLRecommender`` reads when it follows this
    transformer in a :class:`~sklearn.pipeline.Pipeline`.

    Parameters
    ----------
    n_groups : int, default=20
        Number of groups (k-means clusters). Must not exceed the number of distinct users
        seen in ``fit``. Twenty is the setting of the DMTL paper's experiments.
    features : None, "auto", list of str or callable, default=None
        User features to cluster on when ``cluster_on="features"``. ``None`` (or
        ``"auto"``) takes every column whose name starts with ``user_``; a list names the
        columns; a callable such as :func:`sklearn.compose.make_column_selector` receives
        ``X`` and returns column names. The first row of each user supplies its values.
        Categorical columns (object, string, category or bool dtype) are one-hot encoded,
        numeric ones standard-scaled. Missing values follow the package's one policy,
        shared with :class:`~sk_grouprec.dmtl.GroupDMTLRecommender`: a missing numeric
        value takes the training mean of its column, a missing categorical value is a
        category of its own (``"__missing__"``); infinite values raise a ValueError.
        Ignored when ``cluster_on="ratings"``.
    cluster_on : {"features", "ratings"}, default="features"
        What describes a user. ``"features"``: the user features chosen by ``features``.
        ``"ratings"``: the user's rating behaviour, for data without demographics: the
        user x item matrix of ratings centred on each user's mean (a user who rated an
        item several times contributes the mean of those ratings), each row scaled to unit
        length (so that the number of ratings does not matter), reduced to
        ``n_components`` dimensions with :class:`~sklearn.decomposition.TruncatedSVD`.
        Users whose ratings are all equal (a single rating, say) have a zero row and land
        in the same group. Requires ``y`` in ``fit``.
    n_components : int, default=20
        Number of SVD dimensions when ``cluster_on="ratings"``; at most the smaller of the
        number of users and the number of items. Ignored when ``cluster_on="features"``.
    n_init : int or "auto", default=10
        Number of k-means runs with different centroid seeds; the run with the lowest
        inertia is kept (see :class:`~sklearn.cluster.KMeans`).
    max_iter : int, default=300
        Maximum number of k-means iterations per run.
    random_state : int, RandomState instance or None, default=None
        Seeds the centroid initialisation (and the randomized SVD). Pass an int for
        reproducible groups.

    Attributes
    ----------
    user_ids_ : ndarray of shape (n_users,)
        Distinct user ids seen in ``fit``, in order of first appearance.
    labels_ : ndarray of shape (n_users,), dtype int64
        Group of each user, aligned with ``user_ids_``.
    user_groups_ : pandas.Series
        The same as a Series: index ``user_id`` (the user ids), values the group, named
        ``group_id``.
    cluster_centers_ : ndarray of shape (n_groups, n_encoded)
        Group centres in the encoded space (one-hot and standardised features, or SVD
        components of the ratings).
    group_sizes_ : ndarray of shape (n_groups,), dtype int64
        Number of users in each group. A group can be empty only when the users have fewer
        distinct feature vectors than ``n_groups`` (k-means then warns).
    fallback_group_ : int
        Group given to users unseen in ``fit`` when ``cluster_on="ratings"``: the largest
        group (the smallest label on ties). Unused with ``cluster_on="features"``.
    user_feature_names_ : list of str
        The user feature columns clustered on (empty with ``cluster_on="ratings"``);
        ``transform`` needs them in ``X``.
    encoder_ : ColumnTransformer or None
        Fitted encoder of the user features (``None`` with ``cluster_on="ratings"``).
    svd_ : TruncatedSVD or None
        Fitted SVD of the rating matrix (``None`` with ``cluster_on="features"``).
    kmeans_ : KMeans
        The fitted k-means model.
    n_iter_ : int
        Number of k-means iterations of the best run.
    n_features_in_ : int
        Number of columns of the interaction table ``X`` seen in ``fit`` (ids included).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of ``X`` in ``fit``; set only when ``X`` was a DataFrame with string
        column names.

    See Also
    --------
    check_membership : validate a table of natural groups.
    membership_from_frame : the (group, user) pairs of an ``X`` with ``group_id``.

    Notes
    -----
    Users unseen in ``fit`` never make ``transform`` fail:

    - ``cluster_on="features"``: their features (first row of each such user) are encoded
      with the fitted encoder and they join the nearest centre (``kmeans_.predict``).
      Categories unseen in ``fit`` encode to zeros.
    - ``cluster_on="ratings"``: without ratings there is nothing to place them by, so they
      join ``fallback_group_``, the largest group.

    Known users keep their fitted group whatever their feature values in the new ``X``.

    The output of ``transform`` is always a :class:`pandas.DataFrame` (``group_id`` has to
    be a named column), with ``set_output(transform="pandas")`` or ``"default"`` alike
    (scikit-learn's output wrapping is switched off so that it can never relabel the
    columns); numpy input becomes a DataFrame with the data contract's column names
    (``user_id``, ``item_id``, ``ctx_2``, ...). An existing ``group_id`` column is
    replaced in place. ``transform`` passes every column of ``X`` through, so a DataFrame
    ``X`` may have other columns than in ``fit`` as long as it holds ``user_id`` and the
    user features. An array ``X`` (columns by position) must have the number of columns it
    had in ``fit`` when ``fit`` saw an array too (scikit-learn's ``n_features_in_`` check).

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_grouprec.grouping import KMeansGrouper
    >>> X = pd.DataFrame({
    ...     "user_id": [1, 1, 2, 3, 4, 4],
    ...     "item_id": [10, 11, 10, 12, 11, 12],
    ...     "user_age": [20, 20, 22, 61, 65, 65],
    ... })
    >>> grouper = KMeansGrouper(n_groups=2, random_state=0).fit(X)
    >>> out = grouper.transform(X)
    >>> list(out.columns)
    ['user_id', 'item_id', 'user_age', 'group_id']
    >>> bool(out["group_id"].iloc[0] == out["group_id"].iloc[2])  # users 1 and 2: young
    True
    >>> bool(out["group_id"].iloc[0] != out["group_id"].iloc[3])  # user 3 is older
    True
    >>> new = pd.DataFrame({"user_id": [99], "item_id": [10], "user_age": [63]})
    >>> bool(grouper.predict(new)[0] == out["group_id"].iloc[3])  # unseen: nearest centre
    True
    """

    def __init__(
        self,
        n_groups=20,
        *,
        features=None,
        cluster_on="features",
        n_components=20,
        n_init=10,
        max_iter=300,
        random_state=None,
    ):
        self.n_groups = n_groups
        self.features = features
        self.cluster_on = cluster_on
        self.n_components = n_components
        self.n_init = n_init
        self.max_iter = max_iter
        self.random_state = random_state

    # fitting -----------------------------------------------------------------------------
    def fit(self, X, y=None):
        """Cluster the users of ``X`` into ``n_groups`` groups.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_interactions, n_columns)
            Interactions in the data contract's form; with ``cluster_on="features"`` it
            holds the user feature columns.
        y : array-like of shape (n_interactions,), default=None
            Ratings. Required with ``cluster_on="ratings"``, ignored otherwise.

        Returns
        -------
        self : KMeansGrouper
            The fitted grouper.
        """
        self._fit(X, y)
        return self

    def fit_transform(self, X, y=None):
        """Fit the grouper and return ``X`` with its ``group_id`` column.

        Equivalent to ``fit(X, y).transform(X)`` but validates ``X`` once; every user is
        known, so no feature is re-encoded.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_interactions, n_columns)
            Interactions.
        y : array-like of shape (n_interactions,), default=None
            Ratings (required with ``cluster_on="ratings"``).

        Returns
        -------
        X_out : pandas.DataFrame
            A copy of ``X`` with the ``group_id`` column.
        """
        frame = self._fit(X, y)
        return _with_groups(frame, self._row_groups(frame))

    def _fit(self, X, y):
        name = type(self).__name__
        frame = check_interactions(X, estimator_name=name)
        n_groups = check_positive_int(self.n_groups, "n_groups")
        check_choice(self.cluster_on, "cluster_on", _CLUSTER_ON)
        _check_n_init(self.n_init)
        max_iter = check_positive_int(self.max_iter, "max_iter")
        rng = check_random_state(self.random_state)

        encoder = svd = None
        feature_names = []
        if self.cluster_on == "features":
            feature_names, encoder, user_ids, encoded = self._encode_features(frame, n_groups, name)
        else:
            if y is None:
                raise ValueError(
                    f"{name}: cluster_on='ratings' clusters users on their ratings, so fit "
                    "needs y (the ratings): it requires y to be passed, but the target y is "
                    "None. Pass y, or use "
                    "cluster_on='features' with user feature columns."
                )
            ratings = check_ratings(y, frame.shape[0], estimator_name=name)
            svd, user_ids, encoded = self._encode_ratings(frame, ratings, n_groups, rng, name)
        kmeans = KMeans(
            n_clusters=n_groups, n_init=self.n_init, max_iter=max_iter, random_state=rng
        ).fit(encoded)

        self.n_features_in_ = frame.shape[1]
        # an array X fixes the column count for transform/predict; a DataFrame may differ
        self._array_columns = None if isinstance(X, pd.DataFrame) else frame.shape[1]
        if isinstance(X, pd.DataFrame) and all(isinstance(c, str) for c in X.columns):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.user_feature_names_ = feature_names
        self.encoder_ = encoder
        self.svd_ = svd
        self.kmeans_ = kmeans
        self.user_ids_ = user_ids
        self.labels_ = kmeans.labels_.astype(np.int64)
        self.cluster_centers_ = kmeans.cluster_centers_
        self.n_iter_ = int(kmeans.n_iter_)
        self.group_sizes_ = np.bincount(self.labels_, minlength=n_groups).astype(np.int64)
        self.fallback_group_ = int(np.argmax(self.group_sizes_))
        self.user_groups_ = pd.Series(
            self.labels_, index=pd.Index(user_ids, name=USER_COL), name=GROUP_COL
        )
        return frame

    def _encode_features(self, frame, n_groups, name):
        columns = select_features(frame, self.features, "user_")
        if not columns:
            raise ValueError(
                f"{name}: no user feature found to cluster on (no column of X starts with "
                f"'user_' and features={self.features!r} selected none; X has columns "
                f"{list(map(str, frame.columns))[:20]}). Pass features=[...] naming the "
                "columns, or use cluster_on='ratings' to cluster users on their ratings."
            )
        table = entity_table(frame, USER_COL, columns)
        _check_n_groups(n_groups, table.shape[0], name, frame.shape[0])
        numeric, categorical = _split_dtypes(table, name)
        _check_missing(table, numeric, categorical, name)
        transformers = []
        if numeric:
            scaler = make_pipeline(SimpleImputer(strategy="mean"), StandardScaler())
            transformers.append(("numeric", scaler, numeric))
        if categorical:
            transformers.append(
                (
                    "categorical",
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                    categorical,
                )
            )
        encoder = ColumnTransformer(transformers, sparse_threshold=0.0)
        encoded = encoder.fit_transform(_as_model_input(table, numeric))
        return list(columns), encoder, table.index.to_numpy(), np.asarray(encoded, np.float64)

    def _encode_ratings(self, frame, ratings, n_groups, rng, name):
        user_codes, user_ids = pd.factorize(frame[USER_COL])
        item_codes, item_ids = pd.factorize(frame[ITEM_COL])
        n_users, n_items = len(user_ids), len(item_ids)
        _check_n_groups(n_groups, n_users, name, frame.shape[0])
        n_components = check_positive_int(self.n_components, "n_components")
        if n_components > min(n_users, n_items):
            raise ValueError(
                f"{name}: n_components={n_components} must not exceed the smaller of the "
                f"number of users ({n_users}) and items ({n_items}) when "
                "cluster_on='ratings'."
            )
        # the mean rating of each (user, item) cell, then centred on the user's mean
        cell, cell_of_row = np.unique(
            user_codes.astype(np.int64) * n_items + item_codes, return_inverse=True
        )
        cell_mean = np.bincount(cell_of_row, weights=ratings) / np.bincount(cell_of_row)
        cell_user, cell_item = np.divmod(cell, n_items)
        user_mean = np.bincount(cell_user, weights=cell_mean, minlength=n_users) / np.bincount(
            cell_user, minlength=n_users
        )
        centred = cell_mean - user_mean[cell_user]
        norms = np.sqrt(np.bincount(cell_user, weights=centred**2, minlength=n_users))
        values = centred / np.where(norms > 0, norms, 1.0)[cell_user]
        matrix = sp.csr_matrix((values, (cell_user, cell_item)), shape=(n_users, n_items))
        svd = TruncatedSVD(n_components=n_components, random_state=rng)
        encoded = svd.fit_transform(matrix)
        return svd, np.asarray(user_ids), encoded

    # assigning ---------------------------------------------------------------------------
    def transform(self, X):
        """Return a copy of ``X`` with a ``group_id`` column.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_interactions, n_columns)
            Interactions. With ``cluster_on="features"`` it must hold the user feature
            columns used in ``fit`` (``user_feature_names_``).

        Returns
        -------
        X_out : pandas.DataFrame
            A copy of ``X`` (same rows, order, index and columns) with ``group_id`` added
            as the last column, or replaced in place when ``X`` already had one. Users
            seen in ``fit`` keep their group; unseen users are assigned as described in
            the class Notes.
        """
        check_is_fitted(self, "kmeans_")
        frame = check_interactions(
            X, estimator_name=type(self).__name__, n_columns=getattr(self, "_array_columns", None)
        )
        return _with_groups(frame, self._row_groups(frame))

    def predict(self, X):
        """Return the group of each interaction's user.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_interactions, n_columns)
            Interactions, as for :meth:`transform`.

        Returns
        -------
        groups : ndarray of shape (n_interactions,), dtype int64
            The ``group_id`` that :meth:`transform` would add.
        """
        check_is_fitted(self, "kmeans_")
        frame = check_interactions(
            X, estimator_name=type(self).__name__, n_columns=getattr(self, "_array_columns", None)
        )
        return self._row_groups(frame)

    def _row_groups(self, frame):
        name = type(self).__name__
        if self.cluster_on == "features":
            missing = [c for c in self.user_feature_names_ if c not in frame.columns]
            if missing:
                raise ValueError(
                    f"{name}: X is missing the user feature column(s) {missing} used in fit; "
                    "they are needed to place users unseen in fit."
                )
        position = pd.Index(self.user_ids_).get_indexer(frame[USER_COL])
        groups = np.empty(frame.shape[0], dtype=np.int64)
        known = position >= 0
        groups[known] = self.labels_[position[known]]
        if known.all():
            return groups
        if self.cluster_on == "ratings":
            groups[~known] = self.fallback_group_
            return groups
        unseen = frame.loc[~known, [USER_COL, *self.user_feature_names_]]
        table = entity_table(unseen, USER_COL, self.user_feature_names_)
        numeric = _encoded_columns(self.encoder_, "numeric")
        categorical = _encoded_columns(self.encoder_, "categorical")
        _check_missing(table, numeric, categorical, name)
        encoded = self.encoder_.transform(_as_model_input(table, numeric))
        new_groups = self.kmeans_.predict(np.asarray(encoded, dtype=np.float64))
        lookup = pd.Index(table.index).get_indexer(unseen[USER_COL])
        groups[~known] = new_groups[lookup]
        return groups

    def get_feature_names_out(self, input_features=None):
        """Column names of the output of :meth:`transform`.

        Parameters
        ----------
        input_features : array-like of str, optional
            Column names of ``X``. Defaults to ``feature_names_in_``, or to the data
            contract's names (``user_id``, ``item_id``, ``ctx_2``, ...) for array input.

        Returns
        -------
        names : ndarray of str
            The input names followed by ``group_id`` (unless already among them).
        """
        check_is_fitted(self, "kmeans_")
        if input_features is None:
            if hasattr(self, "feature_names_in_"):
                names = list(self.feature_names_in_)
            else:
                names = [USER_COL, ITEM_COL] + [f"ctx_{j}" for j in range(2, self.n_features_in_)]
        else:
            names = [str(c) for c in input_features]
            if len(names) != self.n_features_in_:
                raise ValueError(
                    f"input_features has {len(names)} names but X had {self.n_features_in_} "
                    "columns in fit."
                )
            if hasattr(self, "feature_names_in_") and names != list(self.feature_names_in_):
                raise ValueError("input_features is not equal to feature_names_in_.")
        if GROUP_COL not in names:
            names.append(GROUP_COL)
        return np.asarray(names, dtype=object)

    def set_output(self, *, transform=None):
        """Accept scikit-learn's output configuration; the output is always a DataFrame.

        ``transform`` returns a :class:`pandas.DataFrame` in every configuration, because
        ``group_id`` must be a named column. This method exists so that
        ``Pipeline.set_output`` works with the grouper inside.

        Parameters
        ----------
        transform : {"default", "pandas"} or None, default=None
            Accepted and validated; ``"polars"`` raises a ValueError.

        Returns
        -------
        self : KMeansGrouper
        """
        if transform is not None:
            check_choice(transform, "transform", ("default", "pandas"))
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        # clustering on ratings needs y; the output is a DataFrame of the input's columns
        # plus group_id, not an array of one dtype
        tags.target_tags.required = self.cluster_on == "ratings"
        tags.transformer_tags.preserves_dtype = []
        return tags


def _check_n_groups(n_groups, n_users, name, n_rows):
    if n_groups > n_users:
        raise ValueError(
            f"{name}: n_groups={n_groups} is larger than the number of distinct users in X "
            f"({n_users}); choose n_groups <= {n_users} (X has n_samples={n_rows} "
            "interactions)."
        )


def _check_n_init(n_init):
    if isinstance(n_init, str):
        if n_init != "auto":
            raise ValueError(f"n_init must be a positive integer or 'auto'; got {n_init!r}.")
    elif isinstance(n_init, bool) or not isinstance(n_init, numbers.Integral) or n_init < 1:
        raise ValueError(f"n_init must be a positive integer or 'auto'; got {n_init!r}.")


def _split_dtypes(table, name):
    numeric, categorical = [], []
    for col in table.columns:
        dtype = table[col].dtype
        if pd.api.types.is_bool_dtype(dtype):
            categorical.append(col)
        elif pd.api.types.is_numeric_dtype(dtype):
            if pd.api.types.is_complex_dtype(dtype):
                raise TypeError(f"{name}: user feature '{col}' has complex values.")
            numeric.append(col)
        elif (
            pd.api.types.is_object_dtype(dtype)
            or pd.api.types.is_string_dtype(dtype)
            or isinstance(dtype, pd.CategoricalDtype)
        ):
            categorical.append(col)
        else:
            raise TypeError(
                f"{name}: user feature '{col}' has dtype {dtype}, which is neither numeric nor "
                "categorical (object, string, category or bool); convert it first."
            )
    return numeric, categorical


def _check_missing(table, numeric, categorical, name):
    """Apply the missing-value policy's checks: no infinite or all-missing numeric column."""
    for col in numeric:
        values = table[col].to_numpy(dtype=np.float64, na_value=np.nan)
        check_numeric_feature(values, col, where=f"{name}: numeric user ")


def _as_model_input(table, numeric):
    table = table.reset_index(drop=True)
    if numeric:
        table = table.astype({c: np.float64 for c in numeric})
    categorical = [c for c in table.columns if c not in numeric]
    return table.assign(**{c: fill_missing_category(table[c]) for c in categorical})


def _encoded_columns(column_transformer, name):
    for step, _, columns in column_transformer.transformers_:
        if step == name:
            return list(columns)
    return []


def _with_groups(frame, groups):
    out = frame.copy()
    out[GROUP_COL] = groups  # replaces an existing column in place
    return out


# natural groups ---------------------------------------------------------------------------
def check_membership(groups, *, drop_duplicates=True, estimator_name=None):
    """Validate a membership table of natural groups, one row per (group, user) pair.

    Parameters
    ----------
    groups : pandas.DataFrame
        Columns ``group_id`` and ``user_id`` (any hashable ids; further columns are kept).
        A user may belong to several groups.
    drop_duplicates : bool, default=True
        Exact duplicate rows (equal in every column) are removed, keeping the first; ITM-Rec's
        ``group.csv`` ships 37 of them. ``False`` raises a ValueError on them instead.
    estimator_name : str, optional
        Named at the start of error messages.

    Returns
    -------
    membership : pandas.DataFrame
        A new table without exact duplicates and with a fresh ``RangeIndex``; the input is
        never modified.

    Raises
    ------
    TypeError
        If ``groups`` is not a DataFrame.
    ValueError
        If a column is missing, an id is missing (NaN/None), the table is empty, there are
        exact duplicates and ``drop_duplicates=False``, or one (group, user) pair appears
        in rows that differ in other columns.

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_grouprec.grouping import check_membership
    >>> table = pd.DataFrame({"group_id": [1, 1, 1, 2], "user_id": [7, 8, 8, 7]})
    >>> check_membership(table)
       group_id  user_id
    0         1        7
    1         1        8
    2         2        7
    """
    where = f"{estimator_name}: " if estimator_name else ""
    if not isinstance(groups, pd.DataFrame):
        raise TypeError(
            f"{where}"
            f"groups must be a pandas DataFrame with columns 'group_id' and 'user_id'; got "
            f"{type(groups).__name__}."
        )
    missing = [c for c in (GROUP_COL, USER_COL) if c not in groups.columns]
    if missing:
        raise ValueError(
            f"{where}"
            f"the membership table is missing the column(s) {missing}; it has columns "
            f"{list(map(str, groups.columns))[:20]}."
        )
    if groups.shape[0] == 0:
        raise ValueError(
            f"{where}"
            "the membership table is empty; at least one (group, user) row is required."
        )
    for col in (GROUP_COL, USER_COL):
        n_missing = int(groups[col].isna().sum())
        if n_missing:
            raise ValueError(f"{where}the membership table has {n_missing} missing value(s) in '{col}'.")
    exact = groups.duplicated(keep="first")
    if exact.any() and not drop_duplicates:
        first = groups.loc[exact].iloc[0]
        raise ValueError(
            f"{where}"
            f"the membership table has {int(exact.sum())} exact duplicate row(s) (first: "
            f"group {first[GROUP_COL]!r}, user {first[USER_COL]!r}); pass "
            "drop_duplicates=True to remove them."
        )
    out = groups.loc[~exact].reset_index(drop=True)
    pairs = out.duplicated(subset=[GROUP_COL, USER_COL], keep=False)
    if pairs.any():
        first = out.loc[pairs].iloc[0]
        raise ValueError(
            f"{where}"
            f"the membership table lists {int(pairs.sum())} rows for repeated (group, user) "
            f"pairs that differ in other columns (first: group {first[GROUP_COL]!r}, user "
            f"{first[USER_COL]!r}); keep one row per pair."
        )
    return out


def membership_from_frame(X):
    """The distinct (group, user) pairs of interactions that carry a ``group_id`` column.

    Parameters
    ----------
    X : pandas.DataFrame
        Interactions with ``user_id`` and ``group_id`` columns (for example the output of
        :meth:`KMeansGrouper.transform`).

    Returns
    -------
    membership : pandas.DataFrame
        Columns ``group_id`` and ``user_id``, one row per distinct pair in order of first
        appearance, with a fresh ``RangeIndex``.

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_grouprec.grouping import membership_from_frame
    >>> X = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [5, 6, 5], "group_id": [0, 0, 1]})
    >>> membership_from_frame(X)
       group_id  user_id
    0         0        1
    1         1        2
    """
    if not isinstance(X, pd.DataFrame):
        raise TypeError(
            f"X must be a pandas DataFrame with columns 'user_id' and 'group_id'; got "
            f"{type(X).__name__}."
        )
    missing = [c for c in (USER_COL, GROUP_COL) if c not in X.columns]
    if missing:
        raise ValueError(
            f"X is missing the column(s) {missing} needed for a membership table; it has "
            f"columns {list(map(str, X.columns))[:20]}. A 'group_id' column comes from a "
            "grouper such as KMeansGrouper or from your own group labels."
        )
    return check_membership(X[[GROUP_COL, USER_COL]].drop_duplicates())
