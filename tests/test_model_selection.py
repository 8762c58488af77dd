"""LeaveKOut and train_test_split_per_entity: which rows are held out, and use as cv=."""

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV, check_cv, cross_validate

from sk_grouprec.baselines import BaselineOnly
from sk_grouprec.metrics import make_topn_scorer
from sk_grouprec.model_selection import LeaveKOut, train_test_split_per_entity


@pytest.fixture
def X():
    return pd.DataFrame(
        {
            "user_id": [1, 1, 2, 1, 3, 3, 1, 2],
            "item_id": [10, 11, 10, 12, 11, 13, 14, 15],
            "timestamp": [5, 9, 1, 7, 2, 3, 9, 0],
        }
    )


def test_last_by_time_ties_by_row_order(X):
    train, test = next(LeaveKOut(time_column="timestamp").split(X))
    # user 1: times 5, 9, 7, 9 -> the last is the later of the two 9s (row 6)
    # user 2: times 1, 0 -> row 2; user 3: times 2, 3 -> row 5
    assert test.tolist() == [2, 5, 6]
    assert train.tolist() == [0, 1, 3, 4, 7]


def test_last_by_row_order_and_k2(X):
    train, test = next(LeaveKOut(k=2).split(X))
    # user 1 has 4 rows -> its last 2 (rows 3, 6); users 2 and 3 have 2 <= k: all in train
    assert test.tolist() == [3, 6]
    assert np.sort(np.concatenate([train, test])).tolist() == list(range(8))


def test_entities_with_k_or_fewer_stay_in_train(X):
    train, test = next(LeaveKOut(k=4).split(X))
    assert test.tolist() == [] and train.tolist() == list(range(8))


def test_random_is_reproducible_and_k_per_entity():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"user_id": rng.integers(0, 20, 500), "item_id": np.arange(500)})
    splitter = LeaveKOut(k=3, strategy="random", random_state=7)
    _, test = next(splitter.split(X))
    counts = X["user_id"].value_counts()
    held = X.iloc[test]["user_id"].value_counts()
    assert (held == 3).all() and set(held.index) == set(counts.index[counts > 3])
    np.testing.assert_array_equal(test, next(splitter.split(X))[1])
    other = next(LeaveKOut(k=3, strategy="random", random_state=8).split(X))[1]
    assert not np.array_equal(test, other)
    last = next(LeaveKOut(k=3).split(X))[1]
    assert not np.array_equal(test, last)


def test_by_group_and_array_input():
    X = pd.DataFrame({"group_id": ["a", "b", "a", "a"], "item_id": [1, 2, 3, 4]})
    assert next(LeaveKOut(by="group").split(X))[1].tolist() == [3]
    array = np.array([[0, 1], [0, 2], [1, 3], [0, 4], [1, 5]])
    assert next(LeaveKOut().split(array))[1].tolist() == [3, 4]


def test_time_column_of_dates():
    X = pd.DataFrame(
        {"user_id": [0, 0, 0], "item_id": [1, 2, 3],
         "when": pd.to_datetime(["2024-03-01", "2024-05-01", "2024-01-01"])}
    )  # fmt: skip
    assert next(LeaveKOut(time_column="when").split(X))[1].tolist() == [1]


@pytest.mark.parametrize(
    "splitter, X, message",
    [
        (LeaveKOut(k=0), None, "k must be an integer >= 1"),
        (LeaveKOut(by="item"), None, "by must be one of"),
        (LeaveKOut(strategy="first"), None, "strategy must be one of"),
        (LeaveKOut(time_column="nope"), None, "no column 'nope'"),
        (LeaveKOut(by="group"), None, "no column 'group_id'"),
        (LeaveKOut(time_column="t"), np.zeros((3, 2)), "time_column needs a DataFrame"),
        (LeaveKOut(), np.zeros(3), "X must be 2-D"),
        (LeaveKOut(), pd.DataFrame({"user_id": [], "item_id": []}), "X is empty"),
        (LeaveKOut(), pd.DataFrame({"user_id": [1, None], "item_id": [1, 2]}), "missing user_id"),
        (LeaveKOut(time_column="t"),
         pd.DataFrame({"user_id": [1, 1], "item_id": [1, 2], "t": [1, None]}), "missing values"),
    ],
)  # fmt: skip
def test_errors(splitter, X, message):
    if X is None:
        X = pd.DataFrame({"user_id": [1, 1], "item_id": [1, 2]})
    with pytest.raises(ValueError, match=message):
        next(splitter.split(X))


def test_interface_and_repr():
    splitter = LeaveKOut(k=2, by="group", strategy="random", random_state=0)
    assert splitter.get_n_splits() == 1
    assert check_cv(splitter) is splitter
    assert repr(splitter) == (
        "LeaveKOut(k=2, by='group', strategy='random', time_column=None, random_state=0)"
    )


def test_train_test_split_per_entity_frames_and_y(X):
    y = np.arange(8.0)
    X_train, X_test, y_train, y_test = train_test_split_per_entity(X, y, time_column="timestamp")
    assert X_test.index.tolist() == [2, 5, 6] and y_test.tolist() == [2.0, 5.0, 6.0]
    assert X_train.index.tolist() == [0, 1, 3, 4, 7] and y_train.tolist() == [0, 1, 3, 4, 7]
    with pytest.raises(ValueError, match="different lengths"):
        train_test_split_per_entity(X, y[:3])


def test_as_cv_in_grid_search_and_cross_validate():
    rng = np.random.default_rng(1)
    users = np.repeat(np.arange(25), 6)
    X = pd.DataFrame({"user_id": users, "item_id": (users % 3) * 8 + rng.integers(0, 8, 150)})
    X = X.drop_duplicates(ignore_index=True)
    y = rng.integers(1, 6, len(X)).astype(float)
    splitter = LeaveKOut(k=1)
    result = cross_validate(
        BaselineOnly(), X, y, cv=splitter, scoring=make_topn_scorer("hr", k=5, n_negatives=10)
    )
    assert result["test_score"].shape == (1,) and 0 <= result["test_score"][0] <= 1
    search = GridSearchCV(
        BaselineOnly(), {"reg_u": [1.0, 10.0]}, cv=splitter,
        scoring=make_topn_scorer("recall", k=5, protocol="full"),
    ).fit(X, y)  # fmt: skip
    assert search.cv_results_["mean_test_score"].shape == (2,)
    train, test = next(splitter.split(X))
    assert set(X.iloc[test]["user_id"]) == set(X["user_id"])  # everyone had > 1 row
