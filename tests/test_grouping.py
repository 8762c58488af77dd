import pickle
import zipfile

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.compose import make_column_selector
from sklearn.exceptions import NotFittedError
from sklearn.metrics import adjusted_rand_score
from sklearn.pipeline import Pipeline, make_pipeline

from sk_grouprec.grouping import KMeansGrouper, check_membership, membership_from_frame
from sk_grouprec.testing import make_small_ratings


@pytest.fixture(scope="module")
def data():
    return make_small_ratings()


@pytest.fixture(scope="module")
def fitted(data):
    X, _, _ = data
    return KMeansGrouper(n_groups=4, random_state=0).fit(X)


def blobs(n_users=60, seed=0):
    """Users in three well separated numeric blobs, 1 to 5 ratings each."""
    rng = np.random.default_rng(seed)
    truth = np.arange(n_users) % 3
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    feats = centres[truth] + rng.normal(scale=0.5, size=(n_users, 2))
    counts = rng.integers(1, 6, n_users)
    users = np.repeat(np.arange(n_users), counts)
    X = pd.DataFrame(
        {
            "user_id": users,
            "item_id": rng.integers(0, 20, users.shape[0]),
            "user_a": feats[users, 0],
            "user_b": feats[users, 1],
        }
    )
    return X, truth


# fitting -------------------------------------------------------------------------------
def test_recovers_planted_groups_from_features(data, fitted):
    X, _, group = data
    assert fitted.user_ids_.shape == (X["user_id"].nunique(),)
    assert adjusted_rand_score(group[fitted.user_ids_], fitted.labels_) == pytest.approx(1.0)
    assert fitted.cluster_centers_.shape == (4, 1 + 4)  # scaled age + 4 one-hot kinds
    assert fitted.group_sizes_.sum() == X["user_id"].nunique()
    assert fitted.user_feature_names_ == ["user_age", "user_kind"]


def test_recovers_numeric_blobs():
    X, truth = blobs()
    grouper = KMeansGrouper(n_groups=3, random_state=0).fit(X)
    assert adjusted_rand_score(truth[grouper.user_ids_], grouper.labels_) == pytest.approx(1.0)


def test_fitted_attributes(data, fitted):
    X, _, _ = data
    assert fitted.n_features_in_ == X.shape[1]
    assert list(fitted.feature_names_in_) == list(X.columns)
    assert fitted.labels_.dtype == np.int64
    series = fitted.user_groups_
    assert series.name == "group_id" and series.index.name == "user_id"
    np.testing.assert_array_equal(series.index.to_numpy(), fitted.user_ids_)
    np.testing.assert_array_equal(series.to_numpy(), fitted.labels_)
    # user ids in order of first appearance
    np.testing.assert_array_equal(fitted.user_ids_, pd.unique(X["user_id"]))
    assert fitted.fallback_group_ == int(np.argmax(fitted.group_sizes_))
    assert fitted.n_iter_ >= 1
    assert fitted.svd_ is None


def test_deterministic_under_random_state(data):
    X, y, _ = data
    for params in ({}, {"cluster_on": "ratings", "n_components": 3}):
        a = KMeansGrouper(n_groups=4, n_init=1, random_state=3, **params).fit(X, y)
        b = KMeansGrouper(n_groups=4, n_init=1, random_state=3, **params).fit(X, y)
        np.testing.assert_array_equal(a.labels_, b.labels_)
        np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_)


def test_one_row_per_user():
    # user 0 has 100 ratings, the others one: the fit must be the same as if each had one
    ages = np.array([0.0, 2.0, 10.0, 12.0])
    counts = np.array([100, 1, 1, 1])
    users = np.repeat(np.arange(4), counts)
    X = pd.DataFrame(
        {"user_id": users, "item_id": np.arange(users.shape[0]), "user_age": ages[users]}
    )
    grouper = KMeansGrouper(n_groups=2, n_init=5, random_state=0).fit(X)
    scaler = grouper.encoder_.named_transformers_["numeric"][-1]
    assert scaler.mean_[0] == pytest.approx(ages.mean())  # 6, not the rating-weighted 0.34
    centres = np.sort(scaler.inverse_transform(grouper.cluster_centers_)[:, 0])
    np.testing.assert_allclose(centres, [1.0, 11.0])
    once = X.drop_duplicates("user_id")
    again = KMeansGrouper(n_groups=2, n_init=5, random_state=0).fit(once)
    np.testing.assert_allclose(again.cluster_centers_, grouper.cluster_centers_)


def test_first_row_of_each_user_gives_its_features():
    X = pd.DataFrame(
        {
            "user_id": [1, 1, 2, 3],
            "item_id": [1, 2, 1, 1],
            "user_age": [10.0, 99.0, 11.0, 50.0],
        }
    )
    grouper = KMeansGrouper(n_groups=2, random_state=0).fit(X)
    groups = grouper.user_groups_
    assert groups[1] == groups[2] != groups[3]


def test_categorical_dtypes_are_one_hot():
    rng = np.random.default_rng(1)
    users = np.repeat(np.arange(30), 2)
    kind = np.arange(30) % 2
    X = pd.DataFrame(
        {
            "user_id": users,
            "item_id": rng.integers(0, 9, users.shape[0]),
            "user_flag": (kind[users] == 1),
            "user_cat": pd.Categorical(np.array(["x", "y"])[kind[users]]),
            "user_str": pd.array(np.array(["p", "q"])[kind[users]], dtype="string"),
        }
    )
    grouper = KMeansGrouper(n_groups=2, random_state=0).fit(X)
    assert grouper.cluster_centers_.shape == (2, 6)
    assert adjusted_rand_score(kind[grouper.user_ids_], grouper.labels_) == pytest.approx(1.0)
    assert "numeric" not in grouper.encoder_.named_transformers_


def test_features_as_list_and_selector(data):
    X, _, group = data
    by_list = KMeansGrouper(n_groups=4, features=["user_kind"], random_state=0).fit(X)
    assert by_list.user_feature_names_ == ["user_kind"]
    assert by_list.cluster_centers_.shape == (4, 4)
    selector = make_column_selector(pattern="^user_age$")
    by_selector = KMeansGrouper(n_groups=4, features=selector, random_state=0).fit(X)
    assert by_selector.user_feature_names_ == ["user_age"]
    assert by_selector.cluster_centers_.shape == (4, 1)
    assert adjusted_rand_score(group[by_selector.user_ids_], by_selector.labels_) == pytest.approx(
        1.0
    )
    # the selector survives clone (deep-copied, as scikit-learn does with plain params)
    cloned = clone(KMeansGrouper(n_groups=4, features=selector, random_state=0)).fit(X)
    assert cloned.user_feature_names_ == ["user_age"]


def test_string_ids(data, fitted):
    X, _, _ = data
    Xs = X.assign(user_id="u" + X["user_id"].astype(str), item_id="i" + X["item_id"].astype(str))
    grouper = KMeansGrouper(n_groups=4, random_state=0).fit(Xs)
    np.testing.assert_array_equal(grouper.labels_, fitted.labels_)
    np.testing.assert_array_equal(grouper.predict(Xs), fitted.predict(X))


def test_numpy_input_with_named_feature():
    X, truth = blobs()
    array = X[["user_id", "item_id", "user_a", "user_b"]].to_numpy()
    grouper = KMeansGrouper(n_groups=3, features=["ctx_2", "ctx_3"], random_state=0).fit(array)
    out = grouper.transform(array)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["user_id", "item_id", "ctx_2", "ctx_3", "group_id"]
    assert list(grouper.get_feature_names_out()) == list(out.columns)
    assert not hasattr(grouper, "feature_names_in_")
    assert grouper.n_features_in_ == 4
    assert adjusted_rand_score(
        truth[grouper.user_ids_.astype(int)], grouper.labels_
    ) == pytest.approx(1.0)


# transforming --------------------------------------------------------------------------
def test_transform_adds_group_id_and_keeps_everything_else(data, fitted):
    X, _, _ = data
    shuffled = X.sample(frac=1.0, random_state=0)
    shuffled.index = shuffled.index * 10 + 7
    before = shuffled.copy()
    out = fitted.transform(shuffled)
    pd.testing.assert_frame_equal(shuffled, before)  # input untouched
    assert out is not shuffled
    assert list(out.columns) == [*X.columns, "group_id"]
    pd.testing.assert_frame_equal(out.drop(columns="group_id"), shuffled)
    expected = fitted.user_groups_.loc[shuffled["user_id"]].to_numpy()
    np.testing.assert_array_equal(out["group_id"].to_numpy(), expected)
    np.testing.assert_array_equal(fitted.predict(shuffled), expected)
    assert out["group_id"].dtype == np.int64


def test_existing_group_id_is_replaced_in_place(data, fitted):
    X, _, _ = data
    labelled = X.copy()
    labelled.insert(1, "group_id", -5)
    out = fitted.transform(labelled)
    assert list(out.columns) == list(labelled.columns)
    np.testing.assert_array_equal(out["group_id"].to_numpy(), fitted.predict(X))
    assert (labelled["group_id"] == -5).all()


def test_fit_transform_equals_fit_then_transform(data):
    X, _, _ = data
    a = KMeansGrouper(n_groups=4, random_state=0).fit_transform(X)
    b = KMeansGrouper(n_groups=4, random_state=0).fit(X).transform(X)
    pd.testing.assert_frame_equal(a, b)


def test_unseen_user_joins_the_nearest_centre():
    X, _ = blobs()
    grouper = KMeansGrouper(n_groups=3, random_state=0).fit(X)
    scaler = grouper.encoder_.named_transformers_["numeric"][-1]
    at_centres = scaler.inverse_transform(grouper.cluster_centers_)
    new = pd.DataFrame(
        {
            "user_id": [1000, 1001, 1002, 1000],
            "item_id": [0, 0, 0, 1],
            "user_a": [*at_centres[[2, 0, 1], 0], 123.0],  # later rows of a user do not count
            "user_b": [*at_centres[[2, 0, 1], 1], 123.0],
        }
    )
    np.testing.assert_array_equal(grouper.predict(new), [2, 0, 1, 2])

    # any unseen user: the centre at the smallest Euclidean distance in the encoded space
    rng = np.random.default_rng(5)
    many = pd.DataFrame(
        {
            "user_id": np.arange(500, 700),
            "item_id": 0,
            "user_a": rng.uniform(-5, 15, 200),
            "user_b": rng.uniform(-5, 15, 200),
        }
    )
    encoded = scaler.transform(many[["user_a", "user_b"]].to_numpy())
    dist = ((encoded[:, None, :] - grouper.cluster_centers_[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(grouper.predict(many), dist.argmin(1))


def test_known_users_keep_their_group_whatever_their_new_features(data, fitted):
    X, _, _ = data
    changed = X.assign(user_age=1000, user_kind="zzz")
    np.testing.assert_array_equal(fitted.predict(changed), fitted.predict(X))


def test_unseen_category_does_not_crash(data, fitted):
    X, _, _ = data
    new = X.iloc[:2].assign(user_id=[9001, 9002], user_kind=["never-seen", "a"])
    groups = fitted.predict(new)
    assert groups.shape == (2,) and ((groups >= 0) & (groups < 4)).all()


def test_set_output_both_ways(data):
    X, _, _ = data
    reference = KMeansGrouper(n_groups=4, random_state=0).fit_transform(X)
    for how in ("pandas", "default"):
        grouper = KMeansGrouper(n_groups=4, random_state=0).set_output(transform=how)
        out = grouper.fit_transform(X)
        assert isinstance(out, pd.DataFrame)
        pd.testing.assert_frame_equal(out, reference)
        pd.testing.assert_frame_equal(grouper.transform(X), reference)
        assert list(grouper.get_feature_names_out()) == list(reference.columns)
    with pytest.raises(ValueError, match="transform"):
        KMeansGrouper().set_output(transform="polars")


def test_get_feature_names_out(data, fitted):
    X, _, _ = data
    assert list(fitted.get_feature_names_out()) == [*X.columns, "group_id"]
    assert list(fitted.get_feature_names_out(list(X.columns))) == [*X.columns, "group_id"]
    with pytest.raises(ValueError, match="input_features"):
        fitted.get_feature_names_out(["a", "b"])


# rating-based grouping -----------------------------------------------------------------
def test_cluster_on_ratings_recovers_tastes():
    X, y, group = make_small_ratings(n_users=100, n_ratings=2000)
    grouper = KMeansGrouper(n_groups=4, cluster_on="ratings", n_components=3, random_state=0)
    out = grouper.fit_transform(X.drop(columns=["user_age", "user_kind"]), y)
    assert adjusted_rand_score(group[grouper.user_ids_], grouper.labels_) > 0.7
    assert grouper.cluster_centers_.shape == (4, 3)
    assert grouper.encoder_ is None and grouper.user_feature_names_ == []
    assert "group_id" in out.columns
    # unseen users (no ratings to place them by) join the largest group
    unseen = pd.DataFrame({"user_id": [-1, -2], "item_id": [0, 1]})
    np.testing.assert_array_equal(grouper.predict(unseen), [grouper.fallback_group_] * 2)
    assert grouper.group_sizes_[grouper.fallback_group_] == grouper.group_sizes_.max()


def test_cluster_on_ratings_averages_repeated_pairs(data):
    X, y, _ = data
    doubled = pd.concat([X, X], ignore_index=True)
    a = KMeansGrouper(n_groups=4, cluster_on="ratings", n_components=3, random_state=0).fit(X, y)
    b = KMeansGrouper(n_groups=4, cluster_on="ratings", n_components=3, random_state=0).fit(
        doubled, np.concatenate([y, y])
    )
    np.testing.assert_array_equal(a.labels_, b.labels_)


def test_cluster_on_ratings_n_components_up_to_the_number_of_items(data):
    X, y, _ = data  # 40 users, 30 items
    grouper = KMeansGrouper(n_groups=4, cluster_on="ratings", n_components=30, random_state=0)
    assert grouper.fit(X, y).cluster_centers_.shape == (4, 30)


def test_cluster_on_ratings_needs_y(data):
    X, _, _ = data
    with pytest.raises(ValueError, match="needs y"):
        KMeansGrouper(n_groups=4, cluster_on="ratings").fit(X)


# errors --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "params, message",
    [
        ({"n_groups": 41}, r"n_groups=41 is larger than the number of distinct users in X \(40\)"),
        ({"n_groups": 41, "cluster_on": "ratings"}, r"n_groups=41 .*\(40\)"),
        ({"n_groups": 0}, "n_groups must be an integer >= 1"),
        ({"cluster_on": "both"}, "cluster_on must be one of"),
        ({"n_init": 0}, "n_init must be a positive integer or 'auto'"),
        ({"n_init": "many"}, "n_init"),
        ({"max_iter": 0}, "max_iter"),
        (
            {"cluster_on": "ratings", "n_components": 31},
            r"n_components=31 .*users \(40\) and items \(30\)",
        ),
        ({"features": ["user_nope"]}, "user_nope"),
    ],
)
def test_bad_parameters(data, params, message):
    X, y, _ = data
    with pytest.raises(ValueError, match=message):
        KMeansGrouper(**{"n_groups": 4, **params}).fit(X, y)


def test_no_user_features(data):
    X, _, _ = data
    with pytest.raises(ValueError, match=r"features=.*cluster_on='ratings'"):
        KMeansGrouper(n_groups=4).fit(X[["user_id", "item_id", "item_score"]])
    with pytest.raises(ValueError, match="no user feature"):
        KMeansGrouper(n_groups=4).fit(X[["user_id", "item_id"]].to_numpy())


def test_missing_feature_values_follow_the_policy(data):
    X, _, _ = data
    first = X["user_id"] == X["user_id"].iloc[0]
    bad = X.copy()
    bad["user_age"] = bad["user_age"].astype(float)
    bad.loc[first, "user_age"] = np.inf
    with pytest.raises(ValueError, match="'user_age' has 1 infinite"):
        KMeansGrouper(n_groups=4).fit(bad)
    with pytest.raises(ValueError, match="'user_age' has only missing"):
        KMeansGrouper(n_groups=4).fit(X.assign(user_age=np.nan))
    # NaN: the training mean (numeric), a category of its own (categorical)
    imputed = X.copy()
    imputed["user_age"] = imputed["user_age"].astype(float)
    imputed.loc[first, "user_age"] = np.nan
    imputed["user_kind"] = imputed["user_kind"].astype(object)
    imputed.loc[first, "user_kind"] = None
    grouper = KMeansGrouper(n_groups=4, random_state=0).fit(imputed)
    mean_age = X.loc[~first].drop_duplicates("user_id")["user_age"].mean()
    numeric = grouper.encoder_.named_transformers_["numeric"]
    assert numeric[0].statistics_[0] == pytest.approx(mean_age)
    categories = grouper.encoder_.named_transformers_["categorical"].categories_[0]
    assert "__missing__" in list(categories)
    assert grouper.predict(imputed).shape == (len(X),)
    bad = X.assign(user_when=pd.Timestamp("2020-01-01"))
    with pytest.raises(TypeError, match="user_when"):
        KMeansGrouper(n_groups=4).fit(bad)


def test_transform_errors(data, fitted):
    X, _, _ = data
    with pytest.raises(ValueError, match=r"missing the user feature column\(s\) \['user_kind'\]"):
        fitted.transform(X.drop(columns="user_kind"))
    unseen = X.iloc[:1].assign(user_id=5000, user_age=np.nan)
    with pytest.raises(ValueError, match="user_age"):
        fitted.transform(unseen)
    with pytest.raises(ValueError, match="user_id"):
        fitted.transform(X.drop(columns="user_id"))
    with pytest.raises(NotFittedError):
        KMeansGrouper().transform(X)
    with pytest.raises(NotFittedError):
        KMeansGrouper().predict(X)


# composition ---------------------------------------------------------------------------
class GroupMeanRegressor(RegressorMixin, BaseEstimator):
    """Predicts the mean rating of the row's group; fails without ``group_id``."""

    def fit(self, X, y):
        assert isinstance(X, pd.DataFrame) and "group_id" in X.columns
        self.means_ = pd.Series(np.asarray(y)).groupby(X["group_id"].to_numpy()).mean()
        self.global_ = float(np.mean(y))
        return self

    def predict(self, X):
        assert isinstance(X, pd.DataFrame) and "group_id" in X.columns
        return X["group_id"].map(self.means_).fillna(self.global_).to_numpy(dtype=float)


@pytest.mark.parametrize("how", [None, "pandas", "default"])
def test_in_pipeline(data, how):
    X, y, _ = data
    pipe = Pipeline(
        [("grouper", KMeansGrouper(n_groups=3, random_state=0)), ("reg", GroupMeanRegressor())]
    )
    if how is not None:
        pipe.set_output(transform=how)
    pred = pipe.fit(X, y).predict(X)
    assert pred.shape == (len(X),) and np.isfinite(pred).all()
    assert set(np.round(pred, 10)) == set(np.round(pipe[-1].means_.to_numpy(), 10))
    unseen = X.iloc[:3].assign(user_id=[-1, -2, -3])
    assert np.isfinite(pipe.predict(unseen)).all()
    made = make_pipeline(KMeansGrouper(n_groups=3, random_state=0), GroupMeanRegressor())
    np.testing.assert_allclose(made.fit(X, y).predict(X), pred)
    made.set_params(kmeansgrouper__n_groups=2)
    assert made.fit(X, y)[-1].means_.shape == (2,)


def test_clone_and_pickle(data, fitted):
    X, _, _ = data
    grouper = KMeansGrouper(n_groups=7, features=["user_age"], cluster_on="features", n_init=3)
    assert clone(grouper).get_params() == grouper.get_params()
    assert not hasattr(clone(fitted), "kmeans_")
    again = pickle.loads(pickle.dumps(fitted))
    pd.testing.assert_frame_equal(again.transform(X), fitted.transform(X))
    new = X.iloc[:5].assign(user_id=np.arange(9000, 9005))
    np.testing.assert_array_equal(again.predict(new), fitted.predict(new))


# natural groups ------------------------------------------------------------------------
def test_check_membership_drops_exact_duplicates_only():
    table = pd.DataFrame({"group_id": [1, 1, 1, 2, 2], "user_id": ["a", "b", "a", "a", "c"]})
    table.index = [10, 11, 12, 13, 14]
    out = check_membership(table)
    assert out.to_dict("list") == {"group_id": [1, 1, 2, 2], "user_id": ["a", "b", "a", "c"]}
    assert list(out.index) == [0, 1, 2, 3]
    assert len(table) == 5  # input untouched
    with pytest.raises(ValueError, match="1 exact duplicate row"):
        check_membership(table, drop_duplicates=False)
    assert len(check_membership(table.iloc[[0, 1, 3]], drop_duplicates=False)) == 3


def test_check_membership_errors():
    with pytest.raises(TypeError, match="DataFrame"):
        check_membership([[1, 2]])
    with pytest.raises(ValueError, match=r"missing the column\(s\) \['user_id'\]"):
        check_membership(pd.DataFrame({"group_id": [1]}))
    with pytest.raises(ValueError, match="empty"):
        check_membership(pd.DataFrame({"group_id": [], "user_id": []}))
    with pytest.raises(ValueError, match="1 missing value.*'user_id'"):
        check_membership(pd.DataFrame({"group_id": [1, 2], "user_id": [3.0, np.nan]}))
    conflicting = pd.DataFrame({"group_id": [1, 1], "user_id": [3, 3], "role": ["lead", "member"]})
    with pytest.raises(ValueError, match="repeated"):
        check_membership(conflicting)


def test_membership_from_frame(fitted, data):
    X, _, _ = data
    out = fitted.transform(X)
    members = membership_from_frame(out)
    assert list(members.columns) == ["group_id", "user_id"]
    assert len(members) == X["user_id"].nunique()
    lookup = members.set_index("user_id")["group_id"]
    np.testing.assert_array_equal(lookup.loc[fitted.user_ids_].to_numpy(), fitted.labels_)
    with pytest.raises(ValueError, match="group_id"):
        membership_from_frame(X)
    with pytest.raises(TypeError):
        membership_from_frame(X.to_numpy())


# scikit-learn's own checks that fit the interaction-table contract ---------------------
SKLEARN_CHECKS = [
    "check_no_attributes_set_in_init",
    "check_estimators_overwrite_params",
    "check_dont_overwrite_parameters",
    "check_estimators_fit_returns_self",
    "check_estimators_unfitted",
    "check_parameters_default_constructible",
    "check_get_params_invariance",
    "check_set_params",
    "check_fit_idempotent",
    "check_fit_check_is_fitted",
    "check_methods_subset_invariance",
    "check_methods_sample_order_invariance",
    "check_estimators_pickle",
    "check_n_features_in",
    "check_dict_unchanged",
    "check_estimators_nan_inf",
    "check_transformer_n_iter",
    "check_pipeline_consistency",
    "check_estimators_dtypes",
    "check_dtype_object",
    "check_readonly_memmap_input",
    "check_transformer_data_not_an_array",
    "check_transformers_unfitted",
    "check_fit1d",
]
# these generate arrays of only two columns (ids), so they cannot carry a feature column
NEEDS_TWO_COLUMNS_ONLY = {
    "check_estimators_overwrite_params",
    "check_estimators_fit_returns_self",
    "check_fit_idempotent",
    "check_fit_check_is_fitted",
    "check_n_features_in",
    "check_readonly_memmap_input",
}


@pytest.mark.parametrize("cluster_on", ["ratings", "features"])
@pytest.mark.parametrize("check", SKLEARN_CHECKS)
def test_sklearn_checks(check, cluster_on):
    """scikit-learn's estimator checks that fit the contract (arrays: ids in columns 0, 1).

    Not run, because the contract differs by design: checks that fit on 1-column or
    1-sample arrays expect scikit-learn's own messages (check_fit2d_*, check_complex_data,
    check_estimators_empty_data_messages); check_transformer_general and
    check_n_features_in_after_fitting expect a column-count check in transform (the
    grouper passes any extra columns through); check_transformer_preserve_dtypes expects
    an array (the output is a DataFrame); the sparse checks (X is a table of ids).
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.utils import estimator_checks

    if cluster_on == "features" and check in NEEDS_TWO_COLUMNS_ONLY:
        pytest.skip("the check's data has no feature column")
    if cluster_on == "features":
        grouper = KMeansGrouper(n_groups=2, features=["ctx_2"], n_init=2, random_state=0)
    else:
        grouper = KMeansGrouper(
            n_groups=2, cluster_on="ratings", n_components=1, n_init=2, random_state=0
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # the checks' arrays give each user one rating: an all-zero centred rating matrix,
        # whose explained-variance ratio TruncatedSVD computes as 0/0
        warnings.simplefilter("ignore", RuntimeWarning)
        getattr(estimator_checks, check)(type(grouper).__name__, grouper)


# real data -----------------------------------------------------------------------------
@pytest.mark.realdata
def test_movielens_100k_users(data_home):
    folder = data_home / "ml-100k"
    users = pd.read_csv(
        folder / "u.user",
        sep="|",
        header=None,
        names=["user_id", "age", "gender", "occupation", "zip"],
    )
    ratings = pd.read_csv(
        folder / "u.data", sep="\t", header=None, names=["user_id", "item_id", "rating", "ts"]
    )
    X = ratings[["user_id", "item_id"]].merge(
        users.rename(
            columns={"age": "user_age", "gender": "user_gender", "occupation": "user_occupation"}
        )[["user_id", "user_age", "user_gender", "user_occupation"]],
        on="user_id",
        how="left",
        validate="many_to_one",
    )
    grouper = KMeansGrouper(n_groups=20, random_state=0)
    out = grouper.fit_transform(X)
    assert len(grouper.user_ids_) == 943
    assert grouper.cluster_centers_.shape == (20, 1 + 2 + 21)
    assert (grouper.group_sizes_ > 0).all() and grouper.group_sizes_.sum() == 943
    assert out["group_id"].nunique() == 20
    assert membership_from_frame(out).shape == (943, 2)
    again = KMeansGrouper(n_groups=20, random_state=0).fit(X)
    np.testing.assert_array_equal(again.labels_, grouper.labels_)
    by_ratings = KMeansGrouper(n_groups=20, cluster_on="ratings", random_state=0)
    by_ratings.fit(X, ratings["rating"])
    assert (by_ratings.group_sizes_ > 0).all() and by_ratings.group_sizes_.sum() == 943


@pytest.mark.realdata
def test_itm_rec_group_memberships(data_home):
    archive = data_home / "itm-rec" / "ITM-Rec.zip"
    if not archive.is_file():
        pytest.skip("ITM-Rec.zip not found")
    with zipfile.ZipFile(archive) as zf, zf.open("ITM-Rec/group.csv") as handle:
        raw = pd.read_csv(handle, skipinitialspace=True)
    raw.columns = raw.columns.str.strip()
    table = raw.rename(columns={"GroupID": "group_id", "UserID": "user_id"})
    assert len(table) == 395
    members = check_membership(table)
    assert len(members) == 358  # 37 exact duplicates removed, as group_size.csv says
    with pytest.raises(ValueError, match="37 exact duplicate"):
        check_membership(table, drop_duplicates=False)
