"""Encoding of side features into dense float32 matrices for the DMTL network.

Categorical columns (object, string, category and bool dtypes) are one-hot encoded with
``handle_unknown="ignore"`` (a category unseen at fit time encodes as all zeros). Numeric
columns are standardised. Missing values follow the package's policy
(:mod:`sk_grouprec._missing`): the training mean for a numeric value (so that e.g.
MovieLens' one film without a release date keeps its genres), a category of its own for a
categorical one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .._missing import MISSING_CATEGORY, check_numeric_feature


def _is_categorical(series):
    return pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series)


class FeatureEncoder:
    """One-hot encode categorical and standardise numeric columns into float32.

    Parameters
    ----------
    columns : list of str
        Columns to encode (possibly empty: the encoder then returns ``(n, 0)`` arrays).

    Attributes
    ----------
    n_output_ : int
        Width of the encoded matrix.
    mean_ : ndarray of shape (n_output_,)
        Mean encoded row of the data seen by ``fit`` (used for unknown entities and as
        the neutral context at recommendation time).

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_grouprec.dmtl._features import FeatureEncoder
    >>> table = pd.DataFrame({"user_age": [20, 40], "user_kind": ["a", "b"]})
    >>> enc = FeatureEncoder(["user_age", "user_kind"]).fit(table)
    >>> enc.transform(pd.DataFrame({"user_age": [30], "user_kind": ["zzz"]}))
    array([[0., 0., 0.]], dtype=float32)
    """

    def __init__(self, columns):
        self.columns = list(columns)

    def fit(self, frame):
        """Learn categories, means and scales from ``frame`` (one row per entity)."""
        self.categorical_ = [c for c in self.columns if _is_categorical(frame[c])]
        self.numeric_ = [c for c in self.columns if c not in self.categorical_]
        for col in self.numeric_:
            check_numeric_feature(frame[col].to_numpy(dtype=np.float64, na_value=np.nan), col)
        transformers = []
        if self.numeric_:
            transformers.append(
                (
                    "num",
                    make_pipeline(SimpleImputer(strategy="mean"), StandardScaler()),
                    self.numeric_,
                )
            )
        if self.categorical_:
            transformers.append(
                (
                    "cat",
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float32),
                    self.categorical_,
                )
            )
        if transformers:
            self.transformer_ = ColumnTransformer(transformers, sparse_threshold=0.0)
            encoded = self._fit_transform(frame)
        else:
            self.transformer_ = None
            encoded = np.zeros((frame.shape[0], 0), dtype=np.float32)
        self.n_output_ = encoded.shape[1]
        self.mean_ = (
            encoded.mean(axis=0).astype(np.float32) if encoded.shape[0] else encoded[:0].sum(0)
        )
        return self

    def _fit_transform(self, frame):
        return self._clean(self.transformer_.fit_transform(self._prepared(frame)))

    def transform(self, frame):
        """Encode ``frame`` (rows in any number) into a float32 matrix."""
        if self.transformer_ is None:
            return np.zeros((frame.shape[0], 0), dtype=np.float32)
        return self._clean(self.transformer_.transform(self._prepared(frame)))

    def _prepared(self, frame):
        frame = frame[self.columns]
        if self.categorical_:
            # one representation per category whatever the dtype (str, object, bool, category)
            cats = {
                c: frame[c].astype(object).where(frame[c].notna(), MISSING_CATEGORY).astype(str)
                for c in self.categorical_
            }
            frame = frame.assign(**cats)
        if self.numeric_:
            nums = {}
            for col in self.numeric_:
                values = frame[col].to_numpy(dtype=np.float64, na_value=np.nan)
                n_inf = int(np.isinf(values).sum())
                if n_inf:
                    raise ValueError(f"feature column '{col}' has {n_inf} infinite value(s).")
                nums[col] = values
            frame = frame.assign(**nums)
        return frame

    @staticmethod
    def _clean(encoded):
        return np.ascontiguousarray(encoded, dtype=np.float32)
