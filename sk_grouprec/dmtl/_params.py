"""The declarative parameter table of ``GroupDMTLRecommender`` and the checks it is made of.

Each entry of :data:`DMTL_PARAMETER_CONSTRAINTS` (the estimator's
``_parameter_constraints``) maps a parameter name to a check ``check(value, name)`` that
raises a ValueError naming the parameter; :func:`validate_params` runs the table, then the
rule on component combinations, at the start of ``fit``. A new parameter is one more entry.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

from .._implicit import check_positive_threshold
from .._validation import check_choice, check_non_negative, check_positive_int
from ..grouping import check_membership
from .components import check_compatible, component_class

OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}


def optimizer_class(value):
    """The torch optimizer class the ``optimizer`` parameter names (a name or a class)."""
    return OPTIMIZERS[value] if isinstance(value, str) else value


def cuda_devices(device):
    """The CUDA device indices whose generators a fit on ``device`` must fork."""
    return [torch.device(device).index or 0] if device.startswith("cuda") else []


#: The parameters whose ``None`` depends on the objective: name -> (value with "mse", value
#: with a ranking objective); the ranking values were chosen on validation splits (user guide).
OBJECTIVE_DEFAULTS = {"max_epochs": (15, 50), "weight_decay": (1.0, 0.1), "dropout": (0.0, 0.5)}


def for_objective(estimator, name):
    """The parameter ``name`` of ``estimator``, or its default for the objective when None."""
    value = getattr(estimator, name)
    if value is None:
        value = OBJECTIVE_DEFAULTS[name][estimator.objective != "mse"]
    return value


def n_epochs(estimator):
    """``max_epochs``, or its default for the objective: 15 for "mse", 50 for ranking."""
    return int(for_objective(estimator, "max_epochs"))


def weight_decay(estimator):
    """``weight_decay``, or its default for the objective: 1.0 for "mse", 0.1 for ranking."""
    return float(for_objective(estimator, "weight_decay"))


def dropout(estimator):
    """``dropout``, or its default for the objective: 0.0 for "mse", 0.5 for ranking."""
    return float(for_objective(estimator, "dropout"))


def validate_params(estimator):
    """Run every check of ``estimator._parameter_constraints``, then the combination rule."""
    params = estimator.get_params(deep=False)
    for name, check in estimator._parameter_constraints.items():
        check(params[name], name)
    check_compatible(
        component_class("sharing", params["sharing"]),
        component_class("task_refinement", params["task_refinement"]),
    )
    check_ranking_options(estimator)


#: Options of the rating network that the ranking network does not have: parameter ->
#: (what the ranking network lacks, whether a value is the default, i.e. has no effect).
RANKING_UNSUPPORTED = {
    "use_id_embeddings": ("a feature-only path (it learns from ids)", lambda v: v is True),
    "sharing": ("task-specific sharing layers",
                lambda v: component_class("sharing", v) is component_class("sharing",
                                                                           "shared_bottom")),
    "task_refinement": ("task refinement", lambda v: v is None),
    "task_weighting": ("learned task weights",
                       lambda v: component_class("task_weighting", v)
                       is component_class("task_weighting", "fixed")),
    "early_stopping": ("early stopping (it has no validation rating loss)", lambda v: not v),
    "user_features": ("side features", lambda v: v is None),
    "item_features": ("side features", lambda v: v is None),
    "context_features": ("side features", lambda v: v is None),
    "accelerator": ("a data-parallel path (train it in one process)", lambda v: v is None),
    "callbacks": ("skorch callbacks (it is trained by its own loop)", lambda v: not v),
}


def check_ranking_options(estimator):
    """Raise a ``ValueError`` for an option the ranking network does not have, set to a
    value other than its default (it would otherwise be silently ignored)."""
    if estimator.objective == "mse":
        return
    for name, (lacks, is_default) in RANKING_UNSUPPORTED.items():
        value = getattr(estimator, name)
        if not is_default(value):
            raise ValueError(
                f"{type(estimator).__name__}: {name}={value!r} has no effect with "
                f"objective={estimator.objective!r}: the ranking network has no {lacks}. "
                f"Leave {name} at its default, or use objective='mse'."
            )


def check_fit_arguments(estimator, groups, X_group, y_group):
    """The natural-group arguments of ``fit`` that go together; the checked membership."""
    name = type(estimator).__name__
    if (X_group is None) != (y_group is None) and estimator.objective == "mse":
        raise ValueError(f"{name}: X_group and y_group must be given together.")
    if X_group is not None and groups is None:
        raise ValueError(
            f"{name}: X_group needs the membership table `groups` (group_id, user_id)."
        )
    return None if groups is None else check_membership(groups, estimator_name=name)


def non_negative(value, name):
    check_non_negative(value, name)


def none_or_non_negative(value, name):
    if value is not None:
        check_non_negative(value, name)


def positive_int(value, name):
    check_positive_int(value, name)


def auto_or_positive_int(value, name):
    if not (isinstance(value, str) and value == "auto"):
        check_positive_int(value, name)


def none_or_positive_int(value, name):
    if value is not None:
        check_positive_int(value, name)


def threshold(value, name):
    check_positive_threshold(value)


def boolean(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False; got {value!r}.")


def one_of(*choices):
    def check(value, name):
        check_choice(value, name, choices)

    return check


def fraction(*, closed_low):
    """A number in [0, 1) (``closed_low``) or in (0, 1)."""

    def check(value, name):
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
        ok = ok and (0 <= value < 1 if closed_low else 0 < value < 1)
        if not ok:
            interval = "[0, 1)" if closed_low else "(0, 1)"
            raise ValueError(f"{name} must be in {interval}; got {value!r}.")

    return check


_rate = fraction(closed_low=True)


def none_or_rate(value, name):
    """None or a number in [0, 1)."""
    if value is not None:
        _rate(value, name)


def positive(value, name):
    if not check_non_negative(value, name) > 0:
        raise ValueError(f"{name} must be > 0; got {value!r}.")


def optimizer(value, name):
    if isinstance(value, str):
        check_choice(value, name, tuple(OPTIMIZERS))
    elif not (isinstance(value, type) and issubclass(value, torch.optim.Optimizer)):
        raise ValueError(
            f"{name} must be 'adam', 'adamw', 'sgd' or a torch.optim.Optimizer subclass; "
            f"got {value!r}."
        )


def patience(value, name):
    if not isinstance(value, (bool, np.bool_)) and not (
        isinstance(value, numbers.Integral) and value >= 1
    ):
        raise ValueError(f"{name} must be a bool or a patience >= 1; got {value!r}.")


def integer(value, name):
    if not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an int; got {value!r}.")


#: The names ``negative_sampling`` accepts, as popularity exponents.
NEGATIVE_SAMPLING = {"uniform": 0.0, "popularity": 1.0}


def negative_exponent(value):
    """The popularity exponent of the ``negative_sampling`` parameter (a name or a float)."""
    return NEGATIVE_SAMPLING[value] if isinstance(value, str) else float(value)


def negative_sampling(value, name):
    if isinstance(value, str):
        check_choice(value, name, tuple(NEGATIVE_SAMPLING))
    elif not (isinstance(value, numbers.Real) and not isinstance(value, bool)
              and 0 <= value <= 1):
        raise ValueError(
            f"{name} must be 'uniform', 'popularity' or an exponent in [0, 1]; got {value!r}."
        )


def none_or_positive(value, name):
    if value is not None:
        positive(value, name)


def component(kind):
    def check(value, name):
        component_class(kind, value)

    return check


def device(value, name):
    resolve_device(value)


def anything(value, name):
    """No constraint (selectors, accelerator, callbacks: checked where they are used)."""


def resolve_device(device):
    """The torch device string of the ``device`` parameter (``"auto"``: CUDA if available)."""
    if not isinstance(device, (str, torch.device)):
        raise ValueError(
            f"device must be 'cpu', 'cuda', 'auto' or a torch device string; got {device!r}."
        )
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device {device!r} is not a valid torch device: {exc}") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} but CUDA is not available on this machine; use device='cpu' "
            "or 'auto'."
        )
    return str(dev)


#: ``GroupDMTLRecommender``'s parameter table: name -> check.
DMTL_PARAMETER_CONSTRAINTS = {
    "lambda_profile": non_negative,
    "hidden_size": positive_int,
    "embedding_size": positive_int,
    "use_attention": boolean,
    "use_id_embeddings": boolean,
    "use_biases": boolean,
    "use_dot_product": boolean,
    "use_implicit_feedback": boolean,
    "dropout": none_or_rate,
    "weight_decay": none_or_non_negative,
    "lr": positive,
    "lr_schedule": one_of("cosine", "constant"),
    "max_epochs": none_or_positive_int,
    "batch_size": auto_or_positive_int,
    "optimizer": optimizer,
    "early_stopping": patience,
    "validation_fraction": fraction(closed_low=False),
    "lambda_group": non_negative,
    "objective": one_of("mse", "bpr", "bce"),
    "n_negatives": positive_int,
    "negative_sampling": negative_sampling,
    "negative_temperature": none_or_positive,
    "positive_threshold": threshold,
    "group_embedding": boolean,
    "member_pooling": one_of("attention", "mean"),
    "sharing": component("sharing"),
    "task_refinement": component("task_refinement"),
    "task_weighting": component("task_weighting"),
    "n_experts": positive_int,
    "gradnorm_alpha": non_negative,
    "user_features": anything,
    "item_features": anything,
    "context_features": anything,
    "device": device,
    "accelerator": anything,
    "verbose": integer,
    "random_state": anything,
    "callbacks": anything,
}
