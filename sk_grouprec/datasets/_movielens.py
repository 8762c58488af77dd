"""MovieLens 100K: 100,000 ratings of 1682 movies by 943 users, with user and movie features."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from ._fetch import RemoteArchive, fetch_dataset, load_descr, verify_file

ARCHIVE = RemoteArchive(
    name="MovieLens 100K",
    url="https://files.grouplens.org/datasets/movielens/ml-100k.zip",
    filename="ml-100k.zip",
    md5="0e33842e24a9c977be4e0107933c0723",
    folder="ml-100k",
    files=(
        ("u.data", "6e47046882bad158b0efbb84cd5cb987"),
        ("u.user", "1b53539edc13caad0282c8500608a319"),
        ("u.item", "c9e7f390115d79079537301d5204f3f7"),
        ("u.genre", "a7578bdb37758741ae9429d2c736af18"),
        ("u.occupation", "035abaa2165f35cebce4b91e03481e0a"),
    ),
    extract_root="ml-100k",
)

# md5 of the canonical split files of the official archive, checked when a split is read.
SPLIT_FILES = {
    "u1.base": "4325f44281c9f8c119a3694662d63fc2",
    "u1.test": "62d5d837e7c8e36550cc956b09c2ecc8",
    "u2.base": "79541afecccbd5365bb2c09b123a01c7",
    "u2.test": "1951a71b7e1f4ed254508007fa2f6b70",
    "u3.base": "55c67a63f516fa9e593d68c3be779970",
    "u3.test": "cb3e4d0a9152041772285232ca002d4f",
    "u4.base": "66f64a75eeeffd20ff09533bcd31adcf",
    "u4.test": "328acfca94e85d01b1d7e92c7d73df3b",
    "u5.base": "0becb3392339231c08ba316944c79095",
    "u5.test": "bec898f7091dba3b7bdf793d1998d2d6",
    "ua.base": "346eb46a756be3b382bdef4f7dcf3a01",
    "ua.test": "52e5d0355092dc1596899855b220508f",
    "ub.base": "e4ce94f6e01e45f65b91a70bb9e8da2f",
    "ub.test": "5292d1e388d156aa0c19c384cdf35aca",
}
SPLITS = ("u1", "u2", "u3", "u4", "u5", "ua", "ub")

# The 19 genres of u.genre, in the order of the flags of u.item.
GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip
GENDERS = ("F", "M")
ZIP_REGIONS = tuple("0123456789") + ("other",)
RATING_COLUMNS = ["user_id", "item_id", "rating", "timestamp"]


def genre_column(genre):
    """Column name of a genre flag: ``item_genre_`` + the lower-cased name, ``'`` dropped and
    other non-alphanumerics replaced by ``_`` (``"Children's"`` -> ``item_genre_childrens``).

    Examples
    --------
    >>> from sk_grouprec.datasets._movielens import genre_column
    >>> genre_column("Film-Noir")
    'item_genre_film_noir'
    """
    name = re.sub(r"[^0-9a-z]+", "_", genre.lower().replace("'", "")).strip("_")
    return f"item_genre_{name}"


GENRE_COLUMNS = [genre_column(g) for g in GENRES]
USER_FEATURES = ["user_age", "user_gender", "user_occupation", "user_zip_region"]
ITEM_FEATURES = ["item_year", "item_year_missing", *GENRE_COLUMNS]
FEATURE_NAMES = USER_FEATURES + ITEM_FEATURES
COLUMNS = ["user_id", "item_id", *FEATURE_NAMES, "timestamp"]


def load_movielens_100k(data_home=None, *, download_if_missing=True, return_X_y=False):
    """Load the MovieLens 100K ratings with user and movie features.

    One row per rating (100,000 rows; 943 users, 1682 movies). Read more in the
    dataset description (``DESCR``).

    ==============   ==========================================================
    Interactions     100,000
    Users / items    943 / 1682 (every user rated at least 20 movies)
    Target           rating, integers 1-5 (as float64)
    Features         4 user features, 21 item features (no missing value)
    ==============   ==========================================================

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder holding ``ml-100k/`` (the unpacked official archive). ``None`` uses the
        environment variable ``SK_GROUPREC_DATA``, else ``~/sk_grouprec_data``.
    download_if_missing : bool, default=True
        Download the official archive (and verify its checksum) when the data is absent;
        otherwise raise :class:`FileNotFoundError`.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the attributes:

        data : pandas.DataFrame of shape (100000, 28)
            ``user_id``, ``item_id`` (int64); user features ``user_age`` (int64),
            ``user_gender`` (category F/M), ``user_occupation`` (category, 21 values),
            ``user_zip_region`` (category: first digit of the zip code, ``"other"`` for the
            non-numeric Canadian codes); item features ``item_year`` (int64, release year;
            the single movie without a release date gets the median year),
            ``item_year_missing`` (bool, True for that movie), 19 genre flags
            ``item_genre_<name>`` (uint8, e.g. ``item_genre_film_noir``); and ``timestamp``
            (int64, unix seconds; not a feature by the prefix rule).
        target : pandas.Series of shape (100000,)
            The rating, float64, named ``"rating"``.
        frame : pandas.DataFrame of shape (100000, 29)
            ``data`` with the ``rating`` column.
        user_table : pandas.DataFrame of shape (943, 5)
            One row per user, indexed by ``user_id``: the user features and the raw
            ``zip_code``.
        item_table : pandas.DataFrame of shape (1682, 24)
            One row per movie, indexed by ``item_id``: ``title``, ``release_date``
            (datetime64, NaT when missing), ``imdb_url`` and the item features.
        feature_names : list of str
            The side feature columns of ``data`` (user and item features).
        target_names : list of str
            ``["rating"]``.
        DESCR : str
            Description of the dataset: source, licence (research use only, no
            redistribution), citation.

    (data, target) : tuple if ``return_X_y`` is True
        The DataFrame ``data`` and the Series ``target``.

    Raises
    ------
    FileNotFoundError
        When the data is absent and ``download_if_missing`` is False.
    ChecksumError
        When a file does not have the checksum of the official release.

    See Also
    --------
    load_movielens_100k_split : The canonical train/test splits (u1-u5, ua, ub).

    Examples
    --------
    >>> from sk_grouprec.datasets import load_movielens_100k  # doctest: +SKIP
    >>> X, y = load_movielens_100k(return_X_y=True)  # doctest: +SKIP
    >>> X.shape, float(y.mean())  # doctest: +SKIP
    ((100000, 28), 3.52986)
    """
    folder = fetch_dataset(ARCHIVE, data_home=data_home, download_if_missing=download_if_missing)
    users, items = _read_tables(folder)
    ratings = _read_ratings(folder / "u.data")
    X, y = _interactions(ratings, users, items, "u.data")
    if return_X_y:
        return X, y
    frame = X.assign(rating=y)
    return Bunch(
        data=X,
        target=y,
        frame=frame,
        user_table=users,
        item_table=items,
        feature_names=list(FEATURE_NAMES),
        target_names=["rating"],
        DESCR=load_descr("movielens_100k.rst"),
    )


def load_movielens_100k_split(split="u1", *, data_home=None, download_if_missing=True):
    """Load one of the canonical MovieLens 100K train/test splits.

    ``u1`` to ``u5`` are the five folds of a 5-fold cross-validation (80% / 20%, the five
    test sets are disjoint); ``ua`` and ``ub`` hold exactly 10 ratings per user in the test
    set (disjoint from each other). Train and test of one split are disjoint and together
    hold all 100,000 ratings.

    Parameters
    ----------
    split : {"u1", "u2", "u3", "u4", "u5", "ua", "ub"}, default="u1"
        Which split (files ``<split>.base`` and ``<split>.test`` of the archive).
    data_home : str or path-like, default=None
        See :func:`load_movielens_100k`.
    download_if_missing : bool, default=True
        See :func:`load_movielens_100k`.

    Returns
    -------
    X_train, X_test : pandas.DataFrame
        Interactions with the columns of :func:`load_movielens_100k` ``data``.
    y_train, y_test : pandas.Series
        Ratings (float64, named ``"rating"``).

    Raises
    ------
    ValueError
        When ``split`` is not one of the seven names.

    Examples
    --------
    >>> from sk_grouprec.datasets import load_movielens_100k_split  # doctest: +SKIP
    >>> X_train, X_test, y_train, y_test = load_movielens_100k_split("ua")  # doctest: +SKIP
    >>> len(X_train), len(X_test)  # doctest: +SKIP
    (90570, 9430)
    """
    if not isinstance(split, str) or split not in SPLITS:
        raise ValueError(f"split must be one of {list(SPLITS)}; got {split!r}.")
    folder = fetch_dataset(ARCHIVE, data_home=data_home, download_if_missing=download_if_missing)
    users, items = _read_tables(folder)
    result = []
    for part in ("base", "test"):
        name = f"{split}.{part}"
        path = verify_file(
            folder / name, SPLIT_FILES[name], remote=ARCHIVE, data_home=folder.parent
        )
        result.append(_interactions(_read_ratings(path), users, items, name))
    (X_train, y_train), (X_test, y_test) = result
    return X_train, X_test, y_train, y_test


def _read_ratings(path):
    return pd.read_csv(
        path, sep="\t", header=None, names=RATING_COLUMNS, dtype=np.int64, engine="c"
    )


def _interactions(ratings, users, items, source):
    """Join the user and item features onto the ratings (vectorised, many-to-one)."""
    for col, table, kind in (("user_id", users, "u.user"), ("item_id", items, "u.item")):
        unknown = ~ratings[col].isin(table.index)
        if unknown.any():
            raise ValueError(
                f"MovieLens 100K: {int(unknown.sum())} rating(s) of {source} have a {col} "
                f"absent from {kind} (first: {ratings.loc[unknown, col].iloc[0]})."
            )
    X = ratings[["user_id", "item_id"]].join(users[USER_FEATURES], on="user_id")
    X = X.join(items[ITEM_FEATURES], on="item_id")
    X["timestamp"] = ratings["timestamp"]
    y = ratings["rating"].astype(np.float64)
    return X[COLUMNS], y


def _read_tables(folder):
    """The users and items tables, indexed by id, with their features."""
    occupations = (folder / "u.occupation").read_text(encoding="latin-1").split()
    raw_users = pd.read_csv(
        folder / "u.user",
        sep="|",
        header=None,
        names=["user_id", "age", "gender", "occupation", "zip_code"],
        dtype={
            "user_id": np.int64,
            "age": np.int64,
            "gender": str,
            "occupation": str,
            "zip_code": str,
        },
    )
    zip_first = raw_users["zip_code"].str[0]
    users = pd.DataFrame(
        {
            "user_age": raw_users["age"].to_numpy(),
            "user_gender": _categorical(raw_users["gender"], GENDERS, "u.user gender"),
            "user_occupation": _categorical(
                raw_users["occupation"], occupations, "u.user occupation"
            ),
            "user_zip_region": pd.Categorical(
                zip_first.where(zip_first.str.isdigit(), "other"), categories=ZIP_REGIONS
            ),
            "zip_code": raw_users["zip_code"].to_numpy(),
        },
        index=pd.Index(raw_users["user_id"].to_numpy(), name="user_id"),
    )

    item_columns = ["item_id", "title", "release_date", "video_release_date", "imdb_url"]
    raw_items = pd.read_csv(
        folder / "u.item",
        sep="|",
        header=None,
        names=item_columns + GENRE_COLUMNS,
        encoding="latin-1",
        dtype={"item_id": np.int64, "title": str, "release_date": str, "imdb_url": str}
        | dict.fromkeys(GENRE_COLUMNS, np.uint8),
        keep_default_na=False,
        na_values={"release_date": [""], "imdb_url": [""]},
    )
    release = pd.to_datetime(raw_items["release_date"], format="%d-%b-%Y")
    year = release.dt.year
    missing = year.isna()
    median_year = float(np.round(year.median()))
    items = pd.DataFrame(
        {
            "title": raw_items["title"].to_numpy(),
            "release_date": release.to_numpy(),
            "imdb_url": raw_items["imdb_url"].to_numpy(),
            "item_year": year.fillna(median_year).astype(np.int64).to_numpy(),
            "item_year_missing": missing.to_numpy(),
        },
        index=pd.Index(raw_items["item_id"].to_numpy(), name="item_id"),
    )
    items = pd.concat([items, raw_items[GENRE_COLUMNS].set_index(items.index)], axis=1)
    for name, table in (("u.user", users), ("u.item", items)):
        if not table.index.is_unique:
            raise ValueError(f"MovieLens 100K: {name} has duplicated ids.")
    return users, items


def _categorical(values, categories, what):
    result = pd.Categorical(values, categories=list(categories))
    unknown = pd.isna(result) & values.notna().to_numpy()
    if unknown.any():
        raise ValueError(
            f"MovieLens 100K: unexpected {what} value(s) {sorted(set(values[unknown]))}; "
            f"expected one of {list(categories)}."
        )
    if values.isna().any():
        raise ValueError(f"MovieLens 100K: {what} has missing values.")
    return result
