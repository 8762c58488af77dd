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


# groups -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def group_data(implicit_data):
    """Planted groups of the small data; each group's rows: a third of its members' items."""
    X, group = implicit_data
    users = X["user_id"].unique()
    groups = pd.DataFrame({"group_id": group[users] + 100, "user_id": users})
    rows = (groups.merge(X, on="user_id")[["group_id", "item_id"]]
            .drop_duplicates().sample(frac=1 / 3, random_state=0).reset_index(drop=True))
    return X, groups, rows


def _group_pairs(rows, n=200, seed=2):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"group_id": rng.choice(rows["group_id"].unique(), n),
                         "item_id": rng.choice(rows["item_id"].unique(), n)})


def test_group_score_is_the_weighted_sum_of_the_group_models(group_data):
    X, groups, rows = group_data
    blend = BlendedRecommender([("dmtl", tiny_dmtl()), ("ease", EASE(l2=5.0))],
                               weights=[1.0, 1.0], group_weights=[0.5, 3.0], random_state=0)
    blend.fit(X, groups=groups, X_group=rows)
    assert blend.group_sources_ == ["natural", "group_rows"]
    dmtl, ease_rows = blend.group_estimators_
    assert dmtl is blend.named_estimators_["dmtl"]
    pairs = _group_pairs(rows)
    expected = (0.5 * dmtl.predict_group(pairs) / blend.group_scales_[0]
                + 3.0 * ease_rows.predict(pairs.rename(columns={"group_id": "user_id"}))
                / blend.group_scales_[1])
    np.testing.assert_allclose(blend.predict_group(pairs), expected, rtol=1e-10)
    # the group-row model is the component fitted on the group rows, groups as users
    alone = EASE(l2=5.0).fit(rows.rename(columns={"group_id": "user_id"}))
    np.testing.assert_allclose(
        ease_rows.predict(pairs.rename(columns={"group_id": "user_id"})),
        alone.predict(pairs.rename(columns={"group_id": "user_id"})))
    np.testing.assert_array_equal(blend.group_weights_, [0.5, 3.0])
    # the user side is the same as without groups
    users_only = BlendedRecommender([("dmtl", tiny_dmtl()), ("ease", EASE(l2=5.0))],
                                    random_state=0).fit(X, groups=groups, X_group=rows)
    np.testing.assert_allclose(users_only.predict(_pairs(X)), blend.predict(_pairs(X)))


def test_group_weights_default_to_the_user_weights(group_data):
    X, _, rows = group_data
    blend = BlendedRecommender([("ease", EASE(l2=5.0)), ("knn", ItemKNN(k=10))],
                               weights=[2.0, 0.5], random_state=0).fit(X, X_group=rows)
    np.testing.assert_array_equal(blend.group_weights_, [2.0, 0.5])
    assert blend.group_sources_ == ["group_rows", "group_rows"]
    for k, est in enumerate(blend.group_estimators_):
        as_users = rows.rename(columns={"group_id": "user_id"})
        items = blend.group_item_index_.ids
        grid = pd.DataFrame({"user_id": np.repeat(as_users["user_id"].unique(), len(items)),
                             "item_id": np.tile(items, as_users["user_id"].nunique())})
        # sampled group-item pairs estimate the spread over all groups x training items
        assert blend.group_scales_[k] == pytest.approx(est.predict(grid).std(), rel=0.05)


def test_recommend_group_ranks_by_predict_group_and_excludes_the_groups_rows(group_data):
    X, groups, rows = group_data
    blend = BlendedRecommender([("dmtl", tiny_dmtl()), ("ease", EASE(l2=5.0))],
                               group_weights=[1.0, 4.0], random_state=0)
    blend.fit(X, groups=groups, X_group=rows)
    group_ids = [101, 100, 999]  # 999: unknown, gets the components' fall-backs
    recs = blend.recommend_group(group_ids, n_items=5)
    assert recs.columns.tolist() == ["group_id", "item_id", "score", "rank"]
    assert recs["group_id"].unique().tolist() == group_ids
    items = blend.group_item_index_.ids.to_numpy()
    for g in group_ids:
        mine = recs[recs["group_id"] == g]
        seen = set(rows.loc[rows["group_id"] == g, "item_id"])
        assert not seen & set(mine["item_id"])
        pairs = pd.DataFrame({"group_id": g, "item_id": [i for i in items if i not in seen]})
        best = np.sort(blend.predict_group(pairs))[::-1][:5]
        np.testing.assert_allclose(mine["score"].to_numpy(), best, rtol=1e-9)
        assert mine["rank"].tolist() == [1, 2, 3, 4, 5]
    # block by block: one group per block gives the same lists
    blend._predict_batch_size = len(items)
    pd.testing.assert_frame_equal(blend.recommend_group(group_ids, n_items=5), recs)
    with_rated = blend.recommend_group([100], n_items=len(items), exclude_rated=False)
    assert len(with_rated) == len(items)
    subset = blend.recommend_group([100], n_items=3, items=items[:4], exclude_rated=False)
    assert set(subset["item_id"]) <= set(items[:4]) and len(subset) == 3


def test_group_blend_recovers_a_planted_group_preference():
    """Groups of one planted taste share six favourite items; each group's rows hold all of
    them but one (a different one per group), and that one comes in its top 5."""
    rng = np.random.default_rng(0)
    n_tastes, per_taste, size, n_items = 3, 4, 4, 40
    favourites = rng.permutation(n_items)[: 6 * n_tastes].reshape(n_tastes, 6)
    member_rows, group_rows, held = [], [], []
    for g in range(n_tastes * per_taste):
        fav = favourites[g % n_tastes]
        for m in range(size):
            picks = np.concatenate([fav, rng.choice(n_items, 3)])
            member_rows += [(g * size + m, int(i)) for i in picks]
        left_out = fav[g // n_tastes]
        group_rows += [(g, int(i)) for i in fav if i != left_out]
        held.append(int(left_out))
    X = pd.DataFrame(member_rows, columns=["user_id", "item_id"]).drop_duplicates()
    n_groups = n_tastes * per_taste
    groups = pd.DataFrame({"group_id": np.repeat(np.arange(n_groups), size),
                           "user_id": np.arange(n_groups * size)})
    rows = pd.DataFrame(group_rows, columns=["group_id", "item_id"])
    blend = BlendedRecommender([("dmtl", tiny_dmtl()), ("ease", EASE(l2=1.0))],
                               random_state=0).fit(X, groups=groups, X_group=rows)
    top = blend.recommend_group(np.arange(n_groups), n_items=5)
    hits = [h in set(top.loc[top["group_id"] == g, "item_id"]) for g, h in enumerate(held)]
    assert np.mean(hits) >= 0.9
    # popularity over the group rows does not find them
    pop = BlendedRecommender([("pop", MostPopular())], random_state=0).fit(X, X_group=rows)
    top = pop.recommend_group(np.arange(n_groups), n_items=5)
    hits = [h in set(top.loc[top["group_id"] == g, "item_id"]) for g, h in enumerate(held)]
    assert np.mean(hits) <= 0.5


def test_group_methods_need_x_group_and_check_their_input(group_data):
    X, _, rows = group_data
    blend = BlendedRecommender([("ease", EASE())], random_state=0).fit(X)
    for method, arg in (("predict_group", rows), ("recommend_group", [100])):
        with pytest.raises(ValueError, match=rf"{method} needs the groups' own interactions"):
            getattr(blend, method)(arg)
    blend.fit(X, X_group=rows)
    with pytest.raises(ValueError, match=r"missing the required column\(s\) \['group_id'\]"):
        blend.predict_group(rows.rename(columns={"group_id": "user_id"}))
    with pytest.raises(TypeError, match="must be a pandas DataFrame"):
        blend.predict_group(rows.to_numpy())
    with pytest.raises(ValueError, match="fit X_group: column 'item_id' has 1 missing"):
        BlendedRecommender([("ease", EASE())]).fit(
            X, X_group=pd.DataFrame({"group_id": [1, 2], "item_id": [3, None]}))
    with pytest.raises(ValueError, match="group_weights must hold one number per estimator"):
        BlendedRecommender([("ease", EASE())], group_weights=[1, 2]).fit(X)
    with pytest.raises(ValueError, match="n_items"):
        blend.recommend_group([100], n_items=0)


def test_items_seen_only_in_group_rows_are_ranked_for_groups(group_data):
    X, groups, rows = group_data
    only_groups = pd.DataFrame({"group_id": [100, 101, 102, 103], "item_id": "new"})
    blend = BlendedRecommender([("dmtl", tiny_dmtl()), ("ease", EASE(l2=5.0))],
                               random_state=0)
    blend.fit(X, groups=groups, X_group=pd.concat([rows, only_groups], ignore_index=True))
    assert blend.group_item_index_.ids[-1] == "new"
    assert "new" not in set(blend.item_index_.ids)  # users are not ranked on it
    recs = blend.recommend_group([100, 999], n_items=blend.group_item_index_.ids.shape[0])
    assert "new" not in set(recs.loc[recs["group_id"] == 100, "item_id"])  # a row of 100
    assert "new" in set(recs.loc[recs["group_id"] == 999, "item_id"])  # unknown group
    score = blend.predict_group(pd.DataFrame({"group_id": [100], "item_id": ["new"]}))
    assert np.isfinite(score).all()
