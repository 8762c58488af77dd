"""The pluggable parts of the DMTL network: registries, resolution and valid combinations.

Three kinds of component, each with a base class that documents its protocol:

- sharing scheme (``sharing=``): :class:`~sk_grouprec.dmtl.sharing.SharingScheme`;
- task refinement (``task_refinement=``): :class:`~sk_grouprec.dmtl.refinement.TaskRefinement`;
- task weighting (``task_weighting=``): :class:`~sk_grouprec.dmtl.task_weighting.TaskWeighting`.

Each parameter accepts a name from the registry below, a subclass of the base class (built
with its ``from_config(config)`` classmethod from a :class:`NetworkConfig`) or an instance
(used as given: a copy of it is trained at each fit). Which combinations are valid is decided
here, by :func:`check_compatible`, and nowhere else.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

from .refinement import RefinedBottom, TaskRefinement
from .sharing import MMoEBottom, PLEBottom, SharedBottom, SharingScheme, STEMBottom
from .task_weighting import (
    FixedTaskWeighting,
    GradNormWeighting,
    PMTRecWeighting,
    TaskWeighting,
    UncertaintyWeighting,
)

__all__ = [
    "NetworkConfig",
    "REFINEMENTS",
    "SHARING_SCHEMES",
    "TASK_WEIGHTINGS",
    "build_component",
    "check_compatible",
    "component_class",
]

SHARING_SCHEMES = {
    "shared_bottom": SharedBottom,
    "mmoe": MMoEBottom,
    "ple": PLEBottom,
    "stem": STEMBottom,
}
REFINEMENTS = {None: None, "senet": RefinedBottom}
TASK_WEIGHTINGS = {
    "fixed": FixedTaskWeighting,
    "uncertainty": UncertaintyWeighting,
    "gradnorm": GradNormWeighting,
    "pmtrec": PMTRecWeighting,
}
_KINDS = {
    "sharing": (SHARING_SCHEMES, SharingScheme),
    "task_refinement": (REFINEMENTS, TaskRefinement),
    "task_weighting": (TASK_WEIGHTINGS, TaskWeighting),
}


@dataclass
class NetworkConfig:
    """The settings a component's ``from_config`` may read.

    Attributes
    ----------
    hidden_size : int
        Width ``H`` of ``h_u``, ``h_ai`` and of each task representation.
    dropout : float
        Dropout rate of the network.
    n_experts : int
        The estimator's ``n_experts``.
    make_towers : callable
        Zero-argument factory of a new :class:`~sk_grouprec.dmtl.sharing.TowerPair` (for
        schemes that own task-specific towers).
    tasks : tuple of str
        Names of the trained tasks, the main task first.
    lambda_profile, lambda_group, gradnorm_alpha : float
        The estimator's parameters of the same names.
    """

    hidden_size: int = 32
    dropout: float = 0.0
    n_experts: int = 4
    make_towers: Callable | None = None
    tasks: tuple = ("rec", "profile")
    lambda_profile: float = 1.0
    lambda_group: float = 1.0
    gradnorm_alpha: float = 1.5


def component_class(kind, spec):
    """The class a component parameter names (``None`` for no refinement).

    Parameters
    ----------
    kind : {"sharing", "task_refinement", "task_weighting"}
    spec : str, None, class or instance
        A registry name, a subclass of the kind's base class or an instance of one.

    Returns
    -------
    cls : type or None

    Raises
    ------
    ValueError
        If ``spec`` is neither a registry name nor a subclass / instance of the base class.

    Examples
    --------
    >>> from sk_grouprec.dmtl.components import component_class
    >>> component_class("sharing", "mmoe").__name__
    'MMoEBottom'
    """
    registry, base = _KINDS[kind]
    if isinstance(spec, type) and issubclass(spec, base):
        return spec
    if isinstance(spec, base):
        return type(spec)
    if isinstance(spec, str) or spec is None:
        if spec in registry:
            return registry[spec]
    names = sorted(map(repr, registry))
    raise ValueError(
        f"{kind} must be one of {names}, a {base.__name__} subclass or an instance of one; "
        f"got {spec!r}."
    )


def check_compatible(sharing, task_refinement):
    """Raise a ValueError when a task refinement cannot wrap a sharing scheme.

    The one rule: a scheme that owns task-specific towers (STEM) already gives each task
    its own embeddings, so no refinement wraps it.

    Parameters
    ----------
    sharing : SharingScheme class or instance
    task_refinement : TaskRefinement class or instance, or None
    """
    if task_refinement is not None and sharing.owns_towers:
        name = getattr(sharing, "__name__", type(sharing).__name__)
        raise ValueError(
            f"task_refinement cannot wrap sharing scheme {name} (sharing='stem'): STEM owns "
            "task-specific towers (it already has task-specific embeddings)."
        )


def build_component(kind, spec, config, *args):
    """Instantiate a component for ``config`` (``None`` for no refinement).

    ``args`` go before ``config`` to ``from_config`` (the wrapped bottom of a refinement).
    An instance is deep-copied, so that the estimator's parameter is never trained.
    """
    cls = component_class(kind, spec)
    if cls is None:
        return None
    if isinstance(spec, _KINDS[kind][1]):
        return copy.deepcopy(spec)
    return cls.from_config(*args, config)
