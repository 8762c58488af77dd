"""load_group_folder on tiny folders written here (every error), load_mafengwo on the real files."""

import hashlib
import os
import shutil

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from sk_grouprec.datasets import ChecksumError, _mafengwo, load_group_folder, load_mafengwo

TINY = {
    "groupMember.txt": "0 0,1\n1 1,2,3\n",
    "groupRatingTrain.txt": "0 5\n0 6\n1 6\n",
    "groupRatingTest.txt": "0 7\n1 5\n",
    "groupRatingNegative.txt": "(0,7) 8 7 8\r\n(1,5) 6 9 5\r\n",
    "userRatingTrain.txt": "0 5\n2 6\n2 7\n",
    "userRatingTest.txt": "2 8\n0 9\n",
    "userRatingNegative.txt": "(2,8) 5 6 7\n(0,9) 9 9 5\n",
}


def write_folder(path, files=TINY, **changes):
    """Write ``files`` with ``changes`` (name -> text, or None to leave the file out)."""
    path.mkdir(exist_ok=True)
    for name, text in {**files, **changes}.items():
        if text is not None:
            (path / name).write_text(text, newline="")
    return path


# --- what the loader returns ---------------------------------------------------------------


def test_tiny_folder_contents(tmp_path):
    data = load_group_folder(write_folder(tmp_path))
    assert list(data.user_interactions.columns) == ["user_id", "item_id"]
    assert data.user_interactions.to_numpy().tolist() == [[0, 5], [2, 6], [2, 7]]
    assert data.group_interactions.to_numpy().tolist() == [[0, 5], [0, 6], [1, 6]]
    assert list(data.groups.columns) == ["group_id", "user_id"]
    assert data.groups.to_numpy().tolist() == [[0, 0], [0, 1], [1, 1], [1, 2], [1, 3]]
    assert list(data.user_test.columns) == ["user_id", "item_id"]
    assert data.user_test.to_numpy().tolist() == [[2, 8], [0, 9]]  # file order, not sorted
    assert list(data.group_test.columns) == ["group_id", "item_id"]
    # kept as published: duplicates (8 twice, 9 twice) and the test item itself (7, 5, 9)
    np.testing.assert_array_equal(data.group_negatives, [[8, 7, 8], [6, 9, 5]])
    np.testing.assert_array_equal(data.user_negatives, [[5, 6, 7], [9, 9, 5]])
    assert data.user_follow is None
    assert data.folder == str(tmp_path)
    assert "2 groups of 2 to 3 members" in data.DESCR


def test_dtypes_are_int64(tmp_path):
    data = load_group_folder(write_folder(tmp_path, userFollow_txt=None))
    for key in ("user_interactions", "group_interactions", "groups", "user_test", "group_test"):
        assert (data[key].dtypes == np.int64).all(), key
    assert data.user_negatives.dtype == np.int64 and data.group_negatives.dtype == np.int64


def test_rating_column_and_follow_file(tmp_path):
    folder = write_folder(
        tmp_path,
        **{
            "userRatingTrain.txt": "0 5 4\n2 6 2.5\n",
            "groupRatingTest.txt": "0\t7\t1\n1 5 3\n",
            "userFollow.txt": "0:1 2\n1:\n2:0\n",
        },
    )
    data = load_group_folder(folder)
    assert list(data.user_interactions.columns) == ["user_id", "item_id", "rating"]
    assert data.user_interactions["rating"].dtype == np.float64
    assert data.user_interactions["rating"].tolist() == [4.0, 2.5]
    assert data.group_test["rating"].tolist() == [1.0, 3.0]
    assert "rating" not in data.group_interactions.columns
    assert list(data.user_follow.columns) == ["user_id", "followee_id"]
    assert data.user_follow.to_numpy().tolist() == [[0, 1], [0, 2], [2, 0]]
    assert (data.user_follow.dtypes == np.int64).all()


def test_crlf_no_final_newline_and_trailing_blank_lines(tmp_path):
    folder = write_folder(
        tmp_path,
        **{"groupMember.txt": "0 0,1\r\n1 1,2,3", "userRatingTest.txt": "2 8\n0 9\n\n\n"},
    )
    data = load_group_folder(folder)
    assert data.groups.shape == (5, 2)
    assert len(data.user_test) == 2


# --- errors name the file, the line and the problem ---------------------------------------


@pytest.mark.parametrize(
    "name, text, line, problem",
    [
        ("groupRatingTrain.txt", "0 5\n0 6 1 2\n1 6\n", 2, "expected 2 or 3 fields"),
        ("groupRatingTrain.txt", "0 5\n0\n1 6\n", 2, "found 1 field"),
        ("userRatingTrain.txt", "0 5\n2 6 4\n", 2, "every line needs the same number"),
        ("userRatingTrain.txt", "0 5\n2 x6\n", 2, "item_id 'x6' is not an integer id"),
        ("userRatingTrain.txt", "0 5\n2 6\n2.0 7\n", 3, "user_id '2.0' is not an integer"),
        ("userRatingTrain.txt", "0 5\n-2 6\n", 2, "'-2' is not an integer id"),
        ("userRatingTrain.txt", "0 5 4\n2 6 nan\n", 2, "rating 'nan' is not a finite number"),
        ("userRatingTrain.txt", "0 5 4\n2 6 high\n", 2, "rating 'high'"),
        ("userRatingTrain.txt", "0 5\n\n2 6\n", 2, "empty line"),
        ("userRatingTest.txt", "2 8\n0 99999999999999999999\n", 2, "is not an integer id"),
        ("groupMember.txt", "0 0,1\n1 1,x\n", 2, "user_id 'x' is not an integer id"),
        ("groupMember.txt", "0 0,1\n1 1,2,\n", 2, "user_id '' is not an integer id"),
        ("groupMember.txt", "0 0,1\n1 1 2\n", 2, "expected 2 fields"),
        ("groupMember.txt", "0 0,1\n0 1,2\n", 2, "group 0 is listed a second time"),
        ("groupMember.txt", "0 0,1\n1 1,2,1\n", 2, "user 1 is listed twice in group 1"),
        ("groupRatingTrain.txt", "0 5\n7 6\n", 2, "group 7 is not listed in groupMember"),
        ("groupRatingTest.txt", "0 7\n3 5\n", 2, "group 3 is not listed in groupMember"),
        ("groupRatingNegative.txt", "(0,7) 8 7 8\n(1,6) 6 9 5\n", 2,
         "the pair (1,6) does not match line 2"),
        ("userRatingNegative.txt", "(0,9) 5 6 7\n(2,8) 9 9 5\n", 1,
         "the pair (0,9) does not match line 1"),
        ("userRatingNegative.txt", "(2,8) 5 6 7\n0,9 9 9 5\n", 2, "starting with the test pair"),
        ("userRatingNegative.txt", "(2,8) 5 6 7\n(0,9) 9 9\n", 2, "2 negative items, but line 1"),
        ("userRatingNegative.txt", "(2,8) 5 6 7\n(0,9) 9 z 5\n", 2, "negative item 'z'"),
        ("userRatingNegative.txt", "(2,8)\n(0,9)\n", 1, "no negative item"),
        ("userFollow.txt", "0:1 2\n1 2\n", 2, "one ':'"),
        ("userFollow.txt", "0:1 2\n1:2 b\n", 2, "followee_id 'b' is not an integer id"),
    ],
)  # fmt: skip
def test_malformed_line(tmp_path, name, text, line, problem):
    folder = write_folder(tmp_path, **{name: text})
    with pytest.raises(ValueError) as info:
        load_group_folder(folder)
    message = str(info.value)
    assert name in message
    assert f"line {line}:" in message
    assert problem in message


def test_negative_and_test_line_counts_differ(tmp_path):
    folder = write_folder(tmp_path, **{"groupRatingNegative.txt": "(0,7) 8 7 8\n"})
    with pytest.raises(ValueError, match=r"groupRatingNegative.txt' has 1 lines but .*"
                       r"groupRatingTest.txt' has 2"):  # fmt: skip
        load_group_folder(folder)
    folder = write_folder(
        tmp_path, **{"userRatingNegative.txt": "(2,8) 5 6 7\n(0,9) 9 9 5\n(0,9) 1 2 3\n"}
    )
    with pytest.raises(ValueError, match="has 3 lines but .*userRatingTest.txt' has 2"):
        load_group_folder(folder)


def test_empty_file(tmp_path):
    folder = write_folder(tmp_path, **{"userRatingTest.txt": "\n"})
    with pytest.raises(ValueError, match="userRatingTest.txt' is empty"):
        load_group_folder(folder)


@pytest.mark.parametrize("name", sorted(TINY))
def test_missing_required_file(tmp_path, name):
    folder = write_folder(tmp_path, **{name: None})
    with pytest.raises(FileNotFoundError, match=name):
        load_group_folder(folder)


def test_missing_folder_and_bad_path_type(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_group_folder(tmp_path / "nowhere")
    with pytest.raises(TypeError, match="path must be a str or path-like"):
        load_group_folder(3)


# --- load_mafengwo: where the files are looked for, checksums -------------------------------


def test_mafengwo_missing_says_where_to_put_and_where_published(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_mafengwo(tmp_path)
    message = str(info.value)
    assert str(tmp_path / "mafengwo") in message
    assert "FDUDSDE/WWW2023ConsRec" in message and "data/Mafengwo" in message
    assert "SK_GROUPREC_DATA" in message
    assert "http" not in message and "github.com" not in message


def test_mafengwo_data_home_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SK_GROUPREC_DATA", str(tmp_path / "env_home"))
    with pytest.raises(FileNotFoundError, match="env_home"):
        load_mafengwo()


def _fake_mafengwo(home, monkeypatch):
    folder = write_folder(home / "mafengwo", **{"userFollow.txt": "0:1\n"})
    files = tuple(
        (name, hashlib.md5((folder / name).read_bytes()).hexdigest()) for name, _ in _mafengwo.FILES
    )
    monkeypatch.setattr(_mafengwo, "FILES", files)
    return folder


def test_mafengwo_reads_folder_and_checks_md5(tmp_path, monkeypatch):
    folder = _fake_mafengwo(tmp_path, monkeypatch)
    data = load_mafengwo(tmp_path)
    assert data.group_negatives.shape == (2, 3)
    assert "Mafengwo" in data.DESCR and "MIT" in data.DESCR
    (folder / "groupRatingTrain.txt").write_text("0 5\n0 6\n1 7\n")
    with pytest.raises(ChecksumError, match="groupRatingTrain.txt"):
        load_mafengwo(tmp_path)


def test_mafengwo_partial_folder_names_missing_files(tmp_path, monkeypatch):
    folder = _fake_mafengwo(tmp_path, monkeypatch)
    os.remove(folder / "userFollow.txt")
    with pytest.raises(FileNotFoundError, match=r"lacks \['userFollow.txt'\]"):
        load_mafengwo(tmp_path)


# --- the real files: exact counts -----------------------------------------------------------


@pytest.fixture(scope="module")
def mafengwo(data_home):
    if not (data_home / "mafengwo").is_dir():
        pytest.skip("Mafengwo files not found in the data home")
    return load_mafengwo(data_home)


@pytest.mark.realdata
def test_mafengwo_line_counts(mafengwo):
    assert len(mafengwo.groups.groupby("group_id")) == 995  # groupMember.txt lines
    assert len(mafengwo.group_interactions) == 2600
    assert len(mafengwo.group_test) == 995
    assert mafengwo.group_negatives.shape == (995, 100)
    assert len(mafengwo.user_interactions) == 38011
    assert len(mafengwo.user_test) == 1754
    assert mafengwo.user_negatives.shape == (1754, 100)
    assert mafengwo.user_follow["user_id"].nunique() == 5275  # userFollow.txt lines
    assert len(mafengwo.user_follow) == 53235
    assert "rating" not in mafengwo.user_interactions.columns


@pytest.mark.realdata
def test_mafengwo_groups_users_items(mafengwo):
    sizes = mafengwo.groups.groupby("group_id").size()
    assert sizes.index.tolist() == list(range(995))
    assert (sizes.min(), sizes.max(), int(sizes.sum())) == (2, 48, 9580)
    assert round(float(sizes.mean()), 2) == 9.63  # not the 7.19 printed in papers
    members = mafengwo.groups["user_id"]
    assert members.nunique() == 5275 and (members.min(), members.max()) == (0, 5274)
    assert int((mafengwo.groups.groupby("user_id").size() > 1).sum()) == 1269
    assert mafengwo.user_interactions["user_id"].nunique() == 2017
    assert mafengwo.user_test["user_id"].is_unique and mafengwo.group_test["group_id"].is_unique
    items = np.unique(
        np.concatenate(
            [
                mafengwo.user_interactions["item_id"],
                mafengwo.group_interactions["item_id"],
                mafengwo.user_test["item_id"],
                mafengwo.group_test["item_id"],
                mafengwo.user_negatives.ravel(),
                mafengwo.group_negatives.ravel(),
            ]
        )
    )
    assert items.size == 1513 and (items.min(), items.max()) == (0, 1512)


@pytest.mark.realdata
def test_mafengwo_negative_quirks(mafengwo):
    for level, n_dup, n_self_lines, n_self in (("group", 1100, 33, 33), ("user", 1830, 333, 342)):
        negatives = mafengwo[f"{level}_negatives"]
        test_items = mafengwo[f"{level}_test"]["item_id"].to_numpy()
        distinct = np.array([np.unique(row).size for row in negatives])
        assert int((negatives.shape[1] - distinct).sum()) == n_dup, level
        own = negatives == test_items[:, None]
        assert (int(own.any(axis=1).sum()), int(own.sum())) == (n_self_lines, n_self), level


@pytest.mark.realdata
def test_mafengwo_user_negatives_over_represent_the_users_training_items(mafengwo):
    n_items = 1513
    for level, column, n_own, n_lines, uniform in (
        ("group", "group_id", 111, 102, 172), ("user", "user_id", 6578, 1268, 2488),
    ):
        train = mafengwo[f"{level}_interactions"]
        rows = mafengwo[f"{level}_test"][column].to_numpy()
        size = max(int(train[column].max()), int(rows.max())) + 1
        rated = sp.csr_matrix((np.ones(len(train), bool), (train[column], train["item_id"])),
                              shape=(size, n_items))
        rated.sum_duplicates()
        negatives = mafengwo[f"{level}_negatives"]
        own = np.asarray(rated[np.repeat(rows, negatives.shape[1]), negatives.ravel()])
        own = own.reshape(negatives.shape).astype(bool)
        assert (int(own.sum()), int(own.any(axis=1).sum())) == (n_own, n_lines), level
        # the count 100 uniform draws per line would give on average
        expected = float((negatives.shape[1] * np.diff(rated.indptr)[rows] / n_items).sum())
        assert round(expected) == uniform, level


@pytest.mark.realdata
def test_mafengwo_copy_elsewhere_reads_the_same(mafengwo, tmp_path):
    shutil.copytree(mafengwo.folder, tmp_path / "mafengwo")
    again = load_mafengwo(tmp_path)
    pd.testing.assert_frame_equal(again.groups, mafengwo.groups)
    np.testing.assert_array_equal(again.user_negatives, mafengwo.user_negatives)


@pytest.mark.realdata
def test_mafengwo_negatives_of_a_third_of_the_lines_favour_the_50_most_visited_items(mafengwo):
    # uniform draws put 100 * 50 / 1513 = 3.3 of the top-50 items in a line; a third of the
    # lines of each file hold about 30 of them, the rest about 3.3 (a bimodal count)
    for level, n_lines, n_popular_lines, mean_popular, mean_other in (
        ("group", 995, 371, 27.8, 3.3), ("user", 1754, 603, 30.2, 3.2),
    ):
        visits = np.bincount(mafengwo[f"{level}_interactions"]["item_id"], minlength=1513)
        top = np.argsort(-visits, kind="stable")[:50]
        per_line = np.isin(mafengwo[f"{level}_negatives"], top).sum(axis=1)
        popular = per_line >= 10
        assert per_line.shape == (n_lines,) and int(popular.sum()) == n_popular_lines, level
        assert round(per_line[popular].mean(), 1) == mean_popular, level
        assert round(per_line[~popular].mean(), 1) == mean_other, level
        assert ((per_line >= 10) & (per_line <= 13)).sum() <= 5, level  # a gap between the modes
