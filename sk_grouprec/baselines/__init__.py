"""Baselines: the classic rating predictors (Surprise's names and defaults) and the
top-N baselines for implicit feedback.

Every class reads ``user_id`` and ``item_id`` of the data contract and ignores other
columns, vectorised with numpy/scipy/torch. The rating predictors are scikit-learn
regressors:

- bias models (:mod:`~sk_grouprec.baselines.bias`): :class:`NormalPredictor`,
  :class:`BaselineOnly`;
- matrix factorisation (:mod:`~sk_grouprec.baselines.matrix_factorization`): :class:`SVD`,
  :class:`SVDpp`, :class:`NMF`;
- neighbourhood models (:mod:`~sk_grouprec.baselines.knn`): :class:`KNNBasic`,
  :class:`KNNWithMeans`, :class:`KNNWithZScore`, :class:`KNNBaseline`;
- :class:`SlopeOne` (:mod:`~sk_grouprec.baselines.slope_one`) and :class:`CoClustering`
  (:mod:`~sk_grouprec.baselines.co_clustering`).

The top-N baselines fit implicit feedback (``fit(X)``: every row is a positive; or ratings
with a ``positive_threshold``); ``predict`` returns scores (higher is better, comparable
within one user) and ``recommend`` leaves out training items:

- :class:`MostPopular` (:mod:`~sk_grouprec.baselines.popularity`);
- :class:`ItemKNN` (:mod:`~sk_grouprec.baselines.item_knn`): cosine item k-NN;
- :class:`BPRMF` (:mod:`~sk_grouprec.baselines.bpr`): matrix factorisation with the BPR
  loss;
- :class:`ALS` (:mod:`~sk_grouprec.baselines.als`): implicit ALS through the ``implicit``
  package (extra ``sk-grouprec[implicit]``);
- :class:`EASE` (:mod:`~sk_grouprec.baselines.ease`): the closed-form item-item model.
"""

from .als import ALS
from .bias import BaselineOnly, NormalPredictor
from .bpr import BPRMF
from .co_clustering import CoClustering
from .ease import EASE
from .item_knn import ItemKNN
from .knn import KNNBaseline, KNNBasic, KNNWithMeans, KNNWithZScore
from .matrix_factorization import NMF, SVD, SVDpp
from .popularity import MostPopular
from .slope_one import SlopeOne

__all__ = [
    "ALS",
    "BPRMF",
    "BaselineOnly",
    "CoClustering",
    "EASE",
    "ItemKNN",
    "KNNBaseline",
    "KNNBasic",
    "KNNWithMeans",
    "KNNWithZScore",
    "MostPopular",
    "NMF",
    "NormalPredictor",
    "SVD",
    "SVDpp",
    "SlopeOne",
]
