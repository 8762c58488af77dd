"""The conformance suite in its score mode, for estimators trained on implicit feedback.

:class:`ScoreRecommenderConformance` inherits every test of
:class:`conformance.RecommenderConformance` and replaces the two that assume ratings:
predictions are scores (finite floats, not clipped to the rating range) and "learns
something" means that training positives outscore the pairs never seen. It adds the
implicit-feedback contract: ``y=None``, ``positive_threshold``, duplicates, fall-backs,
``score``.
"""

import numpy as np
import pandas as pd
import pytest
from sk_grouprec.testing import RecommenderConformance


def unseen_pairs(X, seed=0):
    """(user, item) pairs of the users of ``X`` that are not in ``X``."""
    rng = np.random.default_rng(seed)
    users = X["user_id"].to_numpy()
    others = pd.DataFrame({"user_id": users, "item_id": rng.permutation(X["item_id"].to_numpy())})
    seen = set(zip(X["user_id"], X["item_id"]))
    keep = [pair not in seen for pair in zip(others["user_id"], others["item_id"])]
    return others[keep].drop_duplicates().reset_index(drop=True)


class ScoreRecommenderConformance(RecommenderConformance):
    """Shared behaviour of score estimators; subclasses provide ``make_estimator``
    (which must accept ``positive_threshold``)."""

    def test_fit_returns_self_and_predicts_floats(self, data):
        X, y = data
        est = self.make_estimator()
        assert est.fit(X, y) is est
        pred = est.predict(X)
        assert pred.shape == (len(X),)
        assert pred.dtype == np.float64
        assert np.isfinite(pred).all()

    def test_learns_something(self, fitted, data):
        X, _ = data
        others = unseen_pairs(X)
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

    def test_unknown_item_scores_zero(self, fitted, data):
        X, _ = data
        pred = fitted.predict(pd.DataFrame({"user_id": X["user_id"].iloc[:2], "item_id": [-1, -2]}))
        np.testing.assert_array_equal(pred, 0.0)

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
        held = unseen_pairs(X).iloc[:80]
        recs = fitted.recommend(held["user_id"].unique(), n_items=10)
        listed = set(zip(recs["user_id"], recs["item_id"]))
        expected = np.mean([pair in listed for pair in zip(held["user_id"], held["item_id"])])
        assert fitted.score(held) == pytest.approx(expected)
        assert fitted.score(X) == 0.0  # training positives are never recommended
        assert 0.0 <= fitted.score(X) <= 1.0
