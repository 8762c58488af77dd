"""SVD, SVDpp and NMF."""

import numpy as np
import pandas as pd
import pytest

from sk_grouprec.baselines.matrix_factorization import NMF, SVD, SVDpp
from sk_grouprec.testing import RecommenderConformance, make_small_ratings


def train_rmse(est, X, y):
    return float(np.sqrt(np.mean((est.fit(X, y).predict(X) - y) ** 2)))


class TestSVD(RecommenderConformance):
    atol = 1e-5  # float32 training

    def make_estimator(self, **params):
        return SVD(**{"n_factors": 5, "n_epochs": 30, "lr_all": 0.01, "batch_size": 128, "random_state": 0, **params})


class TestSVDpp(RecommenderConformance):
    atol = 1e-5

    def make_estimator(self, **params):
        return SVDpp(**{"n_factors": 5, "n_epochs": 30, "lr_all": 0.01, "batch_size": 128, "random_state": 0, **params})


class TestNMF(RecommenderConformance):
    def make_estimator(self, **params):
        return NMF(**{"n_factors": 3, "n_epochs": 20, "random_state": 0, **params})


class TestBiasedNMF(RecommenderConformance):
    def make_estimator(self, **params):
        return NMF(**{"n_factors": 3, "n_epochs": 20, "biased": True, "random_state": 0, **params})


@pytest.fixture(scope="module")
def small():
    X, y, _ = make_small_ratings()
    return X[["user_id", "item_id"]], y


# what the models reach on the training data (measured: 0.28, 0.30, 0.28, 0.82)
@pytest.mark.parametrize(
    "est, threshold",
    [
        (SVD(n_factors=5, n_epochs=100, lr_all=0.02, batch_size=64, random_state=0), 0.4),
        (SVD(biased=False, n_factors=5, n_epochs=200, lr_all=0.02, batch_size=64, random_state=0), 0.45),
        (SVDpp(n_factors=5, n_epochs=100, lr_all=0.02, batch_size=64, random_state=0), 0.4),
        (NMF(n_factors=5, n_epochs=100, reg_pu=0.01, reg_qi=0.01, random_state=0), 0.95),
    ],
    ids=["SVD", "SVD-unbiased", "SVDpp", "NMF"],
)
def test_fits_training_data(small, est, threshold):
    assert train_rmse(est, *small) < threshold


def _indexed(est, X):
    return est.user_index_.transform(X["user_id"]), est.item_index_.transform(X["item_id"])


def test_svdpp_full_batch_epoch_is_the_sum_of_surprise_updates(small, monkeypatch):
    """One epoch with a single batch applies the sum of Surprise's per-rating updates,
    each computed from the parameters at the start of the batch."""
    from sk_grouprec.baselines import matrix_factorization

    # a single batch of all 600 ratings (40 users): lift the caps on batch sizes
    monkeypatch.setattr(matrix_factorization, "SVDPP_RATINGS_PER_USER", 10**9)
    monkeypatch.setattr(matrix_factorization, "SVDPP_RATINGS_PER_ITEM", 10**9)
    monkeypatch.setattr(matrix_factorization, "SVDPP_BATCH_OVERLAP", 10**9)
    X, y = small
    params = dict(n_factors=4, n_epochs=1, lr_all=0.003, reg_all=0.05, reg_yj=0.1, random_state=3)
    est = SVDpp(batch_size=len(y), **params).fit(X, y)
    users, items = _indexed(est, X)
    n_users, n_items = est.n_users_, est.n_items_
    rng = np.random.RandomState(3)  # same initial draws as Surprise: pu, qi, yj
    pu, qi, yj = (rng.normal(0, 0.1, (n, 4)) for n in (n_users, n_items, n_items))
    bu, bi = np.zeros(n_users), np.zeros(n_items)
    rated = [np.unique(items[users == u]) for u in range(n_users)]
    # Surprise's N(u) is the list of u's ratings (no duplicates here)
    assert sum(len(r) for r in rated) == len(y)
    new = [a.copy() for a in (bu, bi, pu, qi, yj)]
    lr, reg, reg_y, mu = 0.003, 0.05, 0.1, y.mean()
    for u, i, r in zip(users, items, y):
        implicit = yj[rated[u]].sum(0) / np.sqrt(len(rated[u]))
        err = r - (mu + bu[u] + bi[i] + qi[i] @ (pu[u] + implicit))
        new[0][u] += lr * (err - reg * bu[u])
        new[1][i] += lr * (err - reg * bi[i])
        new[2][u] += lr * (err * qi[i] - reg * pu[u])
        new[3][i] += lr * (err * (pu[u] + implicit) - reg * qi[i])
        new[4][rated[u]] += lr * (err * qi[i] / np.sqrt(len(rated[u])) - reg_y * yj[rated[u]])
    fitted = (est.user_bias_, est.item_bias_, est.user_factors_, est.item_factors_, est.implicit_factors_)
    for got, want in zip(fitted, new):
        np.testing.assert_allclose(got, want, atol=2e-6)
    # the batch size only changes how updates are grouped, not what one rating contributes
    halves = SVDpp(batch_size=len(y) // 2, **params).fit(X, y)
    assert np.abs(halves.user_factors_ - est.user_factors_).max() < 0.01


def test_svd_full_batch_epoch_is_the_sum_of_surprise_updates(small):
    X, y = small
    params = dict(n_factors=3, n_epochs=1, lr_bu=0.01, lr_qi=0.002, reg_pu=0.3, random_state=1)
    est = SVD(batch_size=10_000, **params).fit(X, y)
    users, items = _indexed(est, X)
    rng = np.random.RandomState(1)
    pu, qi = rng.normal(0, 0.1, (est.n_users_, 3)), rng.normal(0, 0.1, (est.n_items_, 3))
    err = y - (y.mean() + (pu[users] * qi[items]).sum(1))
    bu = 0.01 * np.bincount(users, weights=err)
    np.add.at(pu, users, 0.005 * (err[:, None] * qi[items] - 0.3 * pu[users]))
    np.testing.assert_allclose(est.user_bias_, bu, atol=1e-6)
    np.testing.assert_allclose(est.user_factors_, pu, atol=1e-6)


def surprise_nmf(users, items, ratings, n_users, n_items, n_factors, n_epochs, reg_pu, reg_qi, seed):
    """Surprise 1.1.5's unbiased NMF.sgd, transcribed loop for loop."""
    rng = np.random.RandomState(seed)
    pu = rng.uniform(0, 1, size=(n_users, n_factors))
    qi = rng.uniform(0, 1, size=(n_items, n_factors))
    for _ in range(n_epochs):
        user_num = np.zeros((n_users, n_factors))
        user_denom = np.zeros((n_users, n_factors))
        item_num = np.zeros((n_items, n_factors))
        item_denom = np.zeros((n_items, n_factors))
        for u, i, r in zip(users, items, ratings):
            est = qi[i] @ pu[u]
            user_num[u] += qi[i] * r
            user_denom[u] += qi[i] * est
            item_num[i] += pu[u] * r
            item_denom[i] += pu[u] * est
        for u in range(n_users):
            user_denom[u] += np.sum(users == u) * reg_pu * pu[u]
            pu[u] *= user_num[u] / user_denom[u]
        for i in range(n_items):
            item_denom[i] += np.sum(items == i) * reg_qi * qi[i]
            qi[i] *= item_num[i] / item_denom[i]
    return pu, qi


def test_nmf_equals_surprise_multiplicative_updates(small):
    X, y = small
    est = NMF(n_factors=4, n_epochs=12, reg_pu=0.1, reg_qi=0.03, random_state=5).fit(X, y)
    users, items = _indexed(est, X)
    pu, qi = surprise_nmf(users, items, y, est.n_users_, est.n_items_, 4, 12, 0.1, 0.03, seed=5)
    np.testing.assert_allclose(est.user_factors_, pu, rtol=1e-9)
    np.testing.assert_allclose(est.item_factors_, qi, rtol=1e-9)
    assert (est.user_factors_ >= 0).all() and (est.item_factors_ >= 0).all()


def test_nmf_factors_stay_non_negative(small):
    X, y = small
    for biased in (False, True):
        est = NMF(n_factors=6, n_epochs=60, biased=biased, reg_pu=0.0, reg_qi=0.0, random_state=0).fit(X, y)
        assert (est.user_factors_ >= 0).all() and (est.item_factors_ >= 0).all()


def test_nmf_repeated_pairs_count_like_separate_ratings(small):
    X, y = small
    doubled = NMF(n_factors=3, n_epochs=5, random_state=0).fit(pd.concat([X, X]), np.r_[y, y])
    single = NMF(n_factors=3, n_epochs=5, random_state=0).fit(X, y)
    # doubling every rating doubles numerators, denominators and counts: same updates
    np.testing.assert_allclose(doubled.user_factors_, single.user_factors_, rtol=1e-9)


def test_fall_backs(small):
    X, y = small
    svd = SVD(n_factors=3, n_epochs=5, random_state=0).fit(X, y)
    known_user, known_item = X["user_id"].iloc[0], X["item_id"].iloc[0]
    new = pd.DataFrame({"user_id": [known_user, -7, -7], "item_id": [-9, known_item, -9]})
    u, i = _indexed(svd, X.iloc[:1])
    want = [svd.global_mean_ + svd.user_bias_[u[0]], svd.global_mean_ + svd.item_bias_[i[0]], svd.global_mean_]
    np.testing.assert_allclose(svd.predict(new), np.clip(want, 1, 5))
    for est in (SVD(biased=False, n_factors=3, n_epochs=5, random_state=0), NMF(n_factors=3, n_epochs=5, random_state=0)):
        est.fit(X, y)
        np.testing.assert_allclose(est.predict(new), est.global_mean_)


@pytest.mark.parametrize(
    "est, message",
    [
        (SVD(n_factors=0), "n_factors"),
        (SVD(reg_all=-0.1), "reg_bu"),
        (SVD(reg_qi=-1), "reg_qi"),
        (SVD(lr_all=float("inf")), "lr_bu"),
        (SVD(biased="yes"), "biased"),
        (SVD(n_epochs=0), "n_epochs"),
        (SVD(batch_size=0), "batch_size"),
        (SVD(init_std_dev=-1), "init_std_dev"),
        (SVDpp(n_factors=0), "n_factors"),
        (SVDpp(reg_yj=-0.5), "reg_yj"),
        (NMF(n_factors=0), "n_factors"),
        (NMF(reg_pu=-0.06), "reg_pu"),
        (NMF(init_low=-1), "init_low"),
        (NMF(init_low=2, init_high=1), "init_high"),
    ],
)
def test_parameter_validation(small, est, message):
    with pytest.raises(ValueError, match=message):
        est.fit(*small)


def test_nmf_rejects_negative_ratings(small):
    X, y = small
    with pytest.raises(ValueError, match="non-negative ratings"):
        NMF().fit(X, y - 3)


@pytest.mark.realdata
def test_movielens_u1(data_home):
    cols = ["user_id", "item_id", "rating", "timestamp"]
    train = pd.read_csv(data_home / "ml-100k" / "u1.base", sep="\t", names=cols)
    test = pd.read_csv(data_home / "ml-100k" / "u1.test", sep="\t", names=cols)
    # measured (random_state=0): SVD 0.9513, SVDpp 0.9333, NMF 0.9798;
    # Surprise 1.1.5 on the same split: 0.9513, 0.9330, 0.9798
    for est, threshold in ((SVD(random_state=0), 0.956), (SVDpp(random_state=0), 0.937), (NMF(random_state=0), 0.983)):
        pred = est.fit(train, train["rating"]).predict(test)
        assert np.sqrt(np.mean((pred - test["rating"].to_numpy()) ** 2)) < threshold, type(est).__name__


def test_svdpp_batches_are_capped_on_dense_data(small):
    """600 ratings of 40 users on 30 items (half the grid): batches hold at most 10 ratings
    per item, so any batch_size from 300 on trains the same; dense batches stay stable."""
    from sk_grouprec.baselines.matrix_factorization import _svdpp_batching

    X, y = small
    params = dict(n_factors=3, n_epochs=3, random_state=0)
    big = SVDpp(batch_size=600, **params).fit(X, y)
    huge = SVDpp(batch_size=10**6, **params).fit(X, y)
    np.testing.assert_array_equal(big.user_factors_, huge.user_factors_)
    users, items = _indexed(big, X)
    assert _svdpp_batching(users, items, big.n_users_, big.n_items_, 10**6) == (300, 2)
    # as accurate as small batches (measured: 0.727 against 0.720 with batches of 64)
    small_batches = train_rmse(SVDpp(batch_size=64, random_state=0), X, y)
    assert train_rmse(SVDpp(batch_size=10**6, random_state=0), X, y) < small_batches + 0.02


def test_svdpp_batch_overlap_cap():
    """Batches hold few enough ratings that the mean user's implicit term moves by at most
    SVDPP_BATCH_OVERLAP ratings' worth of similar histories: on a full grid every pair of
    users has cosine 1, so batches hold at most that many ratings."""
    from sk_grouprec.baselines.matrix_factorization import SVDPP_BATCH_OVERLAP, _svdpp_batching

    users, items = np.divmod(np.arange(2000 * 100), 100)  # 2000 users x 100 items, all rated
    batch_size, n_blocks = _svdpp_batching(users, items, 2000, 100, 4096)
    assert batch_size == SVDPP_BATCH_OVERLAP
    # half the users rate items 0-99, half 100-199: cosine 1 within a half, 0 across
    users, items = np.divmod(np.arange(2000 * 100), 100)
    items = items + 100 * (users % 2)
    batch_size, _ = _svdpp_batching(users, items, 2000, 200, 4096)
    assert 0.95 * 2 * SVDPP_BATCH_OVERLAP <= batch_size <= 2 * SVDPP_BATCH_OVERLAP


def test_svdpp_dense_and_sparse_histories_train_alike(small, monkeypatch):
    """Dense data keep the histories as a dense matrix; gathering them per rating (as on
    sparse data) trains the same model, up to float32 summation order, over several
    blocks of users."""
    from sk_grouprec.baselines import matrix_factorization

    X, y = small
    params = dict(n_factors=4, n_epochs=5, lr_all=0.01, batch_size=16, random_state=0)
    users, items = np.unique(X["user_id"], return_inverse=True)[1], np.unique(X["item_id"], return_inverse=True)[1]
    assert matrix_factorization._svdpp_batching(users, items, users.max() + 1, items.max() + 1, 16)[1] > 1
    dense = SVDpp(**params).fit(X, y)
    monkeypatch.setattr(matrix_factorization, "SVDPP_DENSE_CELLS_PER_RATING", 0)
    sparse = SVDpp(**params).fit(X, y)
    for name in ("user_factors_", "item_factors_", "implicit_factors_", "user_bias_", "user_implicit_"):
        np.testing.assert_allclose(getattr(sparse, name), getattr(dense, name), atol=1e-5, err_msg=name)


def test_svdpp_blocks_of_users(small):
    """With several blocks of users per epoch (small batches), training still fits and the
    stored implicit term is |N(u)|^-1/2 sum_{j in N(u)} y_j."""
    X, y = small
    est = SVDpp(n_factors=5, n_epochs=60, lr_all=0.01, batch_size=8, random_state=0).fit(X, y)
    assert train_rmse(est, X, y) < 0.45
    users, items = _indexed(est, X)
    want = np.zeros_like(est.user_implicit_)
    np.add.at(want, users, est.implicit_factors_[items])
    want /= np.sqrt(np.bincount(users, minlength=est.n_users_))[:, None]
    np.testing.assert_allclose(est.user_implicit_, want, atol=1e-5)


@pytest.mark.parametrize("make", [SVD, SVDpp], ids=["SVD", "SVDpp"])
def test_rating_scale_keeps_1_5_training_and_scales_back(small, make):
    X, y = small
    params = dict(n_factors=4, n_epochs=10, batch_size=64, random_state=0)
    base = make(**params).fit(X, y)
    assert base.rating_scale_ == 1.0
    # the same ratings on 0-100: training is the same up to the scale, and so are estimates
    scaled = make(**params).fit(X, (y - 1) * 25)
    assert scaled.rating_scale_ == 25.0
    np.testing.assert_allclose(scaled.predict(X), (base.predict(X) - 1) * 25, atol=1e-3)


def test_diverging_training_raises(small):
    from sk_grouprec.baselines.matrix_factorization import NonFiniteTrainingError

    X, y = small
    for est in (SVD(lr_all=5.0, n_epochs=5, random_state=0), SVDpp(lr_all=5.0, n_epochs=5, random_state=0)):
        with pytest.raises(NonFiniteTrainingError, match=rf"{type(est).__name__} training diverged.*epoch \d+"):
            est.fit(X, y)
        with pytest.raises(ValueError):  # also a ValueError
            est.fit(X, y)
