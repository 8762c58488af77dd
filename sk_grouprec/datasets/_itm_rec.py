"""ITM-Rec: students' ratings of final-project topics, with context, criteria and real groups."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from ._fetch import RemoteArchive, fetch_dataset, load_descr

ARCHIVE = RemoteArchive(
    name="ITM-Rec",
    url="https://raw.githubusercontent.com/irecsys/RecData/main/ITM-Rec/ITM-Rec.zip",
    filename="ITM-Rec.zip",
    md5="dda2a8d07b45fbbdfa7d6743cf8265e7",
    folder="itm-rec",
    files=(("ITM-Rec.zip", "dda2a8d07b45fbbdfa7d6743cf8265e7"),),
    extract_root=None,
)
MEMBER_DIR = "ITM-Rec/"

# Age bands as published; ">30" and "31-100" both mean "over 30" (both labels occur).
AGE_BANDS = ("<20", "20-25", "26-30", ">30", "31-100")
CLASSES = ("DA", "DB", "DM")
SEMESTERS = ("Fall", "Spring")
LOCKDOWN = ("PRE", "DUR", "POS")  # before, during and after the COVID-19 lockdown
CRITERIA = ["app", "data", "ease"]
USER_FEATURES = ["user_gender", "user_age", "user_married"]
CONTEXT_FEATURES = ["ctx_class", "ctx_semester", "ctx_lockdown"]
FEATURE_NAMES = USER_FEATURES + CONTEXT_FEATURES
COLUMNS = ["user_id", "item_id", *FEATURE_NAMES]
_RATED_COLUMNS = ["Rating", "App", "Data", "Ease", "Class", "Semester", "Lockdown"]
_RATING_RENAMES = {
    "UserID": "user_id",
    "GroupID": "group_id",
    "Item": "item_id",
    "Rating": "rating",
    "App": "app",
    "Data": "data",
    "Ease": "ease",
    "Class": "ctx_class",
    "Semester": "ctx_semester",
    "Lockdown": "ctx_lockdown",
}


def load_itm_rec(data_home=None, *, download_if_missing=True, return_X_y=False):
    """Load ITM-Rec: individual and group ratings of project topics, with context.

    Students of database and data-science classes (Illinois Institute of Technology) rated
    70 final-project topics, alone and in the groups they formed for the project. Every
    rating has three context variables and three criteria ratings besides the overall one.
    Read more in the dataset description (``DESCR``).

    ==================   =====================================================
    Individual ratings   5230 (454 of the 476 users rated something)
    Items                70 project topics
    Groups               143 (sizes 2-5, 358 memberships)
    Group ratings        1117
    Target               overall rating, integers 1-5 (as float64)
    ==================   =====================================================

    The published files have quirks, handled here: CRLF line endings without a final
    newline, header names with leading spaces and one age label with a leading space
    (stripped), 37 exact duplicate rows in ``group.csv`` (dropped; the 358 memberships left
    are checked against ``group_size.csv``, and an inconsistency raises ``ValueError``), two
    ratings with an empty ``Data`` criterion (NaN in ``criteria`` only: the overall rating
    is intact). 432 (user, item) pairs were rated twice, in different contexts; both
    ratings are kept as separate interactions.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder holding ``itm-rec/ITM-Rec.zip`` (the archive as published, read without
        unpacking). ``None`` uses the environment variable ``SK_GROUPREC_DATA``, else
        ``~/sk_grouprec_data``.
    download_if_missing : bool, default=True
        Download the archive (and verify its checksum) when it is absent; otherwise raise
        :class:`FileNotFoundError`.
    return_X_y : bool, default=False
        Return ``(data, target)`` for the individual ratings instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the attributes:

        data : pandas.DataFrame of shape (5230, 8)
            Individual ratings: ``user_id``, ``item_id`` (int64); user features
            ``user_gender`` (category 0/1, the publisher does not say which is which),
            ``user_age`` (ordered category ``<20 < 20-25 < 26-30 < >30 < 31-100``, the age
            band as published), ``user_married`` (bool); context ``ctx_class`` (category
            DA/DB/DM, the class), ``ctx_semester`` (category Fall/Spring), ``ctx_lockdown``
            (ordered category PRE < DUR < POS: before, during, after the COVID-19
            lockdown). There is no item feature: topics only have a title, a URL and a
            description (see ``item_table``).
        target : pandas.Series of shape (5230,)
            The overall rating, float64, named ``"rating"``.
        criteria : pandas.DataFrame of shape (5230, 3)
            The criteria ratings ``app``, ``data`` and ``ease`` (float64, 1-5; two ``data``
            values are missing: NaN), aligned with ``data``. They are other ratings by the
            same user of the same item, so not features: using them to predict the
            overall rating would leak the target.
        frame : pandas.DataFrame of shape (5230, 9)
            ``data`` with the ``rating`` column.
        user_table : pandas.DataFrame of shape (476, 3)
            One row per user, indexed by ``user_id``: the user features.
        item_table : pandas.DataFrame of shape (70, 3)
            One row per topic, indexed by ``item_id``: ``title`` (surrounding spaces
            stripped), ``url`` and ``description`` (NaN for 20 topics).
        groups : pandas.DataFrame of shape (358, 2)
            Group membership, ``group_id`` and ``user_id``; a user can be in several groups.
        group_sizes : pandas.Series of shape (143,)
            Number of members, indexed by ``group_id``, named ``"size"``.
        group_ratings : pandas.DataFrame of shape (1117, 9)
            Ratings given by groups: ``group_id``, ``item_id``, the three ``ctx_*`` columns,
            ``rating`` (float64) and the criteria ``app``, ``data``, ``ease``.
        feature_names : list of str
            The side feature columns of ``data`` (user features and context).
        target_names : list of str
            ``["rating"]``.
        criteria_names : list of str
            ``["app", "data", "ease"]``.
        DESCR : str
            Description of the dataset: source, terms of use, citation.

    (data, target) : tuple if ``return_X_y`` is True
        The DataFrame ``data`` and the Series ``target`` (individual ratings).

    Raises
    ------
    FileNotFoundError
        When the archive is absent and ``download_if_missing`` is False.
    ChecksumError
        When the archive does not have the checksum of the published version.
    ValueError
        When the files contradict each other (unknown ids, inconsistent group sizes).

    Examples
    --------
    >>> from sk_grouprec.datasets import load_itm_rec  # doctest: +SKIP
    >>> itm = load_itm_rec()  # doctest: +SKIP
    >>> itm.data.shape, itm.group_ratings.shape, itm.group_sizes.size  # doctest: +SKIP
    ((5230, 8), (1117, 9), 143)
    """
    folder = fetch_dataset(ARCHIVE, data_home=data_home, download_if_missing=download_if_missing)
    bunch = read_itm_rec_archive(folder / ARCHIVE.filename)
    if return_X_y:
        return bunch.data, bunch.target
    bunch.DESCR = load_descr("itm_rec.rst")
    return bunch


def read_itm_rec_archive(path):
    """Parse an ITM-Rec zip archive (no checksum check); see :func:`load_itm_rec`.

    Parameters
    ----------
    path : path-like
        The zip file, with its CSV files under ``ITM-Rec/``.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        As :func:`load_itm_rec`, without ``DESCR``.
    """
    with zipfile.ZipFile(path) as zf:
        raw = {
            name: _read_member(zf, name, columns)
            for name, columns in (
                ("users.csv", ["UserID", "Gender", "Age", "Married"]),
                ("items.csv", ["Item", "Title", "URL", "Descriptions"]),
                ("ratings.csv", ["UserID", "Item", *_RATED_COLUMNS]),
                ("group.csv", ["GroupID", "UserID"]),
                ("group_size.csv", ["GroupID", "Size"]),
                ("group_ratings.csv", ["GroupID", "Item", *_RATED_COLUMNS]),
            )
        }
    users = _user_table(raw["users.csv"])
    items = _item_table(raw["items.csv"])

    ratings = _rated(raw["ratings.csv"], "ratings.csv", "user_id")
    _check_known(ratings["user_id"], users.index, "ratings.csv", "user_id", "users.csv")
    _check_known(ratings["item_id"], items.index, "ratings.csv", "item_id", "items.csv")
    X = ratings[["user_id", "item_id"]].join(users, on="user_id")
    X = pd.concat([X, ratings[CONTEXT_FEATURES]], axis=1)[COLUMNS]
    y = ratings["rating"]

    groups = _int_frame(raw["group.csv"], "group.csv").rename(columns=_RATING_RENAMES)
    groups = groups.drop_duplicates(ignore_index=True)
    _check_known(groups["user_id"], users.index, "group.csv", "user_id", "users.csv")
    group_sizes = _group_sizes(raw["group_size.csv"], groups)

    group_ratings = _rated(raw["group_ratings.csv"], "group_ratings.csv", "group_id")
    _check_known(
        group_ratings["group_id"], group_sizes.index, "group_ratings.csv", "group_id", "group.csv"
    )
    _check_known(group_ratings["item_id"], items.index, "group_ratings.csv", "item_id", "items.csv")
    group_ratings = group_ratings[["group_id", "item_id", *CONTEXT_FEATURES, "rating", *CRITERIA]]

    return Bunch(
        data=X,
        target=y,
        criteria=ratings[CRITERIA],
        frame=X.assign(rating=y),
        user_table=users,
        item_table=items,
        groups=groups,
        group_sizes=group_sizes,
        group_ratings=group_ratings,
        feature_names=list(FEATURE_NAMES),
        target_names=["rating"],
        criteria_names=list(CRITERIA),
    )


def _read_member(zf, name, columns):
    try:
        payload = zf.read(MEMBER_DIR + name)
    except KeyError:
        raise ValueError(f"ITM-Rec: the archive has no file '{MEMBER_DIR}{name}'.") from None
    frame = pd.read_csv(io.BytesIO(payload), dtype=str, keep_default_na=False, encoding="utf-8")
    frame.columns = frame.columns.str.strip()
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"ITM-Rec: {name} lacks the column(s) {missing}; it has {list(frame.columns)}."
        )
    return frame[columns].apply(lambda col: col.str.strip())


def _numbers(values, name, *, allow_missing=False):
    """Parse a column of strings as numbers; empty cells become NaN only where allowed."""
    empty = values == ""
    if empty.any() and not allow_missing:
        raise ValueError(f"ITM-Rec: {name} has {int(empty.sum())} empty value(s).")
    try:
        return pd.to_numeric(values.mask(empty), errors="raise")
    except ValueError as exc:
        raise ValueError(f"ITM-Rec: {name} has a non-numeric value ({exc}).") from exc


def _int_frame(frame, name):
    return frame.apply(lambda col: _numbers(col, f"{name} {col.name}").astype(np.int64))


def _categorical(values, categories, name, *, ordered=False):
    unknown = ~values.isin(categories)
    if unknown.any():
        raise ValueError(
            f"ITM-Rec: {name} has unexpected value(s) {sorted(set(values[unknown]))}; "
            f"expected one of {list(categories)}."
        )
    return pd.Categorical(values, categories=list(categories), ordered=ordered)


def _user_table(raw):
    ids = _numbers(raw["UserID"], "users.csv UserID").astype(np.int64)
    for col in ("Gender", "Married"):
        _categorical(raw[col], ("0", "1"), f"users.csv {col}")
    users = pd.DataFrame(
        {
            "user_gender": pd.Categorical(raw["Gender"].astype(np.int64), categories=[0, 1]),
            "user_age": _categorical(raw["Age"], AGE_BANDS, "users.csv Age", ordered=True),
            "user_married": (raw["Married"] == "1").to_numpy(),
        },
        index=pd.Index(ids.to_numpy(), name="user_id"),
    )
    if not users.index.is_unique:
        raise ValueError("ITM-Rec: users.csv has duplicated UserID values.")
    return users


def _item_table(raw):
    ids = _numbers(raw["Item"], "items.csv Item").astype(np.int64)
    items = pd.DataFrame(
        {
            "title": raw["Title"].to_numpy(),
            "url": raw["URL"].to_numpy(),
            "description": raw["Descriptions"].mask(raw["Descriptions"] == "").to_numpy(),
        },
        index=pd.Index(ids.to_numpy(), name="item_id"),
    )
    if not items.index.is_unique:
        raise ValueError("ITM-Rec: items.csv has duplicated Item values.")
    return items


def _rated(raw, name, who_column):
    """Ratings of ratings.csv or group_ratings.csv with contract names and dtypes."""
    frame = raw.rename(columns=_RATING_RENAMES)
    result = pd.DataFrame(
        {
            who_column: _numbers(frame[who_column], f"{name} {who_column}").astype(np.int64),
            "item_id": _numbers(frame["item_id"], f"{name} Item").astype(np.int64),
            "rating": _numbers(frame["rating"], f"{name} Rating").astype(np.float64),
        }
    )
    for col in CRITERIA:
        result[col] = _numbers(frame[col], f"{name} {col}", allow_missing=True).astype(np.float64)
    result["ctx_class"] = _categorical(frame["ctx_class"], CLASSES, f"{name} Class")
    result["ctx_semester"] = _categorical(frame["ctx_semester"], SEMESTERS, f"{name} Semester")
    result["ctx_lockdown"] = _categorical(
        frame["ctx_lockdown"], LOCKDOWN, f"{name} Lockdown", ordered=True
    )
    return result


def _check_known(values, known, name, column, source):
    unknown = ~values.isin(known)
    if unknown.any():
        raise ValueError(
            f"ITM-Rec: {int(unknown.sum())} row(s) of {name} have a {column} absent from "
            f"{source} (first: {values[unknown].iloc[0]})."
        )


def _group_sizes(raw, groups):
    """Sizes from group_size.csv, checked against the deduplicated memberships."""
    sizes = _int_frame(raw, "group_size.csv").set_index("GroupID")["Size"]
    sizes = sizes.rename("size").rename_axis("group_id")
    if not sizes.index.is_unique:
        raise ValueError("ITM-Rec: group_size.csv lists a GroupID twice.")
    counted = groups.groupby("group_id").size()
    table = pd.concat([sizes, counted.rename("members")], axis=1).fillna(0)
    wrong = table[table["size"] != table["members"]]
    if len(wrong):
        details = ", ".join(
            f"group {gid}: size {int(row['size'])}, {int(row['members'])} member(s)"
            for gid, row in wrong.head(5).iterrows()
        )
        raise ValueError(
            f"ITM-Rec: group_size.csv disagrees with group.csv (after dropping exact duplicate "
            f"rows) for {len(wrong)} group(s): {details}."
        )
    return sizes
