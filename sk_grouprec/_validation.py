"""The data contract shared by every estimator (see ``docs/user_guide/data.rst``).

``X`` is a :class:`pandas.DataFrame` with one row per interaction and the columns
``user_id`` and ``item_id`` (any hashable ids), optionally ``group_id``, and side features
named by prefix: ``user_*`` (user features), ``item_*`` (item features), ``ctx_*``
(interaction context). A 2-D numpy array is accepted too: column 0 holds the user id,
column 1 the item id, and any further columns become numeric context features
``ctx_2``, ``ctx_3``, ... Integer-valued float ids (a float array stores id 7 as 7.0) are
turned back into integers.

``y`` is a 1-D array of finite ratings with one entry per row of ``X``.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.exceptions import DataConversionWarning

USER_COL = "user_id"
ITEM_COL = "item_id"
GROUP_COL = "group_id"
RATING_COL = "rating"  # a group folder's optional third column (load_group_folder)
ID_COLUMNS = (USER_COL, ITEM_COL, GROUP_COL)
FEATURE_PREFIXES = ("user_", "item_", "ctx_")


def check_interactions(X, *, require_group=False, estimator_name=None, n_columns=None):
    """Validate ``X`` against the data contract and return it as a DataFrame.

    Parameters
    ----------
    X : pandas.DataFrame or array-like of shape (n_interactions, n_columns)
        Interactions. A DataFrame needs ``user_id`` and ``item_id`` columns; an array
        holds the user id in column 0 and the item id in column 1.
    require_group : bool, default=False
        Whether a ``group_id`` column must be present.
    estimator_name : str, optional
        Named in error messages.
    n_columns : int, optional
        For array input only: the number of columns the estimator was fitted with. An
        array with another number of columns raises scikit-learn's ``"X has N features,
        but ... is expecting M features as input"`` error. DataFrames are never checked
        for it (they may carry extra columns).

    Returns
    -------
    X : pandas.DataFrame
        The input itself when it already was a valid DataFrame (never modified), or a new
        DataFrame built from the array.

    Raises
    ------
    TypeError
        When ``X`` is neither a DataFrame nor a 2-D array-like, or an array of dates.
    ValueError
        When ``X`` is empty, has complex values, an id column is missing or holds missing
        values, ``group_id`` is required but absent, or an array has fewer than two columns
        (or not ``n_columns``).

    Examples
    --------
    >>> import numpy as np
    >>> from sk_grouprec._validation import check_interactions
    >>> check_interactions(np.array([[1, 10, 0.5], [2, 11, 1.5]]))
       user_id  item_id  ctx_2
    0        1       10    0.5
    1        2       11    1.5
    """
    where = f"{estimator_name}: " if estimator_name else ""
    if isinstance(X, pd.DataFrame):
        frame = X
    elif hasattr(X, "tocsr") or hasattr(X, "to_dense"):
        raise TypeError(
            f"{where}sparse input is not supported: X holds one interaction per row "
            "(user id, item id, features); pass a DataFrame or a dense 2-D array."
        )
    elif isinstance(X, (str, bytes, dict)) or X is None:
        raise TypeError(
            f"{where}X must be a pandas DataFrame with columns 'user_id' and 'item_id', or a "
            f"2-D array with user ids in column 0 and item ids in column 1; got {type(X).__name__}."
        )
    else:
        frame = _array_to_frame(X, where, estimator_name, n_columns)

    if frame.shape[0] == 0:
        raise ValueError(f"{where}X is empty (0 interactions); at least one row is required.")
    missing = [c for c in (USER_COL, ITEM_COL) if c not in frame.columns]
    if require_group and GROUP_COL not in frame.columns:
        missing.append(GROUP_COL)
    if missing:
        hint = ""
        if GROUP_COL in missing:
            hint = (
                " A 'group_id' column comes from a grouper such as KMeansGrouper "
                "(put it before this estimator in a Pipeline) or from your own group labels."
            )
        raise ValueError(
            f"{where}X is missing the required column(s) {missing}; it has columns "
            f"{list(map(str, frame.columns))[:20]}.{hint}"
        )
    if frame.columns.duplicated().any():
        dup = sorted(set(map(str, frame.columns[frame.columns.duplicated()])))
        raise ValueError(f"{where}X has duplicated column names {dup}.")
    for col in ID_COLUMNS:
        if col in frame.columns:
            n_missing = int(frame[col].isna().sum())
            if n_missing:
                raise ValueError(
                    f"{where}column '{col}' has {n_missing} missing value(s); every "
                    f"interaction needs a {col.split('_')[0]} id."
                )
    return frame


def _array_to_frame(X, where, estimator_name=None, n_columns=None):
    try:
        array = np.asarray(X)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{where}X could not be converted to a 2-D array: {exc}") from exc
    # the wording of the messages below follows scikit-learn's own (its estimator checks
    # match them), followed by what the data contract expects
    if array.dtype.kind == "c":
        raise ValueError(
            f"{where}Complex data not supported: X has complex values; ids and features "
            "must be real."
        )
    if array.dtype.kind in "mM":
        raise TypeError(
            f"{where}X has {array.dtype} values; ids and features of an array X must be "
            "numbers (convert dates to numbers, or pass a DataFrame)."
        )
    if array.ndim != 2:
        raise ValueError(
            f"{where}X must be 2-D (n_interactions, n_columns) with user ids in column 0 and "
            f"item ids in column 1; got an array with {array.ndim} dimension(s). Reshape "
            "your data, e.g. with array.reshape(1, -1) for a single interaction."
        )
    if array.shape[0] == 0:
        raise ValueError(f"{where}X is empty (0 interactions); at least one row is required.")
    if n_columns is not None and array.shape[1] != n_columns:
        raise ValueError(
            f"X has {array.shape[1]} features, but {estimator_name or 'the estimator'} is "
            f"expecting {n_columns} features as input (array X keeps the columns it had in "
            "fit; pass a DataFrame to give extra columns)."
        )
    if array.shape[1] < 2:
        raise ValueError(
            f"{where}X has {array.shape[1]} feature(s) (shape={array.shape}) while a minimum "
            "of 2 is required: X must have at least 2 columns (user id, item id)."
        )
    columns = [USER_COL, ITEM_COL] + [f"ctx_{j}" for j in range(2, array.shape[1])]
    frame = pd.DataFrame({USER_COL: array[:, 0], ITEM_COL: array[:, 1]})
    if array.shape[1] > 2:
        try:
            extra = array[:, 2:].astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{where}columns 2 and beyond of an array X are numeric features; {exc}"
            ) from exc
        if not np.isfinite(extra).all():
            raise ValueError(f"{where}X has NaN or infinite feature values in columns 2+.")
        frame = pd.concat([frame, pd.DataFrame(extra, columns=columns[2:])], axis=1)
    if array.dtype.kind == "f":
        for col in (USER_COL, ITEM_COL):
            values = frame[col].to_numpy(dtype=np.float64)
            if not np.isfinite(values).all():
                raise ValueError(f"{where}column '{col}' has NaN or infinite ids.")
            # a float array stores integer ids as 1.0, 2.0...: give them back their int form so
            # that numpy and DataFrame inputs name the same users and items
            if np.array_equal(values, np.round(values)):
                frame[col] = values.astype(np.int64)
    return frame


def check_group_rows(X, *, estimator_name=None):
    """Validate rows ``(group_id, item_id, ...)`` of group queries and return them.

    Parameters
    ----------
    X : pandas.DataFrame
        One row per (group, item) pair, with columns ``group_id`` and ``item_id`` (other
        columns are kept).
    estimator_name : str, optional
        Named in error messages.

    Returns
    -------
    X : pandas.DataFrame
        The input itself (never modified).

    Raises
    ------
    TypeError
        When ``X`` is not a DataFrame.
    ValueError
        When ``X`` is empty, lacks ``group_id`` or ``item_id``, or has missing ids.
    """
    where = f"{estimator_name}: " if estimator_name else ""
    if not isinstance(X, pd.DataFrame):
        raise TypeError(
            f"{where}X must be a pandas DataFrame with columns 'group_id' and 'item_id'; "
            f"got {type(X).__name__}."
        )
    if X.shape[0] == 0:
        raise ValueError(
            f"{where}X is empty (0 rows); at least one (group_id, item_id) row is required."
        )
    missing = [c for c in (GROUP_COL, ITEM_COL) if c not in X.columns]
    if missing:
        raise ValueError(
            f"{where}X is missing the required column(s) {missing}; it has "
            f"{list(map(str, X.columns))[:20]}."
        )
    for col in (GROUP_COL, ITEM_COL):
        n_missing = int(X[col].isna().sum())
        if n_missing:
            raise ValueError(f"{where}column '{col}' has {n_missing} missing value(s).")
    return X


def check_ratings(y, n_rows=None, *, estimator_name=None):
    """Validate ratings: a 1-D array of finite numbers, one per interaction.

    Parameters
    ----------
    y : array-like of shape (n_interactions,) or (n_interactions, 1)
        Ratings.
    n_rows : int, optional
        Expected length (the number of rows of ``X``).
    estimator_name : str, optional
        Named in error messages.

    Returns
    -------
    y : ndarray of shape (n_interactions,), dtype float64

    Examples
    --------
    >>> from sk_grouprec._validation import check_ratings
    >>> check_ratings([4, 3.5, 1])
    array([4. , 3.5, 1. ])
    """
    where = f"{estimator_name}: " if estimator_name else ""
    if y is None:
        raise ValueError(
            f"{where}y (the ratings) is required for fitting: this estimator requires y to be "
            "passed, but the target y is None."
        )
    values = y.to_numpy() if isinstance(y, (pd.Series, pd.DataFrame)) else np.asarray(y)
    if values.ndim == 2 and values.shape[1] == 1:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected "
            f"({where}the ratings are read as y.ravel()); pass y of shape (n_interactions,).",
            DataConversionWarning,
            stacklevel=2,
        )
        values = values[:, 0]
    if values.ndim != 1:
        raise ValueError(f"{where}y must be 1-D (one rating per interaction); got shape {values.shape}.")
    if values.dtype.kind == "c":
        raise ValueError(
            f"{where}Complex data not supported: y has complex values; ratings must be real."
        )
    if values.dtype.kind in "mM":
        raise ValueError(
            f"{where}y must hold numeric ratings; got dtype {values.dtype} (dates are not "
            "ratings)."
        )
    if values.dtype.kind not in "biuf":
        try:
            values = values.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{where}y must hold numeric ratings; got dtype {values.dtype} ({exc})."
            ) from exc
    values = values.astype(np.float64, copy=False)
    bad = ~np.isfinite(values)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{where}y has {int(bad.sum())} NaN or infinite rating(s) (first at position {first}); "
            "ratings must be finite numbers."
        )
    if n_rows is not None and values.shape[0] != n_rows:
        raise ValueError(
            f"{where}X and y have different lengths: X has {n_rows} rows, y has {values.shape[0]}."
        )
    if values.shape[0] == 0:
        raise ValueError(f"{where}y is empty; at least one rating is required.")
    return values


def select_features(X, features, prefix):
    """Return the feature columns of ``X`` chosen by the prefix rule or by ``features``.

    Parameters
    ----------
    X : pandas.DataFrame
        Validated interactions.
    features : None, "auto", list of str, or callable
        ``None`` or ``"auto"`` applies the prefix rule (columns starting with ``prefix``,
        id columns excluded); a list names the columns; a callable (such as
        :func:`sklearn.compose.make_column_selector`) receives ``X`` and returns names.
        An empty list selects no feature. Id columns are never features: a list naming one
        is an error, and a selector's match on one (``"^user_"`` matches ``user_id``) is
        left out.
    prefix : str
        ``"user_"``, ``"item_"`` or ``"ctx_"``.

    Returns
    -------
    columns : list of str

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_grouprec._validation import select_features
    >>> X = pd.DataFrame({"user_id": [1], "item_id": [2], "user_age": [30], "item_year": [1995]})
    >>> select_features(X, None, "user_")
    ['user_age']
    """
    if features is None or (isinstance(features, str) and features == "auto"):
        return [c for c in X.columns if isinstance(c, str) and c.startswith(prefix) and c not in ID_COLUMNS]
    if callable(features):
        chosen = features(X)
        chosen = list(chosen) if not isinstance(chosen, str) else [chosen]
        # ids are never features: a selector such as make_column_selector("^user_") matches
        # "user_id" too, which the contract excludes by definition (documented above).
        chosen = [c for c in chosen if c not in ID_COLUMNS]
    elif isinstance(features, str):
        chosen = [features]
    elif isinstance(features, Sequence) or isinstance(features, (np.ndarray, pd.Index)):
        chosen = list(features)
    else:
        raise TypeError(
            f"features must be None, 'auto', a list of column names or a callable; got "
            f"{type(features).__name__}."
        )
    unknown = [c for c in chosen if c not in X.columns]
    if unknown:
        raise ValueError(f"feature column(s) {unknown} are not in X; X has {list(X.columns)[:20]}.")
    ids = [c for c in chosen if c in ID_COLUMNS]
    if ids:
        raise ValueError(f"id column(s) {ids} cannot be used as features.")
    return chosen


def entity_table(X, id_col, feature_cols):
    """One row per entity (user or item) with its features, first occurrence kept.

    Parameters
    ----------
    X : pandas.DataFrame
    id_col : str
    feature_cols : list of str

    Returns
    -------
    table : pandas.DataFrame indexed by ``id_col``
    """
    table = X[[id_col, *feature_cols]].drop_duplicates(subset=id_col, keep="first")
    return table.set_index(id_col)


def check_positive_int(value, name, *, minimum=1):
    """Raise a clear error unless ``value`` is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    return int(value)


def check_non_negative(value, name):
    """Raise a clear error unless ``value`` is a finite real number >= 0."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not np.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"{name} must be a finite number >= 0; got {value!r}.")
    return float(value)


def check_choice(value, name, choices):
    """Raise a clear error unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(map(repr, choices))}; got {value!r}.")
    return value

