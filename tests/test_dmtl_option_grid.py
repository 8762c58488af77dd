"""Every multi-task option passes the shared conformance suite, and
every combination of options trains and predicts on MovieLens 100K and ITM-Rec."""

import itertools

import numpy as np
import pytest

from sk_grouprec import GroupDMTLRecommender, KMeansGrouper
from sk_grouprec.testing import RecommenderConformance

SHARING = ("shared_bottom", "mmoe", "ple", "stem")
REFINEMENT = (None, "senet")
WEIGHTING = ("fixed", "uncertainty", "gradnorm", "pmtrec")
#: STEM's task-specific embeddings already do what the SENet bottom does (documented error)
COMBINATIONS = [
    combo for combo in itertools.product(SHARING, REFINEMENT, WEIGHTING)
    if not (combo[0] == "stem" and combo[1] == "senet")
]
TINY = dict(max_epochs=2, batch_size=128, hidden_size=8, embedding_size=8, random_state=0)


def _conformance_class(option, value):
    class OptionConformance(RecommenderConformance):
        needs_groups = True

        def make_estimator(self, **params):
            return GroupDMTLRecommender(**{**TINY, option: value, "lambda_profile": 0.5, **params})

    OptionConformance.__name__ = OptionConformance.__qualname__ = f"TestConformance_{option}_{value}"
    return OptionConformance


for _option, _values in (("sharing", SHARING[1:]), ("task_refinement", REFINEMENT[1:]), ("task_weighting", WEIGHTING[1:])):
    for _value in _values:
        _cls = _conformance_class(_option, _value)
        globals()[_cls.__name__] = _cls


def _check_fit_predict(X_train, y_train, X_test, sharing, refinement, weighting, n_groups, **fit_params):
    pipe = make_option_pipeline(sharing, refinement, weighting, n_groups)
    pipe.fit(X_train, y_train, **fit_params)
    pred = pipe.predict(X_test)
    assert pred.shape == (len(X_test),) and np.isfinite(pred).all()
    return pipe


def make_option_pipeline(sharing, refinement, weighting, n_groups):
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        KMeansGrouper(n_groups=n_groups, n_init=2, random_state=0),
        GroupDMTLRecommender(
            max_epochs=1, batch_size=2048, hidden_size=16, embedding_size=16, random_state=0,
            sharing=sharing, task_refinement=refinement, task_weighting=weighting,
        ),
    )


@pytest.fixture(scope="module")
def movielens_sample(data_home):
    from sk_grouprec.datasets import load_movielens_100k

    X, y = load_movielens_100k(data_home=data_home, return_X_y=True)
    rows = np.random.default_rng(0).permutation(len(X))[:12_000]
    X, y = X.iloc[rows].reset_index(drop=True), y.iloc[rows].to_numpy()
    return X.iloc[:10_000], y[:10_000], X.iloc[10_000:]


@pytest.fixture(scope="module")
def itm_rec(data_home):
    from sk_grouprec.datasets import load_itm_rec

    return load_itm_rec(data_home=data_home)


@pytest.mark.realdata
@pytest.mark.parametrize("sharing, refinement, weighting", COMBINATIONS)
def test_every_combination_on_movielens(movielens_sample, sharing, refinement, weighting):
    X_train, y_train, X_test = movielens_sample
    _check_fit_predict(X_train, y_train, X_test, sharing, refinement, weighting, n_groups=20)


@pytest.mark.realdata
@pytest.mark.parametrize("sharing, refinement, weighting", COMBINATIONS)
def test_every_combination_on_itm_rec_with_natural_groups(itm_rec, sharing, refinement, weighting):
    X, y = itm_rec.data, itm_rec.target.to_numpy()
    ratings = itm_rec.group_ratings
    X_group = ratings[["group_id", "item_id", "ctx_class", "ctx_semester", "ctx_lockdown"]]
    train = np.arange(len(ratings)) % 5 != 0
    pipe = _check_fit_predict(
        X, y, X.iloc[:200], sharing, refinement, weighting, n_groups=5,
        groupdmtlrecommender__groups=itm_rec.groups,
        groupdmtlrecommender__X_group=X_group[train],
        groupdmtlrecommender__y_group=ratings["rating"].to_numpy()[train],
    )
    group_pred = pipe[-1].predict_group(X_group[~train])
    assert group_pred.shape == ((~train).sum(),) and np.isfinite(group_pred).all()
