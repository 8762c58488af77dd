"""sk_grouprec: group recommendation for scikit-learn.

The public names, each one hop from here:

- :class:`GroupDMTLRecommender` (:mod:`sk_grouprec.dmtl`): the deep multi-task model that
  learns group profiling and recommendation together;
- :class:`KMeansGrouper` (:mod:`sk_grouprec.grouping`): forms groups, adds ``group_id``;
- :class:`GroupAggregator` (:mod:`sk_grouprec.aggregation`): group ratings from any
  individual estimator with an aggregation strategy;
- :mod:`sk_grouprec.baselines`: SVD, SVD++, NMF, k-NN variants, Slope One, co-clustering...;
- :mod:`sk_grouprec.ensemble`: :class:`~sk_grouprec.ensemble.BlendedRecommender`, one
  ranking from the standardised scores of several top-N recommenders, for users and for
  groups with interactions of their own;
- :mod:`sk_grouprec.metrics`: RMSE, Precision/Recall@k, NDCG@k, profiling scores, top-N
  metrics (sampled HR@K / NDCG@K, full-catalogue Recall@K / NDCG@K), scorers;
- :mod:`sk_grouprec.model_selection`: :class:`~sk_grouprec.model_selection.LeaveKOut`,
  hold out interactions per user or group for tuning;
- :mod:`sk_grouprec.datasets`: MovieLens 100K, ITM-Rec, Mafengwo, any AGREE/ConsRec folder,
  synthetic group ratings.
"""

from . import baselines, datasets, ensemble, metrics, model_selection
from .aggregation import GroupAggregator
from .dmtl import GroupDMTLRecommender
from .grouping import KMeansGrouper

__version__ = "0.1.0.dev0"

__all__ = [
    "GroupAggregator",
    "GroupDMTLRecommender",
    "KMeansGrouper",
    "baselines",
    "datasets",
    "ensemble",
    "metrics",
    "model_selection",
    "__version__",
]
