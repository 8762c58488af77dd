"""Distributed hyper-parameter search with Dask, and the Accelerate training path.

The Dask tests start their own two-worker ``LocalCluster`` on the loopback interface
(127.0.0.1, no dashboard) and skip when ``dask[distributed]`` is not installed (the
``distributed`` extra).
"""

import logging

import numpy as np
import pandas as pd
import pytest
from bad_input_cases import tiny_dmtl
from sklearn.model_selection import GridSearchCV, KFold

from sk_grouprec.baselines.bias import BaselineOnly
from sk_grouprec.testing import make_small_ratings

distributed = pytest.importorskip("distributed")
joblib = pytest.importorskip("joblib")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        # worker processes: estimators and data are serialised to them, and torch's
        # process-global random generator is not shared between concurrent fits
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    with cluster, distributed.Client(cluster) as client:
        # loopback only: the scheduler and both workers listen on 127.0.0.1
        workers = list(client.scheduler_info()["workers"])
        assert len(workers) == 2
        assert all(a.startswith("tcp://127.0.0.1:") for a in [cluster.scheduler_address, *workers])
        yield client


@pytest.fixture(scope="module")
def data():
    X, y, group = make_small_ratings()
    return X.assign(group_id=group[X["user_id"].to_numpy()]), y


def _search(estimator, grid, X, y, n_jobs):
    search = GridSearchCV(
        estimator,
        grid,
        cv=KFold(2, shuffle=True, random_state=0),
        scoring="neg_root_mean_squared_error",
        n_jobs=n_jobs,
        error_score="raise",
    )
    return search.fit(X, y)


def _assert_same_search(a, b):
    assert a.best_params_ == b.best_params_
    for key in ("mean_test_score", "std_test_score", "split0_test_score", "rank_test_score"):
        np.testing.assert_array_equal(a.cv_results_[key], b.cv_results_[key])
    assert pd.DataFrame(a.cv_results_["params"]).equals(pd.DataFrame(b.cv_results_["params"]))
    np.testing.assert_array_equal(a.predict(a.X_probe_), b.predict(a.X_probe_))


@pytest.mark.parametrize(
    "make, grid",
    [
        (BaselineOnly, {"reg_u": [0.5, 5.0, 25.0], "reg_i": [1.0, 10.0]}),
        (lambda: tiny_dmtl(random_state=0), {"lambda_profile": [0.0, 0.5]}),
    ],
    ids=["BaselineOnly", "GroupDMTLRecommender"],
)
def test_grid_search_on_dask_equals_sequential(client, data, make, grid):
    X, y = data
    sequential = _search(make(), grid, X, y, n_jobs=None)
    with joblib.parallel_config(backend="dask"):
        on_dask = _search(make(), grid, X, y, n_jobs=-1)
    sequential.X_probe_ = on_dask.X_probe_ = X.iloc[:50]
    _assert_same_search(sequential, on_dask)
    # the work really ran on the cluster's workers
    assert sum(len(log) for log in client.run(lambda dask_worker: dask_worker.state.log).values())


def test_parallel_backend_alias(client, data):
    """``joblib.parallel_backend("dask")``, the older spelling, works as well."""
    X, y = data
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with joblib.parallel_backend("dask"):
            on_dask = _search(BaselineOnly(), {"reg_u": [1.0, 10.0]}, X, y, n_jobs=2)
    sequential = _search(BaselineOnly(), {"reg_u": [1.0, 10.0]}, X, y, n_jobs=None)
    np.testing.assert_array_equal(
        on_dask.cv_results_["mean_test_score"], sequential.cv_results_["mean_test_score"]
    )


# Accelerate ---------------------------------------------------------------------------------
def test_dmtl_trains_through_accelerate_on_cpu(data):
    accelerate = pytest.importorskip("accelerate")
    from skorch.hf import AccelerateMixin

    X, y = data
    est = tiny_dmtl(lambda_profile=0.5)
    est.set_params(accelerator=accelerate.Accelerator(cpu=True))
    est.fit(X, y)
    assert isinstance(est.net_, AccelerateMixin)
    # one CPU process: the same training as without Accelerate
    plain = tiny_dmtl(lambda_profile=0.5).fit(X, y)
    np.testing.assert_allclose(est.predict(X), plain.predict(X), rtol=1e-5, atol=1e-5)
