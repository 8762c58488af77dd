"""GroupAggregator over score estimators (implicit feedback): strategies on scores,
per-member standardisation, refusals."""

import numpy as np
import pandas as pd
import pytest

from sk_grouprec import GroupAggregator
from sk_grouprec._implicit import BaseScoreRecommender
from sk_grouprec.aggregation import SCORE_STRATEGIES
from sk_grouprec.baselines import BPRMF, EASE, BaselineOnly, MostPopular


class TableScores(BaseScoreRecommender):
    """Scores read from a fixed (user, item) -> score table; ``scale`` multiplies the
    scores of user ``loud`` (any other user is scaled by 1)."""

    def __init__(self, table=None, loud=None, scale=1.0, positive_threshold=None):
        self.table = table
        self.loud = loud
        self.scale = scale
        self.positive_threshold = positive_threshold

    def _fit_implicit(self, matrix):
        grid = self.table.pivot(index="user_id", columns="item_id", values="score")
        grid = grid.reindex(index=self.user_index_.ids, columns=self.item_index_.ids)
        factor = np.where(grid.index == self.loud, self.scale, 1.0)[:, None]
        self.grid_ = grid.to_numpy() * factor

    def _score_users(self, users):
        return self.grid_[users]


def score_table(seed=0, n_users=6, n_items=8):
    rng = np.random.default_rng(seed)
    users, items = np.meshgrid(np.arange(n_users), np.arange(n_items), indexing="ij")
    return pd.DataFrame(
        {"user_id": users.ravel(), "item_id": items.ravel(), "score": rng.normal(size=users.size)}
    )


def membership():
    return pd.DataFrame({"group_id": ["g", "g", "g", "h", "h"], "user_id": [0, 1, 2, 3, 4]})


def every_pair(table):
    return table[["user_id", "item_id"]]


def queries(groups=("g", "h"), n_items=8):
    return pd.DataFrame(
        {"group_id": np.repeat(groups, n_items), "item_id": np.tile(np.arange(n_items), len(groups))}
    )


@pytest.mark.parametrize("strategy", ["average", "least_misery", "most_pleasure"])
def test_scores_are_standardised_per_member_over_the_catalogue(strategy):
    table = score_table()
    agg = GroupAggregator(TableScores(table), strategy=strategy)
    agg.fit(every_pair(table), None, groups=membership())
    grid = table.pivot(index="user_id", columns="item_id", values="score").to_numpy()
    z = (grid - grid.mean(axis=1, keepdims=True)) / grid.std(axis=1, keepdims=True)
    reduce = {"average": np.mean, "least_misery": np.min, "most_pleasure": np.max}[strategy]
    expected = np.concatenate([reduce(z[[0, 1, 2]], axis=0), reduce(z[[3, 4]], axis=0)])
    np.testing.assert_allclose(agg.predict(queries()), expected, atol=1e-12)
    np.testing.assert_allclose(agg.member_score_mean_.loc[[0, 1]], grid[[0, 1]].mean(axis=1))


@pytest.mark.parametrize("strategy", SCORE_STRATEGIES)
def test_a_member_with_wider_scores_does_not_dominate(strategy):
    table = score_table(1)
    plain = GroupAggregator(TableScores(table), strategy=strategy)
    loud = GroupAggregator(TableScores(table, loud=1, scale=100.0), strategy=strategy)
    plain.fit(every_pair(table), None, groups=membership())
    loud.fit(every_pair(table), None, groups=membership())
    np.testing.assert_allclose(plain.predict(queries()), loud.predict(queries()), atol=1e-9)


def test_raw_scores_would_let_the_loud_member_decide():
    """Why standardise: without it, the average follows the loud member alone."""
    table = score_table(2)
    grid = table.pivot(index="user_id", columns="item_id", values="score").to_numpy().copy()
    grid[1] *= 1000.0
    raw_average = grid[[0, 1, 2]].mean(axis=0)
    assert np.array_equal(np.argsort(raw_average), np.argsort(grid[1]))
    agg = GroupAggregator(TableScores(table, loud=1, scale=1000.0)).fit(
        every_pair(table), None, groups=membership()
    )
    assert not np.array_equal(np.argsort(agg.predict(queries(["g"]))), np.argsort(grid[1]))


def test_borda_on_scores_gives_points_in_unit_interval():
    table = score_table(3)
    agg = GroupAggregator(TableScores(table), strategy="borda")
    agg.fit(every_pair(table), None, groups=membership())
    pred = agg.predict(queries())
    assert pred.min() >= 0 and pred.max() <= 1
    grid = table.pivot(index="user_id", columns="item_id", values="score").to_numpy()
    ranks = grid.argsort(axis=1).argsort(axis=1) / 7.0
    np.testing.assert_allclose(pred[:8], ranks[[0, 1, 2]].mean(axis=0))


@pytest.mark.parametrize("strategy", ["multiplicative", "approval", "average_without_misery"])
def test_rating_only_strategies_are_refused_on_scores(strategy):
    table = score_table()
    agg = GroupAggregator(TableScores(table), strategy=strategy, threshold=0.5)
    with pytest.raises(ValueError, match="needs ratings on a fixed scale.*average"):
        agg.fit(every_pair(table), None, groups=membership())


def test_implicit_feedback_needs_a_score_estimator():
    table = score_table()
    with pytest.raises(ValueError, match="y=None.*BaselineOnly predicts ratings"):
        GroupAggregator(BaselineOnly()).fit(every_pair(table), None, groups=membership())


def planted_groups(seed=0):
    """Two taste communities; each group is drawn from one community."""
    rng = np.random.default_rng(seed)
    n_users, n_items = 40, 40
    user_comm, item_comm = np.arange(n_users) % 2, np.arange(n_items) % 2
    like = (user_comm[:, None] == item_comm[None, :]) & (rng.random((n_users, n_items)) < 0.25)
    users, items = np.nonzero(like)
    X = pd.DataFrame({"user_id": users, "item_id": items})
    groups = pd.DataFrame(
        {"group_id": np.repeat(np.arange(8), 3), "user_id": np.concatenate(
            [rng.choice(np.flatnonzero(user_comm == g % 2), 3, replace=False) for g in range(8)]
        )}
    )
    return X, groups, item_comm


@pytest.mark.parametrize("inner", [BPRMF(n_factors=8, n_epochs=40, random_state=0), EASE(l2=5.0)],
                         ids=lambda m: type(m).__name__)
def test_group_recommendations_follow_the_groups_taste(inner):
    X, groups, item_comm = planted_groups()
    agg = GroupAggregator(inner).fit(X, None, groups=groups)
    recs = agg.recommend(np.arange(8), n_items=3)
    assert (item_comm[recs["item_id"].to_numpy()] == recs["group_id"].to_numpy() % 2).mean() > 0.9
    members_items = groups.merge(X, on="user_id")[["group_id", "item_id"]]
    assert not set(zip(recs["group_id"], recs["item_id"])) & set(
        zip(members_items["group_id"], members_items["item_id"])
    )
    pred = agg.predict(pd.DataFrame({"group_id": [0, "unknown"], "item_id": [0, 0]}))
    assert np.isfinite(pred).all() and pred[1] == 0.0


def test_ratings_with_a_threshold_reach_the_inner_estimator():
    X, groups, _ = planted_groups()
    y = np.where(np.arange(len(X)) % 2 == 0, 5.0, 1.0)
    agg = GroupAggregator(MostPopular(positive_threshold=4)).fit(X, y, groups=groups)
    assert agg.estimator_.interactions_.nnz == int((y >= 4).sum())
    assert agg.rating_range_ is None and agg.global_mean_ == 0.0
