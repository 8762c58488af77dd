"""Persistence and determinism: pickle and joblib round trips, equal fits under one
random_state, and GroupDMTLRecommender's skorch parameters and checkpoints."""

import io
import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from bad_input_cases import tiny_dmtl
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from skorch.callbacks import Callback, Checkpoint, LoadInitState

from sk_grouprec.aggregation import GroupAggregator
from sk_grouprec.baselines.bias import BaselineOnly, NormalPredictor
from sk_grouprec.baselines.co_clustering import CoClustering
from sk_grouprec.baselines.knn import KNNBaseline, KNNBasic, KNNWithMeans, KNNWithZScore
from sk_grouprec.baselines.matrix_factorization import NMF, SVD, SVDpp
from sk_grouprec.baselines.slope_one import SlopeOne
from sk_grouprec.grouping import KMeansGrouper
from sk_grouprec.testing import make_small_ratings


@pytest.fixture(scope="module")
def data():
    X, y, group = make_small_ratings()
    return X.assign(group_id=group[X["user_id"].to_numpy()]), y


def _query(X):
    """Rows to predict: the training rows plus unseen users and items (fall-back paths)."""
    new = X.iloc[:3].copy()
    new["user_id"] = [10_001, X["user_id"].iloc[1], 10_002]
    new["item_id"] = [X["item_id"].iloc[0], 20_001, 20_002]
    new["user_kind"] = ["never-seen", "a", "b"]
    new["group_id"] = [0, 1, 99]
    return pd.concat([X, new], ignore_index=True)


ESTIMATORS = {
    "NormalPredictor": lambda: NormalPredictor(random_state=0),
    "BaselineOnly": lambda: BaselineOnly(method="sgd", n_epochs=3),
    "SVD": lambda: SVD(n_epochs=3, random_state=0),
    "SVDpp": lambda: SVDpp(n_epochs=3, random_state=0),
    "NMF": lambda: NMF(n_epochs=3, random_state=0),
    "KNNBasic": KNNBasic,
    "KNNWithMeans": KNNWithMeans,
    "KNNWithZScore": KNNWithZScore,
    "KNNBaseline": KNNBaseline,
    "SlopeOne": SlopeOne,
    "CoClustering": lambda: CoClustering(n_epochs=3, random_state=0),
    "KMeansGrouper": lambda: KMeansGrouper(n_groups=4, n_init=2, random_state=0),
    "GroupAggregator": lambda: GroupAggregator(SVD(n_epochs=3, random_state=0), strategy="borda"),
    "GroupDMTLRecommender": lambda: tiny_dmtl(lambda_profile=0.5, dropout=0.1),
    "Pipeline(KMeansGrouper, GroupDMTLRecommender)": lambda: make_pipeline(
        KMeansGrouper(n_groups=4, n_init=2, random_state=0), tiny_dmtl(lambda_profile=0.5)
    ),
}


def _outputs(est, X):
    """What a fitted estimator returns for ``X``: predictions, groups, or both."""
    Q = _query(X)
    if isinstance(est, KMeansGrouper):
        return [est.predict(Q)]
    if isinstance(est, GroupAggregator):
        return [est.predict(Q[["group_id", "item_id"]])]
    out = [est.predict(Q)]
    if hasattr(est, "recommend"):
        recs = est.recommend(X["user_id"].iloc[:3], n_items=5)
        out += [recs["item_id"].to_numpy(), recs["score"].to_numpy()]
    return out


def _assert_same(a, b):
    assert len(a) == len(b)
    for left, right in zip(a, b):
        np.testing.assert_array_equal(left, right)


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    return {name: make().fit(X, y) for name, make in ESTIMATORS.items()}


@pytest.mark.parametrize("name", ESTIMATORS)
def test_pickle_round_trip(name, fitted, data):
    est = fitted[name]
    again = pickle.loads(pickle.dumps(est, protocol=pickle.HIGHEST_PROTOCOL))
    _assert_same(_outputs(again, data[0]), _outputs(est, data[0]))


@pytest.mark.parametrize("name", ESTIMATORS)
def test_joblib_round_trip(name, fitted, data, tmp_path):
    est = fitted[name]
    path = tmp_path / "model.joblib"
    joblib.dump(est, path, compress=3)
    _assert_same(_outputs(joblib.load(path), data[0]), _outputs(est, data[0]))


@pytest.mark.parametrize("name", ESTIMATORS)
def test_same_random_state_same_fit(name, fitted, data):
    X, y = data
    _assert_same(_outputs(ESTIMATORS[name]().fit(X, y), X), _outputs(fitted[name], X))


@pytest.mark.parametrize("name", ["SVD", "NMF", "CoClustering", "GroupDMTLRecommender"])
def test_other_random_state_other_fit(name, fitted, data):
    """The determinism above is the seed's doing, not a constant initialisation."""
    X, y = data
    est = ESTIMATORS[name]().set_params(random_state=1).fit(X, y)
    assert not np.array_equal(est.predict(X), fitted[name].predict(X))


# GroupDMTLRecommender: the skorch parameters -------------------------------------------------
def _fresh_structure(est, X, y):
    """The same estimator fitted anew with another seed: same structure, other weights."""
    fresh = clone(est).set_params(random_state=123, max_epochs=1).fit(X, y)
    assert not np.array_equal(fresh.predict(X), est.predict(X))
    return fresh


def test_dmtl_save_params_and_load_params(fitted, data, tmp_path):
    X, y = data
    est = fitted["GroupDMTLRecommender"]
    est.net_.save_params(f_params=tmp_path / "params.pt")
    fresh = _fresh_structure(est, X, y)
    fresh.net_.load_params(f_params=tmp_path / "params.pt")  # skorch: weights_only=True
    np.testing.assert_array_equal(fresh.predict(X), est.predict(X))
    np.testing.assert_array_equal(fresh.predict_profile(X), est.predict_profile(X))


def test_dmtl_params_load_with_weights_only(fitted, data):
    """The saved parameters are plain tensors: ``torch.load(weights_only=True)`` reads them."""
    X, y = data
    est = fitted["GroupDMTLRecommender"]
    buffer = io.BytesIO()
    est.net_.save_params(f_params=buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    fresh = _fresh_structure(est, X, y)
    fresh.module_.load_state_dict(state)
    np.testing.assert_array_equal(fresh.predict(X), est.predict(X))


def test_pipeline_dmtl_params_round_trip(fitted, data, tmp_path):
    X, y = data
    pipe = fitted["Pipeline(KMeansGrouper, GroupDMTLRecommender)"]
    dmtl = pipe[-1]
    dmtl.net_.save_params(f_params=tmp_path / "params.pt")
    fresh = clone(pipe).set_params(groupdmtlrecommender__random_state=5).fit(X, y)
    assert not np.array_equal(fresh.predict(X), pipe.predict(X))
    fresh[-1].net_.load_params(f_params=tmp_path / "params.pt")
    np.testing.assert_array_equal(fresh.predict(X), pipe.predict(X))


# GroupDMTLRecommender: resuming from a checkpoint -------------------------------------------
class _ParamsAtTrainBegin(Callback):
    """Records the module's parameters once every on_train_begin callback before it ran."""

    def initialize(self):
        self.params_ = None
        return self

    def on_train_begin(self, net, **kwargs):
        self.params_ = {k: v.detach().clone() for k, v in net.module_.state_dict().items()}


def test_dmtl_resumes_from_checkpoint(data, tmp_path):
    X, y = data
    checkpoint = Checkpoint(monitor="train_loss_best", dirname=str(tmp_path / "cp"))
    recorder = _ParamsAtTrainBegin()
    callbacks = [
        ("checkpoint", checkpoint),
        ("load_state", LoadInitState(checkpoint)),
        ("recorder", recorder),
    ]
    first = tiny_dmtl(
        lambda_profile=0.5, max_epochs=3, lr_schedule="constant", callbacks=callbacks
    ).fit(X, y)
    saved = {k: v.detach().clone() for k, v in first.module_.state_dict().items()}
    assert (tmp_path / "cp" / "params.pt").is_file()
    assert len(first.history_) == 3

    # a second fit of the same estimator loads the checkpoint before training on
    second = clone(first).fit(X, y)
    resumed_from = _recorder_of(second).params_
    assert resumed_from.keys() == saved.keys()
    for key in saved:
        torch.testing.assert_close(resumed_from[key], saved[key], rtol=0, atol=0)
    history = second.history_
    assert len(history) == 6  # 3 restored epochs, then 3 more
    # it continues where the first fit stopped, not from scratch
    assert history[3, "train_loss"] < first.history_[0, "train_loss"]
    assert history[3, "train_loss"] <= 1.1 * first.history_[-1, "train_loss"]


def _recorder_of(est):
    return dict(est.net_.callbacks_)["recorder"]


def test_dmtl_fits_in_threads_are_reproducible():
    """Fits sharing one process (threading backend, Dask with threads) give the sequential
    result: the seeded weight initialisation takes turns on torch's global generator."""
    from sklearn.model_selection import KFold, cross_val_score

    X, y, groups = make_small_ratings()
    X = X.assign(group_id=groups[X["user_id"].to_numpy()])
    cv = KFold(4, shuffle=True, random_state=0)
    model = tiny_dmtl(lambda_profile=0.5, dropout=0.2)
    sequential = cross_val_score(model, X, y, cv=cv)
    with joblib.parallel_config(backend="threading"):
        threaded = cross_val_score(model, X, y, cv=cv, n_jobs=2)
    np.testing.assert_array_equal(threaded, sequential)
