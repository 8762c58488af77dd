"""The bad-input table: malformed inputs and what each estimator or loader does with them.

One :class:`BadInput` per row. A row either expects an exception (``raises`` and a
``match`` regular expression searched in its message) or documents a fall-back (``check``
asserts on the result and ``outcome`` says in words what happens). ``tests/test_bad_input.py``
runs every row; ``docs/_bad_input_table.py`` renders the same rows into the user guide, so
documentation and tests cannot diverge.

Every ``run`` receives an empty temporary folder (for the loaders' ``data_home``) and never
touches the network: loaders get ``download_if_missing=False`` or a folder whose files exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError

from sk_grouprec.aggregation import GroupAggregator
from sk_grouprec.baselines.bias import BaselineOnly, NormalPredictor
from sk_grouprec.baselines.co_clustering import CoClustering
from sk_grouprec.baselines.knn import KNNBaseline, KNNBasic, KNNWithMeans, KNNWithZScore
from sk_grouprec.baselines.matrix_factorization import (
    NMF,
    SVD,
    NonFiniteTrainingError,
    SVDpp,
)
from sk_grouprec.baselines.slope_one import SlopeOne
from sk_grouprec.datasets import ChecksumError
from sk_grouprec.datasets._itm_rec import load_itm_rec
from sk_grouprec.datasets._movielens import load_movielens_100k, load_movielens_100k_split
from sk_grouprec.datasets._synthetic import make_group_ratings
from sk_grouprec.dmtl import GroupDMTLRecommender
from sk_grouprec.grouping import KMeansGrouper
from sk_grouprec.testing import make_small_ratings

__all__ = ["BadInput", "CASES", "DUPLICATE_ROW_ESTIMATORS", "tiny_dmtl"]


@dataclass(frozen=True)
class BadInput:
    """One row of the table.

    Parameters
    ----------
    id : str
        Short identifier (the pytest id).
    target : str
        The estimator or loader and method called, as shown in the docs.
    problem : str
        What is wrong with the input (docs).
    run : callable
        ``run(tmp_path)`` builds the input and makes the call; returns its result.
    raises : type, optional
        Expected exception type.
    match : str, optional
        Regular expression the exception message must contain (``re.search``).
    check : callable, optional
        For a documented fall-back: ``check(result)`` asserts on what ``run`` returned.
    outcome : str, optional
        For a documented fall-back: the behaviour in words (docs).
    pending : str, optional
        A known defect in a module owned elsewhere, awaiting its fix: the test is an
        expected failure with this reason until the fix lands (then it shows as XPASS and
        the mark is to be removed).
    """

    id: str
    target: str
    problem: str
    run: object
    raises: type | None = None
    match: str | None = None
    check: object = None
    outcome: str = ""
    pending: str | None = None

    @property
    def expects_error(self):
        return self.raises is not None


# data -------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _cached():
    X, y, group = make_small_ratings()
    return X, y, group


def data(with_groups=False):
    """A fresh copy of the small planted-taste ratings (``X``, ``y``)."""
    X, y, group = _cached()
    X, y = X.copy(), y.copy()
    if with_groups:
        X["group_id"] = group[X["user_id"].to_numpy()]
    return X, y


def ids_only():
    X, y = data()
    return X[["user_id", "item_id"]], y


def tiny_dmtl(**params):
    """A GroupDMTLRecommender small enough for tests (one CPU second or so)."""
    settings = dict(
        max_epochs=2, hidden_size=8, embedding_size=4, batch_size=256, lambda_profile=0.0,
        random_state=0,
    )
    settings.update(params)
    return GroupDMTLRecommender(**settings)


def _fit(make, X, y):
    return make().fit(X, y)


def _finite(pred, n=None):
    pred = np.asarray(pred)
    assert pred.dtype == np.float64 and np.isfinite(pred).all()
    if n is not None:
        assert pred.shape == (n,)


def _drop(column):
    def run(_):
        X, y = data()
        return BaselineOnly().fit(X.drop(columns=column), y)

    return run


def _with_y(values, make=BaselineOnly):
    def run(_):
        X, y = ids_only()
        return make().fit(X.iloc[: len(values)], values)

    return run


def _fit_array(array, make=BaselineOnly, y=None):
    def run(_):
        return make().fit(array, np.ones(len(array)) if y is None else y)

    return run


# fall-back runners ------------------------------------------------------------------------
def _duplicates(make):
    def run(_):
        X, y = data()
        X2 = pd.concat([X, X.iloc[:50]], ignore_index=True)
        y2 = np.concatenate([y, y[:50]])
        # and a tiny table with more ratings (8) than (user, item) cells (6)
        X3 = pd.DataFrame(
            {"user_id": [1, 1, 1, 2, 2, 3, 3, 3], "item_id": [10, 10, 11, 10, 11, 11, 11, 10]}
        )
        y3 = np.array([5.0, 4.0, 2.0, 3.0, 1.0, 2.0, 3.0, 5.0])
        out = []
        for X_, y_ in ((X2, y2), (X3, y3)):
            est = make().fit(X_, y_)
            out.append((est, y_, est.predict(X_)))
        return out

    return run


def _check_duplicates(result):
    for est, y, pred in result:
        _finite(pred, len(y))
        # duplicates count as ratings: the global mean includes them
        assert np.isclose(est.global_mean_, y.mean())


def _unseen(make, with_groups=False):
    def run(_):
        X, y = data(with_groups)
        est = make().fit(X, y)
        new = X.iloc[:4].copy()
        new["user_id"] = [10_001, X["user_id"].iloc[1], 10_002, 10_003]
        new["item_id"] = [X["item_id"].iloc[0], 20_001, 20_002, 20_003]
        new["user_kind"] = ["never-seen", "a", "b", "never-seen"]
        return est, est.predict(new)

    return run


def _check_unseen(result):
    est, pred = result
    _finite(pred, 4)
    assert (pred >= est.rating_range_[0]).all() and (pred <= est.rating_range_[1]).all()


def _one_user(make):
    def run(_):
        X = pd.DataFrame({"user_id": [7] * 5, "item_id": [1, 2, 3, 4, 5]})
        y = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
        est = make().fit(X, y)
        new = pd.DataFrame({"user_id": [7, 7, 8], "item_id": [1, 9, 2]})
        return est.predict(new)

    return run


def _one_item(make):
    def run(_):
        X = pd.DataFrame({"user_id": [1, 2, 3, 4], "item_id": ["a"] * 4})
        y = np.array([2.0, 3.0, 4.0, 5.0])
        est = make().fit(X, y)
        return est.predict(pd.DataFrame({"user_id": [1, 9], "item_id": ["a", "b"]}))

    return run


def _extra_columns_at_predict(_):
    X, y = ids_only()
    est = BaselineOnly().fit(X, y)
    more = X.assign(comment="free text", ctx_weather=1.5)
    return est.predict(X), est.predict(more)


def _check_same(result):
    a, b = result
    np.testing.assert_array_equal(a, b)


def _aggregator_unknown_group(_):
    X, y = data(with_groups=True)
    agg = GroupAggregator(BaselineOnly()).fit(X, y)
    rows = pd.DataFrame({"group_id": [0, "no-such-group"], "item_id": [X["item_id"].iloc[0]] * 2})
    return agg, agg.predict(rows)


def _check_aggregator_unknown_group(result):
    agg, pred = result
    _finite(pred, 2)
    assert pred[1] == agg.global_mean_


def _grouper_unseen_user(_):
    X, y = data()
    grouper = KMeansGrouper(n_groups=4, n_init=2, random_state=0).fit(X)
    new = pd.DataFrame(
        {"user_id": [10_001, 10_002], "item_id": [1, 2], "user_age": [20, 90],
         "user_kind": ["a", "never-seen"]}
    )
    return grouper.predict(new)


def _grouper_nan_feature(_):
    X, y = data()
    X = X.assign(user_age=X["user_age"].where(X["user_id"] != X["user_id"].iloc[0]))
    return KMeansGrouper(n_groups=4, n_init=2, random_state=0).fit(X).predict(X)


def _check_groups_in_range(groups):
    assert groups.dtype == np.int64 and ((groups >= 0) & (groups < 4)).all()


def _dmtl_unknown_natural_group(_):
    X, y = data()
    members = pd.DataFrame({"group_id": ["g1", "g1", "g2"], "user_id": X["user_id"].iloc[:3]})
    est = tiny_dmtl().fit(X, y, groups=members)
    rows = pd.DataFrame({"group_id": ["g1", "no-such-group"], "item_id": X["item_id"].iloc[:2]})
    return est.predict_group(rows)


# error runners ----------------------------------------------------------------------------
def _predict_wrong_columns(_):
    X, y = ids_only()
    est = BaselineOnly().fit(X.to_numpy(), y)
    return est.predict(np.column_stack([X.to_numpy(), np.ones(len(X))]))


def _predict_before_fit(_):
    X, _ = ids_only()
    return BaselineOnly().predict(X)


def _corrupt_movielens(tmp_path):
    folder = Path(tmp_path) / "ml-100k"
    folder.mkdir()
    (folder / "u.data").write_text("1\t1\t5\t881250949\n")
    return load_movielens_100k(data_home=tmp_path, download_if_missing=False)


def _corrupt_itm_rec(tmp_path):
    folder = Path(tmp_path) / "itm-rec"
    folder.mkdir()
    (folder / "ITM-Rec.zip").write_bytes(b"PK\x03\x04 not really a zip")
    return load_itm_rec(data_home=tmp_path, download_if_missing=False)


def _absent_dataset(tmp_path):
    return load_movielens_100k(data_home=tmp_path, download_if_missing=False)


def _aggregator(strategy="average", threshold=None, with_groups=True, y=None):
    def run(_):
        X, y_ = data(with_groups)
        return GroupAggregator(BaselineOnly(), strategy=strategy, threshold=threshold).fit(
            X, y_ if y is None else y(y_)
        )

    return run


def _aggregator_numpy_rows(_):
    X, y = data(with_groups=True)
    agg = GroupAggregator(BaselineOnly()).fit(X, y)
    return agg.predict(X[["group_id", "item_id"]].to_numpy())


def _grouper(params=None, X_fn=None, y=False):
    def run(_):
        X, y_ = data()
        if X_fn is not None:
            X = X_fn(X)
        return KMeansGrouper(**{"n_init": 2, "random_state": 0, **(params or {})}).fit(
            X, y_ if y else None
        )

    return run


def _knn(**params):
    def run(_):
        X, y = ids_only()
        return KNNBasic(**params).fit(X, y)

    return run


def _dmtl_without_group_id(_):
    X, y = data()
    return tiny_dmtl(lambda_profile=0.5).fit(X, y)


def _dmtl_x_group_without_groups(_):
    X, y = data()
    rows = pd.DataFrame({"group_id": ["g1"], "item_id": [X["item_id"].iloc[0]]})
    return tiny_dmtl().fit(X, y, X_group=rows, y_group=[3.0])


def _nmf_negative(_):
    X, y = ids_only()
    return NMF(n_epochs=1).fit(X, y - 10)


def _diverging_svd(_):
    X, y = ids_only()
    return SVD(n_epochs=5, lr_all=5.0, random_state=0).fit(X, y)


class _NaNEstimator(BaselineOnly):
    """An inner estimator whose predictions are NaN (a stand-in for a broken model)."""

    def _predict_indexed(self, users, items):
        return np.full(users.shape[0], np.nan)


def _aggregator_nan_inner(_):
    X, y = data(with_groups=True)
    agg = GroupAggregator(_NaNEstimator()).fit(X, y)
    return agg.predict(X[["group_id", "item_id"]].iloc[:3])


def _rescaled(make, low, high, step):
    def run(_):
        X, y = ids_only()
        unit = (y - y.min()) / (y.max() - y.min())
        y = low + step * np.round(unit * (high - low) / step)
        return make().fit(X, y).predict(X.iloc[:20]), (low, high)

    return run


def _check_on_scale(result):
    pred, (low, high) = result
    _finite(pred, 20)
    assert pred.min() >= low and pred.max() <= high


def _all_equal(make):
    def run(_):
        X, _ = ids_only()
        return make().fit(X, np.full(len(X), 4.0)).predict(X.iloc[:10])

    return run


def _set_ratings(fn):
    def run(_):
        X, y = ids_only()
        return BaselineOnly().fit(X, fn(y))

    return run


def _set_X(fn, make=BaselineOnly):
    def run(_):
        X, y = ids_only()
        return make().fit(fn(X), y)

    return run


# the estimators each "duplicated rows" and "unseen user/item" row is run on ---------------
DUPLICATE_ROW_ESTIMATORS = {
    "NormalPredictor": lambda: NormalPredictor(random_state=0),
    "BaselineOnly": BaselineOnly,
    "SVD": lambda: SVD(n_epochs=2, random_state=0),
    "SVDpp": lambda: SVDpp(n_epochs=2, random_state=0),
    "NMF": lambda: NMF(n_epochs=2, random_state=0),
    "KNNBasic": KNNBasic,
    "KNNWithMeans": KNNWithMeans,
    "KNNWithZScore": KNNWithZScore,
    "KNNBaseline": KNNBaseline,
    "SlopeOne": SlopeOne,
    "CoClustering": lambda: CoClustering(n_epochs=2, random_state=0),
    "GroupDMTLRecommender": tiny_dmtl,
}

# Known defects of modules owned by others, reported and awaiting their fix:
# ``{case id: reason}``; the case is an expected failure until the entry is removed.
PENDING = {}

DUPLICATES_OUTCOME = (
    "fall-back: fitted; a repeated rating counts as a separate rating, as in Surprise "
    "(the global mean includes it)"
)
UNSEEN_OUTCOME = (
    "fall-back: finite predictions within the training rating range (biases of the known "
    "side, then the global mean; DMTL: feature-only path, unseen categories encode to zeros)"
)

CASES = [
    # -- the id columns ----------------------------------------------------------------------
    BadInput("missing-user-id", "BaselineOnly.fit", "DataFrame without a user_id column",
             _drop("user_id"), ValueError, r"missing the required column\(s\) \['user_id'\]"),
    BadInput("misnamed-item-id", "BaselineOnly.fit", "item id column named 'itemId'",
             _set_X(lambda X: X.rename(columns={"item_id": "itemId"})), ValueError,
             r"missing the required column\(s\) \['item_id'\]"),
    BadInput("missing-id-value", "BaselineOnly.fit", "a user_id is NaN",
             _set_X(lambda X: X.astype({"user_id": float}).assign(
                 user_id=lambda f: f["user_id"].where(f.index != 3))),
             ValueError, r"column 'user_id' has 1 missing value"),
    BadInput("duplicated-column-names", "BaselineOnly.fit", "two columns named user_id",
             _set_X(lambda X: pd.concat([X, X[["user_id"]]], axis=1)), ValueError,
             r"duplicated column names \['user_id'\]"),
    BadInput("empty-frame", "BaselineOnly.fit", "a DataFrame with 0 rows",
             lambda _: BaselineOnly().fit(ids_only()[0].iloc[:0], []), ValueError, r"X is empty"),
    # -- the ratings ---------------------------------------------------------------------------
    BadInput("nan-rating", "BaselineOnly.fit", "a NaN rating",
             _set_ratings(lambda y: np.where(np.arange(len(y)) == 5, np.nan, y)), ValueError,
             r"1 NaN or infinite rating\(s\) \(first at position 5\)"),
    BadInput("inf-rating", "KNNBasic.fit", "an infinite rating",
             _with_y([3.0, np.inf, 4.0], KNNBasic), ValueError, r"NaN or infinite rating"),
    BadInput("string-ratings", "BaselineOnly.fit", "ratings 'good'/'bad'",
             _with_y(["good", "bad"]), ValueError, r"y must hold numeric ratings"),
    BadInput("object-ratings", "SlopeOne.fit", "object ratings mixing numbers and text",
             _with_y(np.array([4, "n/a", 3], dtype=object), SlopeOne), ValueError,
             r"y must hold numeric ratings"),
    BadInput("complex-ratings", "BaselineOnly.fit", "complex ratings",
             _with_y(np.array([1 + 2j, 3 + 0j])), ValueError, r"Complex data not supported"),
    BadInput("datetime-ratings", "BaselineOnly.fit", "dates as ratings",
             _with_y(np.array(["2024-01-01", "2024-01-02"], dtype="datetime64[D]")),
             ValueError, r"y must hold numeric ratings; got dtype datetime64"),
    BadInput("2d-ratings", "BaselineOnly.fit", "y of shape (n, 2)",
             _with_y(np.ones((3, 2))), ValueError, r"y must be 1-D"),
    BadInput("missing-y", "BaselineOnly.fit", "y=None",
             lambda _: BaselineOnly().fit(ids_only()[0], None), ValueError,
             r"requires y to be passed, but the target y is None"),
    BadInput("mismatched-lengths", "KNNWithMeans.fit", "y one shorter than X",
             lambda _: KNNWithMeans().fit(ids_only()[0], ids_only()[1][:-1]), ValueError,
             r"X and y have different lengths: X has 600 rows, y has 599"),
    BadInput("negative-ratings-nmf", "NMF.fit", "negative ratings (NMF needs >= 0)",
             _nmf_negative, ValueError, r"NMF needs non-negative ratings"),
    BadInput("diverging-training", "SVD(lr_all=5).fit",
             "a learning rate so large that SGD diverges", _diverging_svd, NonFiniteTrainingError,
             r"SVD training diverged: .* NaN or infinite at epoch \d+\. Use smaller learning "
             r"rates \(lr_all / lr_\*\), more regularisation"),
    BadInput("aggregator-nan-inner", "GroupAggregator.predict",
             "an inner estimator that predicts NaN", _aggregator_nan_inner, ValueError,
             r"the inner estimator _NaNEstimator predicted \d+ NaN or infinite member rating"),
    # -- array and other input types -----------------------------------------------------------
    BadInput("complex-array", "BaselineOnly.fit", "a complex array X",
             _fit_array(np.array([[1 + 1j, 2], [3, 4]])), ValueError,
             r"Complex data not supported"),
    BadInput("datetime-array", "BaselineOnly.fit", "an array X of dates",
             _fit_array(np.array([["2024-01-01", "2024-01-02"]], dtype="datetime64[D]")),
             TypeError, r"X has datetime64\[D\] values"),
    BadInput("one-column-array", "BaselineOnly.fit", "an array with only the user id column",
             _fit_array(np.array([[1], [2]])), ValueError,
             r"X has 1 feature\(s\) \(shape=\(2, 1\)\) while a minimum of 2 is required"),
    BadInput("1d-array", "BaselineOnly.fit", "a 1-D array X",
             _fit_array(np.array([1, 2, 3])), ValueError, r"must be 2-D.*Reshape your data"),
    BadInput("nan-feature-array", "BaselineOnly.fit", "NaN in a feature column of an array",
             _fit_array(np.array([[1, 2, np.nan], [2, 3, 1.0]])), ValueError,
             r"NaN or infinite feature values"),
    BadInput("sparse-matrix", "KNNBasic.fit", "a scipy sparse matrix X",
             lambda _: KNNBasic().fit(sp.csr_matrix(np.ones((3, 2))), [1.0, 2.0, 3.0]),
             TypeError, r"sparse input is not supported"),
    BadInput("file-name-as-X", "BaselineOnly.fit", "a file name instead of a table",
             lambda _: BaselineOnly().fit("ratings.csv", [1.0]), TypeError,
             r"X must be a pandas DataFrame"),
    BadInput("array-columns-changed", "BaselineOnly.predict",
             "fitted on a 2-column array, predicting on a 3-column array",
             _predict_wrong_columns, ValueError,
             r"X has 3 features, but BaselineOnly is expecting 2 features as input"),
    BadInput("predict-before-fit", "BaselineOnly.predict", "predict on an unfitted estimator",
             _predict_before_fit, NotFittedError, r"not fitted yet"),
    # -- parameters ----------------------------------------------------------------------------
    BadInput("negative-k", "KNNBasic(k=-3).fit", "a negative number of neighbours",
             _knn(k=-3), ValueError, r"k must be an integer >= 1; got -3"),
    BadInput("unknown-similarity", "KNNBasic(similarity='jaccard').fit",
             "an unknown similarity", _knn(similarity="jaccard"), ValueError,
             r"similarity must be one of .*; got 'jaccard'"),
    BadInput("wrong-strategy", "GroupAggregator(strategy='median').fit", "an unknown strategy",
             _aggregator(strategy="median"), ValueError,
             r"strategy must be one of .*; got 'median'"),
    BadInput("missing-threshold", "GroupAggregator(strategy='approval').fit",
             "'approval' without a threshold", _aggregator(strategy="approval"), ValueError,
             r"strategy='approval' needs a numeric threshold"),
    BadInput("multiplicative-zero-rating", "GroupAggregator(strategy='multiplicative').fit",
             "a zero rating with the multiplicative strategy",
             _aggregator(strategy="multiplicative", y=lambda y: y - 1), ValueError,
             r"needs positive ratings"),
    BadInput("wrong-cluster-on", "KMeansGrouper(cluster_on='items').fit",
             "an unknown cluster_on", _grouper({"cluster_on": "items"}), ValueError,
             r"cluster_on must be one of .*; got 'items'"),
    # -- groups --------------------------------------------------------------------------------
    BadInput("too-many-groups", "KMeansGrouper(n_groups=41).fit",
             "n_groups above the number of users (40)", _grouper({"n_groups": 41}), ValueError,
             r"n_groups=41 is larger than the number of distinct users in X \(40\)"),
    BadInput("no-user-features", "KMeansGrouper.fit", "no user_* column to cluster on",
             _grouper({"n_groups": 4}, lambda X: X[["user_id", "item_id"]]), ValueError,
             r"no user feature found to cluster on"),
    BadInput("ratings-grouping-without-y", "KMeansGrouper(cluster_on='ratings').fit",
             "clustering on ratings without y", _grouper({"n_groups": 4, "cluster_on": "ratings"}),
             ValueError, r"needs y \(the ratings\)"),
    BadInput("inf-user-feature", "KMeansGrouper.fit", "an infinite user_age",
             _grouper({"n_groups": 4}, lambda X: X.assign(
                 user_age=X["user_age"].where(X["user_id"] != X["user_id"].iloc[0], np.inf))),
             ValueError, r"numeric user feature column 'user_age' has 1 infinite value"),
    BadInput("datetime-user-feature", "KMeansGrouper.fit", "a datetime user feature",
             _grouper({"n_groups": 4}, lambda X: X.assign(
                 user_birth=pd.Timestamp("2000-01-01") + pd.to_timedelta(X["user_id"], "D"))),
             TypeError, r"user feature 'user_birth' has dtype datetime64"),
    BadInput("aggregator-without-groups", "GroupAggregator.fit",
             "neither a group_id column nor a membership table",
             _aggregator(with_groups=False), ValueError,
             r"missing the required column\(s\) \['group_id'\].*KMeansGrouper"),
    BadInput("aggregator-array-rows", "GroupAggregator.predict",
             "an array of (group_id, item_id) rows", _aggregator_numpy_rows, TypeError,
             r"X must be a pandas DataFrame with columns 'group_id' and 'item_id'"),
    BadInput("dmtl-without-group-id", "GroupDMTLRecommender(lambda_profile=0.5).fit",
             "profiling on, but no group_id column", _dmtl_without_group_id, ValueError,
             r"missing the required column\(s\) \['group_id'\]"),
    BadInput("dmtl-x-group-without-groups", "GroupDMTLRecommender.fit",
             "group ratings X_group without the membership table",
             _dmtl_x_group_without_groups, ValueError, r"X_group needs the membership table"),
    BadInput("dmtl-ranking-rating-option", "GroupDMTLRecommender(objective='bpr').fit",
             "sharing='mmoe', an option of the rating network only",
             lambda _: GroupDMTLRecommender(objective="bpr", sharing="mmoe").fit(
                 ids_only()[0]), ValueError,
             r"sharing='mmoe' has no effect with objective='bpr'"),
    # -- loaders and generator -----------------------------------------------------------------
    BadInput("corrupted-u-data", "load_movielens_100k",
             "a u.data that is not the published file", _corrupt_movielens, ChecksumError,
             r"u\.data' has md5 checksum \w+, expected 6e47046882bad158b0efbb84cd5cb987"),
    BadInput("corrupted-itm-rec-zip", "load_itm_rec", "a damaged ITM-Rec.zip",
             _corrupt_itm_rec, ChecksumError, r"expected dda2a8d07b45fbbdfa7d6743cf8265e7"),
    BadInput("absent-dataset", "load_movielens_100k(download_if_missing=False)",
             "an empty data home", _absent_dataset, FileNotFoundError,
             r"was not found in .* and download_if_missing=False"),
    BadInput("unknown-split", "load_movielens_100k_split('u9')", "an unknown split name",
             lambda tmp: load_movielens_100k_split("u9", data_home=tmp, download_if_missing=False),
             ValueError, r"split must be one of .*; got 'u9'"),
    BadInput("data-home-type", "load_movielens_100k(data_home=3)", "data_home not a path",
             lambda _: load_movielens_100k(data_home=3, download_if_missing=False), TypeError,
             r"data_home must be a str or path-like"),
    BadInput("generator-more-groups-than-users", "make_group_ratings(n_users=5, n_groups=6)",
             "more groups than users",
             lambda _: make_group_ratings(n_users=5, n_groups=6, n_ratings=10), ValueError,
             r"n_groups \(6\) cannot be larger than n_users \(5\)"),
    # -- documented fall-backs ---------------------------------------------------------------
    *[
        BadInput(f"duplicates-{name}", f"{name}.fit", "the same (user, item) pair rated twice",
                 _duplicates(make), check=_check_duplicates, outcome=DUPLICATES_OUTCOME,
                 pending=PENDING.get(f"duplicates-{name}"))
        for name, make in DUPLICATE_ROW_ESTIMATORS.items()
    ],
    *[
        BadInput(f"unseen-{name}", f"{name}.predict",
                 "users, items and categories unseen in fit", _unseen(make),
                 check=_check_unseen, outcome=UNSEEN_OUTCOME)
        for name, make in (
            ("BaselineOnly", BaselineOnly), ("KNNBaseline", KNNBaseline),
            ("SVD", lambda: SVD(n_epochs=2, random_state=0)), ("SlopeOne", SlopeOne),
            ("GroupDMTLRecommender", tiny_dmtl),
        )
    ],
    *[
        BadInput(f"scale-{label}-{name}", f"{name}.fit", f"ratings on a {label} scale",
                 _rescaled(make, *bounds), check=_check_on_scale,
                 outcome="fall-back: fitted (SGD on ratings scaled to the size of 1-5); finite "
                 "predictions on the data's scale")
        for label, bounds in (("0-100", (0, 100, 5)), ("-10..10", (-10, 10, 1)),
                              ("0.5-5", (0.5, 5, 0.5)))
        for name, make in (("SVD", lambda: SVD(n_epochs=5, random_state=0)),
                           ("SVDpp", lambda: SVDpp(n_epochs=5, random_state=0)))
    ],
    *[
        BadInput(f"all-equal-{name}", f"{name}.fit", "every rating equal (4)", _all_equal(make),
                 check=lambda pred: _finite(pred, 10) or np.testing.assert_allclose(pred, 4.0),
                 outcome="fall-back: fitted; every prediction is that rating")
        for name, make in (("SVDpp", lambda: SVDpp(n_epochs=5, random_state=0)),
                           ("KNNWithZScore", KNNWithZScore))
    ],
    BadInput("one-user", "BaselineOnly.fit", "ratings of a single user", _one_user(BaselineOnly),
             check=lambda pred: _finite(pred, 3),
             outcome="fall-back: fitted; item biases, and the global mean for the unseen user"),
    BadInput("one-user-knn", "KNNWithMeans.fit", "ratings of a single user (no neighbour)",
             _one_user(KNNWithMeans), check=lambda pred: _finite(pred, 3),
             outcome="fall-back: fitted; with no neighbour the user's mean (global mean if unseen)"),
    BadInput("one-item", "KNNBasic(user_based=False).fit", "ratings of a single item",
             _one_item(lambda: KNNBasic(user_based=False)), check=lambda pred: _finite(pred, 2),
             outcome="fall-back: fitted; with no neighbour the global mean"),
    BadInput("extra-columns-at-predict", "BaselineOnly.predict",
             "a DataFrame with columns unseen in fit", _extra_columns_at_predict,
             check=_check_same, outcome="fall-back: columns the estimator does not use are ignored"),
    BadInput("unknown-membership-group", "GroupAggregator.predict",
             "a group_id absent from the membership", _aggregator_unknown_group,
             check=_check_aggregator_unknown_group,
             outcome="fall-back: the row gets global_mean_"),
    BadInput("unseen-user-grouper", "KMeansGrouper.predict",
             "users and a user_kind category unseen in fit", _grouper_unseen_user,
             check=_check_groups_in_range,
             outcome="fall-back: nearest centre (unseen categories encode to zeros)"),
    BadInput("nan-user-feature", "KMeansGrouper.fit", "a NaN user_age", _grouper_nan_feature,
             check=_check_groups_in_range,
             outcome="fall-back: the training mean of the column (the missing-value policy)"),
    BadInput("unknown-natural-group", "GroupDMTLRecommender.predict_group",
             "a natural group absent from the membership", _dmtl_unknown_natural_group,
             check=lambda pred: _finite(pred, 2),
             outcome="fall-back: scored as one unknown user"),
]
