"""Classic collaborative-filtering baselines, with Surprise's names and defaults.

Every class is a scikit-learn regressor on the data contract (it reads ``user_id`` and
``item_id`` and ignores other columns), vectorised with numpy/scipy/torch.

- bias models (:mod:`~sk_grouprec.baselines.bias`): :class:`NormalPredictor`,
  :class:`BaselineOnly`;
- matrix factorisation (:mod:`~sk_grouprec.baselines.matrix_factorization`): :class:`SVD`,
  :class:`SVDpp`, :class:`NMF`;
- neighbourhood models (:mod:`~sk_grouprec.baselines.knn`): :class:`KNNBasic`,
  :class:`KNNWithMeans`, :class:`KNNWithZScore`, :class:`KNNBaseline`;
- :class:`SlopeOne` (:mod:`~sk_grouprec.baselines.slope_one`) and :class:`CoClustering`
  (:mod:`~sk_grouprec.baselines.co_clustering`).
"""

from .bias import BaselineOnly, NormalPredictor
from .co_clustering import CoClustering
from .knn import KNNBaseline, KNNBasic, KNNWithMeans, KNNWithZScore
from .matrix_factorization import NMF, SVD, SVDpp
from .slope_one import SlopeOne

__all__ = [
    "BaselineOnly",
    "CoClustering",
    "KNNBaseline",
    "KNNBasic",
    "KNNWithMeans",
    "KNNWithZScore",
    "NMF",
    "NormalPredictor",
    "SVD",
    "SVDpp",
    "SlopeOne",
]
