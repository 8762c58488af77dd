"""GroupDMTLRecommender with the alternative multi-task options (sharing, refinement, weighting).

The mechanisms themselves are tested module by module in ``test_multitask_modules.py``;
here every option must fit, predict and keep the estimator contract.
"""

import pickle

import numpy as np
import pytest
from sklearn.base import clone

from sk_grouprec.dmtl.estimator import GroupDMTLRecommender
from sk_grouprec.dmtl.refinement import RefinedBottom
from sk_grouprec.dmtl.sharing import MMoEBottom, PLEBottom, STEMBottom
from sk_grouprec.dmtl.task_weighting import (
    GradNormWeighting,
    PMTRecWeighting,
    UncertaintyWeighting,
)
from sk_grouprec.testing import make_small_ratings

FAST = dict(max_epochs=2, batch_size=128, hidden_size=8, embedding_size=8, random_state=0)


@pytest.fixture(scope="module")
def grouped():
    X, y, group = make_small_ratings()
    return X.assign(group_id=group[X["user_id"].to_numpy()]), y


@pytest.mark.parametrize(
    "sharing, refinement, bottom_type",
    [
        ("mmoe", None, MMoEBottom),
        ("ple", None, PLEBottom),
        ("stem", None, STEMBottom),
        ("shared_bottom", "senet", RefinedBottom),
        ("ple", "senet", RefinedBottom),
    ],
)
def test_sharing_options_fit_and_predict(grouped, sharing, refinement, bottom_type):
    X, y = grouped
    est = GroupDMTLRecommender(**FAST, sharing=sharing, task_refinement=refinement).fit(X, y)
    assert isinstance(est.module_.sharing, bottom_type)
    pred = est.predict(X)
    assert pred.shape == y.shape and np.isfinite(pred).all()
    np.testing.assert_allclose(est.predict_profile(X.iloc[:5]).sum(1), 1, atol=1e-6)
    assert est.group_profile(X.iloc[:5]).shape == (5, 8)


@pytest.mark.parametrize(
    "weighting, module_type",
    [
        ("uncertainty", UncertaintyWeighting),
        ("gradnorm", GradNormWeighting),
        ("pmtrec", PMTRecWeighting),
    ],
)
def test_task_weightings_train_both_tasks(grouped, weighting, module_type):
    X, y = grouped
    est = GroupDMTLRecommender(**{**FAST, "max_epochs": 4}, task_weighting=weighting).fit(X, y)
    assert isinstance(est.module_.task_weighting, module_type)
    history = est.history_
    assert history[-1, "train_rec_loss"] < history[0, "train_rec_loss"]
    assert history[-1, "train_profile_loss"] < history[0, "train_profile_loss"]
    assert np.isfinite(est.predict(X)).all()
    clone(est)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(restored.predict(X.iloc[:5]), est.predict(X.iloc[:5]))


def test_learned_task_weights_are_not_decayed(grouped):
    X, y = grouped
    est = GroupDMTLRecommender(**FAST, task_weighting="uncertainty", weight_decay=100.0).fit(X, y)
    groups = est.net_.optimizer_.param_groups
    log_variance = est.module_.task_weighting.log_variance
    (group,) = [g for g in groups if any(p is log_variance for p in g["params"])]
    assert group["weight_decay"] == 0.0


def test_default_options_are_the_paper_model(grouped):
    X, y = grouped
    default = GroupDMTLRecommender(**FAST).fit(X, y)
    explicit = GroupDMTLRecommender(
        **FAST, sharing="shared_bottom", task_refinement=None, task_weighting="fixed"
    ).fit(X, y)
    np.testing.assert_array_equal(default.predict(X), explicit.predict(X))
    assert type(default.module_.sharing).__name__ == "SharedBottom"
    assert type(default.module_.task_weighting).__name__ == "FixedTaskWeighting"


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(sharing="moe"), "sharing"),
        (dict(task_refinement="se"), "task_refinement"),
        (dict(task_weighting="dwa"), "task_weighting"),
        (dict(sharing="stem", task_refinement="senet"), "stem"),
        (dict(n_experts=0), "n_experts"),
        (dict(gradnorm_alpha=-1.0), "gradnorm_alpha"),
    ],
)
def test_bad_multitask_parameters(grouped, params, message):
    X, y = grouped
    with pytest.raises(ValueError, match=message):
        GroupDMTLRecommender(**FAST, **params).fit(X, y)
