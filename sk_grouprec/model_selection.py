"""Splitting interactions per user or per group, for tuning without touching the test files.

- :class:`LeaveKOut`: a cross-validation splitter (``GridSearchCV(cv=LeaveKOut())``) that
  holds out the last (by time or row order) or ``k`` random interactions of every user or
  group;
- :func:`train_test_split_per_entity`: the same split, returned as frames.

With :func:`sk_grouprec.metrics.make_topn_scorer` this tunes a top-N recommender on a
validation split carved out of the training data, as the published protocols require.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from ._validation import GROUP_COL, USER_COL, check_choice, check_positive_int

__all__ = ["LeaveKOut", "train_test_split_per_entity"]

BY = {"user": USER_COL, "group": GROUP_COL}
STRATEGIES = ("last", "random")


class LeaveKOut:
    """Hold out ``k`` interactions of every user (or group): one train/test split.

    For each user (``by="user"``, column ``user_id``) or group (``by="group"``, column
    ``group_id``) with more than ``k`` interactions, ``k`` of its rows go to the test
    indices: its last ``k`` by ``time_column`` (ties and the no-time case follow row
    order: a later row is a later interaction) with ``strategy="last"``, or ``k`` drawn at
    random with ``strategy="random"``. A user or group with ``k`` interactions or fewer
    stays entirely in train (holding them all out would leave nothing to learn it from).
    Every row is in exactly one of the two index arrays.

    It follows scikit-learn's splitter interface, so it can be given as ``cv=`` to
    ``GridSearchCV`` or ``cross_validate``; with :func:`~sk_grouprec.metrics.make_topn_scorer`
    the held-out rows are the positives to rank.

    Parameters
    ----------
    k : int, default=1
        Interactions held out per user or group, ``>= 1``.
    by : {"user", "group"}, default="user"
        Split per ``user_id`` or per ``group_id``. A 2-D array ``X`` holds the id in
        column 0.
    strategy : {"last", "random"}, default="last"
        Which interactions to hold out.
    time_column : str, default=None
        Column of ``X`` ordering the interactions for ``strategy="last"`` (e.g.
        ``"timestamp"``); ``None`` uses row order. Ignored by ``"random"``.
    random_state : int, RandomState instance or None, default=None
        Seed of ``strategy="random"``.

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_grouprec.model_selection import LeaveKOut
    >>> X = pd.DataFrame({"user_id": [1, 1, 2, 1, 3, 3],
    ...                   "item_id": [10, 11, 10, 12, 11, 13],
    ...                   "timestamp": [5, 9, 1, 7, 2, 3]})
    >>> train, test = next(LeaveKOut(time_column="timestamp").split(X))
    >>> train.tolist(), test.tolist()  # user 2 has one row: kept in train
    ([0, 2, 3, 4], [1, 5])
    """

    def __init__(self, k=1, *, by="user", strategy="last", time_column=None, random_state=None):
        self.k = k
        self.by = by
        self.strategy = strategy
        self.time_column = time_column
        self.random_state = random_state

    def get_n_splits(self, X=None, y=None, groups=None):
        """Number of splits: 1.

        Parameters
        ----------
        X, y, groups : object
            Ignored; present for the scikit-learn interface.

        Returns
        -------
        n_splits : int
            Always 1.
        """
        return 1

    def split(self, X, y=None, groups=None):
        """Yield the train and test indices of the split, once.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_interactions, n_columns)
            Interactions with the ``user_id`` (``group_id``) column, or an array whose
            column 0 is that id.
        y : array-like, default=None
            Ignored.
        groups : object, default=None
            Ignored (the entities come from ``X``).

        Yields
        ------
        train : ndarray of int
            Row positions of the training rows, increasing.
        test : ndarray of int
            Row positions of the held-out rows, increasing.
        """
        test = self._test_mask(X)
        yield np.flatnonzero(~test), np.flatnonzero(test)

    def _test_mask(self, X):
        k = check_positive_int(self.k, "k")
        check_choice(self.by, "by", tuple(BY))
        check_choice(self.strategy, "strategy", STRATEGIES)
        entity, order_key = self._columns(X)
        n = entity.shape[0]
        codes, uniques = pd.factorize(entity, sort=False)
        if (codes < 0).any():
            raise ValueError(f"X has {int((codes < 0).sum())} missing {BY[self.by]}(s).")
        if self.strategy == "random":
            order_key = check_random_state(self.random_state).permutation(n)
        elif order_key is None:
            order_key = np.arange(n)
        order = np.lexsort((np.arange(n), order_key, codes))
        counts = np.bincount(codes, minlength=uniques.shape[0])
        ends = np.cumsum(counts)
        from_end = ends[codes[order]] - 1 - np.arange(n)  # 0 = the entity's last row
        held = (from_end < k) & (counts[codes[order]] > k)
        test = np.zeros(n, dtype=bool)
        test[order[held]] = True
        return test

    def _columns(self, X):
        id_col = BY[self.by]
        if isinstance(X, pd.DataFrame):
            if id_col not in X.columns:
                raise ValueError(f"X has no column {id_col!r} (LeaveKOut(by={self.by!r})).")
            entity = X[id_col].to_numpy()
            time = None
            if self.time_column is not None and self.strategy == "last":
                if self.time_column not in X.columns:
                    raise ValueError(f"X has no column {self.time_column!r} (time_column).")
                time = X[self.time_column].to_numpy()
        else:
            array = np.asarray(X)
            if array.ndim != 2:
                raise ValueError(f"X must be 2-D; got shape {array.shape}.")
            if self.time_column is not None and self.strategy == "last":
                raise ValueError("time_column needs a DataFrame X (columns are named).")
            entity, time = array[:, 0], None
        if entity.shape[0] == 0:
            raise ValueError("X is empty; at least one interaction is required.")
        if time is not None:
            if pd.isna(time).any():
                raise ValueError(f"time column {self.time_column!r} has missing values.")
            time = pd.factorize(time, sort=True)[0]  # any ordered dtype (numbers, dates)
        return entity, time

    def __repr__(self):
        return (
            f"LeaveKOut(k={self.k!r}, by={self.by!r}, strategy={self.strategy!r}, "
            f"time_column={self.time_column!r}, random_state={self.random_state!r})"
        )


def train_test_split_per_entity(
    X, y=None, *, k=1, by="user", strategy="last", time_column=None, random_state=None
):
    """Split interactions into train and held-out rows, ``k`` per user or group.

    The split of :class:`LeaveKOut` (same parameters), returned as data: rows keep their
    index and their order.

    Parameters
    ----------
    X : pandas.DataFrame or array-like of shape (n_interactions, n_columns)
        Interactions with ``user_id`` (``group_id`` for ``by="group"``).
    y : array-like of shape (n_interactions,), default=None
        Ratings, split alongside when given.
    k, by, strategy, time_column, random_state
        See :class:`LeaveKOut`.

    Returns
    -------
    X_train, X_test : same type as X
    y_train, y_test : same type as y
        Only when ``y`` is given.

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_grouprec.model_selection import train_test_split_per_entity
    >>> X = pd.DataFrame({"group_id": [0, 0, 0, 1, 1], "item_id": [1, 2, 3, 1, 4]})
    >>> X_train, X_test = train_test_split_per_entity(X, by="group")
    >>> X_test
       group_id  item_id
    2         0        3
    4         1        4
    """
    splitter = LeaveKOut(
        k=k, by=by, strategy=strategy, time_column=time_column, random_state=random_state
    )
    train, test = next(splitter.split(X))
    parts = [_take(X, train), _take(X, test)]
    if y is not None:
        if len(y) != len(X):
            raise ValueError(f"X and y have different lengths: {len(X)} and {len(y)}.")
        parts += [_take(y, train), _take(y, test)]
    return tuple(parts)


def _take(data, rows):
    if isinstance(data, (pd.DataFrame, pd.Series)):
        return data.iloc[rows]
    return np.asarray(data)[rows]
