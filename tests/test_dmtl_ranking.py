"""GroupDMTLRecommender with a ranking objective ("bpr", "bce"): implicit feedback, groups."""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from sk_grouprec import GroupDMTLRecommender
from sk_grouprec.dmtl._dropout import RandDropout
from sk_grouprec.testing import ScoreRecommenderConformance


def make_planted_groups(n_groups=20, size=3, n_items=30, per_group=8, seed=0):
    """Groups 0..n/2-1 like items 0..14, the others items 15..29; members share the taste."""
    rng = np.random.default_rng(seed)
    half = n_items // 2
    members, user_rows, group_rows = [], [], []
    for g in range(n_groups):
        pool = np.arange(half) if g < n_groups // 2 else np.arange(half, n_items)
        for m in range(size):
            user = g * size + m
            members.append((g, user))
            for item in rng.choice(pool, per_group, replace=False):
                user_rows.append((user, item))
        for item in rng.choice(pool, per_group, replace=False):
            group_rows.append((g, item))
    groups = pd.DataFrame(members, columns=["group_id", "user_id"])
    X = pd.DataFrame(user_rows, columns=["user_id", "item_id"])
    X_group = pd.DataFrame(group_rows, columns=["group_id", "item_id"])
    return X, groups, X_group


def ranker(**params):
    params = {"objective": "bpr", "max_epochs": 30, "hidden_size": 8, "embedding_size": 8,
              "random_state": 0, **params}
    return GroupDMTLRecommender(**params)


@pytest.fixture(scope="module")
def planted():
    X, groups, X_group = make_planted_groups()
    model = ranker().fit(X, None, groups=groups, X_group=X_group)
    return model, X, groups, X_group


def test_bpr_loss_falls(planted):
    model = planted[0]
    rec = model.history_[:, "train_rec_loss"]
    group = model.history_[:, "train_group_loss"]
    assert rec[-1] < 0.8 * rec[0]
    assert group[-1] < 0.9 * group[0]


def test_planted_group_preference_in_top_5(planted):
    model, _, _, X_group = planted
    recs = model.recommend_group([0, 1, 15, 16], n_items=5)
    first_half = recs["item_id"] < 15
    in_taste = np.where(recs["group_id"] < 10, first_half, ~first_half)
    assert in_taste.mean() >= 0.9
    seen = recs.merge(X_group, on=["group_id", "item_id"])
    assert seen.empty  # training items of the group are left out


def test_predict_group_scores_are_not_clipped(planted):
    model, _, _, X_group = planted
    scores = model.predict_group(X_group)
    assert np.isfinite(scores).all()
    assert scores.min() < 0 or scores.max() > 5 or scores.std() > 0


def test_member_weights_sum_to_one(planted):
    model, _, groups, X_group = planted
    w = model.member_weights(X_group.iloc[:10])
    assert list(w.columns) == ["group_id", "item_id", "user_id", "weight"]
    sums = w.groupby(["group_id", "item_id"])["weight"].sum()
    np.testing.assert_allclose(sums, 1.0, rtol=1e-5)
    assert len(w) == 10 * 3
    merged = w.merge(groups, on=["group_id", "user_id"])
    assert len(merged) == len(w)  # weights only on the group's own members


def test_member_attention_by_hand_with_unequal_group_sizes():
    # groups of 1, 2 and 4 members: the padded slots must take no weight and change nothing
    X, groups, X_group = make_planted_groups(n_groups=6, size=4)
    groups = groups.drop(groups.index[[1, 2, 3, 6, 7]])
    model = ranker(max_epochs=2).fit(X, groups=groups, X_group=X_group)
    net = model.ranker_
    members, mask = model._members, model._member_mask
    items = torch.tensor([[0, 20, 5]]).expand(len(members), -1)
    with torch.no_grad():
        h_i = net.item_tower(net.item_emb(items).detach() + net.group_item(items))
        got = net.member_weights(members, mask, h_i)
        for g in range(len(members)):
            h_m, _ = net.user_side(members[g][mask[g]])
            for c in range(items.shape[1]):
                pair = torch.cat([h_m, h_i[g, c].expand(len(h_m), -1)], -1)
                want = torch.softmax(net.mem_att(pair).squeeze(-1), 0)
                torch.testing.assert_close(got[g, c, mask[g]], want)
                assert (got[g, c, ~mask[g]] == 0).all()
    assert sorted(mask.sum(1).tolist()) == [1, 2, 4, 4, 4, 4]


def test_mean_pooling_weights_are_uniform():
    X, groups, X_group = make_planted_groups()
    model = ranker(max_epochs=2, member_pooling="mean").fit(X, groups=groups, X_group=X_group)
    np.testing.assert_allclose(model.member_weights(X_group.iloc[:4])["weight"], 1 / 3)


def test_bce_and_y_none_and_threshold():
    X, groups, X_group = make_planted_groups()
    model = ranker(objective="bce", max_epochs=3).fit(X, None, groups=groups, X_group=X_group)
    assert np.isfinite(model.predict(X)).all()
    y = np.r_[np.full(len(X), 5.0), [1.0]]
    noisy = pd.concat([X, pd.DataFrame({"user_id": [0], "item_id": [29]})], ignore_index=True)
    a = ranker(max_epochs=3, positive_threshold=4).fit(noisy, y)
    b = ranker(max_epochs=3).fit(X)
    np.testing.assert_allclose(a.predict(X), b.predict(X), atol=1e-6)


def test_default_epochs_depend_on_objective():
    X, _, _ = make_planted_groups(n_groups=4)
    assert len(ranker(max_epochs=None, hidden_size=2, embedding_size=2).fit(X).history_) == 50
    y = np.full(len(X), 3.0)
    mse = GroupDMTLRecommender(lambda_profile=0, hidden_size=2, embedding_size=2).fit(X, y)
    assert len(mse.history_) == 15


def test_sampling_is_deterministic():
    X, groups, X_group = make_planted_groups()
    a = ranker(max_epochs=2).fit(X, groups=groups, X_group=X_group).predict_group(X_group)
    b = ranker(max_epochs=2).fit(X, groups=groups, X_group=X_group).predict_group(X_group)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"objective": "hinge"}, "objective"),
        ({"n_negatives": 0}, "n_negatives"),
        ({"member_pooling": "max"}, "member_pooling"),
        ({"group_embedding": "yes"}, "group_embedding"),
        ({"positive_threshold": float("nan")}, "positive_threshold"),
        ({"max_epochs": 0}, "max_epochs"),
        ({"weight_decay": -1.0}, "weight_decay"),
        ({"negative_sampling": "zipf"}, "negative_sampling"),
        ({"negative_sampling": 1.5}, "negative_sampling"),
        ({"negative_sampling": True}, "negative_sampling"),
        ({"negative_temperature": 0.0}, "negative_temperature"),
        ({"negative_temperature": "auto"}, "negative_temperature"),
        ({"negative_temperature": -1.0}, "negative_temperature"),
    ],
)
def test_bad_params_raise(params, match):
    X, _, _ = make_planted_groups(n_groups=2)
    with pytest.raises(ValueError, match=match):
        ranker(**params).fit(X)


def test_threshold_without_y_raises():
    X, _, _ = make_planted_groups(n_groups=2)
    with pytest.raises(ValueError, match="positive_threshold"):
        ranker(positive_threshold=3).fit(X)


def test_leave_one_out_history_by_hand():
    import torch

    from sk_grouprec.dmtl._ranking import _history, _pooled

    history = _history(np.array([0, 0, 0, 1]), np.array([1, 2, 3, 2]), n_rows=2, n_items=4)
    table = torch.nn.Embedding(4, 2)
    w = table.weight.detach()
    rows, left_out = torch.tensor([0, 0, 1]), torch.tensor([2, -1, 2])
    got = _pooled(history, table, rows, left_out).detach()
    expected = torch.stack([(w[1] + w[3]) / 2 ** 0.5, (w[1] + w[2] + w[3]) / 3 ** 0.5,
                            torch.zeros(2)])  # user 1 without its only item: empty history
    torch.testing.assert_close(got, expected)


def test_training_positive_scored_with_its_item_left_out(planted):
    import torch

    model, X = planted[0], planted[1]
    row = X.iloc[:1]
    u = torch.as_tensor(model.user_index_.transform(row["user_id"]))
    i = torch.as_tensor(model.item_index_.transform(row["item_id"]))
    with torch.no_grad():
        left_out = model.ranker_.user_scores(u, i[:, None], left_out=i)[0, 0].item()
        full = model.ranker_.user_scores(u, i[:, None])[0, 0].item()
    assert model.predict(row)[0] == pytest.approx(left_out, abs=1e-6)
    assert left_out != pytest.approx(full, abs=1e-6)


def test_group_task_leaves_shared_item_embeddings_alone(planted):
    """The group task scores items with its own offsets: its loss does not move the shared
    item embeddings, so an item seen only in group rows does not rise for every member."""
    import torch

    model, _, _, X_group = planted
    net = model.ranker_
    g = torch.as_tensor(model._natural_index.transform(X_group["group_id"][:8]))
    items = torch.as_tensor(model.item_index_.transform(X_group["item_id"][:8]))[:, None]
    net.zero_grad()
    net.group_scores(g, model._members[g], model._member_mask[g], items).sum().backward()
    assert net.item_emb.weight.grad is None or not net.item_emb.weight.grad.any()
    assert net.group_item.weight.grad.any()
    net.zero_grad()


def test_unseen_items_rank_below_every_known_item(planted):
    """A known user's (group's) item unseen at fit time ranks last on the model's own scale,
    whatever the origin of the scores (a fixed fallback such as 0 would not)."""
    import copy

    import torch

    model = copy.deepcopy(planted[0])
    known = model.item_index_.ids.to_numpy()
    for shift in (0.0, -100.0, 100.0):  # BPR scores have no fixed origin
        with torch.no_grad():
            model.ranker_.head.bias += shift
        rows = pd.DataFrame({"user_id": 0, "item_id": np.append(known, 999)})
        scores = model.predict(rows)
        assert np.isfinite(scores).all()
        assert scores[-1] < scores[:-1].min()
        # a row's score does not depend on the other rows of the query
        assert model.predict(rows.iloc[-1:])[0] == pytest.approx(scores[-1])
        group_rows = pd.DataFrame({"group_id": 0, "item_id": np.append(known, 999)})
        group_scores = model.predict_group(group_rows)
        assert group_scores[-1] < group_scores[:-1].min()
        recs = model.recommend_group([0], n_items=len(known) + 1, exclude_rated=False,
                                     items=np.append(known, 999))
        assert recs["item_id"].iloc[-1] == 999
        recs = model.recommend([0], n_items=len(known) + 1, exclude_rated=False,
                               items=np.append(known, 999))
        assert recs["item_id"].iloc[-1] == 999


def test_weight_decay_default_depends_on_objective():
    from sk_grouprec.dmtl._params import weight_decay

    assert weight_decay(GroupDMTLRecommender()) == 1.0
    assert weight_decay(GroupDMTLRecommender(objective="bpr")) == 0.1
    assert weight_decay(GroupDMTLRecommender(objective="bpr", weight_decay=0.5)) == 0.5


def test_dropout_default_depends_on_objective():
    from sk_grouprec.dmtl._params import dropout

    assert dropout(GroupDMTLRecommender()) == 0.0
    assert dropout(GroupDMTLRecommender(objective="bpr")) == 0.5
    assert dropout(GroupDMTLRecommender(objective="bce", dropout=0.0)) == 0.0
    X, groups, X_group = make_planted_groups(n_groups=4)
    fitted = ranker(max_epochs=1).fit(X, groups=groups, X_group=X_group)
    assert fitted.dropout is None and fitted.ranker_.drop.p == 0.5


# the rating network's options: used by the ranking network, or refused (never ignored) -----
def test_hidden_size_sets_the_towers_width_not_the_embeddings():
    X, groups, X_group = make_planted_groups()
    wide = ranker(max_epochs=2, hidden_size=16).fit(X, groups=groups, X_group=X_group)
    net = wide.ranker_
    assert net.head.in_features == 16 and net.user_tower[0].out_features == 16
    assert net.user_emb.embedding_dim == 8
    narrow = ranker(max_epochs=2).fit(X, groups=groups, X_group=X_group)
    assert not np.allclose(wide.predict_group(X_group), narrow.predict_group(X_group))
    w = wide.member_weights(X_group.drop_duplicates())
    np.testing.assert_allclose(w.groupby(["group_id", "item_id"])["weight"].sum(), 1.0, rtol=1e-5)


def test_dropout_trains_differently_and_predicts_deterministically():
    X, groups, X_group = make_planted_groups()
    model = ranker(max_epochs=2, dropout=0.5).fit(X, groups=groups, X_group=X_group)
    plain = ranker(max_epochs=2, dropout=0.0).fit(X, groups=groups, X_group=X_group)
    assert isinstance(model.ranker_.drop, RandDropout) and model.ranker_.drop.p == 0.5
    assert isinstance(plain.ranker_.drop, torch.nn.Identity) and not model.ranker_.training
    np.testing.assert_array_equal(model.predict(X), model.predict(X))
    assert not np.allclose(model.predict(X), plain.predict(X))


def test_without_biases_and_dot_product():
    X, groups, X_group = make_planted_groups()
    model = ranker(max_epochs=2, use_biases=False, use_dot_product=False).fit(
        X, groups=groups, X_group=X_group)
    assert model.ranker_.item_bias is None
    net, u, i = model.ranker_, torch.tensor([0, 1]), torch.tensor([[0, 1], [2, 3]])
    with torch.no_grad():  # the score is the MLP head alone
        h_u, _ = net.user_side(u)
        h_i = net.item_tower(net.item_emb(i))
        a = torch.softmax(net.att(torch.cat([h_u[:, None].expand(-1, 2, -1), h_i], -1)), -1)
        z = net.shared(torch.cat([h_u[:, None].expand(-1, 2, -1), a * net.hidden * h_i], -1))
        torch.testing.assert_close(net.user_scores(u, i), net.head(z).squeeze(-1))


@pytest.mark.parametrize("optimizer", ["adam", "sgd", torch.optim.RMSprop])
def test_optimizer_is_used(optimizer):
    X, _, _ = make_planted_groups()
    default = ranker(max_epochs=2).fit(X).predict(X)
    other = ranker(max_epochs=2, optimizer=optimizer).fit(X).predict(X)
    assert np.isfinite(other).all() and not np.allclose(other, default)


def test_trained_network_is_returned_on_the_cpu_with_its_histories():
    X, groups, X_group = make_planted_groups()
    net = ranker(max_epochs=1, device="auto").fit(X, groups=groups, X_group=X_group).ranker_
    assert all(t.device.type == "cpu" for t in (*net.hist, *net.ghist))
    net.double()  # the histories follow the module's conversions
    assert net.hist[2].dtype == torch.float64 and net.hist[0].dtype == torch.int64


@pytest.mark.parametrize(
    "params",
    [
        {"use_id_embeddings": False},
        {"sharing": "mmoe"},
        {"task_refinement": "senet"},
        {"task_weighting": "uncertainty"},
        {"early_stopping": True},
        {"user_features": ["user_age"]},
        {"context_features": []},
        {"callbacks": [("print", object())]},
    ],
)
def test_rating_only_options_are_refused(params):
    X, _, _ = make_planted_groups(n_groups=2)
    (name, value), = params.items()
    with pytest.raises(ValueError, match=rf"{name}=.*no effect with objective='bpr'"):
        ranker(**params).fit(X)


def test_default_components_given_as_classes_are_accepted():
    from sk_grouprec.dmtl.sharing import SharedBottom
    from sk_grouprec.dmtl.task_weighting import FixedTaskWeighting

    X, _, _ = make_planted_groups(n_groups=2)
    ranker(max_epochs=1, sharing=SharedBottom, task_weighting=FixedTaskWeighting).fit(X)


def test_side_feature_columns_are_named_in_a_warning():
    X, _, _ = make_planted_groups(n_groups=2)
    with pytest.warns(UserWarning, match=r"\['user_age', 'group_id'\] of X are not used"):
        ranker(max_epochs=1).fit(X.assign(user_age=1.0, group_id=0, timestamp=0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ranker(max_epochs=1).fit(X)


# the suite's data carry side features, which the ranking network names in a warning
@pytest.mark.filterwarnings("ignore:GroupDMTLRecommender.*not used:UserWarning")
class TestRankingConformance(ScoreRecommenderConformance):
    def make_estimator(self, **params):
        params = {"objective": "bpr", "max_epochs": 8, "hidden_size": 8, "embedding_size": 8,
                  "random_state": 0, **params}
        return GroupDMTLRecommender(**params)


@pytest.mark.realdata
def test_mafengwo_acceptance(data_home):
    from sk_grouprec.datasets import load_mafengwo
    from sk_grouprec.metrics import evaluate_sampled

    data = load_mafengwo(data_home)
    X = data.user_interactions[["user_id", "item_id"]]
    model = GroupDMTLRecommender(objective="bpr", random_state=0).fit(
        X, None, groups=data.groups, X_group=data.group_interactions
    )
    group = evaluate_sampled(model, data.group_test, data.group_negatives, level="group",
                             k=5, ties="against")
    user = evaluate_sampled(model, data.user_test, data.user_negatives, level="user", k=5,
                            ties="against")
    assert group["hr@5"] >= 0.4814 and group["ndcg@5"] >= 0.3747  # AGREE, published
    assert user["hr@5"] >= 0.6383  # AGREE, published (and popularity's 0.64)
    assert user["ndcg@5"] >= 0.50  # popularity 0.47; AGREE's published 0.5502 is not reached


def test_hard_negative_weights_by_hand():
    from sk_grouprec.dmtl.tasks import RankingTask

    positive = torch.tensor([1.0], requires_grad=True)
    negatives = torch.tensor([[0.0, 2.0, -1.0]], requires_grad=True)
    loss = RankingTask("rec", "bpr", temperature=0.5).row_loss((positive, negatives), None, None)
    w = torch.softmax(torch.tensor([0.0, 2.0, -1.0]) / 0.5, 0)
    terms = -torch.nn.functional.logsigmoid(1.0 - torch.tensor([0.0, 2.0, -1.0]))
    torch.testing.assert_close(loss, (w * terms).sum()[None])
    loss.sum().backward()
    # the weights are constants: d loss / d s_j = w_j * sigmoid(s_j - s_pos)
    expected = w * torch.sigmoid(torch.tensor([0.0, 2.0, -1.0]) - 1.0)
    torch.testing.assert_close(negatives.grad[0], expected)
    # bce: the positive's term, and n times the weighted mean of the negatives' terms
    loss = RankingTask("rec", "bce", temperature=0.5).row_loss((positive, negatives), None, None)
    softplus = torch.nn.functional.softplus
    by_hand = (softplus(torch.tensor(-1.0)) + 3 * (w * softplus(negatives[0])).sum()) / 4
    torch.testing.assert_close(loss, by_hand[None])


def test_temperature_limits_are_the_max_and_the_mean():
    from sk_grouprec.dmtl.tasks import ranking_loss

    positive, negatives = torch.tensor([0.5, -1.0]), torch.tensor([[0.0, 3.0], [1.0, -2.0]])
    torch.testing.assert_close(ranking_loss(positive, negatives, "bpr", 1e-4),
                               ranking_loss(positive, negatives.max(1, keepdim=True).values,
                                            "bpr"))
    torch.testing.assert_close(ranking_loss(positive, negatives, "bpr", 1e6),
                               ranking_loss(positive, negatives, "bpr"))


def test_negative_options_change_training_and_stay_deterministic():
    X, groups, X_group = make_planted_groups()

    def scores(**params):
        model = ranker(max_epochs=3, **params).fit(X, groups=groups, X_group=X_group)
        return model.predict_group(X_group)

    default = scores()
    np.testing.assert_array_equal(default, scores(negative_temperature=None))
    for params in ({"negative_temperature": 1.0}, {"negative_sampling": "popularity"},
                   {"negative_sampling": 0.5}):
        changed = scores(**params)
        assert not np.allclose(changed, default), params
        np.testing.assert_array_equal(changed, scores(**params))
    np.testing.assert_array_equal(scores(negative_sampling=0.0),
                                  scores(negative_sampling="uniform"))


@pytest.mark.parametrize("params", [{"negative_temperature": 1.0},
                                    {"negative_sampling": "popularity"}])
def test_planted_group_preference_with_other_negative_options(params):
    X, groups, X_group = make_planted_groups()
    model = ranker(**params).fit(X, groups=groups, X_group=X_group)
    recs = model.recommend_group([0, 1, 15, 16], n_items=5)
    first_half = recs["item_id"] < 15
    assert np.where(recs["group_id"] < 10, first_half, ~first_half).mean() >= 0.9


def test_a_rating_column_without_y_is_named_in_a_warning():
    X, groups, X_group = make_planted_groups(n_groups=2)
    X = X[["user_id", "item_id"]]
    with pytest.warns(UserWarning, match=r"'rating' of X is not read.*pass y=X\['rating'\]"):
        ranker(max_epochs=1).fit(X.assign(rating=1.0))
    with pytest.warns(UserWarning, match=r"'rating' of X_group is not read.*y_group="):
        ranker(max_epochs=1).fit(X, groups=groups, X_group=X_group.assign(rating=1.0))
    rated = X.assign(rating=np.arange(len(X)) % 5 + 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the ratings given as y: nothing to say
        model = ranker(max_epochs=1, positive_threshold=4).fit(rated, rated["rating"])
    assert model.rated_.nnz == len(rated[rated["rating"] >= 4].drop_duplicates(["user_id", "item_id"]))
