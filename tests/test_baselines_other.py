"""SlopeOne and CoClustering against naive Surprise-style loops."""

import itertools

import numpy as np
import pandas as pd
import pytest

from sk_grouprec.baselines import (
    NMF,
    SVD,
    BaselineOnly,
    KNNBaseline,
    KNNBasic,
    KNNWithMeans,
    KNNWithZScore,
    NormalPredictor,
    SVDpp,
)
from sk_grouprec.baselines.co_clustering import CoClustering
from sk_grouprec.baselines.slope_one import SlopeOne
from sk_grouprec.datasets import make_group_ratings
from sk_grouprec.testing import RecommenderConformance


class TestSlopeOne(RecommenderConformance):
    def make_estimator(self, **params):
        return SlopeOne(**params)


class TestSlopeOneSparse(RecommenderConformance):
    def make_estimator(self, **params):
        return SlopeOne(max_dense_entities=4, **params)


class TestCoClustering(RecommenderConformance):
    def make_estimator(self, **params):
        return CoClustering(random_state=0, **params)


def tiny_ratings(seed=0, n_u=12, n_i=9, n=60):
    rng = np.random.default_rng(seed)
    users, items = rng.integers(0, n_u, n), rng.integers(0, n_i, n)
    users[:n_u], items[:n_i] = np.arange(n_u), np.arange(n_i)
    return users, items, rng.integers(1, 6, n).astype(float)


def naive_slope_one(users, items, r, queries):
    """Surprise's SlopeOne.fit/estimate, literally (duplicates count pair by pair)."""
    n_i = items.max() + 1
    ur = {}
    for u, i, x in zip(users, items, r):
        ur.setdefault(u, []).append((i, x))
    freq, dev = np.zeros((n_i, n_i)), np.zeros((n_i, n_i))
    for ratings in ur.values():
        for (i, ri), (j, rj) in itertools.product(ratings, ratings):
            freq[i, j] += 1
            dev[i, j] += ri - rj
    out = []
    for u, i in queries:
        relevant = [j for j, _ in ur[u] if freq[i, j] > 0]
        est = np.mean([x for _, x in ur[u]])
        if relevant:
            est += sum(dev[i, j] / freq[i, j] for j in relevant) / len(relevant)
        out.append(est)
    return np.clip(out, r.min(), r.max())


@pytest.mark.parametrize("max_dense", [10_000, 3])
def test_slope_one_matches_naive_loop(max_dense):
    users, items, r = tiny_ratings()
    est = SlopeOne(max_dense_entities=max_dense).fit(pd.DataFrame({"user_id": users, "item_id": items}), r)
    grid = np.array(list(itertools.product(range(12), range(9))))
    got = est.predict(pd.DataFrame({"user_id": grid[:, 0], "item_id": grid[:, 1]}))
    np.testing.assert_allclose(got, naive_slope_one(users, items, r, grid), atol=1e-12)
    assert (est.deviation_ is None) == (max_dense == 3)


def test_slope_one_without_relevant_items_is_the_user_mean():
    X = pd.DataFrame({"user_id": [0, 0, 1, 2], "item_id": [0, 1, 2, 2]})
    r = np.array([2.0, 4.0, 5.0, 1.0])
    est = SlopeOne().fit(X, r)
    # user 0 rated items 0 and 1, which share no user with item 2
    assert est.predict(pd.DataFrame({"user_id": [0], "item_id": [2]}))[0] == pytest.approx(3.0)
    unknown = est.predict(pd.DataFrame({"user_id": [0, 9], "item_id": [9, 0]}))
    np.testing.assert_allclose(unknown, r.mean())


def naive_co_clustering(users, items, r, n_cu, n_ci, n_epochs, seed):
    """Surprise's CoClustering.fit, literally (first-seen index order = Surprise inner ids)."""
    n_u, n_i = users.max() + 1, items.max() + 1
    rng = np.random.RandomState(seed)
    cu, ci = rng.randint(n_cu, size=n_u), rng.randint(n_ci, size=n_i)
    mu = r.mean()
    u_mean = np.array([r[users == u].mean() for u in range(n_u)])
    i_mean = np.array([r[items == i].mean() for i in range(n_i)])

    def averages():
        def avg(keys, n):
            return np.array([r[keys == c].mean() if (keys == c).any() else mu for c in range(n)])

        co = avg(cu[users] * n_ci + ci[items], n_cu * n_ci).reshape(n_cu, n_ci)
        return avg(cu[users], n_cu), avg(ci[items], n_ci), co

    def est(u, i, uc, ic, au, ai, co):
        return co[uc, ic] + u_mean[u] - au[uc] + i_mean[i] - ai[ic]

    for _ in range(n_epochs):
        au, ai, co = averages()
        for u in range(n_u):
            mine = np.flatnonzero(users == u)
            errors = [sum((r[t] - est(u, items[t], c, ci[items[t]], au, ai, co)) ** 2 for t in mine) for c in range(n_cu)]
            cu[u] = np.argmin(errors)
        for i in range(n_i):
            mine = np.flatnonzero(items == i)
            errors = [sum((r[t] - est(users[t], i, cu[users[t]], c, au, ai, co)) ** 2 for t in mine) for c in range(n_ci)]
            ci[i] = np.argmin(errors)
    au, ai, co = averages()
    return cu, ci, lambda u, i: est(u, i, cu[u], ci[i], au, ai, co)


def test_co_clustering_matches_naive_loop():
    users, items, r = tiny_ratings(seed=2)
    est = CoClustering(n_cltr_u=3, n_cltr_i=2, n_epochs=5, random_state=7)
    est.fit(pd.DataFrame({"user_id": users, "item_id": items}), r)
    cu, ci, predict = naive_co_clustering(users, items, r, 3, 2, 5, 7)
    np.testing.assert_array_equal(est.user_cluster_, cu)
    np.testing.assert_array_equal(est.item_cluster_, ci)
    grid = np.array(list(itertools.product(range(12), range(9))))
    expected = np.clip([predict(u, i) for u, i in grid], 1, 5)
    got = est.predict(pd.DataFrame({"user_id": grid[:, 0], "item_id": grid[:, 1]}))
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_co_clustering_unknown_fallbacks():
    users, items, r = tiny_ratings(seed=3)
    est = CoClustering(random_state=0).fit(pd.DataFrame({"user_id": users, "item_id": items}), r)
    pred = est.predict(pd.DataFrame({"user_id": [0, 99, 99], "item_id": [99, 0, 98]}))
    expected = [r[users == 0].mean(), r[items == 0].mean(), r.mean()]
    np.testing.assert_allclose(pred, expected)


def test_co_clustering_random_state_changes_the_start():
    users, items, r = tiny_ratings(seed=4, n_u=30, n_i=20, n=200)
    X = pd.DataFrame({"user_id": users, "item_id": items})
    runs = [CoClustering(n_epochs=0, random_state=s).fit(X, r).user_cluster_ for s in (0, 1)]
    assert not np.array_equal(*runs)


def test_matches_surprise_itself():
    surprise = pytest.importorskip("surprise")
    users, items, r = tiny_ratings(seed=5, n_u=20, n_i=15, n=150)
    frame = pd.DataFrame({"user_id": users, "item_id": items, "rating": r})
    trainset = surprise.Dataset.load_from_df(frame, surprise.Reader(rating_scale=(1, 5))).build_full_trainset()
    grid = np.array(list(itertools.product(range(20), range(15))))
    query = pd.DataFrame({"user_id": grid[:, 0], "item_id": grid[:, 1]})
    X = frame[["user_id", "item_id"]]
    for theirs, ours in [
        (surprise.SlopeOne(), SlopeOne()),
        (surprise.CoClustering(random_state=3), CoClustering(random_state=3)),
    ]:
        theirs.fit(trainset)
        expected = [theirs.predict(u, i).est for u, i in grid]
        np.testing.assert_allclose(ours.fit(X, r).predict(query), expected, atol=1e-12)


@pytest.mark.parametrize("params", [{"n_cltr_u": 0}, {"n_cltr_i": 1.5}, {"n_epochs": -1}])
def test_co_clustering_bad_parameters(params):
    with pytest.raises(ValueError, match=next(iter(params))):
        CoClustering(**params).fit(pd.DataFrame({"user_id": [0], "item_id": [0]}), [1.0])


@pytest.mark.realdata
@pytest.mark.parametrize("est, bound", [(SlopeOne(), 0.960), (CoClustering(random_state=0), 0.968)])
def test_movielens_u1_rmse(data_home, est, bound):
    names = ["user_id", "item_id", "rating", "timestamp"]
    train = pd.read_csv(data_home / "ml-100k" / "u1.base", sep="\t", names=names)
    test = pd.read_csv(data_home / "ml-100k" / "u1.test", sep="\t", names=names)
    pred = est.fit(train[["user_id", "item_id"]], train["rating"]).predict(test[["user_id", "item_id"]])
    rmse = float(np.sqrt(np.mean((pred - test["rating"].to_numpy()) ** 2)))
    print(f"{type(est).__name__} u1 RMSE {rmse:.4f}")
    assert rmse < bound


# -- rating scales ------------------------------------------------------------------------
SCALE_ESTIMATORS = {
    "BaselineOnly-als": lambda: BaselineOnly(),
    "BaselineOnly-sgd": lambda: BaselineOnly(method="sgd"),
    "SVD": lambda: SVD(n_factors=10, random_state=0),
    "SVDpp": lambda: SVDpp(random_state=0),
    "NMF-biased": lambda: NMF(biased=True, random_state=0),
    "KNNBasic": lambda: KNNBasic(),
    "KNNWithMeans": lambda: KNNWithMeans(),
    "KNNWithZScore": lambda: KNNWithZScore(),
    "KNNBaseline": lambda: KNNBaseline(),
    "SlopeOne": lambda: SlopeOne(),
    "CoClustering": lambda: CoClustering(random_state=0),
}


def _scaled(low, high, step):
    """Planted-taste ratings (real structure) mapped onto ``low..high`` in ``step``s."""
    X, y = make_group_ratings(n_users=200, n_items=150, n_groups=5, n_ratings=6000,
                              discrete=False, random_state=0)
    unit = (y - y.min()) / (y.max() - y.min())
    return X[["user_id", "item_id"]], low + step * np.round(unit * (high - low) / step)


@pytest.fixture(scope="module", params=[(1, 5, 1), (0.5, 5, 0.5), (0, 10, 1), (0, 100, 5), (-10, 10, 1)],
                ids=["1-5", "0.5-5", "0-10", "0-100", "-10..10"])
def scaled(request):
    X, y = _scaled(*request.param)
    test = np.random.default_rng(0).random(len(y)) < 0.2
    return X[~test], y[~test], X[test], y[test]


@pytest.mark.parametrize("name", sorted(SCALE_ESTIMATORS))
def test_every_scale_finite_and_better_than_the_mean(scaled, name):
    X, y, X_test, y_test = scaled
    if name.startswith("NMF") and y.min() < 0:
        pytest.skip("NMF needs non-negative ratings")
    pred = SCALE_ESTIMATORS[name]().fit(X, y).predict(X_test)
    assert np.isfinite(pred).all()
    rmse = np.sqrt(np.mean((pred - y_test) ** 2))
    mean_rmse = np.sqrt(np.mean((y.mean() - y_test) ** 2))
    assert rmse < mean_rmse, (name, rmse, mean_rmse)


@pytest.mark.parametrize("make", [NormalPredictor, NMF, SVD, SVDpp, KNNWithZScore, SlopeOne],
                         ids=lambda m: m.__name__)
def test_scale_finite_nmf_and_random(scaled, make):
    """NMF (unbiased, as Surprise's) and the random predictor are only asked to stay finite
    and in range; all-equal ratings too."""
    X, y, X_test, _ = scaled
    for target in (y, np.full_like(y, 7.0)):
        if make is NMF and target.min() < 0:
            continue
        est = make(**({"random_state": 0} if make in (NormalPredictor, NMF, SVD, SVDpp) else {}))
        pred = est.fit(X, target).predict(X_test)
        assert np.isfinite(pred).all()
        assert pred.min() >= target.min() and pred.max() <= target.max()
