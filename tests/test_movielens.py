"""MovieLens 100K loader: on a tiny fake copy, then on the real data (realdata)."""

import dataclasses
import hashlib

import numpy as np
import pandas as pd
import pytest
from test_datasets_fetch import fake_ml100k_files, patch_movielens

from sk_grouprec._validation import check_interactions, check_ratings, select_features
from sk_grouprec.datasets import _movielens
from sk_grouprec.datasets._movielens import (
    COLUMNS,
    GENRE_COLUMNS,
    load_movielens_100k,
    load_movielens_100k_split,
)

EXPECTED_GENRES = [
    "item_genre_unknown", "item_genre_action", "item_genre_adventure", "item_genre_animation",
    "item_genre_childrens", "item_genre_comedy", "item_genre_crime", "item_genre_documentary",
    "item_genre_drama", "item_genre_fantasy", "item_genre_film_noir", "item_genre_horror",
    "item_genre_musical", "item_genre_mystery", "item_genre_romance", "item_genre_sci_fi",
    "item_genre_thriller", "item_genre_war", "item_genre_western",
]  # fmt: skip


def check_columns(X):
    assert list(X.columns) == COLUMNS
    for col in ("user_id", "item_id", "user_age", "item_year", "timestamp"):
        assert X[col].dtype == np.int64, col
    for col in ("user_gender", "user_occupation", "user_zip_region"):
        assert isinstance(X[col].dtype, pd.CategoricalDtype), col
    assert X["item_year_missing"].dtype == bool
    assert (X[GENRE_COLUMNS].dtypes == np.uint8).all()
    assert not X.isna().any().any()


# --- a tiny fake copy (no real data needed) ----------------------------------------------------


@pytest.fixture
def fake_home(tmp_path, monkeypatch):
    files = fake_ml100k_files()
    patch_movielens(monkeypatch, "http://127.0.0.1:9/never.zip")
    folder = tmp_path / "ml-100k"
    folder.mkdir()
    for name, payload in files.items():
        (folder / name).write_bytes(payload)
    return tmp_path


def test_genre_column_names():
    assert GENRE_COLUMNS == EXPECTED_GENRES


def test_fake_bunch(fake_home):
    bunch = load_movielens_100k(fake_home, download_if_missing=False)
    X, y = bunch.data, bunch.target
    check_columns(X)
    assert X.shape == (8, len(COLUMNS))
    assert y.name == "rating" and y.dtype == np.float64
    assert y.tolist() == [5, 3, 4, 2, 1, 4, 5, 3]
    assert bunch.frame["rating"].tolist() == y.tolist()
    assert bunch.feature_names == [c for c in COLUMNS if c.startswith(("user_", "item_"))][2:]
    assert bunch.target_names == ["rating"]
    assert "redistribute" in bunch.DESCR and "Harper" in bunch.DESCR
    # The tables, one row per id.
    users, items = bunch.user_table, bunch.item_table
    assert users.index.tolist() == [1, 2, 3] and items.index.tolist() == [1, 2, 3, 4]
    assert users["user_zip_region"].tolist() == ["8", "other", "0"]  # Canadian code -> other
    assert users["zip_code"].tolist() == ["85711", "T8H1N", "02067"]  # leading zero kept
    assert items.loc[2, "title"] == "Caf\xe9 Noir (1990)"  # u.item is latin-1
    assert items.loc[2, "item_genre_film_noir"] == 1 and items.loc[1, "item_genre_comedy"] == 1
    # The missing release year is filled with the median (1995) and flagged.
    assert items["item_year"].tolist() == [1995, 1990, 1995, 1998]
    assert items["item_year_missing"].tolist() == [False, False, True, False]
    assert pd.isna(items.loc[3, "release_date"])
    # The features of a rating are its user's and its item's.
    row = X.iloc[3]  # user 2 rated item 1
    assert (row.user_id, row.item_id, row.user_age, row.user_gender) == (2, 1, 53, "F")
    assert (row.user_occupation, row.item_year, row.item_genre_comedy) == ("other", 1995, 1)
    assert row.timestamp == 880000003


def test_fake_return_X_y_and_contract(fake_home):
    X, y = load_movielens_100k(fake_home, download_if_missing=False, return_X_y=True)
    assert isinstance(X, pd.DataFrame) and isinstance(y, pd.Series)
    assert check_interactions(X) is X
    check_ratings(y, len(X))
    assert select_features(X, None, "user_") == _movielens.USER_FEATURES
    assert select_features(X, None, "item_") == _movielens.ITEM_FEATURES
    assert select_features(X, None, "ctx_") == []


def test_fake_split(fake_home):
    X_train, X_test, y_train, y_test = load_movielens_100k_split(
        "u2", data_home=fake_home, download_if_missing=False
    )
    check_columns(X_train)
    check_columns(X_test)
    assert (len(X_train), len(X_test), len(y_train), len(y_test)) == (6, 2, 6, 2)
    assert y_test.name == "rating" and y_test.dtype == np.float64


@pytest.mark.parametrize("split", ["u6", "u1.base", "", None, 1])
def test_unknown_split_lists_valid_names(split):
    with pytest.raises(ValueError, match=r"'u1', 'u2', 'u3', 'u4', 'u5', 'ua', 'ub'"):
        load_movielens_100k_split(split)


def test_corrupt_split_file_raises(fake_home):
    (fake_home / "ml-100k" / "ua.test").write_bytes(b"1\t1\t5\t1\n")
    with pytest.raises(OSError, match="ua.test"):
        load_movielens_100k_split("ua", data_home=fake_home)


def test_rating_of_unknown_user_raises(fake_home, monkeypatch):
    data = fake_home / "ml-100k" / "u.data"
    data.write_bytes(data.read_bytes() + b"7\t1\t5\t1\n")
    files = (("u.data", hashlib.md5(data.read_bytes()).hexdigest()), *_movielens.ARCHIVE.files[1:])
    monkeypatch.setattr(_movielens, "ARCHIVE", dataclasses.replace(_movielens.ARCHIVE, files=files))
    with pytest.raises(ValueError, match="user_id absent from u.user"):
        load_movielens_100k(fake_home)


# --- the real data -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def movielens(data_home):
    return load_movielens_100k(data_home, download_if_missing=False)


@pytest.mark.realdata
def test_real_shape_and_counts(movielens):
    X, y = movielens.data, movielens.target
    assert X.shape == (100000, 28)
    assert X["user_id"].nunique() == 943 and X["item_id"].nunique() == 1682
    assert movielens.user_table.shape == (943, 5) and movielens.item_table.shape == (1682, 24)
    assert set(np.unique(y)) == {1.0, 2.0, 3.0, 4.0, 5.0}
    assert not X.duplicated(["user_id", "item_id"]).any()
    assert X.groupby("user_id").size().min() >= 20
    assert round(float(y.mean()), 5) == 3.52986


@pytest.mark.realdata
def test_real_columns_dtypes_no_nan(movielens):
    X = movielens.data
    check_columns(X)
    assert movielens.feature_names == _movielens.FEATURE_NAMES
    assert X["user_gender"].cat.categories.tolist() == ["F", "M"]
    assert len(X["user_occupation"].cat.categories) == 21
    assert X["user_zip_region"].value_counts()["other"] == 2086
    assert X["timestamp"].between(874724710, 893286638).all()
    items = movielens.item_table
    assert items.index[items["item_year_missing"]].tolist() == [267]
    assert items.loc[267, "item_year"] == items["item_year"].median()
    assert items[GENRE_COLUMNS].isin([0, 1]).all().all()
    assert items["item_genre_film_noir"].sum() == 24


@pytest.mark.realdata
def test_real_return_X_y(data_home):
    X, y = load_movielens_100k(data_home, return_X_y=True)
    assert isinstance(X, pd.DataFrame) and isinstance(y, pd.Series)
    assert y.name == "rating" and y.dtype == np.float64 and len(X) == len(y) == 100000


@pytest.mark.realdata
@pytest.mark.parametrize(
    "split, n_test", [("u1", 20000), ("u2", 20000), ("u3", 20000), ("u4", 20000),
                      ("u5", 20000), ("ua", 9430), ("ub", 9430)]
)  # fmt: skip
def test_real_splits(data_home, movielens, split, n_test):
    X_train, X_test, y_train, y_test = load_movielens_100k_split(split, data_home=data_home)
    assert len(X_test) == len(y_test) == n_test
    assert len(X_train) == len(y_train) == 100000 - n_test
    assert list(X_train.columns) == list(X_test.columns) == COLUMNS
    assert not X_train.isna().any().any() and not X_test.isna().any().any()
    key = ["user_id", "item_id"]
    train_pairs = pd.MultiIndex.from_frame(X_train[key])
    test_pairs = pd.MultiIndex.from_frame(X_test[key])
    assert not train_pairs.isin(test_pairs).any()  # disjoint
    union = train_pairs.append(test_pairs)
    assert union.sort_values().equals(pd.MultiIndex.from_frame(movielens.data[key]).sort_values())
    # Same ratings and features as in the full data.
    full = movielens.frame.set_index(key)
    joined = X_test.assign(rating=y_test).set_index(key)
    pd.testing.assert_frame_equal(joined, full.loc[joined.index])
    if split in ("ua", "ub"):
        assert (X_test.groupby("user_id").size() == 10).all()
