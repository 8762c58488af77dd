"""ITM-Rec loader: every quirk of the published files, on a tiny fake copy and on the real data."""

import dataclasses
import hashlib
import io
import zipfile

import numpy as np
import pandas as pd
import pytest
from test_datasets_fetch import fake_itm_rec_archive, zip_bytes

from sk_grouprec._validation import check_interactions, check_ratings, select_features
from sk_grouprec.datasets import _itm_rec
from sk_grouprec.datasets._itm_rec import COLUMNS, load_itm_rec, read_itm_rec_archive

# --- a tiny fake copy with the same quirks (no real data needed) -------------------------------


def install_fake(home, monkeypatch, payload):
    """Write ``payload`` as <home>/itm-rec/ITM-Rec.zip and make the loader accept its md5."""
    folder = home / "itm-rec"
    folder.mkdir(parents=True)
    (folder / "ITM-Rec.zip").write_bytes(payload)
    digest = hashlib.md5(payload).hexdigest()
    remote = dataclasses.replace(
        _itm_rec.ARCHIVE, url="http://127.0.0.1:9/never.zip", md5=digest,
        files=(("ITM-Rec.zip", digest),),
    )  # fmt: skip
    monkeypatch.setattr(_itm_rec, "ARCHIVE", remote)
    return home


@pytest.fixture
def fake(tmp_path, monkeypatch):
    install_fake(tmp_path, monkeypatch, fake_itm_rec_archive())
    return load_itm_rec(tmp_path, download_if_missing=False)


def test_fake_crlf_and_no_final_newline(fake):
    # The last row of each file has no newline: it must still be read, without '\r'.
    assert len(fake.data) == 4 and len(fake.group_ratings) == 2
    assert fake.data.iloc[-1][["user_id", "item_id"]].tolist() == [3, 1]
    assert fake.data["ctx_lockdown"].iloc[-1] == "POS"
    assert fake.group_sizes.tolist() == [2, 3]


def test_fake_header_spaces_and_age_label_stripped(fake):
    users = fake.user_table
    assert list(users.columns) == ["user_gender", "user_age", "user_married"]
    assert users["user_age"].tolist() == ["20-25", "31-100", ">30", "<20"]
    assert users["user_age"].cat.ordered
    assert users["user_age"].min() == "<20" and users["user_age"].max() == "31-100"
    assert fake.item_table.loc[1, "title"] == "E-Commerce"
    assert fake.item_table.loc[2, "description"] == "A, b"
    assert pd.isna(fake.item_table.loc[1, "description"])


def test_fake_empty_criterion_is_nan_in_criteria_only(fake):
    assert np.isnan(fake.criteria.loc[0, "data"])
    assert fake.target.iloc[0] == 5.0
    assert not fake.data.isna().any().any() and not fake.target.isna().any()


def test_fake_duplicate_memberships_dropped(fake):
    assert fake.groups.values.tolist() == [[100, 1], [100, 2], [101, 1], [101, 2], [101, 3]]


def test_fake_pairs_rated_twice_are_kept(fake):
    twice = fake.data[fake.data.duplicated(["user_id", "item_id"], keep=False)]
    assert len(twice) == 2
    assert twice["ctx_class"].tolist() == ["DB", "DA"]
    assert fake.target[twice.index].tolist() == [5.0, 4.0]


def test_fake_user_without_rating_is_in_user_table(fake):
    assert 4 in fake.user_table.index and 4 not in fake.data["user_id"].values


def test_inconsistent_group_sizes_raise(tmp_path, monkeypatch):
    payload = fake_itm_rec_archive(group_sizes=["GroupID,Size", "100,2", "101,4"])
    install_fake(tmp_path, monkeypatch, payload)
    with pytest.raises(ValueError, match="group 101: size 4, 3 member"):
        load_itm_rec(tmp_path)


def test_group_without_size_raises(tmp_path):
    (tmp_path / "a.zip").write_bytes(fake_itm_rec_archive(group_sizes=["GroupID,Size", "100,2"]))
    with pytest.raises(ValueError, match="group 101: size 0, 3 member"):
        read_itm_rec_archive(tmp_path / "a.zip")


def _with_member(name, text):
    """The fake archive with one member replaced."""
    with zipfile.ZipFile(io.BytesIO(fake_itm_rec_archive())) as zf:
        members = {info.filename: zf.read(info) for info in zf.infolist()}
    members[f"ITM-Rec/{name}"] = text.encode()
    return zip_bytes(members)


@pytest.mark.parametrize(
    "name, text, match",
    [
        ("ratings.csv", "UserID,Item,Rating,App,Data,Ease,Class,Semester,Lockdown\r\n9,1,5,4,4,4,DB,Fall,POS",
         "user_id absent from users.csv"),
        ("ratings.csv", "UserID,Item,Rating,App,Data,Ease,Class,Semester,Lockdown\r\n1,1,,4,4,4,DB,Fall,POS",
         "ratings.csv Rating has 1 empty"),
        ("ratings.csv", "UserID,Item,Rating,App,Data,Ease,Class,Semester,Lockdown\r\n1,1,5,4,4,4,XX,Fall,POS",
         r"Class has unexpected value\(s\) \['XX'\]"),
        ("users.csv", "UserID,Gender,Age,Married\r\n1,0,99-100,0", "Age has unexpected"),
        ("items.csv", "Item,Title\r\n1,x", r"lacks the column\(s\) \['URL', 'Descriptions'\]"),
        ("group.csv", "GroupID,UserID\r\n100,1\r\n100,77", "user_id absent from users.csv"),
    ],
)  # fmt: skip
def test_inconsistent_files_raise(tmp_path, name, text, match):
    (tmp_path / "a.zip").write_bytes(_with_member(name, text))
    with pytest.raises(ValueError, match=match):
        read_itm_rec_archive(tmp_path / "a.zip")


def test_fake_return_X_y_and_contract(tmp_path, monkeypatch):
    install_fake(tmp_path, monkeypatch, fake_itm_rec_archive())
    X, y = load_itm_rec(tmp_path, return_X_y=True)
    assert isinstance(X, pd.DataFrame) and isinstance(y, pd.Series)
    assert list(X.columns) == COLUMNS and y.name == "rating"
    assert check_interactions(X) is X
    check_ratings(y, len(X))
    assert select_features(X, None, "user_") == _itm_rec.USER_FEATURES
    assert select_features(X, None, "ctx_") == _itm_rec.CONTEXT_FEATURES
    assert select_features(X, None, "item_") == []


# --- the real data -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def itm(data_home):
    return load_itm_rec(data_home, download_if_missing=False)


@pytest.mark.realdata
def test_real_counts(itm):
    assert itm.data.shape == (5230, 8)
    assert itm.criteria.shape == (5230, 3) and itm.frame.shape == (5230, 9)
    assert itm.user_table.shape == (476, 3) and itm.item_table.shape == (70, 3)
    assert itm.group_sizes.size == 143 and itm.groups.shape == (358, 2)
    assert itm.group_ratings.shape == (1117, 9)
    assert itm.data["item_id"].nunique() == 70


@pytest.mark.realdata
def test_real_dtypes_and_no_nan(itm):
    X = itm.data
    assert list(X.columns) == COLUMNS
    assert X["user_id"].dtype == np.int64 and X["item_id"].dtype == np.int64
    assert X["user_married"].dtype == bool
    for col in ("user_gender", "user_age", "ctx_class", "ctx_semester", "ctx_lockdown"):
        assert isinstance(X[col].dtype, pd.CategoricalDtype), col
    assert not X.isna().any().any()
    assert itm.target.dtype == np.float64 and set(itm.target.unique()) == {1, 2, 3, 4, 5}
    assert itm.target.value_counts().sort_index().tolist() == [724, 1050, 555, 1348, 1553]
    assert itm.feature_names == ["user_gender", "user_age", "user_married",
                                 "ctx_class", "ctx_semester", "ctx_lockdown"]  # fmt: skip
    assert "Zheng" in itm.DESCR and "leak" in itm.DESCR


@pytest.mark.realdata
def test_real_crlf_and_no_final_newline(itm):
    # ratings.csv ends with "1196,39,1,1,1,1,DM,Spring,POS" and no newline.
    last = itm.frame.iloc[-1]
    assert (last.user_id, last.item_id, last.rating) == (1196, 39, 1.0)
    assert (last.ctx_class, last.ctx_semester, last.ctx_lockdown) == ("DM", "Spring", "POS")
    for frame in (itm.data, itm.group_ratings):
        for col in ("ctx_class", "ctx_semester", "ctx_lockdown"):
            assert not frame[col].astype(str).str.contains("\r").any()


@pytest.mark.realdata
def test_real_header_spaces_and_age_label(itm):
    users = itm.user_table
    assert list(users.columns) == ["user_gender", "user_age", "user_married"]
    counts = users["user_age"].value_counts(sort=False)
    assert counts.to_dict() == {"<20": 5, "20-25": 210, "26-30": 220, ">30": 23, "31-100": 18}
    assert users["user_gender"].value_counts().sort_index().tolist() == [197, 279]


@pytest.mark.realdata
def test_real_empty_data_criterion(itm):
    missing = itm.criteria["data"].isna()
    assert missing.sum() == 2 and itm.criteria[["app", "ease"]].notna().all().all()
    rows = itm.frame[missing]
    assert rows[["user_id", "item_id", "rating"]].values.tolist() == [[1222, 16, 5], [1350, 18, 2]]


@pytest.mark.realdata
def test_real_duplicate_memberships(itm):
    assert len(itm.groups) == 358 and not itm.groups.duplicated().any()
    assert (itm.groups.groupby("group_id").size() == itm.group_sizes).all()
    assert itm.group_sizes.value_counts().sort_index().to_dict() == {2: 88, 3: 42, 4: 9, 5: 4}


@pytest.mark.realdata
def test_real_pairs_rated_twice_kept(itm):
    frame = itm.frame
    twice = frame[frame.duplicated(["user_id", "item_id"], keep=False)]
    assert twice.groupby(["user_id", "item_id"]).ngroups == 432
    assert len(twice) == 864
    contexts = ["user_id", "item_id", "ctx_class", "ctx_semester", "ctx_lockdown"]
    assert not frame.duplicated(contexts).any()  # the two ratings differ in context


@pytest.mark.realdata
def test_real_users_who_rated(itm):
    assert itm.data["user_id"].nunique() == 454
    assert itm.data["user_id"].isin(itm.user_table.index).all()
    assert itm.groups["user_id"].isin(itm.user_table.index).all()


@pytest.mark.realdata
def test_real_group_ratings(itm):
    gr = itm.group_ratings
    assert list(gr.columns) == ["group_id", "item_id", "ctx_class", "ctx_semester",
                                "ctx_lockdown", "rating", "app", "data", "ease"]  # fmt: skip
    assert gr["group_id"].nunique() == 143 and not gr.isna().any().any()
    assert gr["rating"].value_counts().sort_index().tolist() == [115, 306, 172, 244, 280]


@pytest.mark.realdata
def test_real_return_X_y(data_home):
    X, y = load_itm_rec(data_home, return_X_y=True)
    assert isinstance(X, pd.DataFrame) and isinstance(y, pd.Series) and len(X) == len(y) == 5230
