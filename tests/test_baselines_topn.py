"""The top-N baselines on implicit feedback: conformance (score mode), planted structure,
exact formulas against naive loops, determinism, exclusion of training items, errors."""

import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from sk_grouprec.baselines import ALS, BPRMF, EASE, ItemKNN, MostPopular
from sk_grouprec.baselines import item_knn as item_knn_module
from sk_grouprec.testing import ScoreRecommenderConformance


class TestMostPopular(ScoreRecommenderConformance):
    def make_estimator(self, **params):
        return MostPopular(**params)


class TestItemKNN(ScoreRecommenderConformance):
    def make_estimator(self, **params):
        return ItemKNN(k=10, **params)


class TestBPRMF(ScoreRecommenderConformance):
    atol = 1e-5

    def make_estimator(self, **params):
        return BPRMF(n_factors=8, n_epochs=20, random_state=0, **params)


class TestALS(ScoreRecommenderConformance):
    atol = 1e-5

    def make_estimator(self, **params):
        return ALS(n_factors=8, n_epochs=5, random_state=0, **params)

    def test_fit_keeps_blas_single_threaded(self):
        # implicit warns (RuntimeWarning) when OpenBLAS runs a thread pool inside its own
        X = pd.DataFrame({"user_id": [0, 0, 1, 2], "item_id": [0, 1, 1, 2]})
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            self.make_estimator().fit(X)
        assert not [w for w in caught if "OpenBLAS" in str(w.message)]


class TestEASE(ScoreRecommenderConformance):
    def make_estimator(self, **params):
        return EASE(l2=10.0, **params)


# planted structure -------------------------------------------------------------------------
def two_communities(n_users=60, n_items=40, p=0.5, seed=0):
    """Users of community c interact only with the items of community c; one positive per
    user is held out. Returns (train, held_out, community of each user, of each item)."""
    rng = np.random.default_rng(seed)
    user_comm = np.arange(n_users) % 2
    item_comm = np.arange(n_items) % 2
    like = (user_comm[:, None] == item_comm[None, :]) & (rng.random((n_users, n_items)) < p)
    users, items = np.nonzero(like)
    X = pd.DataFrame({"user_id": users, "item_id": items}).sample(frac=1, random_state=seed)
    held = X.groupby("user_id").head(1)
    return X.drop(held.index).reset_index(drop=True), held.reset_index(drop=True), user_comm, item_comm


PERSONALISED = [
    ItemKNN(k=20),
    EASE(l2=10.0),
    BPRMF(n_factors=8, n_epochs=60, random_state=0),
    # configured like implicit's BPR
    BPRMF(n_factors=8, n_epochs=60, random_state=0, negative_sampling="popularity",
          negative_redraws=0),
    ALS(n_factors=8, n_epochs=10, random_state=0),
]


@pytest.mark.parametrize("model", PERSONALISED, ids=lambda m: type(m).__name__)
def test_planted_communities_are_recovered(model):
    train, held, user_comm, item_comm = two_communities()
    recs = model.fit(train).recommend(np.arange(60), n_items=5)
    same = item_comm[recs["item_id"].to_numpy()] == user_comm[recs["user_id"].to_numpy()]
    assert same.mean() > 0.9
    popular = MostPopular().fit(train).recommend(np.arange(60), n_items=5)
    same_pop = item_comm[popular["item_id"].to_numpy()] == user_comm[popular["user_id"].to_numpy()]
    assert same_pop.mean() < 0.8
    # the held-out items are ranked better than by popularity
    assert model.score(held) > MostPopular().fit(train).score(held)


@pytest.mark.parametrize("model", PERSONALISED + [MostPopular()], ids=lambda m: type(m).__name__)
def test_recommend_never_lists_training_items(model):
    train, _, _, _ = two_communities()
    recs = model.fit(train).recommend(np.arange(60), n_items=15)
    listed = set(zip(recs["user_id"], recs["item_id"]))
    assert not listed & set(zip(train["user_id"], train["item_id"]))
    counts = recs.groupby("user_id")["rank"].agg(["min", "max", "size"])
    assert (counts["min"] == 1).all() and (counts["max"] == counts["size"]).all()
    with_rated = model.recommend([0], n_items=40, exclude_rated=False)
    assert set(train.loc[train["user_id"] == 0, "item_id"]) <= set(with_rated["item_id"])


def test_recommend_with_candidates_and_unknown_ones():
    train, _, _, _ = two_communities()
    model = EASE(l2=10.0).fit(train)
    recs = model.recommend([0, 999], n_items=3, items=[1, 2, 3, 4, 555], exclude_rated=False)
    assert set(recs["item_id"]) <= {1, 2, 3, 4, 555}
    # user 0 is in community 0: even items first, the unknown item ranks last
    assert recs.loc[recs["user_id"] == 0, "item_id"].iloc[0] in (2, 4)


@pytest.mark.parametrize("cls", [BPRMF, ALS])
def test_random_state_makes_fits_reproducible(cls):
    train, _, _, _ = two_communities()
    params = {"n_factors": 6, "n_epochs": 5}
    a = cls(random_state=1, **params).fit(train)
    b = cls(random_state=1, **params).fit(train)
    c = cls(random_state=2, **params).fit(train)
    np.testing.assert_array_equal(a.user_factors_, b.user_factors_)
    assert not np.allclose(a.user_factors_, c.user_factors_)


# exact formulas ------------------------------------------------------------------------------
def tiny(seed=0, n_users=15, n_items=12, n=70):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"user_id": rng.integers(0, n_users, n), "item_id": rng.integers(0, n_items, n)})
    return X


def dense_matrix(model):
    return model.interactions_.toarray().astype(float)


def test_most_popular_scores_are_distinct_user_counts():
    X = pd.DataFrame({"user_id": [1, 1, 1, 2, 3], "item_id": [5, 5, 6, 5, 7]})
    model = MostPopular().fit(X)
    got = model.predict(pd.DataFrame({"user_id": [9, 9, 9], "item_id": [5, 6, 7]}))
    np.testing.assert_array_equal(got, [2.0, 1.0, 1.0])


@pytest.mark.parametrize("block_elements", [1 << 21, 5])
@pytest.mark.parametrize("k, shrinkage", [(3, 0.0), (5, 2.0), (50, 1.0)])
def test_item_knn_matches_naive_loops(monkeypatch, block_elements, k, shrinkage):
    monkeypatch.setattr(item_knn_module, "BLOCK_ELEMENTS", block_elements)
    X = tiny()
    model = ItemKNN(k=k, shrinkage=shrinkage).fit(X)
    R = dense_matrix(model)
    n_items = R.shape[1]
    sim = np.zeros((n_items, n_items))
    for i in range(n_items):
        for j in range(n_items):
            if i != j:
                co = (R[:, i] * R[:, j]).sum()
                sim[i, j] = co / (np.sqrt(R[:, i].sum() * R[:, j].sum()) + shrinkage)
    kept = np.zeros_like(sim)
    for j in range(n_items):
        order = np.argsort(-sim[j], kind="stable")[:k]
        kept[j, order] = sim[j, order]
    kept[kept <= 0] = 0
    expected = R @ kept
    # ties at the k-th similarity may keep a different item of equal value: compare scores
    # only where the naive neighbourhood is unambiguous
    ambiguous = np.zeros(n_items, dtype=bool)
    for j in range(n_items):
        s = np.sort(sim[j])[::-1]
        ambiguous[j] = k < n_items and s[min(k, n_items - 1)] == s[k - 1] and s[k - 1] > 0
    users_ok = ~(R[:, ambiguous] > 0).any(axis=1)
    got = model._user_rows(np.arange(R.shape[0]))
    np.testing.assert_allclose(got[users_ok], expected[users_ok], atol=1e-12)
    # pairs agree with rows
    u, i = np.nonzero(np.ones_like(R))
    np.testing.assert_allclose(model._score_pairs(u, i), got[u, i], atol=1e-12)


def test_ease_matches_the_closed_form():
    X = tiny(1)
    model = EASE(l2=3.0).fit(X)
    R = dense_matrix(model)
    P = np.linalg.inv(R.T @ R + 3.0 * np.eye(R.shape[1]))
    B = np.eye(R.shape[1]) - P / np.diag(P)[None, :]
    np.testing.assert_allclose(np.diag(model.weights_), 0)
    np.testing.assert_allclose(model.weights_, B, atol=1e-10)
    pairs = pd.DataFrame({"user_id": X["user_id"], "item_id": X["item_id"]})
    users = model.user_index_.transform(pairs["user_id"])
    items = model.item_index_.transform(pairs["item_id"])
    np.testing.assert_allclose(model.predict(pairs), (R @ B)[users, items], atol=1e-10)


def test_ease_refuses_a_catalogue_too_large_for_memory():
    X = pd.DataFrame({"user_id": np.arange(30) % 3, "item_id": np.arange(30)})
    with pytest.raises(ValueError, match=r"30 items, more than max_items=20.*GiB"):
        EASE(max_items=20).fit(X)
    with pytest.raises(ValueError, match="l2 must be > 0"):
        EASE(l2=0).fit(X)


def test_bpr_ranks_positives_above_negatives_better_with_training():
    train, held, _, _ = two_communities(seed=3)
    short = BPRMF(n_factors=8, n_epochs=1, random_state=0).fit(train)
    long = BPRMF(n_factors=8, n_epochs=80, random_state=0).fit(train)
    assert long.score(held) > short.score(held)


def test_bpr_never_samples_a_users_positive_as_negative():
    import torch

    from sk_grouprec.baselines.bpr import _draw_negatives

    positives = {(0, 0), (0, 1), (0, 2), (1, 3)}
    keys = torch.tensor(sorted(u * 4 + i for u, i in positives))
    users = torch.tensor([0] * 500 + [1] * 500)
    gen = torch.Generator().manual_seed(0)
    neg = _draw_negatives(users, lambda q: torch.isin(q, keys), 4, gen)
    assert set(neg[:500].tolist()) == {3}
    assert set(neg[500:].tolist()) == {0, 1, 2}
    # a user with every item as a positive gets no negative (-1: skipped)
    full = torch.tensor(sorted(range(4)))
    neg = _draw_negatives(torch.tensor([0, 0]), lambda q: torch.isin(q, full), 4, gen)
    assert neg.tolist() == [-1, -1]


def test_bpr_popularity_negatives_follow_the_item_counts_and_skip_positives():
    import torch

    from sk_grouprec.baselines.bpr import _draw_negatives

    # item 0 occurs once, item 1 three times, item 2 six times, item 3 ten times
    candidates = torch.tensor([0] * 1 + [1] * 3 + [2] * 6 + [3] * 10)
    keys = torch.tensor([0 * 4 + 3, 1 * 4 + 0, 1 * 4 + 1, 1 * 4 + 2])  # user 0: {3}; user 1: {0, 1, 2}

    def is_positive(query):
        return torch.isin(query, keys)

    n = 40_000
    gen = torch.Generator().manual_seed(0)
    neg = _draw_negatives(torch.zeros(n, dtype=torch.int64), is_positive, 4, gen,
                          candidates=candidates)
    assert not (neg == 3).any() and (neg >= 0).all()
    freq = torch.bincount(neg, minlength=4).numpy() / n
    np.testing.assert_allclose(freq[:3], [0.1, 0.3, 0.6], atol=0.01)
    # without redraws a draw equal to a positive skips the triple (-1), as implicit does
    neg = _draw_negatives(torch.ones(n, dtype=torch.int64), is_positive, 4, gen,
                          candidates=candidates, redraws=0)
    assert set(neg.unique().tolist()) == {-1, 3}
    assert abs(float((neg == -1).float().mean()) - 0.5) < 0.01  # items 0-2: 10 of the 20 entries
    # with redraws every triple of user 1 gets item 3, the only non-positive
    neg = _draw_negatives(torch.ones(1000, dtype=torch.int64), is_positive, 4, gen,
                          candidates=candidates, redraws=20)
    assert set(neg.tolist()) == {3}


def test_bpr_popularity_sampling_is_used_and_reproducible():
    train, _, _, _ = two_communities()
    params = {"n_factors": 6, "n_epochs": 5, "negative_sampling": "popularity"}
    a = BPRMF(random_state=1, **params).fit(train)
    b = BPRMF(random_state=1, **params).fit(train)
    np.testing.assert_array_equal(a.user_factors_, b.user_factors_)
    np.testing.assert_array_equal(a.item_bias_, b.item_bias_)
    uniform = BPRMF(random_state=1, n_factors=6, n_epochs=5).fit(train)
    assert not np.allclose(a.user_factors_, uniform.user_factors_)
    skipping = BPRMF(random_state=1, negative_redraws=0, **params).fit(train)
    assert not np.allclose(a.user_factors_, skipping.user_factors_)


def test_bpr_popularity_negatives_lower_the_bias_of_popular_items():
    # popularity-proportional negatives push popular items down: the learnt bias of the
    # most popular item is lower, and follows the item counts less, than with uniform ones
    X = tiny(0, n_users=80, n_items=40, n=600)
    X = pd.concat([X, pd.DataFrame({"user_id": np.arange(60), "item_id": 0})], ignore_index=True)
    params = {"n_factors": 4, "n_epochs": 40, "random_state": 0}
    uniform = BPRMF(**params).fit(X)
    popular = BPRMF(negative_sampling="popularity", **params).fit(X)
    counts = np.asarray(uniform.interactions_.sum(axis=0)).ravel()
    top = counts.argmax()
    assert popular.item_bias_[top] < uniform.item_bias_[top]
    corr = [np.corrcoef(m.item_bias_, counts)[0, 1] for m in (uniform, popular)]
    assert corr[1] < corr[0]


def test_als_is_implicit_called_directly():
    from implicit.cpu.als import AlternatingLeastSquares

    X = tiny(2)
    ours = ALS(n_factors=5, n_epochs=4, reg=0.1, alpha=3.0, random_state=7).fit(X)
    direct = AlternatingLeastSquares(
        factors=5, iterations=4, regularization=0.1, alpha=3.0, random_state=7, num_threads=1
    )
    direct.fit(ours.interactions_, show_progress=False)
    np.testing.assert_allclose(ours.user_factors_, direct.user_factors, rtol=1e-6)
    np.testing.assert_allclose(ours.item_factors_, direct.item_factors, rtol=1e-6)


def test_als_without_implicit_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "implicit.cpu.als", None)
    with pytest.raises(ImportError, match=r'pip install "sk-grouprec\[implicit\]"'):
        ALS().fit(tiny())


@pytest.mark.parametrize(
    "model, message",
    [
        (ItemKNN(k=0), "k must be"),
        (ItemKNN(shrinkage=-1), "shrinkage"),
        (BPRMF(n_factors=0), "n_factors"),
        (BPRMF(learning_rate=-0.1), "learning_rate"),
        (BPRMF(batch_size=0), "batch_size"),
        (BPRMF(negative_sampling="popular"), "negative_sampling must be one of"),
        (BPRMF(negative_redraws=-1), "negative_redraws"),
        (ALS(alpha=0), "alpha must be > 0"),
        (ALS(n_jobs=0), "n_jobs"),
        (ALS(use_cg="yes"), "use_cg"),
        (EASE(max_items=0), "max_items"),
    ],
)
def test_bad_parameters(model, message):
    with pytest.raises(ValueError, match=message):
        model.fit(tiny())


def test_score_refuses_sample_weight():
    model = MostPopular().fit(tiny())
    with pytest.raises(ValueError, match="sample_weight"):
        model.score(tiny(), sample_weight=np.ones(70))


# real data ---------------------------------------------------------------------------------
@pytest.mark.realdata
def test_mafengwo_users_popularity_and_neighbours(data_home):
    from sk_grouprec.datasets import load_mafengwo
    from sk_grouprec.metrics import evaluate_sampled

    if not (data_home / "mafengwo").is_dir():
        pytest.skip("Mafengwo not found under the data folder")
    data = load_mafengwo(data_home)
    train, test, negatives = data.user_interactions, data.user_test, data.user_negatives

    def hr5(model):
        return evaluate_sampled(model.fit(train), test, negatives, k=5, ties="against")["hr@5"]

    popularity = hr5(MostPopular())
    assert popularity == pytest.approx(0.64, abs=0.01)
    for model in (ItemKNN(), EASE()):
        assert hr5(model) > popularity + 0.05
