"""Property-based tests (Hypothesis): every estimator on random valid input.

For random interaction tables (ids as ints, as strings of mixed lengths, or both; 1 to 40
ratings, skewed towards few users or items; a rating scale among 1-5, 0.5-5 in halves,
0-10, 0-100 in steps of 5, -10..10 and all ratings equal) and a query mixing seen and
unseen ids, each estimator of :data:`ESTIMATORS`

- fits and predicts without raising,
- returns finite float64 predictions of the query's shape,
- returns the same predictions when refitted with the same ``random_state``.

Settings: ``max_examples=8`` per estimator, ``deadline=None`` (fit times vary on a busy
machine), ``derandomize=True`` (the examples are a fixed function of the test, so CI is
deterministic), health checks for slow data generation off. The module runs in well under
a minute on two cores. To cover a new estimator, add a factory to :data:`ESTIMATORS`
(a callable returning a fresh, small, seeded estimator); ``needs_non_negative`` lists the
ones that need ratings >= 0.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sk_grouprec.aggregation import GroupAggregator
from sk_grouprec.baselines import (
    ALS,
    BPRMF,
    EASE,
    NMF,
    SVD,
    BaselineOnly,
    CoClustering,
    ItemKNN,
    KNNBaseline,
    KNNBasic,
    KNNWithMeans,
    KNNWithZScore,
    MostPopular,
    NormalPredictor,
    SlopeOne,
    SVDpp,
)
from sk_grouprec.dmtl import GroupDMTLRecommender

PROPERTY_SETTINGS = settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: name -> factory of a fresh, small, seeded estimator
ESTIMATORS = {
    "NormalPredictor": lambda: NormalPredictor(random_state=0),
    "BaselineOnly-als": lambda: BaselineOnly(),
    "BaselineOnly-sgd": lambda: BaselineOnly(method="sgd"),
    "SVD": lambda: SVD(n_factors=3, n_epochs=5, random_state=0),
    "SVD-unbiased": lambda: SVD(n_factors=3, n_epochs=5, biased=False, random_state=0),
    "SVDpp": lambda: SVDpp(n_factors=3, n_epochs=5, random_state=0),
    "NMF": lambda: NMF(n_factors=2, n_epochs=5, random_state=0),
    "NMF-biased": lambda: NMF(n_factors=2, n_epochs=5, biased=True, random_state=0),
    "KNNBasic": lambda: KNNBasic(k=3),
    "KNNWithMeans": lambda: KNNWithMeans(k=3, user_based=False),
    "KNNWithZScore": lambda: KNNWithZScore(k=3),
    "KNNBaseline": lambda: KNNBaseline(k=3, similarity="pearson_baseline"),
    "SlopeOne": lambda: SlopeOne(),
    "CoClustering": lambda: CoClustering(n_cltr_u=2, n_cltr_i=2, n_epochs=3, random_state=0),
    "GroupDMTLRecommender": lambda: GroupDMTLRecommender(
        max_epochs=1, hidden_size=4, embedding_size=2, batch_size=16, lambda_profile=0.0,
        random_state=0,
    ),
    "GroupDMTLRecommender-bpr": lambda: GroupDMTLRecommender(
        objective="bpr", max_epochs=1, hidden_size=4, embedding_size=2, random_state=0,
    ),
    # top-N score estimators: with ratings and no threshold, every row is a positive
    "MostPopular": lambda: MostPopular(),
    "ItemKNN": lambda: ItemKNN(k=3),
    "BPRMF": lambda: BPRMF(n_factors=3, n_epochs=3, batch_size=16, random_state=0),
    "ALS": lambda: ALS(n_factors=3, n_epochs=2, random_state=0),
    "EASE": lambda: EASE(l2=10.0),
}
needs_non_negative = {"NMF", "NMF-biased"}

SCALES = {
    "1-5": np.arange(1.0, 6.0),
    "0.5-5": np.arange(1, 11) / 2.0,
    "0-10": np.arange(0.0, 11.0),
    "0-100": np.arange(0.0, 101.0, 5.0),
    "-10..10": np.arange(-10.0, 11.0),
    "equal": np.array([3.0]),
}


def _ids(kind, values):
    if kind == "int":
        return values.astype(np.int64)
    if kind == "str":
        return np.array(["id" + "x" * (v % 4) + str(v) for v in values], dtype=object)
    return np.array([v if v % 2 else f"s{v}" for v in values.tolist()], dtype=object)


@st.composite
def interactions(draw, non_negative=False):
    n = draw(st.integers(1, 40))
    n_users = draw(st.integers(1, 8))
    n_items = draw(st.integers(1, 8))
    skew = draw(st.sampled_from([1.0, 3.0]))  # 3: most ratings on the first users/items
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    users = np.floor(n_users * rng.random(n) ** skew).astype(np.int64)
    items = np.floor(n_items * rng.random(n) ** skew).astype(np.int64)
    scale = draw(st.sampled_from(sorted(SCALES)))
    levels = SCALES[scale]
    if non_negative:
        levels = levels - min(0.0, levels.min())
    ratings = rng.choice(levels, size=n)
    kind = draw(st.sampled_from(["int", "str", "mixed"]))
    X = pd.DataFrame({"user_id": _ids(kind, users), "item_id": _ids(kind, items)})
    # a query: some training pairs, unseen users, unseen items, both unseen
    unseen = np.array([10_000, 10_001])
    seen_users, seen_items = X["user_id"].to_numpy(), X["item_id"].to_numpy()
    query = pd.DataFrame({
        "user_id": np.concatenate([seen_users[:3], _ids(kind, unseen), _ids(kind, unseen)]),
        "item_id": np.concatenate(
            [seen_items[:3], seen_items[:1].repeat(2), _ids(kind, unseen + 7)]
        ),
    })
    return X, ratings, query


def _check_properties(make, data):
    X, y, query = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = make().fit(X, y).predict(query)
        second = make().fit(X, y).predict(query)
    assert first.dtype == np.float64 and first.shape == (len(query),)
    assert np.isfinite(first).all(), first
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_estimator_properties(name):
    @PROPERTY_SETTINGS
    @given(interactions(non_negative=name in needs_non_negative))
    def check(data):
        _check_properties(ESTIMATORS[name], data)

    check()


@PROPERTY_SETTINGS
@given(interactions(), st.integers(1, 3))
def test_group_aggregator_properties(data, n_groups):
    X, y, _ = data
    codes = pd.factorize(X["user_id"])[0] % n_groups
    X = X.assign(group_id=codes)
    rows = pd.DataFrame({"group_id": [0, 0, "no-such-group"],
                         "item_id": [X["item_id"].iloc[0], "unseen-item", X["item_id"].iloc[0]]})
    preds = []
    for _ in range(2):
        agg = GroupAggregator(SVDpp(n_factors=2, n_epochs=3, random_state=0)).fit(X, y)
        preds.append(agg.predict(rows))
    assert preds[0].shape == (3,) and np.isfinite(preds[0]).all()
    np.testing.assert_array_equal(preds[0], preds[1])
