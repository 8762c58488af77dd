"""The DMTL model: deep multi-task group profiling and recommendation (arXiv 2504.06274).

The estimator is :class:`GroupDMTLRecommender`; the base classes of its pluggable parts are
:class:`SharingScheme`, :class:`TaskRefinement`, :class:`TaskWeighting` and :class:`Task`.
"""

from .estimator import GroupDMTLRecommender
from .network import DMTLNetwork
from .refinement import TaskRefinement
from .sharing import SharingScheme
from .task_weighting import TaskWeighting
from .tasks import Task

__all__ = [
    "DMTLNetwork",
    "GroupDMTLRecommender",
    "SharingScheme",
    "Task",
    "TaskRefinement",
    "TaskWeighting",
]
