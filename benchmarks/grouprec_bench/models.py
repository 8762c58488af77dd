"""The models a benchmark run can compare, by name.

Each entry builds a fresh, unfitted estimator for a given seed. ``DMTL`` is the paper's setting:
``make_pipeline(KMeansGrouper(n_groups=20), GroupDMTLRecommender())``. Baselines carry
Surprise's names and defaults; ``Surprise:<name>`` runs Surprise's own implementation through a
thin adapter (``--compare-surprise``, needs the ``bench`` extra).
"""

from __future__ import annotations

import ast
import re

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.pipeline import make_pipeline

from sk_grouprec import GroupDMTLRecommender, KMeansGrouper, baselines

BASELINES = (
    "SVDpp",
    "SVD",
    "NMF",
    "BaselineOnly",
    "KNNBasic",
    "KNNWithMeans",
    "KNNWithZScore",
    "KNNBaseline",
    "SlopeOne",
    "CoClustering",
)
DEFAULT_MODELS = ("DMTL", *BASELINES)
#: ``--dataset scale``: how cost grows with data
SCALE_DEFAULT = ("DMTL", "SVDpp")
#: ``--ablation``: the paper's model, then each multi-task option alone
ABLATION_MODELS = (
    "DMTL",
    "DMTL[lambda_profile=0]",
    "DMTL[use_attention=False]",
    "DMTL[sharing=mmoe]",
    "DMTL[sharing=ple]",
    "DMTL[sharing=stem]",
    "DMTL[task_refinement=senet]",
    "DMTL[task_weighting=uncertainty]",
    "DMTL[task_weighting=gradnorm]",
    "DMTL[task_weighting=pmtrec]",
    # the departures from the paper that are on by default, each switched off alone
    "DMTL[use_id_embeddings=False]",
    "DMTL[use_biases=False]",
    "DMTL[use_dot_product=False]",
    "DMTL[use_implicit_feedback=False]",
)
_VARIANT = re.compile(r"^DMTL\[(.*)\]$")
#: epochs used by ``--quick`` (smoke runs and the test of the benchmark)
QUICK_EPOCHS = 2


def dmtl_pipeline(seed, *, quick=False, n_groups=20, **dmtl_params):
    """The paper's pipeline: KMeans groups on user features, then the DMTL network."""
    if quick:
        dmtl_params.setdefault("max_epochs", QUICK_EPOCHS)
    return make_pipeline(
        KMeansGrouper(n_groups=n_groups, random_state=seed),
        GroupDMTLRecommender(random_state=seed, **dmtl_params),
    )


def baseline(name, seed, *, quick=False):
    """A baseline with its default parameters (and ``random_state`` where it has one)."""
    cls = getattr(baselines, name)
    params = {"random_state": seed} if "random_state" in cls().get_params() else {}
    if quick and "n_epochs" in cls().get_params():
        params["n_epochs"] = QUICK_EPOCHS
    return cls(**params)


class SurpriseAdapter(RegressorMixin, BaseEstimator):
    """Surprise's own algorithm behind ``fit(X, y)`` / ``predict(X)`` (benchmark only).

    The one adapter of the benchmarks. ``fit`` times include building Surprise's
    ``Trainset`` (ours include validation and id indexing). Prediction goes through
    Surprise's per-rating ``predict``, which is how Surprise users predict; its cost is part
    of the comparison. ``random_state`` goes to algorithms that take one, and seeds numpy's
    global generator for those that use it (``NormalPredictor``); ``n_epochs`` (``None``:
    Surprise's default) to those that have epochs.
    """

    def __init__(self, algorithm="SVDpp", random_state=0, n_epochs=None):
        self.algorithm = algorithm
        self.random_state = random_state
        self.n_epochs = n_epochs

    def fit(self, X, y):
        import contextlib
        import inspect
        import io

        import surprise

        frame = pd.DataFrame(
            {"user": X["user_id"].to_numpy(), "item": X["item_id"].to_numpy(), "rating": np.asarray(y)}
        )
        reader = surprise.Reader(rating_scale=(frame["rating"].min(), frame["rating"].max()))
        trainset = surprise.Dataset.load_from_df(frame, reader).build_full_trainset()
        cls = getattr(surprise, self.algorithm)
        accepted = inspect.signature(cls).parameters
        params = {"random_state": self.random_state, "verbose": False, "n_epochs": self.n_epochs}
        params = {k: v for k, v in params.items() if k in accepted and v is not None}
        np.random.seed(self.random_state)  # noqa: NPY002 - NormalPredictor draws from it
        self.algo_ = cls(**params)
        with contextlib.redirect_stdout(io.StringIO()):  # some algorithms print progress
            self.algo_.fit(trainset)
        return self

    def predict(self, X):
        predict = self.algo_.predict
        return np.fromiter(
            (predict(u, i).est for u, i in zip(X["user_id"].to_numpy(), X["item_id"].to_numpy())),
            dtype=np.float64,
            count=len(X),
        )


#: KMeans groups per dataset: the paper's 20 on MovieLens; ITM-Rec's three user features
#: (gender, age band, married) take few distinct values, so fewer groups there
N_GROUPS = {"ml-100k": 20, "itm-rec": 5, "synthetic": 6, "scale": 20}


def build(name, seed, *, quick=False, dataset="ml-100k"):
    """Return a fresh estimator for ``name`` (see :data:`DEFAULT_MODELS`)."""
    if name == "DMTL" or _VARIANT.match(name):
        params = parse_variant(name)
        return dmtl_pipeline(seed, quick=quick, n_groups=N_GROUPS.get(dataset, 20), **params)
    if name.startswith("Surprise:"):
        return SurpriseAdapter(name.split(":", 1)[1], random_state=seed,
                               n_epochs=QUICK_EPOCHS if quick else None)
    if name in BASELINES or hasattr(baselines, name):
        return baseline(name, seed, quick=quick)
    raise ValueError(f"unknown model {name!r}; known: {', '.join(DEFAULT_MODELS)} and Surprise:<name>")


def parse_variant(name):
    """Parameters of a DMTL variant named ``DMTL[key=value,...]`` (``DMTL`` alone: none).

    Values are Python literals where they parse as one (``0``, ``False``, ``0.5``), strings
    otherwise (``sharing=mmoe``).
    """
    match = _VARIANT.match(name)
    if not match:
        return {}
    params = {}
    for item in filter(None, (part.strip() for part in match.group(1).split(","))):
        key, _, value = item.partition("=")
        try:
            params[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            params[key.strip()] = value.strip()
    return params


def surprise_available():
    try:
        import surprise  # noqa: F401
    except ImportError:
        return False
    return True
