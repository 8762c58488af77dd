"""The package's one missing-value policy for side features (users, items, context).

Used by :class:`~sk_grouprec.grouping.KMeansGrouper` and
:class:`~sk_grouprec.dmtl.GroupDMTLRecommender` alike:

- a missing numeric value takes the training mean of its column (a column with no value at
  all is an error);
- a missing categorical value is a category of its own, :data:`MISSING_CATEGORY`
  (a category unseen at fit time, this one included, encodes to all zeros);
- an infinite numeric value is an error.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MISSING_CATEGORY", "check_numeric_feature", "fill_missing_category"]

#: The category a missing categorical value becomes.
MISSING_CATEGORY = "__missing__"


def fill_missing_category(series):
    """``series`` with its missing values replaced by :data:`MISSING_CATEGORY`.

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_grouprec._missing import fill_missing_category
    >>> fill_missing_category(pd.Series(["a", None])).tolist()
    ['a', '__missing__']
    """
    if not series.isna().any():
        return series
    return series.astype(object).where(series.notna(), MISSING_CATEGORY)


def check_numeric_feature(values, column, where=""):
    """Raise a ValueError when a numeric feature column is infinite somewhere or all missing.

    Parameters
    ----------
    values : ndarray of float
    column : str
        Named in the message.
    where : str, default=""
        Prefix of the message (the estimator's name).
    """
    n_inf = int(np.isinf(values).sum())
    if n_inf:
        raise ValueError(f"{where}feature column '{column}' has {n_inf} infinite value(s).")
    if values.size and np.isnan(values).all():
        raise ValueError(f"{where}feature column '{column}' has only missing values.")
