"""The top-N baselines side by side with the ``implicit`` package (0.7).

Two protocols:

- **Mafengwo, sampled** (the group-recommendation literature's): fit on
  ``userRatingTrain.txt``; each line of ``userRatingTest.txt`` ranks its test item among
  the 100 published negatives of ``userRatingNegative.txt``. Ties count against the test
  item, a negative equal to the test item is dropped (it is the test item, not a
  competitor), duplicated negatives are kept. HR@K = 1 when fewer than K candidates score
  at least as high as the test item; NDCG@K = 1 / log2(rank + 2) then, rank 0-based.
  The same for groups (``groupRating*``), where group scores come from
  ``GroupAggregator`` over the members' individual models.
- **MovieLens 100K made implicit, full catalogue**: ratings >= 4 are the positives; the
  latest positive of each user (by timestamp, the last row on ties) is held out, users
  with a single positive only train; every item is ranked, the user's training positives
  left out. HR@10 (one held-out item: hit rate = recall) and NDCG@10.

``implicit`` is called directly on the same binary CSR matrix (users and items in order
of first appearance, ``pandas.factorize``), with the same factors, epochs and seeds as our
estimators. Unknown users fall back to popularity in both.

Entry points (no command line here; ``benchmarks/run.py`` wires them):
:func:`run_implicit_comparison` (the whole table), :func:`mafengwo_user_table`,
:func:`mafengwo_group_table`, :func:`movielens_implicit_table`,
:func:`validation_table` (the split on which defaults were chosen).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from sk_grouprec import GroupAggregator
from sk_grouprec.baselines import ALS, BPRMF, EASE, ItemKNN, MostPopular

K_VALUES = (5, 10)
N_FACTORS = 64
BPR_EPOCHS = 100
ALS_EPOCHS = 15
SEED = 0


# data ------------------------------------------------------------------------------------
def _read_pairs(path, first="user_id"):
    frame = pd.read_csv(path, sep=" ", header=None, names=[first, "item_id"], dtype=np.int64)
    return frame


def _read_negatives(path):
    """``(id,item) n1 ... n100`` lines as an int array of shape (n_lines, 100)."""
    rows = []
    with open(path) as handle:
        for line in handle:
            rows.append(line.split()[1:])
    return np.asarray(rows, dtype=np.int64)


def _read_members(path):
    groups, users = [], []
    with open(path) as handle:
        for line in handle:
            group, members = line.split()
            ids = members.split(",")
            groups.extend([int(group)] * len(ids))
            users.extend(int(u) for u in ids)
    return pd.DataFrame({"group_id": groups, "user_id": users})


def load_mafengwo_files(data_home):
    """The Mafengwo files as frames and arrays (a small private reader for the benchmark)."""
    root = Path(data_home) / "mafengwo"
    return {
        "user_train": _read_pairs(root / "userRatingTrain.txt"),
        "user_test": _read_pairs(root / "userRatingTest.txt"),
        "user_negatives": _read_negatives(root / "userRatingNegative.txt"),
        "group_train": _read_pairs(root / "groupRatingTrain.txt", "group_id"),
        "group_test": _read_pairs(root / "groupRatingTest.txt", "group_id"),
        "group_negatives": _read_negatives(root / "groupRatingNegative.txt"),
        "members": _read_members(root / "groupMember.txt"),
    }


def movielens_implicit_split(data_home):
    """MovieLens 100K, ratings >= 4 as positives, the latest positive of each user held out.

    Returns ``(train, test)`` frames with ``user_id`` and ``item_id``.
    """
    path = Path(data_home) / "ml-100k" / "u.data"
    data = pd.read_csv(path, sep="\t", header=None, names=["user_id", "item_id", "rating", "ts"])
    pos = data[data["rating"] >= 4].sort_values(["user_id", "ts"], kind="stable")
    count = pos.groupby("user_id")["item_id"].transform("size")
    last = pos.groupby("user_id").cumcount() == count - 1
    held = last & (count >= 2)
    cols = ["user_id", "item_id"]
    return pos.loc[~held, cols].reset_index(drop=True), pos.loc[held, cols].reset_index(drop=True)


# metrics ---------------------------------------------------------------------------------
def _sampled_metrics(test_scores, negative_scores, negative_is_test, ks=K_VALUES):
    """HR@K / NDCG@K of the sampled protocol, ties against the test item."""
    beats = (negative_scores >= test_scores[:, None]) & ~negative_is_test
    rank = beats.sum(axis=1)
    out = {}
    for k in ks:
        hit = rank < k
        out[f"HR@{k}"] = float(hit.mean())
        out[f"NDCG@{k}"] = float(np.where(hit, 1.0 / np.log2(rank + 2.0), 0.0).mean())
    return out


def _full_catalogue_metrics(top_items, test_items, k=10):
    """HR@k and NDCG@k of one held-out item per user, from each user's top-k list."""
    match = top_items[:, :k] == test_items[:, None]
    hit = match.any(axis=1)
    rank = match.argmax(axis=1)
    return {
        f"HR@{k}": float(hit.mean()),
        f"NDCG@{k}": float(np.where(hit, 1.0 / np.log2(rank + 2.0), 0.0).mean()),
    }


def _sampled_pairs(test, negatives, id_col):
    """Long frame of (id, item) pairs: the test item then its 100 negatives per line."""
    n, width = negatives.shape
    ids = np.repeat(test[id_col].to_numpy(), width + 1)
    items = np.column_stack([test["item_id"].to_numpy(), negatives]).ravel()
    return pd.DataFrame({id_col: ids, "item_id": items})


def _evaluate_sampled(scores, test, negatives):
    scores = np.asarray(scores, dtype=np.float64).reshape(negatives.shape[0], -1)
    is_test = negatives == test["item_id"].to_numpy()[:, None]
    return _sampled_metrics(scores[:, 0], scores[:, 1:], is_test)


# implicit called directly --------------------------------------------------------------------
class _DirectImplicit:
    """``implicit`` fitted on the CSR matrix of ``train`` (first-appearance order), scoring
    pairs with the same fall-backs as the package (popularity for unknown users, 0 for
    unknown items)."""

    def __init__(self, model):
        self.model = model

    def fit(self, train):
        self.users, user_codes = _factorize(train["user_id"])
        self.items, item_codes = _factorize(train["item_id"])
        matrix = sp.csr_matrix(
            (np.ones(len(train), dtype=np.float32), (user_codes, item_codes)),
            shape=(len(self.users), len(self.items)),
        )
        matrix.data[:] = 1.0
        self.matrix = matrix
        self.popularity = np.asarray((matrix > 0).sum(axis=0)).ravel() / matrix.shape[0]
        self.model.fit(matrix, show_progress=False)
        return self

    def predict(self, X):
        u = self.users.get_indexer(X["user_id"])
        i = self.items.get_indexer(X["item_id"])
        out = np.zeros(len(X))
        both = (u >= 0) & (i >= 0)
        uf, itf = self.model.user_factors, self.model.item_factors
        out[both] = np.einsum("ij,ij->i", uf[u[both]], itf[i[both]])
        cold = (u < 0) & (i >= 0)
        out[cold] = self.popularity[i[cold]]
        return out

    def top_items(self, user_ids, n=10):
        u = self.users.get_indexer(user_ids)
        ids, _ = self.model.recommend(u, self.matrix[u], N=n, filter_already_liked_items=True)
        return self.items.to_numpy()[ids]


def _factorize(values):
    codes, uniques = pd.factorize(pd.Series(values))
    return pd.Index(uniques), codes


def _implicit_bpr(n_factors, n_epochs, learning_rate, reg, seed):
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    return _DirectImplicit(
        BayesianPersonalizedRanking(
            factors=n_factors, learning_rate=learning_rate, regularization=reg,
            iterations=n_epochs, num_threads=1, random_state=seed,
        )
    )


def _implicit_als(estimator):
    from implicit.cpu.als import AlternatingLeastSquares

    return _DirectImplicit(
        AlternatingLeastSquares(
            factors=estimator.n_factors, regularization=estimator.reg, alpha=estimator.alpha,
            iterations=estimator.n_epochs, use_cg=estimator.use_cg, num_threads=1,
            random_state=estimator.random_state,
        )
    )


def _top_items_of(model, user_ids, n=10):
    recs = model.recommend(user_ids, n_items=n)
    return recs["item_id"].to_numpy().reshape(len(user_ids), n)


# the models ------------------------------------------------------------------------------------
def default_models(n_factors=N_FACTORS, bpr_epochs=BPR_EPOCHS, als_epochs=ALS_EPOCHS, seed=SEED):
    """Our estimators, by name, with the package defaults except factors/epochs/seed."""
    return {
        "MostPopular": MostPopular(),
        "ItemKNN": ItemKNN(),
        "EASE": EASE(),
        "BPRMF": BPRMF(n_factors=n_factors, n_epochs=bpr_epochs, random_state=seed),
        # at implicit's own step and regularisation: the like-for-like comparison
        "BPRMF (lr=0.01, reg=0.01)": BPRMF(
            n_factors=n_factors, n_epochs=bpr_epochs, learning_rate=0.01, reg=0.01,
            random_state=seed,
        ),
        "ALS": ALS(n_factors=n_factors, n_epochs=als_epochs, random_state=seed),
    }


def _direct_models(models, seed):
    """``implicit`` called directly, configured like our BPRMF and ALS."""
    direct = {}
    if "BPRMF" in models:
        bpr = models["BPRMF"]
        direct["implicit BPR"] = _implicit_bpr(
            bpr.n_factors, bpr.n_epochs, bpr.learning_rate, bpr.reg, seed
        )
        # implicit's own learning rate and regularisation (its per-triple updates prefer a
        # smaller step than our mini-batches)
        direct["implicit BPR (lr=0.01, reg=0.01)"] = _implicit_bpr(
            bpr.n_factors, bpr.n_epochs, 0.01, 0.01, seed
        )
    if "ALS" in models:
        direct["implicit ALS"] = _implicit_als(models["ALS"])
    return direct


def _timed_fit(model, train):
    start = time.perf_counter()
    model.fit(train)
    return time.perf_counter() - start


# tables ------------------------------------------------------------------------------------
def mafengwo_user_table(data_home, models=None, *, seed=SEED, with_implicit=True):
    """Mafengwo users, sampled protocol: one row per model (HR/NDCG@5/10, fit time)."""
    files = load_mafengwo_files(data_home)
    models = default_models(seed=seed) if models is None else models
    train, test, negatives = files["user_train"], files["user_test"], files["user_negatives"]
    pairs = _sampled_pairs(test, negatives, "user_id")
    rows = []
    every = dict(models)
    if with_implicit:
        every.update(_direct_models(models, seed))
    for name, model in every.items():
        fit_time = _timed_fit(model, train)
        row = {"dataset": "mafengwo users", "protocol": "sampled (100 negatives)", "model": name}
        row.update(_evaluate_sampled(model.predict(pairs), test, negatives))
        row["fit_time_s"] = fit_time
        rows.append(row)
    return pd.DataFrame(rows)


def members_with_group_rows(files):
    """Each member's training rows: his or her own (``userRatingTrain``) plus the training
    items of every group he or she belongs to (``groupRatingTrain``), duplicates dropped.
    Two thirds of the groups' test items never occur in the users' file, so a model fitted
    on it alone cannot score them."""
    group_rows = files["group_train"].merge(files["members"], on="group_id")[["user_id", "item_id"]]
    both = pd.concat([files["user_train"], group_rows], ignore_index=True)
    return both.drop_duplicates().reset_index(drop=True)


def mafengwo_group_table(data_home, *, seed=SEED, strategies=("average",), inner=None):
    """Mafengwo groups, sampled protocol: GroupAggregator over BPRMF against popularity.

    Two training sets for every model: the users' file alone ("user rows"), and the members'
    rows with their groups' training items added (:func:`members_with_group_rows`).
    Popularity on the user rows is the user-level popularity of the acceptance criterion.
    """
    files = load_mafengwo_files(data_home)
    members = files["members"]
    test, negatives = files["group_test"], files["group_negatives"]
    pairs = _sampled_pairs(test, negatives, "group_id")
    inner = BPRMF(random_state=seed) if inner is None else inner
    rows = []
    for data_name, train in (("user rows", files["user_train"]),
                             ("user + group rows", members_with_group_rows(files))):
        popularity = MostPopular()
        fit_time = _timed_fit(popularity, train)
        row = {"dataset": "mafengwo groups", "protocol": "sampled (100 negatives)",
               "model": f"MostPopular [{data_name}]"}
        scores = popularity.predict(pairs.rename(columns={"group_id": "user_id"}))
        row.update(_evaluate_sampled(scores, test, negatives))
        row["fit_time_s"] = fit_time
        rows.append(row)
        for strategy in strategies:
            agg = GroupAggregator(inner, strategy=strategy)
            start = time.perf_counter()
            agg.fit(train, None, groups=members)
            fit_time = time.perf_counter() - start
            row = {"dataset": "mafengwo groups", "protocol": "sampled (100 negatives)",
                   "model": f"GroupAggregator({type(inner).__name__}(), {strategy!r}) [{data_name}]"}
            row.update(_evaluate_sampled(agg.predict(pairs), test, negatives))
            row["fit_time_s"] = fit_time
            rows.append(row)
    return pd.DataFrame(rows)


def movielens_implicit_table(data_home, models=None, *, seed=SEED, with_implicit=True):
    """MovieLens 100K made implicit, full catalogue; also the fraction of users whose ALS
    top-10 list is the same from our ALS and from ``implicit`` (column
    ``same_top10_as_implicit``, on the ALS rows)."""
    train, test = movielens_implicit_split(data_home)
    models = default_models(seed=seed) if models is None else models
    every = dict(models)
    if with_implicit:
        every.update(_direct_models(models, seed))
    users, held = test["user_id"].to_numpy(), test["item_id"].to_numpy()
    rows, tops = [], {}
    for name, model in every.items():
        fit_time = _timed_fit(model, train)
        top = model.top_items(users) if isinstance(model, _DirectImplicit) else _top_items_of(model, users)
        tops[name] = top
        row = {"dataset": "ml-100k implicit (>=4)", "protocol": "full catalogue, latest held out",
               "model": name}
        row.update(_full_catalogue_metrics(top, held))
        row["fit_time_s"] = fit_time
        rows.append(row)
    table = pd.DataFrame(rows)
    if "ALS" in tops and "implicit ALS" in tops:
        same = float((tops["ALS"] == tops["implicit ALS"]).all(axis=1).mean())
        table.loc[table["model"].isin(["ALS", "implicit ALS"]), "same_top10_as_implicit"] = same
    return table


def mafengwo_als_agreement(data_home, estimator=None):
    """How often our ALS and ``implicit`` called directly give the same top-10 (training
    items left out) to Mafengwo's test users.

    Returns ``(same_lists, same_sets, max_factor_difference)``: the fraction of users with
    the same ordered list, with the same set of 10 items (lists may order exactly tied
    scores differently), and the largest absolute difference between the user factors.
    """
    files = load_mafengwo_files(data_home)
    train, users = files["user_train"], files["user_test"]["user_id"].to_numpy()
    ours = ALS(random_state=SEED) if estimator is None else estimator
    ours.fit(train)
    direct = _implicit_als(ours).fit(train)
    a, b = _top_items_of(ours, users), direct.top_items(users)
    same_sets = np.mean([set(x) == set(y) for x, y in zip(a, b)])
    diff = float(np.abs(ours.user_factors_ - direct.model.user_factors).max())
    return float((a == b).all(axis=1).mean()), float(same_sets), diff


def run_implicit_comparison(data_home, *, seed=SEED, with_implicit=True):
    """The whole comparison: Mafengwo users and groups (sampled), MovieLens 100K implicit
    (full catalogue). One row per (dataset, model); ``table.attrs`` holds the agreement of
    our ALS with ``implicit`` on Mafengwo (:func:`mafengwo_als_agreement`)."""
    tables = [
        mafengwo_user_table(data_home, seed=seed, with_implicit=with_implicit),
        mafengwo_group_table(data_home, seed=seed, strategies=("average", "least_misery", "borda")),
        movielens_implicit_table(data_home, seed=seed, with_implicit=with_implicit),
    ]
    table = pd.concat(tables, ignore_index=True)
    if with_implicit:
        lists, sets, diff = mafengwo_als_agreement(data_home)
        table.attrs["mafengwo_als_same_top10_lists"] = lists
        table.attrs["mafengwo_als_same_top10_sets"] = sets
        table.attrs["mafengwo_als_max_factor_difference"] = diff
    return table


# validation (how the defaults were chosen) ------------------------------------------------
def mafengwo_validation_split(data_home, seed=SEED, n_negatives=100):
    """A validation split carved from ``userRatingTrain.txt`` only: one random training
    positive of each user with at least two is held out and ranked among ``n_negatives``
    uniform items the user never interacted with in the training file.

    Returns ``(train, held_out, negatives)``.
    """
    train = load_mafengwo_files(data_home)["user_train"]
    rng = np.random.default_rng(seed)
    shuffled = train.iloc[rng.permutation(len(train))]
    count = shuffled.groupby("user_id")["item_id"].transform("size")
    first = shuffled.groupby("user_id").cumcount() == 0
    held = first & (count >= 2)
    held_out = shuffled[held].sort_index().reset_index(drop=True)
    rest = shuffled[~held].sort_index().reset_index(drop=True)
    items = np.sort(train["item_id"].unique())
    seen = set(zip(train["user_id"], train["item_id"]))
    negatives = np.empty((len(held_out), n_negatives), dtype=np.int64)
    for row, user in enumerate(held_out["user_id"].to_numpy()):
        draw = rng.choice(items, size=n_negatives * 2)
        keep = [j for j in draw if (user, j) not in seen][:n_negatives]
        negatives[row] = keep
    return rest, held_out, negatives


def validation_table(data_home, models, seed=SEED):
    """Sampled HR/NDCG of ``models`` (name -> estimator) on :func:`mafengwo_validation_split`."""
    train, held_out, negatives = mafengwo_validation_split(data_home, seed)
    pairs = _sampled_pairs(held_out, negatives, "user_id")
    rows = []
    for name, model in models.items():
        fit_time = _timed_fit(model, train)
        row = {"model": name}
        row.update(_evaluate_sampled(model.predict(pairs), held_out, negatives))
        row["fit_time_s"] = fit_time
        rows.append(row)
    return pd.DataFrame(rows)
