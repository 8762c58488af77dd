"""NormalPredictor, BaselineOnly and the shared fit_baselines."""

import numpy as np
import pandas as pd
import pytest

from sk_grouprec.baselines.bias import BaselineOnly, NormalPredictor, fit_baselines
from sk_grouprec.testing import RecommenderConformance, make_small_ratings


# references: Surprise 1.1.5's optimize_baselines.pyx, transcribed loop for loop ------------
def surprise_als(users, items, ratings, n_users, n_items, n_epochs=10, reg_u=15, reg_i=10):
    mu = ratings.mean()
    bu, bi = np.zeros(n_users), np.zeros(n_items)
    ur = [[(i, r) for u2, i, r in zip(users, items, ratings) if u2 == u] for u in range(n_users)]
    ir = [[(u, r) for u, i2, r in zip(users, items, ratings) if i2 == i] for i in range(n_items)]
    for _ in range(n_epochs):
        for i in range(n_items):
            dev_i = sum(r - mu - bu[u] for u, r in ir[i])
            bi[i] = dev_i / (reg_i + len(ir[i]))
        for u in range(n_users):
            dev_u = sum(r - mu - bi[i] for i, r in ur[u])
            bu[u] = dev_u / (reg_u + len(ur[u]))
    return bu, bi


def surprise_sgd(users, items, ratings, n_users, n_items, n_epochs=20, reg=0.02, lr=0.005):
    mu = ratings.mean()
    bu, bi = np.zeros(n_users), np.zeros(n_items)
    order = np.argsort(users, kind="stable")  # Surprise visits ratings user by user
    for _ in range(n_epochs):
        for k in order:
            u, i = users[k], items[k]
            err = ratings[k] - (mu + bu[u] + bi[i])
            bu[u] += lr * (err - reg * bu[u])
            bi[i] += lr * (err - reg * bi[i])
    return bu, bi


HAND_USERS = np.array([0, 0, 0, 1, 1, 2, 2])
HAND_ITEMS = np.array([0, 1, 2, 0, 2, 1, 2])
HAND_RATINGS = np.array([5.0, 3.0, 4.0, 4.0, 2.0, 1.0, 3.0])


class TestNormalPredictor(RecommenderConformance):
    def make_estimator(self, **params):
        return NormalPredictor(**{"random_state": 0, **params})

    def test_learns_something(self, fitted, data):
        # a random predictor learns nothing but the rating distribution
        X, y = data
        pred = fitted.predict(X)
        assert fitted.sigma_ == pytest.approx(np.std(y))
        assert abs(np.mean(pred) - np.mean(y)) < 0.2
        assert 0.6 * np.std(y) < np.std(pred) < 1.2 * np.std(y)

    def test_draws_depend_on_seed(self, data):
        X, y = data
        a = NormalPredictor(random_state=0).fit(X, y).predict(X)
        b = NormalPredictor(random_state=1).fit(X, y).predict(X)
        assert not np.allclose(a, b)


class TestBaselineOnlyALS(RecommenderConformance):
    def make_estimator(self, **params):
        return BaselineOnly(**params)


class TestBaselineOnlySGD(RecommenderConformance):
    def make_estimator(self, **params):
        return BaselineOnly(**{"method": "sgd", **params})


def test_als_equals_surprise_update_on_hand_example():
    mu, bu, bi = fit_baselines(HAND_USERS, HAND_ITEMS, HAND_RATINGS, 3, 3)
    ref_bu, ref_bi = surprise_als(HAND_USERS, HAND_ITEMS, HAND_RATINGS, 3, 3)
    assert mu == pytest.approx(HAND_RATINGS.mean())
    np.testing.assert_allclose(bu, ref_bu, atol=1e-12)
    np.testing.assert_allclose(bi, ref_bi, atol=1e-12)
    # and with other options (fewer epochs, weak regularisation)
    _, bu, bi = fit_baselines(HAND_USERS, HAND_ITEMS, HAND_RATINGS, 3, 3, n_epochs=3, reg_u=0.5, reg_i=2)
    ref_bu, ref_bi = surprise_als(HAND_USERS, HAND_ITEMS, HAND_RATINGS, 3, 3, n_epochs=3, reg_u=0.5, reg_i=2)
    np.testing.assert_allclose(bu, ref_bu, atol=1e-12)
    np.testing.assert_allclose(bi, ref_bi, atol=1e-12)


def test_sgd_exact_when_items_are_not_shared():
    # each item is rated by one user only: the epoch-wise vectorisation is then exact
    rng = np.random.default_rng(1)
    users = np.repeat(np.arange(4), 5)
    items = rng.permutation(20)
    ratings = rng.integers(1, 6, 20).astype(float)
    _, bu, bi = fit_baselines(users, items, ratings, 4, 20, method="sgd", n_epochs=7, learning_rate=0.05)
    ref_bu, ref_bi = surprise_sgd(users, items, ratings, 4, 20, n_epochs=7, lr=0.05)
    np.testing.assert_allclose(bu, ref_bu, atol=1e-10)
    np.testing.assert_allclose(bi, ref_bi, atol=1e-10)


def test_sgd_close_to_sequential_loop():
    X, y, _ = make_small_ratings()
    users, items = X["user_id"].to_numpy(), X["item_id"].to_numpy()
    _, bu, bi = fit_baselines(users, items, y, 40, 30, method="sgd")
    ref_bu, ref_bi = surprise_sgd(users, items, y, 40, 30)
    assert np.abs(ref_bu).max() > 0.2  # the comparison is not trivial
    np.testing.assert_allclose(bu, ref_bu, atol=0.03)
    np.testing.assert_allclose(bi, ref_bi, atol=0.03)


def test_default_epochs_depend_on_method():
    args = (HAND_USERS, HAND_ITEMS, HAND_RATINGS, 3, 3)
    for method, epochs in (("als", 10), ("sgd", 20)):
        default = fit_baselines(*args, method=method)
        explicit = fit_baselines(*args, method=method, n_epochs=epochs)
        fewer = fit_baselines(*args, method=method, n_epochs=1)
        np.testing.assert_array_equal(default[1], explicit[1])
        assert np.abs(default[1] - fewer[1]).max() > 1e-4


def test_estimator_uses_fit_baselines_and_falls_back():
    X = pd.DataFrame({"user_id": ["a", "a", "a", "b", "b", "c", "c"], "item_id": HAND_ITEMS})
    est = BaselineOnly(reg_u=1, reg_i=2, n_epochs=4).fit(X, HAND_RATINGS)
    mu, bu, bi = fit_baselines(HAND_USERS, HAND_ITEMS, HAND_RATINGS, 3, 3, reg_u=1, reg_i=2, n_epochs=4)
    np.testing.assert_allclose(est.user_bias_, bu)
    np.testing.assert_allclose(est.item_bias_, bi)
    new = pd.DataFrame({"user_id": ["a", "zz", "zz"], "item_id": [99, 1, 99]})
    np.testing.assert_allclose(est.predict(new), [mu + bu[0], mu + bi[1], mu])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"method": "newton"}, "method"),
        ({"reg_u": -1}, "reg_u"),
        ({"reg_i": float("nan")}, "reg_i"),
        ({"n_epochs": 0}, "n_epochs"),
        ({"method": "sgd", "reg": -0.1}, "reg"),
        ({"method": "sgd", "learning_rate": 2.0}, "learning rate"),
    ],
)
def test_parameter_validation(kwargs, message):
    X, y, _ = make_small_ratings()
    with pytest.raises(ValueError, match=message):
        BaselineOnly(**kwargs).fit(X, y)


def test_fit_baselines_rejects_bad_indices():
    with pytest.raises(ValueError, match="same length"):
        fit_baselines([0, 1], [0], [3.0, 4.0], 2, 2)
    with pytest.raises(ValueError, match="indices"):
        fit_baselines([0, 2], [0, 1], [3.0, 4.0], 2, 2)


@pytest.mark.realdata
def test_movielens_u1(data_home):
    cols = ["user_id", "item_id", "rating", "timestamp"]
    train = pd.read_csv(data_home / "ml-100k" / "u1.base", sep="\t", names=cols)
    test = pd.read_csv(data_home / "ml-100k" / "u1.test", sep="\t", names=cols)
    # measured: ALS 0.9599 (identical to Surprise 1.1.5), SGD 0.9564 (Surprise: 0.9561)
    for method, threshold in (("als", 0.961), ("sgd", 0.958)):
        pred = BaselineOnly(method=method).fit(train, train["rating"]).predict(test)
        assert np.sqrt(np.mean((pred - test["rating"].to_numpy()) ** 2)) < threshold
