"""The k-nearest-neighbours family of Surprise: KNNBasic, KNNWithMeans, KNNWithZScore and
KNNBaseline, vectorised.

The semantics are Surprise 1.1.5's (``surprise/prediction_algorithms/knns.py``), written for
a user-based model (an item-based one swaps the roles). To predict ``r_ui``:

1. the candidates are the ratings of item ``i`` in the training data, in training order
   (a user who rated ``i`` twice is a candidate twice, as in Surprise);
2. the neighbourhood is the ``k`` candidates most similar to ``u`` among *all* candidates
   (like ``heapq.nlargest``: non-positive similarities take places too, and ties go to
   the earlier rating in the training data);
3. only neighbours with a positive similarity contribute to the weighted average; when
   fewer than ``min_k`` contribute, the estimator falls back (see each class).

Prediction is vectorised over blocks of test pairs: the candidates of each pair are laid
out as one padded row, the ``k``-th largest similarity of each row comes from
``np.partition``, ties at that threshold are resolved by training order with a cumulative
sum, and the weighted sums are row sums. A block holds about
:data:`~sk_grouprec.baselines.similarities.BLOCK_ELEMENTS` candidates, so memory stays
bounded.

Similarities: up to ``max_dense_entities`` users (items when ``user_based=False``) the full
similarity matrix is kept, exactly as Surprise. Above, it is computed block by block and
only the ``n_stored_neighbors`` most similar entities of each one are kept (a sparse
matrix, the entity itself always included): the neighbourhood of ``u`` for item ``i`` is
then chosen among the raters of ``i`` that are in ``u``'s stored list, found by binary
search (``n_stored_neighbors`` searches per test pair, whatever the popularity of ``i``).
This bounds memory at ``n * n_stored_neighbors`` values instead of ``n**2``, at the price
of an approximation: it differs from the exact rule only when fewer than ``k`` of ``u``'s
stored neighbours rated ``i`` (then fewer neighbours are used, never less similar ones),
and it is exact when ``n_stored_neighbors >= n``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._base import BaseRecommender
from .._validation import check_choice, check_non_negative, check_positive_int
from ._pairwise import PairTable, length_sorted_chunks, ragged_ranges
from .bias import BASELINE_METHODS, fit_baselines
from .similarities import BLOCK_ELEMENTS, SIMILARITIES, iter_similarity_blocks

__all__ = ["KNNBasic", "KNNWithMeans", "KNNWithZScore", "KNNBaseline"]


class _KNNBase(BaseRecommender):
    """Shared fit and neighbourhood aggregation of the k-NN family."""

    #: whether the estimator itself uses baseline estimates (KNNBaseline)
    _uses_baselines = False

    def __init__(
        self,
        k=40,
        min_k=1,
        similarity="msd",
        user_based=True,
        min_support=1,
        shrinkage=100,
        baseline_method="als",
        baseline_n_epochs=None,
        reg_u=15,
        reg_i=10,
        reg=0.02,
        learning_rate=0.005,
        max_dense_entities=10_000,
        n_stored_neighbors=500,
        verbose=False,
    ):
        self.k = k
        self.min_k = min_k
        self.similarity = similarity
        self.user_based = user_based
        self.min_support = min_support
        self.shrinkage = shrinkage
        self.baseline_method = baseline_method
        self.baseline_n_epochs = baseline_n_epochs
        self.reg_u = reg_u
        self.reg_i = reg_i
        self.reg = reg
        self.learning_rate = learning_rate
        self.max_dense_entities = max_dense_entities
        self.n_stored_neighbors = n_stored_neighbors
        self.verbose = verbose

    # fit ---------------------------------------------------------------------------------
    def _check_params(self):
        check_positive_int(self.k, "k")
        check_positive_int(self.min_k, "min_k", minimum=0)
        check_choice(self.similarity, "similarity", SIMILARITIES)
        if not isinstance(self.user_based, (bool, np.bool_)):
            raise ValueError(f"user_based must be True or False; got {self.user_based!r}.")
        check_positive_int(self.min_support, "min_support", minimum=0)
        check_non_negative(self.shrinkage, "shrinkage")
        check_choice(self.baseline_method, "baseline_method", BASELINE_METHODS)
        check_positive_int(self.max_dense_entities, "max_dense_entities")
        check_positive_int(self.n_stored_neighbors, "n_stored_neighbors")

    def _switch(self, user_stuff, item_stuff):
        return (user_stuff, item_stuff) if self.user_based else (item_stuff, user_stuff)

    def _fit_indexed(self, users, items, ratings, X):
        self._check_params()
        x, y = self._switch(users, items)
        n_x, n_y = self._switch(self.n_users_, self.n_items_)
        baseline = None
        if self._uses_baselines or self.similarity == "pearson_baseline":
            if self.verbose:
                print(f"Estimating biases using {self.baseline_method}...")
            _, self.user_bias_, self.item_bias_ = fit_baselines(
                users, items, ratings, self.n_users_, self.n_items_,
                method=self.baseline_method, n_epochs=self.baseline_n_epochs,
                reg_u=self.reg_u, reg_i=self.reg_i, reg=self.reg,
                learning_rate=self.learning_rate, global_mean=self.global_mean_,
            )
            baseline = (self.global_mean_, *self._switch(self.user_bias_, self.item_bias_))
        self._fit_normalisation(x, ratings, n_x)
        # the candidates of each y: its ratings in training order
        order = np.argsort(y, kind="stable")
        self._candidate_ptr = np.concatenate([[0], np.cumsum(np.bincount(y, minlength=n_y))])
        self._candidate_x = x[order]
        self._candidate_value = self._neighbour_values(x, y, ratings)[order]
        if self.verbose:
            print(f"Computing the {self.similarity} similarity matrix...")
        blocks = iter_similarity_blocks(
            x, y, ratings, n_x, n_y, similarity=self.similarity,
            min_support=self.min_support, shrinkage=self.shrinkage, baseline=baseline,
        )
        if n_x <= self.max_dense_entities:
            self.similarity_ = np.empty((n_x, n_x))
            for start, stop, block in blocks:
                self.similarity_[start:stop] = block
            self._similarity_table = PairTable(n_x, dense=self.similarity_)
        else:
            self.similarity_ = _top_similarities(blocks, n_x, min(self.n_stored_neighbors, n_x))
            self._similarity_table = None
            # candidate ratings sorted by (x, y), then training order: found by binary search
            entry_y = np.repeat(np.arange(n_y, dtype=np.int64), np.diff(self._candidate_ptr))
            entry_keys = self._candidate_x.astype(np.int64) * n_y + entry_y
            self._entry_order = np.argsort(entry_keys, kind="stable")
            self._entry_keys = entry_keys[self._entry_order]
        if self.verbose:
            print("Done computing similarity matrix.")

    def _fit_normalisation(self, x, ratings, n_x):
        """Per-entity statistics (means, deviations) of the subclass."""

    def _neighbour_values(self, x, y, ratings):
        """What each candidate rating contributes, before weighting by similarity."""
        return ratings

    # predict -----------------------------------------------------------------------------
    def _predict_indexed(self, users, items):
        known = (users >= 0) & (items >= 0)
        out = self._fallback(users, items)
        if known.any():
            u, i = users[known], items[known]
            x, y = self._switch(u, i)
            sum_sim, sum_value, actual_k = self._aggregate_neighbours(x, y)
            ok = (actual_k >= self.min_k) & (sum_sim > 0)
            average = np.divide(sum_value, sum_sim, out=np.zeros_like(sum_sim), where=ok)
            out[known] = self._combine(u, i, x, average, ok)
        return out

    def _fallback(self, users, items):
        """Prediction for pairs with an unknown user or item: Surprise's default
        prediction, the global mean."""
        return np.full(users.shape[0], self.global_mean_)

    def _combine(self, users, items, x, average, ok):  # pragma: no cover - abstract
        raise NotImplementedError

    def _aggregate_neighbours(self, x, y):
        """Sum of positive similarities, similarity-weighted sum of neighbour values and
        number of contributing neighbours, for each pair (entity ``x``, target ``y``)."""
        sum_sim = np.zeros(x.shape[0])
        sum_value = np.zeros(x.shape[0])
        actual_k = np.zeros(x.shape[0], dtype=np.int64)
        chunks = self._candidates_dense if self._similarity_table is not None else self._candidates_sparse
        for rows, key, value in chunks(x, y):
            sum_sim[rows], sum_value[rows], actual_k[rows] = _top_k_sums(key, value, int(self.k))
        return sum_sim, sum_value, actual_k

    def _candidates_dense(self, x, y):
        """Padded candidates of bounded chunks of pairs: every rating of the target, in
        training order (``key`` is the similarity, ``-inf`` for padding)."""
        ptr = self._candidate_ptr
        lengths = ptr[y + 1] - ptr[y]
        for rows in length_sorted_chunks(lengths, BLOCK_ELEMENTS):
            n_cand = lengths[rows]
            width = int(n_cand.max())
            if width == 0:
                continue
            cols = np.arange(width)
            valid = cols < n_cand[:, None]
            idx = ptr[y[rows]][:, None] + np.minimum(cols, np.maximum(n_cand - 1, 0)[:, None])
            sim = self._similarity_table.lookup(x[rows][:, None], self._candidate_x[idx])
            yield rows, np.where(valid, sim, -np.inf), self._candidate_value[idx]

    def _candidates_sparse(self, x, y):
        """Padded candidates when only the top neighbours are stored: the ratings of the
        target by the stored neighbours of ``x``, in training order. Each pair costs
        ``n_stored_neighbors`` binary searches, whatever the popularity of the target."""
        n_keep = self.similarity_.indices.shape[0] // self.similarity_.shape[0]
        neighbours = self.similarity_.indices.reshape(-1, n_keep)
        sims = self.similarity_.data.reshape(-1, n_keep)
        n_y = self._candidate_ptr.shape[0] - 1
        per_chunk = max(1, BLOCK_ELEMENTS // n_keep)
        for start in range(0, x.shape[0], per_chunk):
            rows = np.arange(start, min(x.shape[0], start + per_chunk))
            query = neighbours[x[rows]] * n_y + y[rows][:, None]
            first = np.searchsorted(self._entry_keys, query, side="left")
            count = np.searchsorted(self._entry_keys, query, side="right") - first
            hit_row, hit_col = np.nonzero(count)
            pos, which = ragged_ranges(first[hit_row, hit_col], count[hit_row, hit_col])
            entry = self._entry_order[pos]  # index into the candidate arrays: training order
            row = hit_row[which]
            order = np.lexsort((entry, row))
            entry, row = entry[order], row[order]
            sim = sims[x[rows][row], hit_col[which][order]]
            lengths = np.bincount(row, minlength=rows.shape[0])
            width = max(1, int(lengths.max(initial=0)))
            col = np.arange(row.shape[0]) - (np.cumsum(lengths) - lengths)[row]
            key = np.full((rows.shape[0], width), -np.inf)
            value = np.zeros((rows.shape[0], width))
            key[row, col] = sim
            value[row, col] = self._candidate_value[entry]
            yield rows, key, value


def _top_k_sums(key, value, k):
    """Row-wise Surprise neighbourhood: the ``k`` largest keys (ties at the ``k``-th value
    go to the leftmost columns), of which the positive ones contribute.

    Returns the sum of contributing keys, the key-weighted sum of ``value`` and the number
    of contributors per row.
    """
    width = key.shape[1]
    if width > k:
        threshold = np.partition(key, width - k, axis=1)[:, width - k, None]
        above = key > threshold
        ties = key == threshold
        room = k - above.sum(axis=1, keepdims=True)
        chosen = above | (ties & (np.cumsum(ties, axis=1) <= room))
        weight = np.where(chosen & (key > 0), key, 0.0)
    else:
        weight = np.where(key > 0, key, 0.0)
    return weight.sum(axis=1), (weight * value).sum(axis=1), np.count_nonzero(weight, axis=1)


def _top_similarities(blocks, n_x, n_keep):
    """CSR matrix keeping, for each row, its ``n_keep`` largest similarities (itself
    always included), with sorted column indices."""
    indices = np.empty((n_x, n_keep), dtype=np.int64)
    data = np.empty((n_x, n_keep))
    for start, stop, block in blocks:
        rows = np.arange(stop - start)
        block[rows, rows + start] = np.inf  # keep the entity itself
        top = np.argpartition(-block, n_keep - 1, axis=1)[:, :n_keep]
        top.sort(axis=1)
        indices[start:stop] = top
        data[start:stop] = np.take_along_axis(block, top, axis=1)
    data[np.isinf(data)] = 1.0
    indptr = np.arange(0, n_x * n_keep + 1, n_keep, dtype=np.int64)
    return sp.csr_matrix((data.ravel(), indices.ravel(), indptr), shape=(n_x, n_x))


def _means_and_stds(x, ratings, n_x):
    count = np.bincount(x, minlength=n_x)
    mean = np.bincount(x, weights=ratings, minlength=n_x) / np.maximum(count, 1)
    var = np.bincount(x, weights=(ratings - mean[x]) ** 2, minlength=n_x) / np.maximum(count, 1)
    return mean, np.sqrt(var)


_SHARED_PARAMETERS = """
    Parameters
    ----------
    k : int, default=40
        Maximum number of neighbours taken into account.
    min_k : int, default=1
        Minimum number of contributing neighbours (positive similarity) for the neighbour
        term; below it the estimator falls back (see above).
    similarity : {"msd", "cosine", "pearson", "pearson_baseline"}, default="msd"
        Similarity measure (Surprise's ``sim_options["name"]``), see
        :func:`~sk_grouprec.baselines.similarities.iter_similarity_blocks`.
    user_based : bool, default=True
        Similarities between users (True) or between items (False).
    min_support : int, default=1
        Pairs with fewer common items (users) have similarity 0.
    shrinkage : float, default=100
        Shrinkage of the ``pearson_baseline`` similarity.
    baseline_method : {"als", "sgd"}, default="als"
        How the baseline estimates are fitted (Surprise's ``bsl_options["method"]``); used
        by KNNBaseline and by the ``pearson_baseline`` similarity, see
        :func:`~sk_grouprec.baselines.bias.fit_baselines`.
    baseline_n_epochs : int or None, default=None
        Passes of the baseline fit; None means 10 for ALS and 20 for SGD.
    reg_u, reg_i : float, default=15, 10
        Regularisation of user and item biases (ALS).
    reg : float, default=0.02
        Regularisation of the biases (SGD).
    learning_rate : float, default=0.005
        Step size of the biases (SGD).
    max_dense_entities : int, default=10_000
        Largest number of users (items when ``user_based=False``) whose full similarity
        matrix is kept (``8 * n**2`` bytes: 800 MB at the default). Above it, only the
        ``n_stored_neighbors`` most similar of each are kept (see the module notes).
    n_stored_neighbors : int, default=500
        Neighbours kept per entity above ``max_dense_entities``.
    verbose : bool, default=False
        Print progress messages while fitting.
"""

_SHARED_ATTRIBUTES = """
    Attributes
    ----------
    similarity_ : ndarray of shape (n, n) or scipy.sparse.csr_matrix
        Similarities between users (``user_based=True``) or items, indexed like
        ``user_index_`` (``item_index_``); sparse (kept neighbours only) above
        ``max_dense_entities``.
    user_bias_, item_bias_ : ndarray
        Baseline biases, present when the baselines were needed (KNNBaseline or the
        ``pearson_baseline`` similarity).
    global_mean_ : float
        Mean training rating.
    n_users_, n_items_ : int
        Number of users and items seen in ``fit``."""


class KNNBasic(_KNNBase):
    def _combine(self, users, items, x, average, ok):
        return np.where(ok, average, self.global_mean_)


class KNNWithMeans(_KNNBase):
    def _fit_normalisation(self, x, ratings, n_x):
        self.means_, _ = _means_and_stds(x, ratings, n_x)

    def _neighbour_values(self, x, y, ratings):
        return ratings - self.means_[x]

    def _combine(self, users, items, x, average, ok):
        return self.means_[x] + average


class KNNWithZScore(_KNNBase):
    def _fit_normalisation(self, x, ratings, n_x):
        self.means_, sigmas = _means_and_stds(x, ratings, n_x)
        # Surprise: an entity whose ratings are all equal (sigma 0) uses the overall sigma
        lowest = np.full(n_x, np.inf)
        highest = np.full(n_x, -np.inf)
        np.minimum.at(lowest, x, ratings)
        np.maximum.at(highest, x, ratings)
        self.overall_sigma_ = float(np.std(ratings))
        # all training ratings equal: every deviation is 0, any positive sigma gives it
        substitute = self.overall_sigma_ if self.overall_sigma_ > 0 else 1.0
        self.sigmas_ = np.where(lowest == highest, substitute, sigmas)

    def _neighbour_values(self, x, y, ratings):
        return (ratings - self.means_[x]) / self.sigmas_[x]

    def _combine(self, users, items, x, average, ok):
        return self.means_[x] + average * self.sigmas_[x]


class KNNBaseline(_KNNBase):
    _uses_baselines = True

    def _neighbour_values(self, x, y, ratings):
        bx, by = self._switch(self.user_bias_, self.item_bias_)
        return ratings - (self.global_mean_ + bx[x] + by[y])

    def _fallback(self, users, items):
        """The baseline estimate, with a zero bias for the unknown side(s)."""
        est = np.full(users.shape[0], self.global_mean_)
        est += np.where(users >= 0, self.user_bias_[np.maximum(users, 0)], 0.0)
        est += np.where(items >= 0, self.item_bias_[np.maximum(items, 0)], 0.0)
        return est

    def _combine(self, users, items, x, average, ok):
        return self.global_mean_ + self.user_bias_[users] + self.item_bias_[items] + average


KNNBasic.__doc__ = f"""Basic k-NN: the similarity-weighted average of the neighbours' ratings.

    .. math:: \\hat r_{{ui}} = \\frac{{\\sum_{{v \\in N_i^k(u)}} \\mathrm{{sim}}(u, v)\\, r_{{vi}}}}
              {{\\sum_{{v \\in N_i^k(u)}} \\mathrm{{sim}}(u, v)}}

    (item-based: the same over the items the user rated). Surprise's ``KNNBasic`` with its
    ``sim_options`` as plain keyword arguments; see the module notes for the neighbourhood
    rule. With fewer than ``min_k`` contributing neighbours, or an unknown user or item,
    the prediction is the global mean (Surprise's default prediction). Predictions are
    clipped to the training rating range.
{_SHARED_PARAMETERS}{_SHARED_ATTRIBUTES}

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_grouprec.baselines.knn import KNNBasic
    >>> X = pd.DataFrame({{"user_id": [1, 1, 2, 2, 3, 3], "item_id": [10, 11, 10, 11, 10, 12]}})
    >>> est = KNNBasic(k=2).fit(X, [5, 3, 4, 3, 1, 2])
    >>> est.predict(pd.DataFrame({{"user_id": [1, 3, 99], "item_id": [12, 11, 10]}})).round(2)
    array([2., 3., 3.])
    """

KNNWithMeans.__doc__ = f"""k-NN on mean-centred ratings.

    .. math:: \\hat r_{{ui}} = \\mu_u + \\frac{{\\sum_{{v \\in N_i^k(u)}} \\mathrm{{sim}}(u, v)
              (r_{{vi}} - \\mu_v)}}{{\\sum_{{v \\in N_i^k(u)}} \\mathrm{{sim}}(u, v)}}

    Surprise's ``KNNWithMeans``. With fewer than ``min_k`` contributing neighbours the
    neighbour term is 0 (the prediction is the user's mean, the item's mean when
    ``user_based=False``); with an unknown user or item it is the global mean (Surprise's
    default prediction). Predictions are clipped to the training rating range.
{_SHARED_PARAMETERS}{_SHARED_ATTRIBUTES}
    means_ : ndarray
        Mean rating of each user (each item when ``user_based=False``).

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_grouprec.baselines.knn import KNNWithMeans
    >>> X = pd.DataFrame({{"user_id": [1, 1, 2, 2, 3, 3], "item_id": [10, 11, 10, 11, 10, 12]}})
    >>> est = KNNWithMeans(k=2).fit(X, [5, 3, 4, 3, 1, 2])
    >>> est.predict(pd.DataFrame({{"user_id": [1, 3], "item_id": [12, 11]}})).round(2)
    array([4.5, 1. ])
    """

KNNWithZScore.__doc__ = f"""k-NN on z-score normalised ratings.

    .. math:: \\hat r_{{ui}} = \\mu_u + \\sigma_u \\frac{{\\sum_{{v \\in N_i^k(u)}}
              \\mathrm{{sim}}(u, v) (r_{{vi}} - \\mu_v) / \\sigma_v}}
              {{\\sum_{{v \\in N_i^k(u)}} \\mathrm{{sim}}(u, v)}}

    Surprise's ``KNNWithZScore``: :math:`\\sigma` is the population standard deviation of
    an entity's ratings, replaced by the standard deviation of all training ratings when it
    is 0 (all its ratings equal), and by 1 when all training ratings are equal. With fewer than ``min_k`` contributing neighbours the
    prediction is the user's (item's) mean; with an unknown user or item it is the global
    mean. Predictions are clipped to the training rating range.
{_SHARED_PARAMETERS}{_SHARED_ATTRIBUTES}
    means_, sigmas_ : ndarray
        Mean and (substituted) standard deviation of each user's (item's) ratings.
    overall_sigma_ : float
        Standard deviation of all training ratings.

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_grouprec.baselines.knn import KNNWithZScore
    >>> X = pd.DataFrame({{"user_id": [1, 1, 2, 2, 3, 3], "item_id": [10, 11, 10, 11, 10, 12]}})
    >>> est = KNNWithZScore(k=2).fit(X, [5, 3, 4, 3, 1, 2])
    >>> est.predict(pd.DataFrame({{"user_id": [1, 3], "item_id": [12, 11]}})).round(2)
    array([5., 1.])
    """

KNNBaseline.__doc__ = f"""k-NN on the residuals from the baseline estimates (Koren 2010, eq. 3).

    .. math:: \\hat r_{{ui}} = b_{{ui}} + \\frac{{\\sum_{{v \\in N_i^k(u)}} \\mathrm{{sim}}(u, v)
              (r_{{vi}} - b_{{vi}})}}{{\\sum_{{v \\in N_i^k(u)}} \\mathrm{{sim}}(u, v)}},
              \\qquad b_{{ui}} = \\mu + b_u + b_i

    Surprise's ``KNNBaseline`` with ``bsl_options`` as plain keyword arguments (the biases
    come from :func:`~sk_grouprec.baselines.bias.fit_baselines`). Surprise recommends the
    ``pearson_baseline`` similarity, but its default (kept here) is ``msd``. With fewer than
    ``min_k`` contributing neighbours the prediction is the baseline :math:`b_{{ui}}`; with an
    unknown user (item) the baseline with :math:`b_u = 0` (:math:`b_i = 0`). Predictions
    are clipped to the training rating range.
{_SHARED_PARAMETERS}{_SHARED_ATTRIBUTES}

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_grouprec.baselines.knn import KNNBaseline
    >>> X = pd.DataFrame({{"user_id": [1, 1, 2, 2, 3, 3], "item_id": [10, 11, 10, 11, 10, 12]}})
    >>> est = KNNBaseline(k=2, similarity="pearson_baseline", shrinkage=0).fit(X, [5, 3, 4, 3, 1, 2])
    >>> est.predict(pd.DataFrame({{"user_id": [1, 99], "item_id": [12, 10]}})).shape
    (2,)
    """
