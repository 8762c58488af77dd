"""The redesigned DMTL estimator predicts what the estimator before the redesign predicted.

``tests/data/dmtl_ml100k_fold0_reference.npz`` holds the predictions of the code at commit
19490f4 (before the redesign into small components) on the first 2,000 test rows of MovieLens
100K fold 0 (``KFold(5, shuffle=True, random_state=0)``), for the default model and each
``sharing``, ``task_refinement`` and ``task_weighting`` option, with the pipeline and
settings below. Regenerate it only for a deliberate change of behaviour, and say so.
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
def test_same_predictions_as_before_the_redesign(fold0, name):
    X_train, y_train, X_test = fold0
    model = make_pipeline(KMeansGrouper(random_state=0),
                          GroupDMTLRecommender(max_epochs=3, random_state=0, **OPTIONS[name]))
    predictions = model.fit(X_train, y_train).predict(X_test)
    np.testing.assert_allclose(predictions, np.load(REFERENCE)[name], rtol=0, atol=1e-5)
