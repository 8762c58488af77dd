"""Queries of any size: every DMTL query method gives the results of a one-batch query,
and the one top-k routine ranks block by block in bounded memory."""

import numpy as np
import pandas as pd
import pytest

from sk_grouprec import GroupAggregator, GroupDMTLRecommender
from sk_grouprec import aggregation as aggregation_module
from sk_grouprec._topk import top_k, top_k_indices
from sk_grouprec.baselines.bias import BaselineOnly
from sk_grouprec.testing import make_small_ratings

FAST = dict(hidden_size=8, embedding_size=4, max_epochs=2, batch_size=256, random_state=0)


@pytest.fixture(scope="module")
def natural():
    X, y, group = make_small_ratings()
    X = X.assign(group_id=group[X["user_id"].to_numpy()], ctx_hour=np.arange(len(X)) % 24.0)
    members = pd.DataFrame({"group_id": np.arange(40) % 9, "user_id": np.arange(40)})
    Xg = pd.DataFrame(
        {"group_id": np.arange(90) % 9, "item_id": np.arange(90) % 30, "ctx_hour": 12.0}
    )
    yg = 1.0 + (np.arange(90) % 5)
    est = GroupDMTLRecommender(**FAST).fit(X, y, groups=members, X_group=Xg, y_group=yg)
    return est, X, members, Xg


def _small_batches(monkeypatch, size=7):
    monkeypatch.setattr(GroupDMTLRecommender, "_infer_batch_size", size)
    monkeypatch.setattr(GroupDMTLRecommender, "_predict_batch_size", size + 4)


@pytest.mark.parametrize(
    "method", ["predict", "predict_profile", "group_profile", "attention_weights"]
)
def test_row_queries_cross_batch_boundaries(natural, monkeypatch, method):
    est, X, _, _ = natural
    query = pd.concat([X, X.assign(user_id=X["user_id"] + 1000)], ignore_index=True)
    whole = getattr(est, method)(query)
    _small_batches(monkeypatch)
    np.testing.assert_allclose(getattr(est, method)(query), whole, atol=1e-6)


def test_predict_group_crosses_batch_boundaries(natural, monkeypatch):
    est, _, members, Xg = natural
    new = pd.DataFrame({"group_id": ["new"] * 3, "user_id": [0, 5, 77]})
    rows = pd.concat(
        [Xg, Xg.assign(group_id="new"), Xg.assign(group_id="nobody")], ignore_index=True
    )
    whole = est.predict_group(rows, groups=new)
    _small_batches(monkeypatch)
    np.testing.assert_allclose(est.predict_group(rows, groups=new), whole, atol=1e-6)


@pytest.mark.parametrize("exclude_rated", [True, False])
def test_recommendations_cross_batch_boundaries(natural, monkeypatch, exclude_rated):
    est, X, _, _ = natural
    users = np.concatenate([X["user_id"].unique(), [999]])
    recs = est.recommend(users, n_items=5, exclude_rated=exclude_rated)
    group_recs = est.recommend_group(np.arange(10), n_items=5, exclude_rated=exclude_rated)
    _small_batches(monkeypatch)
    pd.testing.assert_frame_equal(
        est.recommend(users, n_items=5, exclude_rated=exclude_rated), recs, atol=1e-6
    )
    pd.testing.assert_frame_equal(
        est.recommend_group(np.arange(10), n_items=5, exclude_rated=exclude_rated),
        group_recs,
        atol=1e-6,
    )


def test_recommend_group_equals_full_stable_sort(natural):
    est, X, _, _ = natural
    items = est.item_index_.ids.to_numpy()
    recs = est.recommend_group([0, 1], n_items=6, exclude_rated=False)
    hour = X["ctx_hour"].mean()  # recommend_group scores at the mean training context
    for g in (0, 1):
        scores = est.predict_group(pd.DataFrame({"group_id": g, "item_id": items, "ctx_hour": hour}))
        got = recs[recs["group_id"] == g]
        np.testing.assert_allclose(got["score"], np.sort(scores)[::-1][:6], atol=1e-5)


def test_aggregator_recommend_crosses_chunks(monkeypatch):
    X, y, group = make_small_ratings()
    X = X.assign(group_id=group[X["user_id"].to_numpy()])
    agg = GroupAggregator(BaselineOnly(), strategy="borda").fit(X, y)
    recs = agg.recommend([0, 1, 2, 3, 99], n_items=4)
    monkeypatch.setattr(aggregation_module, "PREDICT_BATCH_SIZE", 7)
    pd.testing.assert_frame_equal(agg.recommend([0, 1, 2, 3, 99], n_items=4), recs)
    seen = set(X.loc[X["group_id"] == 0, "item_id"])
    assert not seen & set(recs.loc[recs["group_id"] == 0, "item_id"])


def test_top_k_indices_match_a_full_stable_sort():
    rng = np.random.default_rng(0)
    for _ in range(50):
        scores = rng.integers(0, 4, (6, 11)).astype(float)
        scores[rng.random(scores.shape) < 0.2] = -np.inf
        for k in (1, 3, 11):
            expected = np.argsort(-scores, axis=1, kind="stable")[:, :k]
            np.testing.assert_array_equal(top_k_indices(scores, k), expected)


def test_top_k_drops_excluded_and_blocks_do_not_matter():
    scores = np.array([[1.0, -np.inf, 3.0], [-np.inf, -np.inf, 2.0]])
    ids = np.array(["a", "b"])
    calls = []

    def block(start, stop):
        calls.append((start, stop))
        return scores[start:stop]

    one = top_k(ids, np.array([7, 8, 9]), 2, block, row_col="user_id", rows_per_block=1)
    assert calls == [(0, 1), (1, 2)]
    assert one["item_id"].tolist() == [9, 7, 9] and one["rank"].tolist() == [1, 2, 1]
    both = top_k(ids, np.array([7, 8, 9]), 2, block, row_col="user_id")
    pd.testing.assert_frame_equal(one, both)


def test_large_queries(natural):
    """predict_group over 200,000 rows; recommend_group over 1,000 groups x 10,000 items."""
    est, X, members, Xg = natural
    rows = pd.DataFrame(
        {"group_id": np.arange(200_000) % 9, "item_id": np.arange(200_000) % 30, "ctx_hour": 1.0}
    )
    pred = est.predict_group(rows)
    assert pred.shape == (200_000,) and np.isfinite(pred).all()
    np.testing.assert_allclose(pred[-9:], est.predict_group(rows.iloc[-9:]), atol=1e-6)
    groups = pd.DataFrame({"group_id": np.arange(1000), "user_id": np.arange(1000) % 40})
    recs = est.recommend_group(
        np.arange(1000), n_items=3, items=np.arange(10_000), groups=groups
    )
    assert recs.shape == (3000, 4)
    assert (recs.groupby("group_id")["rank"].max() == 3).all()
