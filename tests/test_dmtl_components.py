"""Components defined outside the package plug into GroupDMTLRecommender."""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.pipeline import make_pipeline

from sk_grouprec import GroupDMTLRecommender, KMeansGrouper
from sk_grouprec.dmtl import SharingScheme, TaskWeighting
from sk_grouprec.dmtl.components import check_compatible, component_class
from sk_grouprec.dmtl.sharing import STEMBottom
from sk_grouprec.dmtl.task_weighting import reduce_task_loss
from sk_grouprec.testing import make_small_ratings

FAST = dict(hidden_size=8, embedding_size=4, max_epochs=3, batch_size=128, random_state=0)


class TwoLayerSharing(SharingScheme):
    """A custom scheme: one shared layer, then one private layer per task."""

    def __init__(self, hidden_size, dropout=0.0):
        super().__init__()
        self.shared = torch.nn.Linear(2 * hidden_size, hidden_size)
        self.private = torch.nn.ModuleList(
            torch.nn.Linear(hidden_size, hidden_size) for _ in range(2)
        )

    @classmethod
    def from_config(cls, config):
        return cls(config.hidden_size, config.dropout)

    def forward(self, h_user, h_item):
        z = torch.relu(self.shared(torch.cat([h_user, h_item], dim=-1)))
        return tuple(torch.relu(layer(z)) for layer in self.private)

    def shared_parameters(self):
        return list(self.shared.parameters())


class HalfProfile(TaskWeighting):
    """A custom weighting: the rating loss plus half of every other task's loss."""

    def __init__(self, tasks):
        super().__init__()
        self.tasks = tuple(tasks)

    def forward(self, losses):
        total = reduce_task_loss(losses["rec"])
        for name, value in losses.items():
            if name != "rec":
                total = total + 0.5 * reduce_task_loss(value)
        return total


@pytest.fixture(scope="module")
def grouped():
    X, y, group = make_small_ratings()
    return X.assign(group_id=group[X["user_id"].to_numpy()]), y


def test_custom_sharing_and_weighting_train(grouped):
    X, y = grouped
    est = GroupDMTLRecommender(**FAST, sharing=TwoLayerSharing, task_weighting=HalfProfile)
    est.fit(X, y)
    assert isinstance(est.module_.sharing, TwoLayerSharing)
    assert isinstance(est.module_.task_weighting, HalfProfile)
    assert est.module_.task_weighting.tasks == ("rec", "profile")
    losses = est.history_[:, "train_rec_loss"]
    assert losses[-1] < losses[0]
    pred = est.predict(X)
    assert np.sqrt(np.mean((pred - y) ** 2)) < np.std(y)
    assert est.predict_profile(X).shape == (len(X), 4)


def test_instances_are_copied_and_clone_keeps_them(grouped):
    X, y = grouped
    sharing = TwoLayerSharing(FAST["hidden_size"])
    before = sharing.shared.weight.detach().clone()
    est = GroupDMTLRecommender(**FAST, sharing=sharing, task_weighting=HalfProfile(["rec"]))
    est.fit(X, y)
    torch.testing.assert_close(sharing.shared.weight, before)  # the parameter is never trained
    assert est.module_.sharing is not sharing
    assert isinstance(clone(est).sharing, TwoLayerSharing)


def test_custom_refinement_combination_rule_is_one_place():
    assert component_class("sharing", "stem") is STEMBottom
    assert component_class("task_refinement", None) is None
    with pytest.raises(ValueError, match="STEM"):
        check_compatible(STEMBottom, component_class("task_refinement", "senet"))
    check_compatible(TwoLayerSharing, component_class("task_refinement", "senet"))
    with pytest.raises(ValueError, match="SharingScheme subclass"):
        component_class("sharing", torch.nn.Linear)


def test_custom_sharing_under_senet_refinement(grouped):
    X, y = grouped
    est = GroupDMTLRecommender(**FAST, sharing=TwoLayerSharing, task_refinement="senet")
    assert np.isfinite(est.fit(X, y).predict(X)).all()


def test_criterion_is_the_task_list(grouped):
    X, y = grouped
    est = GroupDMTLRecommender(**{**FAST, "max_epochs": 1}).fit(X, y)
    assert est.net_.criterion_.names == ["rec", "profile"]
    assert not list(est.net_.criterion_.parameters())


def test_parameters_after_the_second_are_keyword_only():
    with pytest.raises(TypeError):
        GroupDMTLRecommender(0.1, 32, 32)


def test_nan_user_feature_in_the_mission_pipeline(grouped):
    """One missing-value policy: the grouper and DMTL both impute the training mean."""
    X, y = grouped
    X = X.drop(columns="group_id").assign(user_age=X["user_age"].astype(float))
    first = X["user_id"] == X["user_id"].iloc[0]
    X.loc[first, "user_age"] = np.nan
    X["user_kind"] = X["user_kind"].astype(object)
    X.loc[X["user_id"] == X["user_id"].iloc[5], "user_kind"] = None
    pipe = make_pipeline(
        KMeansGrouper(n_groups=4, random_state=0), GroupDMTLRecommender(**FAST)
    ).fit(X, y)
    pred = pipe.predict(X)
    assert np.isfinite(pred).all()
    # the NaN user is encoded exactly as a user of the same features at the training mean age
    mean_age = X.loc[~first].drop_duplicates("user_id")["user_age"].mean()
    filled = X.assign(user_age=X["user_age"].fillna(mean_age))
    filled_kind = filled.assign(user_kind=filled["user_kind"].fillna("__missing__"))
    again = KMeansGrouper(n_groups=4, random_state=0).fit(filled_kind)
    np.testing.assert_array_equal(pipe[0].labels_, again.labels_)
    encoder = pipe[-1]._encoders["user"]
    row = X.loc[first].iloc[:1]
    np.testing.assert_allclose(
        encoder.transform(row), encoder.transform(row.assign(user_age=mean_age)), atol=1e-6
    )
    with pytest.raises(ValueError, match="infinite"):
        pipe.fit(X.assign(user_age=X["user_age"].fillna(np.inf)), y)


def test_unknown_component_names_are_listed(grouped):
    X, y = grouped
    with pytest.raises(ValueError, match="'mmoe'"):
        GroupDMTLRecommender(**FAST, sharing="moe").fit(X, y)
    with pytest.raises(ValueError, match="'pmtrec'"):
        GroupDMTLRecommender(**FAST, task_weighting=pd.DataFrame).fit(X, y)
