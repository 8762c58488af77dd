"""Tests of GroupDMTLRecommender (the DMTL model) and its torch modules."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from skorch.callbacks import Callback

from sk_grouprec.dmtl import GroupDMTLRecommender
from sk_grouprec.dmtl.network import DMTLNetwork
from sk_grouprec.testing import RecommenderConformance, make_small_ratings

FAST = dict(max_epochs=10, batch_size=64, lr=0.01, random_state=0)


@pytest.fixture(scope="module")
def grouped():
    X, y, group = make_small_ratings()
    return X.assign(group_id=group[X["user_id"].to_numpy()]), y


def natural_groups(X, y, n_groups=12, seed=0):
    """Natural groups of 2-3 users and their ratings: the mean of the members' tastes."""
    rng = np.random.default_rng(seed)
    users = np.unique(X["user_id"])
    rows = []
    for g in range(n_groups):
        for u in rng.choice(users, size=2 + g % 2, replace=False):
            rows.append((f"g{g}", u))
    groups = pd.DataFrame(rows, columns=["group_id", "user_id"])
    mean_rating = pd.Series(y).groupby([X["user_id"].to_numpy(), X["item_id"].to_numpy()]).mean()
    items = np.unique(X["item_id"])
    group_rows = []
    for g, members in groups.groupby("group_id")["user_id"]:
        for i in rng.choice(items, size=10, replace=False):
            known = [mean_rating.get((u, i)) for u in members]
            known = [r for r in known if r is not None]
            group_rows.append((g, i, np.mean(known) if known else 3.0))
    Xg = pd.DataFrame(group_rows, columns=["group_id", "item_id", "rating"])
    return groups, Xg[["group_id", "item_id"]], Xg["rating"].to_numpy()


class TestConformance(RecommenderConformance):
    needs_groups = True

    def make_estimator(self, **params):
        return GroupDMTLRecommender(**{**FAST, **params})


# --- parameters and validation ------------------------------------------------------------
def test_init_stores_params_verbatim():
    cbs = []
    est = GroupDMTLRecommender(lambda_profile=2, hidden_size=7, optimizer="sgd", callbacks=cbs)
    params = est.get_params()
    assert params["lambda_profile"] == 2 and params["hidden_size"] == 7
    assert params["optimizer"] == "sgd" and params["callbacks"] is cbs


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(lambda_profile=-1), "lambda_profile"),
        (dict(hidden_size=0), "hidden_size"),
        (dict(dropout=1.0), "dropout"),
        (dict(optimizer="rmsprop"), "optimizer"),
        (dict(early_stopping=0), "early_stopping"),
        (dict(validation_fraction=1.5), "validation_fraction"),
        (dict(lr_schedule="step"), "lr_schedule"),
        (dict(use_attention="yes"), "use_attention"),
    ],
)
def test_bad_params(grouped, params, message):
    X, y = grouped
    with pytest.raises(ValueError, match=message):
        GroupDMTLRecommender(**params).fit(X, y)


def test_missing_group_id_names_the_grouper(grouped):
    X, y = grouped
    with pytest.raises(ValueError, match="KMeansGrouper"):
        GroupDMTLRecommender(**FAST).fit(X.drop(columns="group_id"), y)


def test_lambda_zero_needs_no_group_id(grouped):
    X, y = grouped
    est = GroupDMTLRecommender(**{**FAST, "lambda_profile": 0}).fit(X.drop(columns="group_id"), y)
    assert est.groups_.size == 0
    assert np.isfinite(est.predict(X)).all()
    with pytest.raises(ValueError, match="group_id"):
        est.predict_profile(X)


def test_grouper_with_too_many_groups_raises(grouped):
    from sk_grouprec.grouping import KMeansGrouper

    X, y = grouped
    pipe = make_pipeline(KMeansGrouper(n_groups=1000), GroupDMTLRecommender(**FAST))
    with pytest.raises(ValueError, match="n_groups"):
        pipe.fit(X.drop(columns="group_id"), y)


def test_cuda_unavailable_is_a_clear_error(grouped):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    X, y = grouped
    with pytest.raises(ValueError, match="CUDA is not available"):
        GroupDMTLRecommender(**FAST, device="cuda").fit(X, y)
    est = GroupDMTLRecommender(**{**FAST, "max_epochs": 1}, device="auto").fit(X, y)
    assert est.net_.device == "cpu"


# --- outputs --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fitted(grouped):
    X, y = grouped
    return GroupDMTLRecommender(**FAST).fit(X, y)


def test_profile_attention_and_representation(fitted, grouped):
    X, _ = grouped
    proba = fitted.predict_profile(X)
    assert proba.shape == (len(X), 4)
    np.testing.assert_allclose(proba.sum(1), 1, atol=1e-6)
    np.testing.assert_array_equal(fitted.groups_, [0, 1, 2, 3])
    att = fitted.attention_weights(X)
    assert att.shape == (len(X), fitted.hidden_size)
    np.testing.assert_allclose(att.sum(1), 1, atol=1e-5)
    assert (att >= 0).all() and att.std() > 0  # not uniform: the attention is learned
    z = fitted.group_profile(X)
    assert z.shape == (len(X), fitted.hidden_size) and (z >= 0).all()  # after a ReLU


def test_no_attention_is_uniform(grouped):
    X, y = grouped
    est = GroupDMTLRecommender(**{**FAST, "max_epochs": 1}, use_attention=False).fit(X, y)
    np.testing.assert_allclose(est.attention_weights(X), 1 / est.hidden_size, atol=1e-7)


def test_history_has_task_losses(fitted):
    hist = fitted.history_
    assert len(hist) == FAST["max_epochs"]
    for key in ("train_loss", "train_rec_loss", "train_profile_loss"):
        assert np.isfinite(hist[:, key]).all()
    # the combined loss is the weighted sum of the task losses
    combined = np.array(hist[:, "train_rec_loss"]) + fitted.lambda_profile * np.array(
        hist[:, "train_profile_loss"]
    )
    np.testing.assert_allclose(hist[:, "train_loss"], combined, rtol=1e-5)
    assert hist[-1, "train_rec_loss"] < hist[0, "train_rec_loss"]
    assert fitted.module_ is fitted.net_.module_


def test_early_stopping_and_validation_losses(grouped, capsys):
    X, y = grouped
    est = GroupDMTLRecommender(
        **{**FAST, "max_epochs": 60, "lr": 0.05}, weight_decay=0.0, early_stopping=2, verbose=1
    ).fit(X, y)
    hist = est.history_
    assert len(hist) < 60  # stopped early
    for key in ("valid_rec_loss", "valid_profile_loss", "valid_loss"):
        assert np.isfinite(hist[:, key]).all()
    out = capsys.readouterr().out
    assert "train_rec_loss" in out and "valid_profile_loss" in out
    assert out.count("\n") >= len(hist)


def test_unknown_users_use_their_features(fitted, grouped):
    X, _ = grouped
    rows = X.iloc[[0, 0]].copy()
    rows["user_id"] = [-1, -2]
    rows["user_kind"] = ["a", "d"]
    rows["user_age"] = [20, 35]
    pred = fitted.predict(rows)
    assert np.isfinite(pred).all() and pred[0] != pred[1]
    # without the feature columns, both fall back to the mean user
    bare = fitted.predict(rows[["user_id", "item_id"]])
    assert bare[0] == bare[1]
    # an unseen category is ignored by the one-hot encoding, not an error
    rows["user_kind"] = ["zzz", "zzz"]
    assert np.isfinite(fitted.predict(rows)).all()


def test_known_users_keep_fitted_features(fitted, grouped):
    X, _ = grouped
    rows = X.iloc[:5].copy()
    changed = rows.assign(user_age=99, user_kind="zzz")
    np.testing.assert_array_equal(fitted.predict(rows), fitted.predict(changed))


def test_random_state_changes_the_model(grouped):
    X, y = grouped
    a = GroupDMTLRecommender(**{**FAST, "random_state": 1}).fit(X, y).predict(X)
    b = GroupDMTLRecommender(**{**FAST, "random_state": 2}).fit(X, y).predict(X)
    assert np.abs(a - b).max() > 1e-4


def test_pickle_keeps_profiles(fitted, grouped):
    X, _ = grouped
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict_profile(X), fitted.predict_profile(X))
    assert again.module_ is again.net_.module_


# --- the multi-task loss --------------------------------------------------------------------
class GradientProbe(Callback):
    """Records the profiling head's gradient norm at every training step."""

    def initialize(self):
        self.norms = []
        return self

    def on_grad_computed(self, net, named_parameters, X=None, y=None, training=False, **kwargs):
        grad = net.module_.profile_head.weight.grad
        self.norms.append(0.0 if grad is None else float(grad.norm()))


def test_lambda_zero_gives_profiling_head_no_gradient(grouped):
    X, y = grouped
    probe = GradientProbe()
    est = GroupDMTLRecommender(
        **{**FAST, "max_epochs": 2}, lambda_profile=0.0, callbacks=[probe]
    ).fit(X, y)
    assert probe.norms and max(probe.norms) == 0.0
    # still logged, for comparison
    assert np.isfinite(est.history_[:, "train_profile_loss"]).all()
    probe = GradientProbe()
    GroupDMTLRecommender(**{**FAST, "max_epochs": 2}, lambda_profile=1.0, callbacks=[probe]).fit(
        X, y
    )
    assert min(probe.norms) > 0.0


def test_larger_lambda_profiles_better(grouped):
    # without user features the groups can only be learned through the profiling loss
    X, y = grouped
    X = X[["user_id", "item_id", "group_id"]]
    accuracy = {}
    for lam in (0.01, 3.0):
        est = GroupDMTLRecommender(**FAST, lambda_profile=lam).fit(X, y)
        predicted = est.groups_[est.predict_profile(X).argmax(1)]
        accuracy[lam] = np.mean(predicted == X["group_id"].to_numpy())
    assert accuracy[3.0] > accuracy[0.01] + 0.2
    assert accuracy[3.0] > 0.8


# --- natural groups ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def natural(grouped):
    X, y = grouped
    groups, Xg, yg = natural_groups(X, y)
    est = GroupDMTLRecommender(**FAST).fit(X, y, groups=groups, X_group=Xg, y_group=yg)
    return est, groups, Xg, yg


def test_natural_group_training(natural):
    est, groups, Xg, yg = natural
    assert np.isfinite(est.history_[:, "train_group_loss"]).all()
    assert est.history_[-1, "train_group_loss"] < est.history_[0, "train_group_loss"]
    pred = est.predict_group(Xg)
    assert pred.shape == (len(Xg),) and np.isfinite(pred).all()
    assert np.sqrt(np.mean((pred - yg) ** 2)) < np.std(yg)
    assert set(est.natural_groups_) == set(groups["group_id"])
    weights = est.module_.natural_group_side(
        est.module_.group_members[:3], None, torch.zeros(3, est.hidden_size)
    )[1]
    np.testing.assert_allclose(weights.sum(1).detach().numpy(), 1, atol=1e-6)


def test_predict_group_new_and_unknown_groups(natural):
    est, groups, Xg, _ = natural
    new_members = pd.DataFrame({"group_id": ["new", "new"], "user_id": [0, 1]})
    rows = pd.DataFrame(
        {"group_id": ["new", "nobody", Xg["group_id"].iloc[0]], "item_id": [0, 0, 0]}
    )
    pred = est.predict_group(rows, groups=new_members)
    assert np.isfinite(pred).all()
    # the fitted membership still serves groups not named in `groups`
    assert pred[2] == est.predict_group(rows.iloc[[2]])[0]


def test_recommend_group_excludes_rated(natural):
    est, _, Xg, _ = natural
    g = Xg["group_id"].iloc[0]
    recs = est.recommend_group([g, "g1"], n_items=4)
    assert list(recs.columns) == ["group_id", "item_id", "score", "rank"]
    first = recs[recs["group_id"] == g]
    assert list(first["rank"]) == [1, 2, 3, 4]
    assert not set(first["item_id"]) & set(Xg.loc[Xg["group_id"] == g, "item_id"])
    assert np.all(np.diff(first["score"].to_numpy()) <= 1e-12)


def test_natural_group_inputs_are_checked(grouped):
    X, y = grouped
    groups, Xg, yg = natural_groups(X, y)
    est = GroupDMTLRecommender(**FAST)
    with pytest.raises(ValueError, match="together"):
        est.fit(X, y, groups=groups, X_group=Xg)
    with pytest.raises(ValueError, match="membership"):
        est.fit(X, y, X_group=Xg, y_group=yg)
    with pytest.raises(ValueError, match="without members"):
        est.fit(X, y, groups=groups.iloc[2:], X_group=Xg, y_group=yg)
    with pytest.raises(ValueError, match="NaN"):
        est.fit(
            X, y, groups=groups, X_group=Xg, y_group=np.where(np.arange(len(yg)) == 0, np.nan, yg)
        )


def test_fit_params_are_routed_in_a_pipeline(grouped):
    from sk_grouprec.grouping import KMeansGrouper

    X, y = grouped
    groups, Xg, yg = natural_groups(X, y)
    pipe = Pipeline(
        [
            ("grouper", KMeansGrouper(n_groups=3, random_state=0)),
            ("dmtl", GroupDMTLRecommender(**FAST)),
        ]
    )
    pipe.fit(X.drop(columns="group_id"), y, dmtl__groups=groups, dmtl__X_group=Xg, dmtl__y_group=yg)
    assert np.isfinite(pipe[-1].predict_group(Xg)).all()


# --- the torch module ------------------------------------------------------------------------
def test_network_outputs_and_unknown_rows():
    torch.manual_seed(0)
    net = DMTLNetwork(
        torch.randn(4, 3),
        torch.randn(5, 2),
        n_context=1,
        n_groups=3,
        hidden_size=8,
        embedding_size=4,
        user_history=(torch.tensor([0, 2, 3, 3, 3]), torch.tensor([0, 1, 1]), 5),
    )
    user, item = torch.tensor([0, 1, 2, 3]), torch.tensor([0, 1, 4, 4])
    rating, logits, z, att = net(user, item, torch.zeros(4, 1))
    assert rating.shape == (4,) and logits.shape == (4, 3) and z.shape == (4, 8)
    torch.testing.assert_close(att.sum(1), torch.ones(4))
    # the unknown row has a zero id embedding that never learns
    rating.sum().backward()
    assert float(net.user_tower.embedding.weight.grad[3].abs().sum()) == 0.0


# --- real data: the mission's usage ------------------------------------------------------------
@pytest.mark.realdata
def test_mission_usage_on_movielens(data_home):
    from sk_grouprec.datasets import load_movielens_100k
    from sk_grouprec.grouping import KMeansGrouper

    X, y = load_movielens_100k(data_home=data_home, return_X_y=True)
    keep = X["user_id"].to_numpy() <= 150  # a subsample keeps the test fast
    X, y = X[keep].reset_index(drop=True), y[keep].reset_index(drop=True)
    small = dict(max_epochs=2, random_state=0)

    pipe = Pipeline(
        [("grouper", KMeansGrouper(random_state=0)), ("dmtl", GroupDMTLRecommender(**small))]
    )
    pipe.fit(X, y)
    pred = pipe.predict(X)
    assert pred.shape == (len(X),) and np.sqrt(np.mean((pred - y) ** 2)) < y.std()
    assert pipe[-1].predict_profile(X).shape == (len(X), 20)
    recs = pipe[-1].recommend(X["user_id"].iloc[:2], n_items=10)
    assert len(recs) == 20

    pipe2 = make_pipeline(KMeansGrouper(random_state=0), GroupDMTLRecommender(**small))
    pipe2.fit(X, y)
    np.testing.assert_allclose(pipe2.predict(X), pred)

    search = GridSearchCV(
        pipe2,
        {
            "groupdmtlrecommender__lambda_profile": [0.0, 0.5],
            "groupdmtlrecommender__hidden_size": [16, 32],
        },
        cv=2,
        scoring="neg_root_mean_squared_error",
    )
    search.fit(X, y)
    assert set(search.best_params_) == {
        "groupdmtlrecommender__lambda_profile",
        "groupdmtlrecommender__hidden_size",
    }
    search = GridSearchCV(pipe, {"dmtl__lambda_profile": [0.1], "dmtl__hidden_size": [16]}, cv=2)
    search.fit(X, y)
    assert np.isfinite(search.best_score_)
    clone(search.best_estimator_)


@pytest.mark.parametrize(
    "params",
    [
        dict(use_id_embeddings=False),
        dict(use_biases=False, use_dot_product=False, use_implicit_feedback=False),
        dict(optimizer="adam", weight_decay=1e-4),
        dict(optimizer=torch.optim.SGD, lr=0.05, weight_decay=0.0, lr_schedule="constant"),
        dict(dropout=0.2, early_stopping=True),
    ],
)
def test_options_train(grouped, params):
    X, y = grouped
    est = GroupDMTLRecommender(**{**FAST, **params}).fit(X, y)
    pred = est.predict(X)
    assert np.sqrt(np.mean((pred - y) ** 2)) < np.std(y)
    unseen = X.iloc[:2].assign(user_id=[-5, -6], item_id=[-7, -8])
    assert np.isfinite(est.predict(unseen)).all()


def test_refit_without_natural_groups_forgets_them(grouped):
    X, y = grouped
    groups, Xg, yg = natural_groups(X, y)
    est = GroupDMTLRecommender(**{**FAST, "max_epochs": 1})
    est.fit(X, y, groups=groups, X_group=Xg, y_group=yg).fit(X, y)
    with pytest.raises(ValueError, match="without natural groups"):
        est.predict_group(Xg)
