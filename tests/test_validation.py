"""The data contract's checks (sk_grouprec._validation) and IdIndex."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_selector
from sklearn.exceptions import DataConversionWarning

from sk_grouprec._base import IdIndex
from sk_grouprec._validation import (
    check_choice,
    check_interactions,
    check_non_negative,
    check_positive_int,
    check_ratings,
    entity_table,
    select_features,
)


@pytest.fixture
def frame():
    return pd.DataFrame(
        {
            "user_id": [1, 1, 2],
            "item_id": ["a", "b", "a"],
            "user_age": [30, 30, 40],
            "user_job": ["x", "x", "y"],
            "item_year": [1990, 2000, 1990],
            "ctx_day": [1, 2, 3],
            "timestamp": [0, 1, 2],
        }
    )


def test_dataframe_passes_through_unchanged(frame):
    assert check_interactions(frame) is frame


def test_numpy_array_becomes_contract_frame():
    out = check_interactions(np.array([[1, 2, 0.5, 1.0], [3, 4, 1.5, 2.0]]))
    assert list(out.columns) == ["user_id", "item_id", "ctx_2", "ctx_3"]
    assert out["ctx_3"].tolist() == [1.0, 2.0]


@pytest.mark.parametrize(
    "X, error, message",
    [
        (pd.DataFrame({"user": [1], "item_id": [2]}), ValueError, "user_id"),
        (pd.DataFrame({"user_id": [1], "itemid": [2]}), ValueError, "item_id"),
        (pd.DataFrame({"user_id": [], "item_id": []}), ValueError, "empty"),
        (pd.DataFrame({"user_id": [1, None], "item_id": [2, 3]}), ValueError, "missing value"),
        (np.array([1, 2, 3]), ValueError, "2-D"),
        (np.array([[1], [2]]), ValueError, "at least 2 columns"),
        (np.array([[1.0, np.nan]]), ValueError, "NaN or infinite ids"),
        (np.array([[1, 2, np.inf]]), ValueError, "NaN or infinite feature"),
        (np.empty((0, 2)), ValueError, "empty"),
        ("ratings.csv", TypeError, "DataFrame"),
        (None, TypeError, "DataFrame"),
    ],
)
def test_bad_interactions(X, error, message):
    with pytest.raises(error, match=message):
        check_interactions(X)


def test_group_required_error_points_to_grouper(frame):
    with pytest.raises(ValueError, match="KMeansGrouper"):
        check_interactions(frame, require_group=True)


def test_duplicated_columns_rejected():
    X = pd.DataFrame([[1, 2, 3]], columns=["user_id", "item_id", "user_id"])
    with pytest.raises(ValueError, match="duplicated column"):
        check_interactions(X)


def test_ratings_are_float64_1d():
    out = check_ratings(pd.Series([1, 2, 3]), 3)
    assert out.dtype == np.float64 and out.shape == (3,)
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        assert check_ratings(np.array([[1.0], [2.0]])).shape == (2,)


@pytest.mark.parametrize(
    "y, n_rows, message",
    [
        ([1.0, np.nan], 2, "NaN or infinite"),
        ([1.0, np.inf], 2, "NaN or infinite"),
        ([1.0, 2.0], 3, "different lengths"),
        (["good", "bad"], 2, "numeric ratings"),
        (np.ones((2, 2)), 2, "1-D"),
        ([], 0, "empty"),
        (None, 1, "required"),
    ],
)
def test_bad_ratings(y, n_rows, message):
    with pytest.raises(ValueError, match=message):
        check_ratings(y, n_rows)


def test_numeric_strings_are_not_silently_accepted_as_other_types():
    assert check_ratings(np.array(["4", "3.5"])).tolist() == [4.0, 3.5]


def test_select_features_prefix_rule(frame):
    assert select_features(frame, None, "user_") == ["user_age", "user_job"]
    assert select_features(frame, "auto", "item_") == ["item_year"]
    assert select_features(frame, None, "ctx_") == ["ctx_day"]


def test_select_features_list_and_selector(frame):
    assert select_features(frame, ["user_age"], "user_") == ["user_age"]
    assert select_features(frame, [], "user_") == []
    selector = make_column_selector(pattern="^user_", dtype_include="number")
    assert select_features(frame, selector, "user_") == ["user_age"]


@pytest.mark.parametrize(
    "features, error, message",
    [
        (["user_height"], ValueError, "not in X"),
        (["user_id"], ValueError, "id column"),
        (3, TypeError, "list of column names"),
    ],
)
def test_select_features_errors(frame, features, error, message):
    with pytest.raises(error, match=message):
        select_features(frame, features, "user_")


def test_entity_table_one_row_per_user(frame):
    table = entity_table(frame, "user_id", ["user_age"])
    assert table.index.tolist() == [1, 2]
    assert table["user_age"].tolist() == [30, 40]


def test_scalar_checks():
    assert check_positive_int(3, "k") == 3
    assert check_non_negative(0.0, "reg") == 0.0
    assert check_choice("a", "mode", {"a", "b"}) == "a"
    for value in (0, 1.5, True, "2"):
        with pytest.raises(ValueError, match="k must be an integer"):
            check_positive_int(value, "k")
    for value in (-1, np.nan, "x"):
        with pytest.raises(ValueError, match="reg must be a finite number"):
            check_non_negative(value, "reg")
    with pytest.raises(ValueError, match="mode must be one of"):
        check_choice("c", "mode", {"a", "b"})


def test_id_index_maps_and_inverts():
    index = IdIndex(np.array([10, 5, 10, 7]))
    np.testing.assert_array_equal(index.transform([7, 10, 99]), [2, 0, -1])
    np.testing.assert_array_equal(index.inverse_transform([1, 2]), [5, 7])


def test_id_index_mixed_types():
    index = IdIndex(pd.Series(["a", 1, "a"], dtype=object))
    np.testing.assert_array_equal(index.transform([1, "a", "b"]), [1, 0, -1])
