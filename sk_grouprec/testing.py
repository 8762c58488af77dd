"""A pytest conformance suite for rating recommenders on the package's data contract.

Every recommender of sk_grouprec passes it, and so can yours: an estimator that reads the
data contract (a DataFrame with ``user_id`` and ``item_id``, ratings ``y``) and offers
``fit``, ``predict`` and ``recommend``. In a test module (pytest must be installed)::

    from sk_grouprec.testing import RecommenderConformance

    class TestMyRecommender(RecommenderConformance):
        needs_groups = False          # True: the data gets a group_id column
        atol = 1e-6                   # tolerance between two fits / two input forms

        def make_estimator(self, **params):
            return MyRecommender(n_epochs=3, random_state=0, **params)

pytest collects every ``test_*`` method below for the subclass. The class is configured by
class attributes (:attr:`RecommenderConformance.needs_groups`,
:attr:`RecommenderConformance.atol`, :attr:`RecommenderConformance.bad_inputs`), so a
variant (another kind of output, other data) overrides attributes or the ``data`` fixture
rather than copying tests. :func:`make_small_ratings` is the small planted-taste dataset the
suite trains on.
"""

import pickle

import numpy as np
import pandas as pd
from sklearn.base import clone

try:
    import pytest
except ImportError as exc:  # pragma: no cover - pytest is a test-time dependency
    raise ImportError("sk_grouprec.testing needs pytest (the 'dev' extra).") from exc

__all__ = ["RecommenderConformance", "ScoreRecommenderConformance", "make_small_ratings"]


def make_small_ratings(n_users=40, n_items=30, n_ratings=600, n_groups=4, seed=0):
    """A tiny planted-taste dataset: users of a group share item preferences.

    Parameters
    ----------
    n_users, n_items, n_ratings, n_groups : int
        Sizes (``n_ratings`` distinct (user, item) pairs).
    seed : int, default=0

    Returns
    -------
    X : pandas.DataFrame
        ``user_id``, ``item_id``, ``user_age``, ``user_kind`` and ``item_score``.
    y : ndarray of shape (n_ratings,)
        Ratings from 1 to 5.
    group : ndarray of shape (n_users,)
        The planted group of each user.

    Examples
    --------
    >>> from sk_grouprec.testing import make_small_ratings
    >>> X, y, group = make_small_ratings()
    >>> X.shape, y.shape, group.shape
    ((600, 5), (600,), (40,))
    """
    rng = np.random.default_rng(seed)
    group = rng.integers(0, n_groups, n_users)
    taste = rng.normal(size=(n_groups, 3))
    item_vec = rng.normal(size=(n_items, 3))
    pairs = rng.choice(n_users * n_items, size=n_ratings, replace=False)
    users, items = np.divmod(pairs, n_items)
    signal = (taste[group[users]] * item_vec[items]).sum(1)
    ratings = np.clip(np.round(3 + signal + rng.normal(scale=0.5, size=n_ratings)), 1, 5)
    X = pd.DataFrame(
        {
            "user_id": users,
            "item_id": items,
            "user_age": 20 + 5 * group[users] + rng.integers(0, 3, n_ratings) * 0,
            "user_kind": np.array(["a", "b", "c", "d", "e", "f"])[group[users] % 6],
            "item_score": item_vec[items, 0],
        }
    )
    X["user_age"] = X.groupby("user_id")["user_age"].transform("first")
    X["user_kind"] = X.groupby("user_id")["user_kind"].transform("first")
    return X, ratings.astype(float), group


class RecommenderConformance:
    """Shared behaviour tests; subclasses provide ``make_estimator``.

    Attributes
    ----------
    needs_groups : bool, default=False
        Add the planted ``group_id`` column to the training data.
    atol : float, default=1e-6
        Numerical tolerance between two fits or two input forms.
    predicts_ratings : bool, default=True
        Predictions are ratings within the training range (``False``: ranking scores).
    bad_inputs : tuple of (str, str)
        The bad-input cases of :meth:`test_bad_input_errors` as ``(case, message)``.

    Examples
    --------
    In a test module, a subclass runs every test of the suite on one estimator:

    >>> from sk_grouprec.baselines import SVD
    >>> from sk_grouprec.testing import RecommenderConformance
    >>> class TestSVD(RecommenderConformance):
    ...     def make_estimator(self, **params):
    ...         return SVD(n_epochs=3, random_state=0, **params)
    >>> sorted(name for name in dir(TestSVD) if name.startswith("test_"))[:2]
    ['test_bad_input_errors', 'test_batch_predictions_are_rowwise']
    """

    needs_groups = False
    atol = 1e-6
    predicts_ratings = True
    bad_inputs = (
        ("nan_rating", "NaN or infinite"),
        ("missing_user", "user_id"),
        ("length", "different lengths"),
        ("empty", "empty"),
    )

    def make_estimator(self, **params):  # pragma: no cover - abstract
        """A new estimator with small, fast settings (``params`` override them)."""
        raise NotImplementedError

    # data --------------------------------------------------------------------------------
    @pytest.fixture(scope="class")
    @classmethod
    def data(cls):
        X, y, group = make_small_ratings()
        if cls.needs_groups:
            X = X.assign(group_id=group[X["user_id"].to_numpy()])
        return X, y

    @pytest.fixture(scope="class")
    @classmethod
    def fitted(cls, data):
        X, y = data
        return cls().make_estimator().fit(X, y)

    # tests ---------------------------------------------------------------------------------
    def test_clone_keeps_params(self):
        est = self.make_estimator()
        assert _comparable_params(clone(est)) == _comparable_params(est)

    def test_fit_returns_self_and_predicts_floats(self, data):
        X, y = data
        est = self.make_estimator()
        assert est.fit(X, y) is est
        pred = est.predict(X)
        assert pred.shape == (len(X),)
        assert pred.dtype == np.float64
        assert np.isfinite(pred).all()
        if self.predicts_ratings:
            assert pred.min() >= y.min() - 1e-9 and pred.max() <= y.max() + 1e-9

    def test_learns_something(self, fitted, data):
        X, y = data
        rmse = np.sqrt(np.mean((fitted.predict(X) - y) ** 2))
        assert rmse < np.std(y) + 1e-9

    def test_pickle_round_trip(self, fitted, data):
        X, _ = data
        again = pickle.loads(pickle.dumps(fitted))
        np.testing.assert_array_equal(again.predict(X), fitted.predict(X))

    def test_unknown_user_and_item(self, fitted, data):
        X, _ = data
        unseen = X.iloc[:3].copy()
        unseen["user_id"] = [10_001, X["user_id"].iloc[1], 10_002]
        unseen["item_id"] = [X["item_id"].iloc[0], 20_001, 20_002]
        pred = fitted.predict(unseen)
        assert pred.shape == (3,) and np.isfinite(pred).all()

    def test_string_ids(self, data):
        X, y = data
        Xs = X.assign(user_id="u" + X["user_id"].astype(str), item_id="i" + X["item_id"].astype(str))
        a = self.make_estimator().fit(X, y).predict(X)
        b = self.make_estimator().fit(Xs, y).predict(Xs)
        np.testing.assert_allclose(a, b, atol=self.atol)

    def test_deterministic_under_random_state(self, data):
        X, y = data
        a = self.make_estimator().fit(X, y).predict(X)
        b = self.make_estimator().fit(X, y).predict(X)
        np.testing.assert_allclose(a, b, atol=self.atol)

    def test_numpy_and_dataframe_agree(self, data):
        X, y = data
        if self.needs_groups or getattr(self.make_estimator(), "_uses_features", False):
            pytest.skip("numpy form carries no named side features")
        cols = ["user_id", "item_id"]
        a = self.make_estimator().fit(X[cols], y).predict(X[cols])
        b = self.make_estimator().fit(X[cols].to_numpy(), y).predict(X[cols].to_numpy())
        np.testing.assert_allclose(a, b, atol=self.atol)

    def test_batch_predictions_are_rowwise(self, fitted, data):
        X, _ = data
        whole = fitted.predict(X)
        parts = np.concatenate([fitted.predict(X.iloc[:7]), fitted.predict(X.iloc[7:])])
        # float32 kernels may block a batch differently by its size: allow float32 rounding
        np.testing.assert_allclose(whole, parts, atol=self.atol)

    def test_recommend_excludes_rated(self, fitted, data):
        X, _ = data
        user = X["user_id"].iloc[0]
        recs = fitted.recommend([user], n_items=5)
        assert list(recs["rank"]) == [1, 2, 3, 4, 5]
        rated = set(X.loc[X["user_id"] == user, "item_id"])
        assert not rated & set(recs["item_id"])
        assert np.all(np.diff(recs["score"].to_numpy()) <= 1e-12)

    @pytest.mark.parametrize("case", range(4))
    def test_bad_input_errors(self, data, case):
        bad, message = self.bad_inputs[case]
        X, y = data
        y = y.copy()
        if bad == "nan_rating":
            y[3] = np.nan
        elif bad == "missing_user":
            X = X.drop(columns="user_id")
        elif bad == "length":
            y = y[:-1]
        elif bad == "empty":
            X, y = X.iloc[:0], y[:0]
        with pytest.raises(ValueError, match=message):
            self.make_estimator().fit(X, y)

    def test_predict_before_fit_raises(self, data):
        from sklearn.exceptions import NotFittedError

        with pytest.raises(NotFittedError):
            self.make_estimator().predict(data[0])


def _comparable(value):
    """``value``, with an estimator (which clone copies) replaced by its class and params."""
    if hasattr(value, "get_params") and not isinstance(value, type):
        return type(value), _comparable_params(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_comparable(v) for v in value)
    return value


def _comparable_params(estimator):
    """The parameters of ``estimator``, comparable across clones (nested estimators by
    class and parameters, since clone makes new instances of them)."""
    return {k: _comparable(v) for k, v in estimator.get_params(deep=False).items()}


def _unseen_pairs(X, seed=0):
    """(user, item) pairs of the users of ``X`` that are not in ``X``."""
    rng = np.random.default_rng(seed)
    users = X["user_id"].to_numpy()
    others = pd.DataFrame({"user_id": users, "item_id": rng.permutation(X["item_id"].to_numpy())})
    seen = set(zip(X["user_id"], X["item_id"]))
    keep = [pair not in seen for pair in zip(others["user_id"], others["item_id"])]
    return others[keep].drop_duplicates().reset_index(drop=True)


class ScoreRecommenderConformance(RecommenderConformance):
    """The suite in its score mode, for estimators trained on implicit feedback.

    It inherits every test of :class:`RecommenderConformance` and replaces those that
    assume ratings: predictions are scores (finite floats, not clipped to a rating range)
    and "learns something" means that training positives outscore pairs never seen. It
    adds the implicit-feedback contract: ``y=None``, ``positive_threshold``, duplicates,
    fall-backs and ``score``. Subclasses provide ``make_estimator`` (which must accept
    ``positive_threshold``).

    Examples
    --------
    >>> from sk_grouprec.baselines import EASE
    >>> from sk_grouprec.testing import ScoreRecommenderConformance
    >>> class TestEASE(ScoreRecommenderConformance):
    ...     def make_estimator(self, **params):
    ...         return EASE(l2=10.0, **params)
    >>> TestEASE.predicts_ratings
    False
    """

    predicts_ratings = False

    def test_learns_something(self, fitted, data):
        X, _ = data
        others = _unseen_pairs(X)
        pos = fitted.predict(X[["user_id", "item_id"]])
        neg = fitted.predict(others)
        # AUC of training positives against unseen pairs
        auc = (pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()
        assert auc > 0.55

    def test_y_none_means_every_row_is_positive(self, data):
        X, y = data
        a = self.make_estimator().fit(X).predict(X)
        b = self.make_estimator().fit(X, y).predict(X)
        np.testing.assert_allclose(a, b, atol=self.atol)

    def test_duplicates_count_once(self, data):
        X, _ = data
        doubled = pd.concat([X, X.iloc[::3]], ignore_index=True)
        a = self.make_estimator().fit(X).predict(X)
        b = self.make_estimator().fit(doubled).predict(X)
        np.testing.assert_allclose(a, b, atol=self.atol)

    def test_positive_threshold_keeps_rows_at_or_above(self, data):
        X, y = data
        keep = y >= 4
        a = self.make_estimator(positive_threshold=4).fit(X, y)
        b = self.make_estimator().fit(X[keep])
        np.testing.assert_allclose(a.predict(X), b.predict(X), atol=self.atol)
        assert a.interactions_.nnz == X[keep][["user_id", "item_id"]].drop_duplicates().shape[0]

    @pytest.mark.parametrize(
        "case, message",
        [
            ("threshold_without_y", "needs ratings y"),
            ("all_below_threshold", "no interaction is a positive"),
            ("bad_threshold", "positive_threshold must be"),
        ],
    )
    def test_implicit_input_errors(self, data, case, message):
        X, y = data
        if case == "threshold_without_y":
            est, y = self.make_estimator(positive_threshold=4), None
        elif case == "all_below_threshold":
            est = self.make_estimator(positive_threshold=y.max() + 1)
        else:
            est = self.make_estimator(positive_threshold="high")
        with pytest.raises(ValueError, match=message):
            est.fit(X, y)

    def test_unknown_user_gets_popularity(self, fitted, data):
        X, _ = data
        items = X["item_id"].unique()
        pred = fitted.predict(pd.DataFrame({"user_id": [-12345] * len(items), "item_id": items}))
        counts = X[["user_id", "item_id"]].drop_duplicates()["item_id"].value_counts()
        expected = counts.loc[items].to_numpy() / X["user_id"].nunique()
        # the popularity, up to a constant factor (MostPopular scores the counts themselves)
        np.testing.assert_allclose(pred / pred.max(), expected / expected.max())
        recs = fitted.recommend([-12345], n_items=3)
        assert counts.loc[recs["item_id"]].min() >= counts.iloc[2]

    def test_unknown_item_ranks_last(self, fitted, data):
        X, _ = data
        user = X["user_id"].iloc[0]
        items = X["item_id"].unique()
        known = fitted.predict(pd.DataFrame({"user_id": user, "item_id": items}))
        unknown = fitted.predict(pd.DataFrame({"user_id": [user, user], "item_id": [-1, -2]}))
        assert np.isfinite(unknown).all()
        assert unknown[0] == unknown[1] < known.min()
        recs = fitted.recommend([user], n_items=len(items) + 1, exclude_rated=False,
                                items=np.append(items, -1))
        assert recs["item_id"].iloc[-1] == -1

    def test_recommend_matches_predict(self, fitted, data):
        X, _ = data
        user = X["user_id"].iloc[0]
        recs = fitted.recommend([user], n_items=5)
        again = fitted.predict(recs[["user_id", "item_id"]])
        np.testing.assert_allclose(recs["score"].to_numpy(), again, rtol=1e-5, atol=1e-6)
        everything = fitted.recommend([user], n_items=10_000, exclude_rated=False)
        assert len(everything) == X["item_id"].nunique()

    def test_score_is_the_hit_rate_at_10(self, fitted, data):
        X, _ = data
        held = _unseen_pairs(X).iloc[:80]
        recs = fitted.recommend(held["user_id"].unique(), n_items=10)
        listed = set(zip(recs["user_id"], recs["item_id"]))
        expected = np.mean([pair in listed for pair in zip(held["user_id"], held["item_id"])])
        assert fitted.score(held) == pytest.approx(expected)
        assert fitted.score(X) == 0.0  # training positives are never recommended
        assert 0.0 <= fitted.score(X) <= 1.0
