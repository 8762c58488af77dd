"""The k-NN family: similarities and predictions against naive Surprise-style loops."""

import heapq
import itertools
import math

import numpy as np
import pandas as pd
import pytest

from sk_grouprec.baselines.bias import fit_baselines
from sk_grouprec.baselines.knn import KNNBaseline, KNNBasic, KNNWithMeans, KNNWithZScore
from sk_grouprec.baselines.similarities import SIMILARITIES, similarity_matrix
from sk_grouprec.testing import RecommenderConformance

KNN_CLASSES = (KNNBasic, KNNWithMeans, KNNWithZScore, KNNBaseline)


class TestKNNBasic(RecommenderConformance):
    def make_estimator(self, **params):
        return KNNBasic(k=10, **params)


class TestKNNWithMeans(RecommenderConformance):
    def make_estimator(self, **params):
        return KNNWithMeans(k=10, similarity="pearson", **params)


class TestKNNWithZScore(RecommenderConformance):
    def make_estimator(self, **params):
        return KNNWithZScore(k=10, similarity="cosine", user_based=False, **params)


class TestKNNBaseline(RecommenderConformance):
    def make_estimator(self, **params):
        return KNNBaseline(k=10, similarity="pearson_baseline", **params)


class TestKNNBaselineSparseStorage(RecommenderConformance):
    """The top-neighbours storage used above ``max_dense_entities``."""

    def make_estimator(self, **params):
        return KNNBaseline(k=10, max_dense_entities=5, n_stored_neighbors=12, **params)


# naive references: literal transcriptions of Surprise's loops ----------------------------
def tiny_ratings(seed=0, n_x=9, n_y=8, n=45):
    """Integer ratings with repeated (x, y) pairs, as Surprise allows."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, n_x, n)
    y = rng.integers(0, n_y, n)
    r = rng.integers(1, 6, n).astype(float)
    x[:n_x], y[:n_y] = np.arange(n_x), np.arange(n_y)  # every index appears
    return x, y, r


def naive_similarity(x, y, r, n_x, name, min_support, shrinkage=100, baseline=None):
    yr = {}
    for xi, yi, ri in zip(x, y, r):
        yr.setdefault(yi, []).append((xi, ri))
    keys = ("freq", "prods", "sqi", "sqj", "si", "sj", "sqd")
    acc = {key: np.zeros((n_x, n_x)) for key in keys}
    for yi, ratings in yr.items():
        for (xi, ri), (xj, rj) in itertools.product(ratings, ratings):
            if baseline is not None:
                mu, bx, by = baseline
                ri, rj = ri - (mu + by[yi] + bx[xi]), rj - (mu + by[yi] + bx[xj])
            acc["freq"][xi, xj] += 1
            acc["prods"][xi, xj] += ri * rj
            acc["sqi"][xi, xj] += ri**2
            acc["sqj"][xi, xj] += rj**2
            acc["si"][xi, xj] += ri
            acc["sj"][xi, xj] += rj
            acc["sqd"][xi, xj] += (ri - rj) ** 2
    sim = np.eye(n_x)
    support = max(1, min_support if name != "pearson_baseline" else max(2, min_support))
    for a, b in itertools.combinations(range(n_x), 2):
        n, p = acc["freq"][a, b], acc["prods"][a, b]
        sqi, sqj, si, sj = acc["sqi"][a, b], acc["sqj"][a, b], acc["si"][a, b], acc["sj"][a, b]
        if n < support:
            value = 0.0
        elif name == "msd":
            value = 1 / (acc["sqd"][a, b] / n + 1)
        elif name == "cosine":
            value = p / math.sqrt(sqi * sqj)
        elif name == "pearson":
            den = math.sqrt((n * sqi - si**2) * (n * sqj - sj**2))
            value = 0.0 if den == 0 else (n * p - si * sj) / den
        else:
            value = p / math.sqrt(sqi * sqj) * (n - 1) / (n - 1 + shrinkage)
        sim[a, b] = sim[b, a] = value
    return sim


def naive_predict(kind, x, y, r, sim, k, min_k, queries, bsl=None):
    """Surprise's ``estimate`` for one (x, y) query at a time, ``x`` and ``y`` known."""
    n_x = sim.shape[0]
    yr, xr = {}, {}
    for xi, yi, ri in zip(x, y, r):
        yr.setdefault(yi, []).append((xi, ri))
        xr.setdefault(xi, []).append(ri)
    means = np.array([np.mean(xr[i]) for i in range(n_x)])
    sigmas = np.array([np.std(xr[i]) or np.std(r) for i in range(n_x)])
    out = []
    for xq, yq in queries:
        cands = [(x2, sim[xq, x2], r2) for x2, r2 in yr[yq]]
        best = heapq.nlargest(k, cands, key=lambda t: t[1])
        sum_sim = sum_val = 0.0
        actual = 0
        for x2, s, r2 in best:
            if s > 0:
                if kind == "KNNBasic":
                    value = r2
                elif kind == "KNNWithMeans":
                    value = r2 - means[x2]
                elif kind == "KNNWithZScore":
                    value = (r2 - means[x2]) / sigmas[x2]
                else:
                    mu, bx, by = bsl
                    value = r2 - (mu + bx[x2] + by[yq])
                sum_sim += s
                sum_val += s * value
                actual += 1
        ok = actual >= min_k and sum_sim > 0
        if kind == "KNNBasic":
            out.append(sum_val / sum_sim if ok else float(np.mean(r)))
            continue
        average = sum_val / sum_sim if ok else 0.0
        if kind == "KNNWithMeans":
            out.append(means[xq] + average)
        elif kind == "KNNWithZScore":
            out.append(means[xq] + average * sigmas[xq])
        else:
            mu, bx, by = bsl
            out.append(mu + bx[xq] + by[yq] + average)
    return np.clip(out, r.min(), r.max())


@pytest.mark.parametrize("name", SIMILARITIES)
@pytest.mark.parametrize("min_support", [1, 3])
def test_similarity_matrix_matches_naive_loop(name, min_support):
    x, y, r = tiny_ratings()
    baseline = None
    if name == "pearson_baseline":
        mu, bx, by = fit_baselines(x, y, r, 9, 8)
        baseline = (mu, bx, by)
    got = similarity_matrix(x, y, r, 9, 8, similarity=name, min_support=min_support, shrinkage=7, baseline=baseline)
    expected = naive_similarity(x, y, r, 9, name, min_support, shrinkage=7, baseline=baseline)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    assert (got == 0).any() if min_support == 3 else True


def test_similarity_blocks_give_the_same_matrix():
    from sk_grouprec.baselines.similarities import iter_similarity_blocks

    x, y, r = tiny_ratings(seed=3)
    whole = similarity_matrix(x, y, r, 9, 8, similarity="pearson")
    parts = list(iter_similarity_blocks(x, y, r, 9, 8, similarity="pearson", block_rows=2))
    assert len(parts) == 5
    np.testing.assert_array_equal(np.vstack([b for _, _, b in parts]), whole)


@pytest.mark.parametrize("cls", KNN_CLASSES)
@pytest.mark.parametrize("name", SIMILARITIES)
@pytest.mark.parametrize("user_based", [True, False])
def test_predictions_match_naive_surprise_loop(cls, name, user_based):
    users, items, r = tiny_ratings(seed=1, n_x=12, n_y=10, n=70)
    X = pd.DataFrame({"user_id": users, "item_id": items})
    est = cls(k=3, min_k=3, similarity=name, user_based=user_based, shrinkage=5).fit(X, r)
    grid = np.array(list(itertools.product(range(12), range(10))))
    got = est.predict(pd.DataFrame({"user_id": grid[:, 0], "item_id": grid[:, 1]}))
    # indices: ids are 0..n-1 in order of first appearance, which is 0, 1, 2... here
    assert list(est.user_index_.ids) == list(range(12))
    x, y = (users, items) if user_based else (items, users)
    queries = grid if user_based else grid[:, ::-1]
    bsl = None
    if cls is KNNBaseline or name == "pearson_baseline":
        mu, bu, bi = fit_baselines(users, items, r, 12, 10, global_mean=r.mean())
        bsl = (mu, bu, bi) if user_based else (mu, bi, bu)
    n_x = 12 if user_based else 10
    sim = naive_similarity(x, y, r, n_x, name, 1, shrinkage=5, baseline=bsl if name == "pearson_baseline" else None)
    expected = naive_predict(cls.__name__, x, y, r, sim, 3, 3, queries, bsl=bsl)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


def test_min_k_fallbacks_are_exercised():
    users, items, r = tiny_ratings(seed=1, n_x=12, n_y=10, n=70)
    X = pd.DataFrame({"user_id": users, "item_id": items})
    grid = pd.DataFrame(list(itertools.product(range(12), range(10))), columns=["user_id", "item_id"])
    est = KNNBasic(k=6, min_k=5).fit(X, r)
    sums = est._aggregate_neighbours(*est._switch(
        est.user_index_.transform(grid["user_id"]), est.item_index_.transform(grid["item_id"])))
    fell_back = sums[2] < 5
    assert fell_back.any() and (~fell_back).any()
    np.testing.assert_allclose(est.predict(grid)[fell_back], r.mean())
    means = KNNWithMeans(k=6, min_k=5).fit(X, r)
    user_mean = pd.Series(r).groupby(users).mean().to_numpy()
    np.testing.assert_allclose(
        means.predict(grid)[fell_back], np.clip(user_mean[grid["user_id"][fell_back]], 1, 5)
    )


def test_zscore_constant_user_uses_overall_sigma():
    X = pd.DataFrame({"user_id": [0, 0, 1, 1, 2, 2], "item_id": [0, 1, 0, 1, 0, 2]})
    r = np.array([4.0, 4.0, 1.0, 5.0, 2.0, 3.0])
    est = KNNWithZScore().fit(X, r)
    assert est.sigmas_[0] == pytest.approx(np.std(r))
    assert est.sigmas_[1] == pytest.approx(2.0)


def test_item_based_equals_user_based_on_transposed_data():
    users, items, r = tiny_ratings(seed=2, n_x=10, n_y=10, n=60)
    X = pd.DataFrame({"user_id": users, "item_id": items})
    Xt = pd.DataFrame({"user_id": items, "item_id": users})
    grid = np.array(list(itertools.product(range(10), range(10))))
    a = KNNWithMeans(k=4, user_based=False, similarity="pearson").fit(X, r)
    b = KNNWithMeans(k=4, similarity="pearson").fit(Xt, r)
    pa = a.predict(pd.DataFrame({"user_id": grid[:, 0], "item_id": grid[:, 1]}))
    pb = b.predict(pd.DataFrame({"user_id": grid[:, 1], "item_id": grid[:, 0]}))
    np.testing.assert_allclose(pa, pb, atol=1e-12)


@pytest.mark.parametrize("user_based", [True, False])
def test_sparse_storage_is_exact_when_every_neighbour_is_kept(user_based):
    users, items, r = tiny_ratings(seed=4, n_x=15, n_y=15, n=120)
    X = pd.DataFrame({"user_id": users, "item_id": items})
    grid = pd.DataFrame(list(itertools.product(range(16), range(16))), columns=["user_id", "item_id"])
    dense = KNNWithMeans(k=4, user_based=user_based).fit(X, r)
    sparse = KNNWithMeans(k=4, user_based=user_based, max_dense_entities=3, n_stored_neighbors=15).fit(X, r)
    assert isinstance(dense.similarity_, np.ndarray)
    np.testing.assert_allclose(sparse.similarity_.toarray(), dense.similarity_)
    np.testing.assert_allclose(sparse.predict(grid), dense.predict(grid), atol=1e-12)
    truncated = KNNWithMeans(k=4, user_based=user_based, max_dense_entities=3, n_stored_neighbors=4).fit(X, r)
    assert truncated.similarity_.nnz == 15 * 4
    assert np.allclose(truncated.similarity_.diagonal(), 1.0)  # itself always kept


def test_unknown_ids_fall_back():
    users, items, r = tiny_ratings()
    X = pd.DataFrame({"user_id": users, "item_id": items})
    unknown = pd.DataFrame({"user_id": [0, 99, 99], "item_id": [99, 0, 98]})
    for cls in (KNNBasic, KNNWithMeans, KNNWithZScore):
        np.testing.assert_allclose(cls().fit(X, r).predict(unknown), r.mean())
    est = KNNBaseline().fit(X, r)
    mu, bu, bi = est.global_mean_, est.user_bias_, est.item_bias_
    expected = [mu + bu[0], mu + bi[0], mu]
    np.testing.assert_allclose(est.predict(unknown), np.clip(expected, 1, 5))


@pytest.mark.parametrize(
    "params, message",
    [
        ({"k": 0}, "k must be"),
        ({"min_k": -1}, "min_k must be"),
        ({"similarity": "euclid"}, "similarity must be"),
        ({"user_based": "yes"}, "user_based"),
        ({"shrinkage": -1}, "shrinkage"),
        ({"baseline_method": "newton"}, "baseline_method"),
    ],
)
def test_bad_parameters(params, message):
    X = pd.DataFrame({"user_id": [0, 1], "item_id": [0, 0]})
    with pytest.raises(ValueError, match=message):
        KNNBasic(**params).fit(X, [1.0, 2.0])


def test_matches_surprise_itself():
    surprise = pytest.importorskip("surprise")
    users, items, r = tiny_ratings(seed=5, n_x=15, n_y=12, n=100)
    frame = pd.DataFrame({"user_id": users, "item_id": items, "rating": r})
    trainset = surprise.Dataset.load_from_df(frame, surprise.Reader(rating_scale=(1, 5))).build_full_trainset()
    grid = np.array(list(itertools.product(range(16), range(13))))  # includes unknown ids
    query = pd.DataFrame({"user_id": grid[:, 0], "item_id": grid[:, 1]})
    for cls, name in zip(KNN_CLASSES, ("msd", "pearson", "cosine", "pearson_baseline")):
        theirs = getattr(surprise, cls.__name__)(
            k=4, min_k=2, sim_options={"name": name, "shrinkage": 10}, verbose=False
        ).fit(trainset)
        expected = [theirs.predict(u, i).est for u, i in grid]
        got = cls(k=4, min_k=2, similarity=name, shrinkage=10).fit(frame[["user_id", "item_id"]], r).predict(query)
        np.testing.assert_allclose(got, expected, atol=1e-10)


@pytest.mark.realdata
@pytest.mark.parametrize(
    "cls, bound", [(KNNBasic, 0.992), (KNNWithMeans, 0.968), (KNNWithZScore, 0.967), (KNNBaseline, 0.945)]
)
def test_movielens_u1_rmse(data_home, cls, bound):
    names = ["user_id", "item_id", "rating", "timestamp"]
    train = pd.read_csv(data_home / "ml-100k" / "u1.base", sep="\t", names=names)
    test = pd.read_csv(data_home / "ml-100k" / "u1.test", sep="\t", names=names)
    est = cls().fit(train[["user_id", "item_id"]], train["rating"])
    pred = est.predict(test[["user_id", "item_id"]])
    rmse = float(np.sqrt(np.mean((pred - test["rating"].to_numpy()) ** 2)))
    print(f"{cls.__name__} u1 RMSE {rmse:.4f}")
    assert rmse < bound
