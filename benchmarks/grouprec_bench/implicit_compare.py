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

Data come from :func:`sk_grouprec.datasets.load_mafengwo`, metrics from
:func:`sk_grouprec.metrics.evaluate_sampled` and
:func:`sk_grouprec.metrics.evaluate_full_catalogue`.

``implicit`` is called directly on the same binary CSR matrix (users and items in order
of first appearance, ``pandas.factorize``), with the same factors, epochs and seeds as our
estimators. Unknown users fall back to popularity in both.

BPR like for like (:func:`bpr_matched_table`): ``BPRMF`` configured as ``implicit``'s
BPR samples (negatives drawn in proportion to item popularity, a negative that is a
positive of the user skips the triple: ``negative_sampling="popularity"``,
``negative_redraws=0``) against ``implicit`` with the same factors, epochs, learning rate
and regularisation, at ``implicit``'s defaults and at ours, each side averaged over
:data:`MATCHED_SEEDS` (HR@10 of MovieLens' ~940 test users moves by about 0.01 from seed
to seed).

Entry points (no command line here; ``benchmarks/run.py`` wires them):
:func:`run_implicit_comparison` (the whole table), :func:`mafengwo_user_table`,
:func:`mafengwo_group_table`, :func:`movielens_implicit_table`, :func:`bpr_matched_table`,
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
from sk_grouprec.datasets import load_mafengwo
from sk_grouprec.metrics import evaluate_full_catalogue, evaluate_sampled, sample_negatives

K_VALUES = (5, 10)
N_FACTORS = 64
BPR_EPOCHS = 100
ALS_EPOCHS = 15
SEED = 0
#: seeds over which each side of the like-for-like BPR comparison is averaged
MATCHED_SEEDS = (0, 1, 2)
#: (learning rate, regularisation) of the like-for-like BPR comparison: implicit's
#: defaults, then BPRMF's
MATCHED_SETTINGS = ((0.01, 0.01), (0.05, 0.001))
#: the largest HR@10 difference counted as a match
MATCH_TOLERANCE = 0.01


# data ------------------------------------------------------------------------------------
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


def _sampled(model, test, negatives, level="user"):
    """The package's sampled protocol: ties against, a negative equal to the test item
    dropped, duplicates kept."""
    return evaluate_sampled(model, test, negatives, level=level, k=K_VALUES, ties="against")


def _full_catalogue(model, test, k=10):
    """Full-catalogue metrics of one held-out item per user (recall@k is then HR@k)."""
    metrics = evaluate_full_catalogue(model, test, k=k)
    return {f"hr@{k}": metrics[f"recall@{k}"], f"ndcg@{k}": metrics[f"ndcg@{k}"]}


class _GroupsAsUsers:
    """A user-level model scoring ``(group_id, item_id)`` rows as if the group were a user
    (popularity: the same score for everyone)."""

    def __init__(self, model):
        self.model = model

    def predict(self, rows):
        return self.model.predict(rows.rename(columns={"group_id": "user_id"}))


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

    def recommend(self, user_ids, n_items=10, *, exclude_rated=True):
        """``implicit``'s own top-N (training items filtered), as the package's frame."""
        user_ids = np.asarray(user_ids)
        u = self.users.get_indexer(user_ids)
        ids, scores = self.model.recommend(
            u, self.matrix[u], N=n_items, filter_already_liked_items=exclude_rated
        )
        return pd.DataFrame(
            {
                "user_id": np.repeat(user_ids, ids.shape[1]),
                "item_id": self.items.to_numpy()[ids.ravel()],
                "score": scores.ravel(),
                "rank": np.tile(np.arange(1, ids.shape[1] + 1), ids.shape[0]),
            }
        )


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
    recs = model.recommend(np.asarray(user_ids), n_items=n)
    return recs["item_id"].to_numpy().reshape(len(user_ids), n)


# the models ------------------------------------------------------------------------------------
def default_models(n_factors=N_FACTORS, bpr_epochs=BPR_EPOCHS, als_epochs=ALS_EPOCHS, seed=SEED):
    """Our estimators, by name, with the package defaults except factors/epochs/seed."""
    return {
        "MostPopular": MostPopular(),
        "ItemKNN": ItemKNN(),
        "EASE": EASE(),
        "BPRMF": BPRMF(n_factors=n_factors, n_epochs=bpr_epochs, random_state=seed),
        "ALS": ALS(n_factors=n_factors, n_epochs=als_epochs, random_state=seed),
    }


def _direct_models(models, seed):
    """``implicit`` called directly: BPR at its own defaults (learning rate 0.01,
    regularisation 0.01; same factors and epochs as our BPRMF, whose like-for-like
    comparison is :func:`bpr_matched_table`), ALS configured like ours."""
    direct = {}
    if "BPRMF" in models:
        bpr = models["BPRMF"]
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
    data = load_mafengwo(data_home)
    models = default_models(seed=seed) if models is None else models
    train, test, negatives = data.user_interactions, data.user_test, data.user_negatives
    rows = []
    every = dict(models)
    if with_implicit:
        every.update(_direct_models(models, seed))
    for name, model in every.items():
        fit_time = _timed_fit(model, train)
        row = {"dataset": "mafengwo users", "protocol": "sampled (100 negatives)", "model": name}
        row.update(_sampled(model, test, negatives))
        row["fit_time_s"] = fit_time
        rows.append(row)
    return pd.DataFrame(rows)


def members_with_group_rows(data):
    """Each member's training rows: his or her own (``userRatingTrain``) plus the training
    items of every group he or she belongs to (``groupRatingTrain``), duplicates dropped.
    Two thirds of the groups' test items never occur in the users' file, so a model fitted
    on it alone cannot score them."""
    group_rows = data.group_interactions.merge(data.groups, on="group_id")[["user_id", "item_id"]]
    both = pd.concat([data.user_interactions[["user_id", "item_id"]], group_rows], ignore_index=True)
    return both.drop_duplicates().reset_index(drop=True)


def mafengwo_group_table(data_home, *, seed=SEED, strategies=("average",), inner=None):
    """Mafengwo groups, sampled protocol: GroupAggregator over BPRMF against popularity.

    Two training sets for every model: the users' file alone ("user rows"), and the members'
    rows with their groups' training items added (:func:`members_with_group_rows`).
    Popularity on the user rows is the user-level popularity of the acceptance criterion.
    """
    data = load_mafengwo(data_home)
    members = data.groups
    test, negatives = data.group_test, data.group_negatives
    inner = BPRMF(random_state=seed) if inner is None else inner
    rows = []
    for data_name, train in (("user rows", data.user_interactions),
                             ("user + group rows", members_with_group_rows(data))):
        popularity = MostPopular()
        fit_time = _timed_fit(popularity, train)
        row = {"dataset": "mafengwo groups", "protocol": "sampled (100 negatives)",
               "model": f"MostPopular [{data_name}]"}
        row.update(_sampled(_GroupsAsUsers(popularity), test, negatives, level="group"))
        row["fit_time_s"] = fit_time
        rows.append(row)
        for strategy in strategies:
            agg = GroupAggregator(inner, strategy=strategy)
            start = time.perf_counter()
            agg.fit(train, None, groups=members)
            fit_time = time.perf_counter() - start
            row = {"dataset": "mafengwo groups", "protocol": "sampled (100 negatives)",
                   "model": f"GroupAggregator({type(inner).__name__}(), {strategy!r}) [{data_name}]"}
            row.update(_sampled(agg, test, negatives, level="group"))
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
    users = test["user_id"].to_numpy()
    rows, tops = [], {}
    for name, model in every.items():
        fit_time = _timed_fit(model, train)
        tops[name] = _top_items_of(model, users)
        row = {"dataset": "ml-100k implicit (>=4)", "protocol": "full catalogue, latest held out",
               "model": name}
        row.update(_full_catalogue(model, test))
        row["fit_time_s"] = fit_time
        rows.append(row)
    table = pd.DataFrame(rows)
    if "ALS" in tops and "implicit ALS" in tops:
        same = float((tops["ALS"] == tops["implicit ALS"]).all(axis=1).mean())
        table.loc[table["model"].isin(["ALS", "implicit ALS"]), "same_top10_as_implicit"] = same
    return table


def bpr_like_implicit(learning_rate, reg, seed, n_factors=N_FACTORS, n_epochs=BPR_EPOCHS):
    """``BPRMF`` sampling like ``implicit``'s BPR: negatives in proportion to the items'
    training users, a negative that is a positive of the user skips the triple."""
    return BPRMF(
        n_factors=n_factors, n_epochs=n_epochs, learning_rate=learning_rate, reg=reg,
        negative_sampling="popularity", negative_redraws=0, random_state=seed,
    )


def bpr_matched_table(data_home, *, seeds=MATCHED_SEEDS, settings=MATCHED_SETTINGS,
                      n_factors=N_FACTORS, n_epochs=BPR_EPOCHS):
    """``BPRMF`` configured like ``implicit``'s BPR (:func:`bpr_like_implicit`) against
    ``implicit`` called directly, at the same factors, epochs, learning rate and
    regularisation, on Mafengwo's users (sampled) and MovieLens 100K implicit (full
    catalogue).

    One row per (dataset, setting): each side's HR@10 averaged over ``seeds`` with its
    per-seed range, the difference (ours - implicit), whether it is within
    :data:`MATCH_TOLERANCE`, both mean fit times (one thread each) and their ratio.
    """
    data = load_mafengwo(data_home)
    ml_train, ml_test = movielens_implicit_split(data_home)
    datasets = {
        "mafengwo users": (data.user_interactions,
                           lambda m: _sampled(m, data.user_test, data.user_negatives)["hr@10"]),
        "ml-100k implicit (>=4)": (ml_train, lambda m: _full_catalogue(m, ml_test)["hr@10"]),
    }
    rows = []
    for dataset, (train, hr_at_10) in datasets.items():
        for lr, reg in settings:
            sides = {}
            for side in ("ours", "implicit"):
                hrs, times = [], []
                for seed in seeds:
                    model = (bpr_like_implicit(lr, reg, seed, n_factors, n_epochs) if side == "ours"
                             else _implicit_bpr(n_factors, n_epochs, lr, reg, seed))
                    times.append(_timed_fit(model, train))
                    hrs.append(hr_at_10(model))
                sides[side] = (np.array(hrs), float(np.mean(times)))
            (ours, t_ours), (theirs, t_theirs) = sides["ours"], sides["implicit"]
            diff = float(ours.mean() - theirs.mean())
            rows.append({
                "dataset": dataset, "lr, reg": f"{lr}, {reg}",
                "BPRMF hr@10": float(ours.mean()),
                "BPRMF per seed": _spread(ours),
                "implicit hr@10": float(theirs.mean()),
                "implicit per seed": _spread(theirs),
                "difference": diff,
                f"within {MATCH_TOLERANCE}": "yes" if abs(diff) <= MATCH_TOLERANCE else "no",
                "BPRMF fit_time_s": t_ours, "implicit fit_time_s": t_theirs,
                "time ratio (BPRMF / implicit)": t_ours / t_theirs,
            })
    return pd.DataFrame(rows)


def _spread(values):
    """``min-max`` of the per-seed values, 4 decimals."""
    return f"{values.min():.4f}-{values.max():.4f}"


def mafengwo_als_agreement(data_home, estimator=None):
    """How often our ALS and ``implicit`` called directly give the same top-10 (training
    items left out) to Mafengwo's test users.

    Returns ``(same_lists, same_sets, max_factor_difference)``: the fraction of users with
    the same ordered list, with the same set of 10 items (lists may order exactly tied
    scores differently), and the largest absolute difference between the user factors.
    """
    data = load_mafengwo(data_home)
    train, users = data.user_interactions, data.user_test["user_id"].to_numpy()
    ours = ALS(random_state=SEED) if estimator is None else estimator
    ours.fit(train)
    direct = _implicit_als(ours).fit(train)
    a, b = _top_items_of(ours, users), _top_items_of(direct, users)
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
    items drawn by :func:`sk_grouprec.metrics.sample_negatives` (uniform over the
    remaining training catalogue, never a training or held-out item of the user).

    Returns ``(train, held_out, negatives)``.
    """
    train = load_mafengwo(data_home).user_interactions[["user_id", "item_id"]]
    rng = np.random.default_rng(seed)
    shuffled = train.iloc[rng.permutation(len(train))]
    count = shuffled.groupby("user_id")["item_id"].transform("size")
    first = shuffled.groupby("user_id").cumcount() == 0
    held = first & (count >= 2)
    held_out = shuffled[held].sort_index().reset_index(drop=True)
    rest = shuffled[~held].sort_index().reset_index(drop=True)
    negatives = sample_negatives(MostPopular().fit(rest), held_out, n_negatives, random_state=seed)
    return rest, held_out, negatives


def validation_table(data_home, models, seed=SEED):
    """Sampled HR/NDCG of ``models`` (name -> estimator) on :func:`mafengwo_validation_split`."""
    train, held_out, negatives = mafengwo_validation_split(data_home, seed)
    rows = []
    for name, model in models.items():
        fit_time = _timed_fit(model, train)
        row = {"model": name}
        row.update(_sampled(model, held_out, negatives))
        row["fit_time_s"] = fit_time
        rows.append(row)
    return pd.DataFrame(rows)


# ``benchmarks/run.py --dataset implicit`` ------------------------------------------------
PROTOCOL = (
    "Mafengwo users and groups: sampled protocol (each test item ranked among its 100 "
    "published negatives, ties counted against it, a negative equal to the test item dropped, "
    "duplicates kept); MovieLens 100K made implicit (ratings >= 4), the latest positive of "
    "each user held out, every item ranked with the user's training positives left out. "
    f"Same factors ({N_FACTORS}), epochs (BPR {BPR_EPOCHS}, ALS {ALS_EPOCHS}) and seed for "
    "our estimators and `implicit` called directly; one torch thread. Defaults of our "
    "estimators were chosen on a validation split of userRatingTrain.txt "
    "(`mafengwo_validation_split`), never on the test files. In the first table each model "
    "runs at its own defaults (implicit BPR: learning rate 0.01, regularisation 0.01)."
)
MATCHED_PROTOCOL = (
    "BPRMF configured like implicit's BPR (`negative_sampling=\"popularity\"`: negatives in "
    "proportion to the items' training users; `negative_redraws=0`: a negative that is a "
    "positive of the user skips the triple, as implicit's `verify_negative_samples=True`) "
    "against `implicit.cpu.bpr.BayesianPersonalizedRanking` called directly, with the same "
    f"factors ({N_FACTORS}), epochs ({BPR_EPOCHS}), learning rate and regularisation, at "
    "implicit's defaults (0.01, 0.01) and at BPRMF's (0.05, 0.001); the protocols of the "
    "table above. Each side is averaged over seeds "
    f"{', '.join(map(str, MATCHED_SEEDS))} (HR@10 of MovieLens' ~940 test users moves by "
    "about 0.01 from seed to seed); per seed: min-max over the seeds; difference: BPRMF - "
    "implicit; fit times: means over the seeds, one thread each, measured in the same run."
)


def run(args, output):
    """Write the side-by-side tables (``report.md``, ``implicit.csv``, ``bpr_matched.csv``)
    under ``output``."""
    import torch

    from . import report

    torch.set_num_threads(1)
    data_home = args.data_home or _default_data_home()
    table = run_implicit_comparison(data_home, seed=args.seed)
    matched = bpr_matched_table(data_home)
    output.mkdir(parents=True, exist_ok=True)
    table.to_csv(output / "implicit.csv", index=False)
    matched.to_csv(output / "bpr_matched.csv", index=False)
    agreement = "".join(
        f"\n- {key.replace('_', ' ')}: {value:.4g}" for key, value in table.attrs.items()
    )
    body = report.table_markdown(table, "dataset", skip=("protocol",)) + ("\n\nOur ALS against `implicit` ALS on Mafengwo's test users:"
                                     + agreement if agreement else "")
    body += ("\n\n#### BPR like for like\n\nProtocol: " + MATCHED_PROTOCOL + "\n\n"
             + report.table_markdown(_times_as_text(matched), "dataset"))
    records = table.to_dict("records") + [{"table": "bpr_matched", **row}
                                          for row in matched.to_dict("records")]
    text = report.write_report(output, "Top-N baselines side by side with implicit", PROTOCOL,
                               body, started=args.started, records=records)
    print(text)
    return table


def _times_as_text(table):
    """``table`` with its fit-time and ratio columns written with 2 decimals."""
    table = table.copy()
    for column in table.columns:
        if "fit_time" in column or column.startswith("time ratio"):
            table[column] = table[column].map("{:.2f}".format)
    return table


def _default_data_home():
    from sk_grouprec.datasets._fetch import get_data_home

    return get_data_home()
