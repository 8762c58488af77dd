"""BlendedRecommender: conformance (score mode), the blended score against its formula,
weights, routing of fit arguments to the components, errors."""

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV

from sk_grouprec.baselines import EASE, SVD, ItemKNN, MostPopular
from sk_grouprec.dmtl import GroupDMTLRecommender
from sk_grouprec.ensemble import BlendedRecommender
from sk_grouprec.model_selection import LeaveKOut
from sk_grouprec.testing import ScoreRecommenderConformance, make_small_ratings


def tiny_dmtl(**params):
    return GroupDMTLRecommender(objective="bpr", max_epochs=6, hidden_size=8,
                                embedding_size=8, random_state=0, **params)


class TestBlendEASEItemKNN(ScoreRecommenderConformance):
    def make_estimator(self, **params):
        return BlendedRecommender([("ease", EASE(l2=10.0)), ("knn", ItemKNN(k=10))],
                                  random_state=0, **params)


class TestBlendDMTLEASE(ScoreRecommenderConformance):
    atol = 1e-5

    def make_estimator(self, **params):
        return BlendedRecommender([("dmtl", tiny_dmtl()), ("ease", EASE(l2=10.0))],
                                  weights=[1.0, 2.0], random_state=0, **params)


@pytest.fixture(scope="module")
def implicit_data():
    X, _, group = make_small_ratings()
    return X[["user_id", "item_id"]], group


def _pairs(X, n=200, seed=1):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"user_id": rng.choice(X["user_id"].unique(), n),
                         "item_id": rng.choice(X["item_id"].unique(), n)})


def test_score_is_the_weighted_sum_of_standardised_scores(implicit_data):
    X, _ = implicit_data
    blend = BlendedRecommender([("ease", EASE(l2=5.0)), ("knn", ItemKNN(k=10))],
                               weights=[0.3, 2.0], random_state=0).fit(X)
    pairs = _pairs(X)
    ease, knn = blend.named_estimators_["ease"], blend.named_estimators_["knn"]
    expected = (0.3 * ease.predict(pairs) / blend.scales_[0]
                + 2.0 * knn.predict(pairs) / blend.scales_[1])
    np.testing.assert_allclose(blend.predict(pairs), expected, rtol=1e-10)
    # the components are fitted clones, equal to fitting them alone
    np.testing.assert_allclose(ease.predict(pairs), EASE(l2=5.0).fit(X).predict(pairs))
    assert blend.estimators_[0] is ease and blend.estimators[0][1] is not ease
    np.testing.assert_array_equal(blend.weights_, [0.3, 2.0])


def test_scales_are_the_spread_of_sampled_scores(implicit_data):
    X, _ = implicit_data
    blend = BlendedRecommender([("ease", EASE(l2=5.0)), ("pop", MostPopular())],
                               random_state=0).fit(X)
    users = X["user_id"].unique()
    items = X["item_id"].unique()
    grid = pd.DataFrame({"user_id": np.repeat(users, len(items)),
                         "item_id": np.tile(items, len(users))})
    for k, est in enumerate(blend.estimators_):
        full_spread = est.predict(grid).std()
        # 20,000 sampled pairs estimate the spread over the whole grid closely
        assert blend.scales_[k] == pytest.approx(full_spread, rel=0.05)
    again = BlendedRecommender(blend.estimators, random_state=0).fit(X)
    np.testing.assert_array_equal(again.scales_, blend.scales_)


def test_a_constant_component_gets_scale_one():
    X = pd.DataFrame({"user_id": [1, 2, 3], "item_id": [10, 10, 10]})
    blend = BlendedRecommender([("pop", MostPopular())], random_state=0).fit(X)
    np.testing.assert_array_equal(blend.scales_, [1.0])


@pytest.mark.parametrize("weights", [[1.0, 0.0], [0.0, 1.0]])
def test_a_single_positive_weight_ranks_like_that_component(implicit_data, weights):
    X, _ = implicit_data
    components = [("ease", EASE(l2=5.0)), ("knn", ItemKNN(k=10))]
    blend = BlendedRecommender(components, weights=weights, random_state=0).fit(X)
    alone = components[int(np.argmax(weights))][1].fit(X)
    users = X["user_id"].unique()[:10]
    a = blend.recommend(users, n_items=5)
    b = alone.recommend(users, n_items=5)
    assert a["item_id"].tolist() == b["item_id"].tolist()


def test_blend_beats_a_weak_component_on_planted_groups():
    """Users of a planted group share tastes; on held-out positives the blend of a
    personalised model with popularity does at least as well as popularity alone."""
    X, y, _ = make_small_ratings(n_users=60, n_items=40, n_ratings=1200, seed=3)
    X = X[["user_id", "item_id"]]
    held = X.groupby("user_id").tail(1)
    train = X.drop(held.index)
    pop = MostPopular().fit(train).score(held)
    blend = BlendedRecommender([("ease", EASE(l2=5.0)), ("pop", MostPopular())],
                               random_state=0).fit(train).score(held)
    assert blend >= pop


def test_fit_arguments_reach_the_components_that_take_them(implicit_data):
    X, group = implicit_data
    users = X["user_id"].unique()
    groups = pd.DataFrame({"group_id": group[users] + 100, "user_id": users})
    group_rows = (groups.merge(X, on="user_id")[["group_id", "item_id"]]
                  .drop_duplicates().reset_index(drop=True))
    blend = BlendedRecommender([("dmtl", tiny_dmtl()), ("ease", EASE(l2=5.0))],
                               random_state=0)
    blend.fit(X, groups=groups, X_group=group_rows)
    dmtl = blend.named_estimators_["dmtl"]
    alone = tiny_dmtl().fit(X, groups=groups, X_group=group_rows)
    np.testing.assert_allclose(dmtl.predict_group(group_rows.iloc[:20]),
                               alone.predict_group(group_rows.iloc[:20]), atol=1e-5)
    with pytest.raises(TypeError, match=r"no estimator's fit takes \['colour'\]"):
        blend.fit(X, colour="red")
    with pytest.raises(TypeError, match=r"no estimator's fit takes \['groups'\]"):
        BlendedRecommender([("ease", EASE())]).fit(X, groups=groups)


def test_component_parameters_are_tunable(implicit_data):
    X, _ = implicit_data
    blend = BlendedRecommender([("ease", EASE()), ("knn", ItemKNN())], random_state=0)
    assert blend.get_params()["ease__l2"] == EASE().l2
    search = GridSearchCV(blend, {"ease__l2": [1.0, 50.0], "weights": [[1, 0], [1, 1]]},
                          cv=LeaveKOut(k=1, random_state=0))
    search.fit(X)
    assert set(search.best_params_) == {"ease__l2", "weights"}
    assert 0.0 <= search.best_score_ <= 1.0


@pytest.mark.parametrize(
    "params, error, message",
    [
        ({"estimators": []}, ValueError, "non-empty list"),
        ({"estimators": [EASE()]}, ValueError, r"\(name, estimator\) pair"),
        ({"estimators": [("a", EASE()), ("a", ItemKNN())]}, ValueError, "unique"),
        ({"estimators": [("a", object())]}, TypeError, "has no fit/predict"),
        ({"estimators": [("svd", SVD())]}, ValueError, "predicts ratings"),
        ({"estimators": [("e", EASE(positive_threshold=4))]}, ValueError,
         "set positive_threshold on the BlendedRecommender"),
        ({"weights": [1.0]}, ValueError, "one number per estimator"),
        ({"weights": [1.0, -1.0]}, ValueError, "non-negative"),
        ({"weights": [0.0, 0.0]}, ValueError, "at least one"),
        ({"weights": [1.0, np.nan]}, ValueError, "finite"),
        ({"weights": ["a", "b"]}, ValueError, "must be numbers"),
    ],
)
def test_bad_parameters_raise_clear_errors(implicit_data, params, error, message):
    X, _ = implicit_data
    params = {"estimators": [("ease", EASE()), ("knn", ItemKNN())], **params}
    with pytest.raises(error, match=message):
        BlendedRecommender(**params).fit(X)
