"""The DMTL model: deep multi-task group profiling and recommendation (arXiv 2504.06274)."""

from .estimator import GroupDMTLRecommender
from .network import DMTLNetwork

__all__ = ["GroupDMTLRecommender", "DMTLNetwork"]
