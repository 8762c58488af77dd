import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler

from sk_grouprec._validation import check_interactions, check_ratings
from sk_grouprec.datasets._synthetic import make_group_ratings


@pytest.fixture(scope="module")
def default_data():
    return make_group_ratings(return_groups=True, random_state=0)


def user_table(X):
    return X.drop_duplicates("user_id").set_index("user_id").sort_index()


def top_decile_share(ids):
    counts = np.sort(pd.Series(ids).value_counts().to_numpy())[::-1]
    return counts[: max(1, counts.shape[0] // 10)].sum() / counts.sum()


def test_shapes_columns_and_dtypes(default_data):
    X, y, groups = default_data
    assert X.shape == (20000, 16) and y.shape == (20000,)
    assert list(X.columns) == (
        ["user_id", "item_id", "user_age", "user_segment", "user_f0", "user_f1", "user_f2"]
        + [f"item_genre_{j}" for j in range(8)]
        + ["item_year"]
    )
    assert X["user_id"].dtype == np.int32 and X["item_id"].dtype == np.int32
    assert X["user_age"].dtype == np.int8 and X["item_year"].dtype == np.int16
    assert isinstance(X["user_segment"].dtype, pd.CategoricalDtype)
    assert X["user_f0"].dtype == np.float32 and X["item_genre_0"].dtype == bool
    assert y.dtype == np.float64
    assert X["user_id"].between(0, 999).all() and X["item_id"].between(0, 499).all()
    # the data contract accepts it as is
    assert check_interactions(X) is X
    check_ratings(y, X.shape[0])
    # groups: every user, indexed by id
    assert groups.shape == (1000,) and groups.name == "group_id"
    assert (groups.index == np.arange(1000)).all()
    assert sorted(groups.unique().tolist()) == list(range(10))


def test_each_pair_at_most_once_and_ratings_in_scale(default_data):
    X, y, _ = default_data
    assert not X.duplicated(["user_id", "item_id"]).any()
    assert y.min() >= 1 and y.max() <= 5
    assert np.array_equal(y, np.round(y))
    assert set(np.unique(y)) == {1.0, 2.0, 3.0, 4.0, 5.0}
    assert 3.0 < y.mean() < 4.2 and 0.7 < y.std() < 1.4


def test_features_are_constant_per_entity(default_data):
    X, _, _ = default_data
    user_cols = [c for c in X.columns if c.startswith("user_") and c != "user_id"]
    item_cols = [c for c in X.columns if c.startswith("item_") and c != "item_id"]
    assert (X.groupby("user_id", observed=True)[user_cols].nunique() == 1).all().all()
    assert (X.groupby("item_id")[item_cols].nunique() == 1).all().all()
    assert X["user_age"].between(16, 80).all() and X["item_year"].between(1920, 2025).all()


def test_continuous_ratings_and_other_scale():
    X, y = make_group_ratings(
        n_users=50, n_items=30, n_ratings=500, discrete=False, rating_scale=(0, 10), random_state=1
    )
    assert y.min() >= 0 and y.max() <= 10
    assert not np.array_equal(y, np.round(y))
    assert 4 < y.mean() < 8


def test_deterministic_and_seed_dependent():
    kw = dict(n_users=200, n_items=100, n_groups=4, n_ratings=3000)
    X1, y1, g1 = make_group_ratings(**kw, return_groups=True, random_state=7)
    X2, y2, g2 = make_group_ratings(**kw, return_groups=True, random_state=7)
    pd.testing.assert_frame_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    pd.testing.assert_series_equal(g1, g2)
    X3, y3 = make_group_ratings(**kw, random_state=np.random.RandomState(7))
    pd.testing.assert_frame_equal(X1, X3)
    X4, y4 = make_group_ratings(**kw, random_state=8)
    assert not X1[["user_id", "item_id"]].equals(X4[["user_id", "item_id"]])
    assert not np.array_equal(y1, y4)


def test_shuffle_false_sorts_by_user_then_item():
    X, _ = make_group_ratings(n_users=60, n_items=40, n_ratings=800, shuffle=False, random_state=0)
    codes = X["user_id"].to_numpy(np.int64) * 40 + X["item_id"].to_numpy()
    assert np.all(np.diff(codes) > 0)


def test_planted_groups_recovered_from_user_features():
    X, _, groups = make_group_ratings(
        n_users=400, n_items=100, n_groups=4, n_ratings=6000, group_cohesion=0.8,
        return_groups=True, random_state=0,
    )
    users = user_table(X)
    features = StandardScaler().fit_transform(users[["user_age", "user_f0", "user_f1", "user_f2"]])
    labels = KMeans(4, n_init=10, random_state=0).fit_predict(features)
    assert adjusted_rand_score(groups.loc[users.index], labels) > 0.5

    # without cohesion the features carry no group signal
    X, _, groups = make_group_ratings(
        n_users=400, n_items=100, n_groups=4, n_ratings=6000, group_cohesion=0.0,
        return_groups=True, random_state=0,
    )
    users = user_table(X)
    features = StandardScaler().fit_transform(users[["user_age", "user_f0", "user_f1", "user_f2"]])
    labels = KMeans(4, n_init=10, random_state=0).fit_predict(features)
    assert adjusted_rand_score(groups.loc[users.index], labels) < 0.1


def test_segment_follows_group_when_fully_cohesive():
    X, _, groups = make_group_ratings(
        n_users=100, n_items=50, n_groups=5, n_ratings=2000, group_cohesion=1.0,
        return_groups=True, random_state=0,
    )
    users = user_table(X)
    expected = "segment_" + (groups.loc[users.index] % 5).astype(str)
    assert (users["user_segment"].astype(str) == expected).all()


def test_planted_taste_is_shared_within_groups():
    # item means computed within the user's group predict held-out ratings better than
    # global item means: users of a group share taste
    X, y, groups = make_group_ratings(
        n_users=600, n_items=60, n_groups=3, n_ratings=20000, group_cohesion=0.9,
        noise=0.3, return_groups=True, random_state=0,
    )
    frame = X[["user_id", "item_id"]].assign(y=y, g=groups.to_numpy()[X["user_id"]])
    train, test = frame.iloc[:15000], frame.iloc[15000:]
    global_means = test["item_id"].map(train.groupby("item_id")["y"].mean())
    group_means = pd.merge(
        test, train.groupby(["g", "item_id"])["y"].mean().rename("m").reset_index(),
        on=["g", "item_id"], how="left",
    )["m"].to_numpy()
    ok = np.isfinite(global_means.to_numpy()) & np.isfinite(group_means)
    rmse_global = np.sqrt(np.mean((global_means.to_numpy()[ok] - test["y"].to_numpy()[ok]) ** 2))
    rmse_group = np.sqrt(np.mean((group_means[ok] - test["y"].to_numpy()[ok]) ** 2))
    assert rmse_group < 0.9 * rmse_global


def test_activity_and_popularity_skew(default_data):
    X, _, _ = default_data
    assert top_decile_share(X["user_id"]) > 0.25
    assert top_decile_share(X["item_id"]) > 0.4
    flat, _ = make_group_ratings(activity_skew=0.0, popularity_skew=0.0, random_state=0)
    assert top_decile_share(flat["user_id"]) < 0.2
    assert top_decile_share(flat["item_id"]) < 0.2


@pytest.mark.parametrize("n_ratings", [600, 590, 400])
def test_dense_requests_fill_the_matrix(n_ratings):
    X, y = make_group_ratings(
        n_users=30, n_items=20, n_groups=3, n_ratings=n_ratings, activity_skew=2.0,
        popularity_skew=2.0, random_state=0,
    )
    assert X.shape[0] == n_ratings
    assert not X.duplicated(["user_id", "item_id"]).any()


def test_extreme_skew_still_gives_distinct_pairs():
    X, _ = make_group_ratings(
        n_users=200, n_items=100, n_groups=3, n_ratings=5000, activity_skew=8.0,
        popularity_skew=8.0, random_state=0,
    )
    assert X.shape[0] == 5000
    assert not X.duplicated(["user_id", "item_id"]).any()
    # the skew shows: the most active user rates far more than the average one
    counts = X["user_id"].value_counts()
    assert counts.max() > 2.5 * counts.mean()


def test_no_feature_columns_when_asked():
    X, _ = make_group_ratings(
        n_users=20, n_items=10, n_groups=2, n_ratings=50, n_user_features=0, n_item_genres=0,
        random_state=0,
    )
    assert list(X.columns) == ["user_id", "item_id", "user_age", "user_segment", "item_year"]


@pytest.mark.parametrize(
    "params, error, message",
    [
        (dict(n_users=5, n_groups=6), ValueError, "n_groups"),
        (dict(n_users=10, n_items=10, n_ratings=101), ValueError, "n_ratings"),
        (dict(n_ratings=0), ValueError, "n_ratings"),
        (dict(n_users=2.5), ValueError, "n_users"),
        (dict(n_factors=0), ValueError, "n_factors"),
        (dict(noise=-0.1), ValueError, "noise"),
        (dict(noise=np.inf), ValueError, "noise"),
        (dict(group_cohesion=1.5), ValueError, "group_cohesion"),
        (dict(group_cohesion=-0.5), ValueError, "group_cohesion"),
        (dict(activity_skew=-1), ValueError, "activity_skew"),
        (dict(popularity_skew=np.nan), ValueError, "popularity_skew"),
        (dict(n_user_features=-1), ValueError, "n_user_features"),
        (dict(rating_scale=(5, 1)), ValueError, "low < high"),
        (dict(rating_scale=(1, 5, 10)), ValueError, "pair"),
        (dict(rating_scale=(0.5, 5)), ValueError, "integer bounds"),
        (dict(discrete="yes"), TypeError, "discrete"),
    ],
)
def test_bad_parameters(params, error, message):
    with pytest.raises(error, match=message):
        make_group_ratings(**params)
