"""The DMTL estimator predicts what the reference predictions say, option by option.

``tests/data/dmtl_ml100k_fold0_reference.npz`` holds predictions on the first 2,000 test rows
of MovieLens 100K fold 0 (``KFold(5, shuffle=True, random_state=0)``), for the default model
and each ``sharing``, ``task_refinement`` and ``task_weighting`` option, with the pipeline and
settings below. Regenerate it (``python tests/test_dmtl_reference.py``, with
``SK_GROUPREC_DATA`` set) only for a deliberate change of behaviour, and say so here:

- commit 19490f4 (before the redesign into small components): the redesigned estimator
  matched it exactly (maximum absolute difference 0.0 for all eight).
"""

from pathlib import Path

import numpy as np
import pytest
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline

from sk_grouprec import GroupDMTLRecommender, KMeansGrouper

REFERENCE = Path(__file__).parent / "data" / "dmtl_ml100k_fold0_reference.npz"
OPTIONS = {
    "default": {}, "mmoe": {"sharing": "mmoe"}, "ple": {"sharing": "ple"},
    "stem": {"sharing": "stem"}, "senet": {"task_refinement": "senet"},
    "uncertainty": {"task_weighting": "uncertainty"},
    "gradnorm": {"task_weighting": "gradnorm"}, "pmtrec": {"task_weighting": "pmtrec"},
}


@pytest.fixture(scope="module")
def fold0(data_home):
    from sk_grouprec.datasets import load_movielens_100k

    X, y = load_movielens_100k(data_home, return_X_y=True)
    train, test = next(KFold(5, shuffle=True, random_state=0).split(X))
    y = np.asarray(y)
    return X.iloc[train], y[train], X.iloc[test[:2000]]


@pytest.mark.realdata
@pytest.mark.parametrize("name", list(OPTIONS))
def test_same_predictions_as_the_reference(fold0, name):
    X_train, y_train, X_test = fold0
    model = _model(name)
    predictions = model.fit(X_train, y_train).predict(X_test)
    np.testing.assert_allclose(predictions, np.load(REFERENCE)[name], rtol=0, atol=1e-5)


def _model(name):
    return make_pipeline(KMeansGrouper(random_state=0),
                         GroupDMTLRecommender(max_epochs=3, random_state=0, **OPTIONS[name]))


if __name__ == "__main__":  # regenerate the reference (see the module docstring)
    import os

    import torch

    from sk_grouprec.datasets import load_movielens_100k

    torch.set_num_threads(1)  # as the tests run (tests/conftest.py)

    X, y = load_movielens_100k(os.environ.get("SK_GROUPREC_DATA"), return_X_y=True)
    train, test = next(KFold(5, shuffle=True, random_state=0).split(X))
    y = np.asarray(y)
    saved = {name: _model(name).fit(X.iloc[train], y[train]).predict(X.iloc[test[:2000]])
             for name in OPTIONS}
    np.savez_compressed(REFERENCE, **saved)
    print(f"wrote {REFERENCE}")
