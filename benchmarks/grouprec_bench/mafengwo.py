"""Mafengwo: top-N recommendation to real travel groups from implicit feedback.

The group-recommendation literature's benchmark (AGREE, SIGIR 2018; ConsRec, WWW 2023), on
the published train/test files and their 100 published negatives per test line:

- **sampled** HR@K / NDCG@K, K = 5 and 10: each test item ranked among its negatives, a
  negative equal to the test item dropped, duplicates kept, ties counted *against* the test
  item (AGREE's evaluator); the same with ties counted *for* it (ConsRec's evaluator, where a
  constant scorer gets HR = 1), labelled ``ties for``;
- **full catalogue** Recall@10 / NDCG@10: every item the model knows ranked, the user's (the
  group's) training items left out;
- HR@K against K (1..20, sampled, ties against) per model, plotted.

Models: popularity by group-train and by user-train counts; the top-N baselines alone (users:
fitted on the users' rows; groups: fitted on the groups' rows, a group taken as a user) and
through :class:`~sk_grouprec.GroupAggregator` over the members (fitted on each member's own
rows plus the training items of his or her groups); ``GroupDMTLRecommender`` with
``objective="bpr"`` and ``"bce"`` at its defaults, trained jointly on the user and group
rows; :class:`~sk_grouprec.ensemble.BlendedRecommender` of that DMTL and EASE (users); the
published AGREE and ConsRec rows, labelled as published.

The same tables run on any folder in the AGREE/ConsRec layout (``benchmarks/run.py --dataset
group-folder --folder PATH``: CAMRa2011, a household's log, data you hold), without the
published rows, which belong to Mafengwo. Every table function takes the dataset as ``data``
(a :func:`~sk_grouprec.datasets.load_group_folder` Bunch) or, when it is None, loads
Mafengwo from ``data_home``.

Entry points: :func:`run` (``benchmarks/run.py --dataset mafengwo``) and
:func:`validation_table` (how ``GroupDMTLRecommender``'s ranking defaults were chosen, on the
train files only: ``benchmarks/run.py --dataset mafengwo --validation``) and
:func:`blend_validation_table` (the blend's weights: ``--blend-validation``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sk_grouprec import GroupAggregator, GroupDMTLRecommender
from sk_grouprec.baselines import ALS, BPRMF, EASE, ItemKNN, MostPopular
from sk_grouprec.datasets import load_group_folder, load_mafengwo
from sk_grouprec.ensemble import BlendedRecommender
from sk_grouprec.metrics import evaluate_full_catalogue, evaluate_sampled
from sk_grouprec.model_selection import LeaveKOut

from .implicit_compare import members_with_group_rows

K_VALUES = (5, 10)
CURVE_K = tuple(range(1, 21))
SEED = 0

#: Published results on these files (HR@5, NDCG@5, HR@10, NDCG@10).
PUBLISHED = [
    ("group", "Popularity (published, AGREE paper)", (0.3115, 0.2169, 0.4251, 0.2537)),
    ("group", "NCF (published, AGREE paper)", (0.4291, 0.3405, 0.6181, 0.4020)),
    ("group", "AGREE (published, AGREE paper)", (0.4814, 0.3747, 0.6400, 0.4244)),
    ("group", "ConsRec (published, as tabulated in AlignGroup; ties for)",
     (0.8844, 0.7692, 0.9156, 0.7794)),
    ("user", "AGREE (published, AGREE paper)", (0.6383, 0.5502, 0.7491, 0.5775)),
    ("user", "ConsRec (published, as tabulated in AlignGroup; ties for)",
     (0.7725, 0.6884, 0.8404, 0.7107)),
]


class _GroupsAsUsers:
    """A user-level model fitted on group rows (``group_id`` renamed ``user_id``), seen by
    the evaluators as a group model."""

    def __init__(self, model):
        self.model = model

    def fit(self, group_rows):
        self.model.fit(group_rows.rename(columns={"group_id": "user_id"})[["user_id", "item_id"]])
        return self

    def predict(self, rows):
        return self.model.predict(rows.rename(columns={"group_id": "user_id"}))

    def recommend(self, group_ids, n_items=10, *, exclude_rated=True):
        recs = self.model.recommend(group_ids, n_items=n_items, exclude_rated=exclude_rated)
        return recs.rename(columns={"user_id": "group_id"})


def baselines(seed=SEED):
    """The top-N baselines at their package defaults (seeded)."""
    return {
        "MostPopular": lambda: MostPopular(),
        "ItemKNN": lambda: ItemKNN(),
        "EASE": lambda: EASE(),
        "BPRMF": lambda: BPRMF(random_state=seed),
        "ALS": lambda: ALS(random_state=seed),
    }


def _evaluate(model, level, test, negatives):
    row = {}
    metrics, ranks = evaluate_sampled(model, test, negatives, level=level, k=K_VALUES,
                                      ties="against", return_ranks=True)
    row.update({key: float(value) for key, value in metrics.items()})
    ties_for = evaluate_sampled(model, test, negatives, level=level, k=K_VALUES, ties="for")
    row.update({f"{key} (ties for)": float(value) for key, value in ties_for.items()})
    full = evaluate_full_catalogue(model, test, level=level, k=10)
    row["full recall@10"] = float(full["recall@10"])
    row["full ndcg@10"] = float(full["ndcg@10"])
    ranks = np.asarray(ranks)
    curve = [float((ranks < k).mean()) for k in CURVE_K]
    return row, curve


def _dataset(data_home, data):
    """``data`` when given (a :func:`~sk_grouprec.datasets.load_group_folder` Bunch), else
    Mafengwo read from ``data_home``."""
    return load_mafengwo(data_home) if data is None else data


def _timed(model, *args, **kwargs):
    """``model.fit(*args, **kwargs)`` and its wall time."""
    start = time.perf_counter()
    model.fit(*args, **kwargs)
    return model, time.perf_counter() - start


def mafengwo_tables(data_home=None, seed=SEED, models=None, *, data=None):
    """Rows ``(level, model, metrics..., fit_time_s)`` and the HR@K curves per model; the
    published rows (:data:`PUBLISHED`) only for Mafengwo (``data`` None)."""
    published = PUBLISHED if data is None else ()
    data = _dataset(data_home, data)
    users = data.user_interactions[["user_id", "item_id"]]
    group_rows = data.group_interactions[["group_id", "item_id"]]
    members = data.groups
    members_rows = members_with_group_rows(data)
    models = baselines(seed) if models is None else models
    rows, curves = [], {}

    def add(level, name, model, fit_time):
        test, negatives = (
            (data.group_test, data.group_negatives) if level == "group"
            else (data.user_test, data.user_negatives)
        )
        metrics, curve = _evaluate(model, level, test, negatives)
        rows.append({"level": level, "model": name, **metrics, "fit_time_s": fit_time})
        curves[f"{level}: {name}"] = curve

    pop_groups, t = _timed(_GroupsAsUsers(MostPopular()), group_rows)
    add("group", "popularity by group-train counts", pop_groups, t)
    pop_users, t = _timed(MostPopular(), users)
    add("user", "popularity by user-train counts", pop_users, t)
    for name, make in models.items():
        if name != "MostPopular":  # the popularity rows above
            model, t = _timed(make(), users)
            add("user", name, model, t)
            model, t = _timed(_GroupsAsUsers(make()), group_rows)
            add("group", f"{name} [group rows]", model, t)
        model, t = _timed(GroupAggregator(make(), strategy="average"), members_rows, None,
                          groups=members)
        add("group", f"GroupAggregator({name}, 'average') [members' rows]", model, t)
    objectives = ("bpr", "bce") if "objective" in GroupDMTLRecommender().get_params() else ()
    for objective in objectives:
        model, t = _timed(GroupDMTLRecommender(objective=objective, random_state=seed),
                          users, None, groups=members, X_group=group_rows)
        name = f"GroupDMTLRecommender(objective={objective!r})"
        add("user", name, model, t)
        add("group", name, model, t)
    if objectives:
        model, t = _timed(dmtl_ease_blend(seed), users, None, groups=members, X_group=group_rows)
        add("user", "BlendedRecommender(DMTL 'bpr' + EASE, equal weights)", model, t)
        add("group", "BlendedRecommender(DMTL 'bpr' + EASE [group rows], group weights "
            f"{GROUP_BLEND_WEIGHTS})", model, t)
    for level, name, values in published:
        rows.append({"level": level, "model": name,
                     **dict(zip(("hr@5", "ndcg@5", "hr@10", "ndcg@10"), values))})
    return pd.DataFrame(rows), curves


# validation: the train files only ---------------------------------------------------------
#: Settings compared on :func:`validation_split` (the defaults are the first row).
VALIDATION_SETTINGS = {
    "defaults (weight_decay=None: 0.1, max_epochs=None: 50, dropout=None: 0.5)": {},
    "max_epochs=30": {"max_epochs": 30},
    "weight_decay=1.0": {"weight_decay": 1.0},
    "weight_decay=0.3": {"weight_decay": 0.3},
    "embedding_size=64": {"embedding_size": 64},
    "n_negatives=8": {"n_negatives": 8},
    "weight_decay=0.03": {"weight_decay": 0.03},
    "lr=0.005": {"lr": 0.005},
    "lr=0.02": {"lr": 0.02},
    "lambda_group=0.5": {"lambda_group": 0.5},
    "lambda_group=2.0": {"lambda_group": 2.0},
    "use_attention=False": {"use_attention": False},
    "batch_size=512": {"batch_size": 512},
    "batch_size=2048": {"batch_size": 2048},
    "hidden_size=64": {"hidden_size": 64},
    "dropout=0.1": {"dropout": 0.1},
    "dropout=0.0": {"dropout": 0.0},
    "max_epochs=10": {"max_epochs": 10},
    "use_biases=False": {"use_biases": False},
    "use_dot_product=False": {"use_dot_product": False},
    "use_implicit_feedback=False": {"use_implicit_feedback": False},
    "embedding_size=16": {"embedding_size": 16},
    "n_negatives=2": {"n_negatives": 2},
    "member_pooling='mean'": {"member_pooling": "mean"},
    "group_embedding=False": {"group_embedding": False},
    "optimizer='adam'": {"optimizer": "adam"},
    "negative_temperature=1.0": {"negative_temperature": 1.0},
    "negative_sampling=0.5": {"negative_sampling": 0.5},
    "negative_sampling='popularity'": {"negative_sampling": "popularity"},
}

#: The negative-sampling settings compared over split seeds 0, 1, 2 by
#: ``--negatives-validation`` (how ``negative_temperature``'s default was chosen).
NEGATIVE_SETTINGS = {
    "dropout=0.0, negative_temperature=None": {"dropout": 0.0},
    "dropout=0.0, negative_temperature=1.0": {"dropout": 0.0, "negative_temperature": 1.0},
    "dropout=0.0, negative_temperature=0.5": {"dropout": 0.0, "negative_temperature": 0.5},
    "dropout=0.0, negative_temperature=2.0": {"dropout": 0.0, "negative_temperature": 2.0},
    "dropout=0.0, negative_sampling=0.5": {"dropout": 0.0, "negative_sampling": 0.5},
    "dropout=0.0, objective='bce'": {"dropout": 0.0, "objective": "bce"},
    "dropout=0.0, objective='bce', negative_temperature=1.0": {"dropout": 0.0,
                                                              "objective": "bce",
                                                              "negative_temperature": 1.0},
}


#: The dropout rates compared over split seeds by ``--dropout-validation`` (how the ranking
#: default ``dropout=None: 0.5`` was chosen, on Mafengwo and on folders the package does not
#: ship).
DROPOUT_SETTINGS = {
    "defaults (dropout=None: 0.5)": {},
    "dropout=0.0": {"dropout": 0.0},
}


MAFENGWO_NEGATIVES_REMARK = (
    "The published user negatives are not uniform: a third of the user test lines draw about "
    "30 of their 100 negatives from the 50 items most visited in the user train file, so these "
    "sampled cases are easier than the test files'."
)

VALIDATION_PROTOCOL = (
    "Train files only (validation_split): one random training interaction held out per user "
    "and per group with at least two; 100 negatives per case drawn uniformly with replacement "
    "from the whole catalogue (training items of the same user not excluded); sampled HR/NDCG, "
    f"ties against. {MAFENGWO_NEGATIVES_REMARK} `full` columns rank "
    "every item (training items left out), whatever the negatives: the criterion that does not "
    "depend on how negatives are drawn. One torch thread, seed 0."
)

DROPOUT_PROTOCOL = (
    "Train files only: validation_split for each split seed (the protocol of the validation "
    "table: sampled HR/NDCG against 100 uniform negatives, ties against, and `full` columns "
    "ranking every item, training items left out), GroupDMTLRecommender(objective='bpr', "
    "random_state=split seed) at its defaults (dropout=None: 0.5 for ranking) and with "
    "dropout=0.0, then the mean over split seeds. How the ranking default of dropout was "
    "chosen, with the same table on two folders the package does not ship (see the user "
    "guide). One torch thread."
)

NEGATIVES_PROTOCOL = (
    "Train files only: validation_split for each split seed (the protocol of the validation "
    "table: sampled HR/NDCG against 100 uniform negatives, ties against, and `full` columns "
    "ranking every item, training items left out), GroupDMTLRecommender(objective='bpr', "
    "random_state=split seed) under each setting, then the mean over split seeds per setting. "
    "How the default of negative_temperature was chosen (see the user guide), before the "
    "ranking default of dropout became 0.5: every row has dropout=0.0, the default of then, so "
    "that the record reproduces that choice. One torch thread."
)


def validation_split(data_home=None, seed=SEED, n_negatives=100, *, data=None):
    """Validation cases carved from the train files, drawn like the published test cases.

    One random training interaction of each user (group) with at least two is held out
    (:class:`~sk_grouprec.model_selection.LeaveKOut`, ``strategy="random"``) and given
    ``n_negatives`` items drawn uniformly with replacement from the whole catalogue: the
    user's other training items are *not* excluded, nor items seen only in group rows, since
    the published negatives include them too. The published user lines hold them more often
    than uniform draws would (6,578 entries against about 2,488; see ``load_mafengwo().DESCR``),
    so the user-level cases here are easier than the test files' (popularity: user NDCG@5
    0.58 and 0.60 on split seeds 0 and 1, 0.47 on the test files). That rate is a trait of
    one published file, not of group data in general, and no default is tuned to it.

    Unlike :func:`.implicit_compare.mafengwo_validation_split` (users only, negatives among
    the user's unseen items, the split the top-N baselines were tuned on), these negatives
    look like the test files' and rank the baselines in the test files' order.

    ``data``: another folder's :func:`~sk_grouprec.datasets.load_group_folder` Bunch, split
    the same way (Mafengwo from ``data_home`` when None).

    Returns ``(data, user_train, user_held, user_negatives, group_train, group_held,
    group_negatives)``.
    """
    data = _dataset(data_home, data)
    users = data.user_interactions[["user_id", "item_id"]]
    group_rows = data.group_interactions[["group_id", "item_id"]]
    catalogue = np.union1d(users["item_id"], group_rows["item_id"])
    rng = np.random.default_rng(seed)
    out = [data]
    for frame, by in ((users, "user"), (group_rows, "group")):
        train, held = next(LeaveKOut(by=by, strategy="random", random_state=seed).split(frame))
        held_rows = frame.iloc[held].reset_index(drop=True)
        out += [frame.iloc[train].reset_index(drop=True), held_rows,
                rng.choice(catalogue, (len(held_rows), n_negatives))]
    return tuple(out)


def _sampled_by_level(model, cases):
    """Sampled HR/NDCG (ties against) of ``model`` for each ``(level, cases, negatives)``,
    as ``{"<level> <metric>": value}``."""
    row = {}
    for level, held, neg in cases:
        scores = evaluate_sampled(model, held, neg, level=level, k=K_VALUES, ties="against")
        row.update({f"{level} {key}": float(value) for key, value in scores.items()})
    return row


def _full_by_level(model, cases):
    """Full-catalogue Recall/NDCG@10 (training items left out) of ``model`` for each
    ``(level, cases, negatives)``, as ``{"<level> full <metric>": value}``."""
    row = {}
    for level, held, _ in cases:
        scores = evaluate_full_catalogue(model, held, level=level, k=10)
        row.update({f"{level} full {key}": float(value) for key, value in scores.items()})
    return row


def validation_table(data_home=None, seed=SEED, settings=None, *, data=None):
    """Sampled HR/NDCG@5,10 (ties against) and full-catalogue Recall/NDCG@10 of
    ``GroupDMTLRecommender(objective="bpr")`` under ``settings`` (name -> parameters;
    :data:`VALIDATION_SETTINGS`) on :func:`validation_split`, with the fit time."""
    data, u_train, u_held, u_neg, g_train, g_held, g_neg = validation_split(data_home, seed,
                                                                            data=data)
    rows = []
    for name, params in (VALIDATION_SETTINGS if settings is None else settings).items():
        model, t = _timed(GroupDMTLRecommender(**{"objective": "bpr", "random_state": seed,
                                                  **params}),
                          u_train, None, groups=data.groups, X_group=g_train)
        row = {"model": f"GroupDMTLRecommender(objective='bpr', {name})"}
        cases = (("user", u_held, u_neg), ("group", g_held, g_neg))
        rows.append({**row, **_sampled_by_level(model, cases), **_full_by_level(model, cases),
                     "fit_time_s": t})
        print(rows[-1], flush=True)
    return pd.DataFrame(rows)


def negatives_validation_table(data_home=None, seeds=(0, 1, 2), settings=None, *, data=None):
    """:func:`validation_table` of ``settings`` (:data:`NEGATIVE_SETTINGS` when None) for each
    split seed, then the mean over seeds per setting (rows ``split seed = mean``)."""
    settings = NEGATIVE_SETTINGS if settings is None else settings
    tables = []
    for seed in seeds:
        table = validation_table(data_home, seed, settings, data=data)
        table.insert(0, "split seed", str(seed))
        tables.append(table)
    table = pd.concat(tables, ignore_index=True)
    mean = table.groupby("model", sort=False).mean(numeric_only=True).reset_index()
    mean.insert(0, "split seed", "mean")
    return pd.concat([table, mean], ignore_index=True)


def dropout_validation_table(data_home=None, seeds=(0, 1, 2), *, data=None):
    """:func:`negatives_validation_table` of :data:`DROPOUT_SETTINGS`."""
    return negatives_validation_table(data_home, seeds, DROPOUT_SETTINGS, data=data)


#: Group weights (DMTL, EASE) of the blend, chosen on :func:`blend_validation_table`.
GROUP_BLEND_WEIGHTS = (1.0, 64.0)


def dmtl_ease_blend(seed=SEED, weights=None, group_weights=GROUP_BLEND_WEIGHTS):
    """The default ranking DMTL blended with EASE: equal user weights, group weights
    :data:`GROUP_BLEND_WEIGHTS` (both chosen on :func:`blend_validation_table`)."""
    return BlendedRecommender([("dmtl", GroupDMTLRecommender(objective="bpr", random_state=seed)),
                               ("ease", EASE())], weights=weights, group_weights=group_weights,
                              random_state=seed)


#: (DMTL, EASE) weights compared on the validation splits by :func:`blend_validation_table`.
BLEND_WEIGHTS = ((1.0, 0.0), (0.0, 1.0), (1.0, 0.5), (1.0, 1.0), (1.0, 2.0), (1.0, 4.0),
                 (1.0, 8.0), (1.0, 16.0), (1.0, 32.0), (1.0, 64.0), (1.0, 128.0),
                 (1.0, 512.0))

BLEND_PROTOCOL = (
    "Train files only: validation_split for each split seed (the protocol of the validation "
    "table; sampled, ties against). BlendedRecommender(DMTL 'bpr' defaults + EASE defaults) "
    "fitted once per seed (random_state = split seed) on the users' and groups' train rows; "
    "each weight pair scores the same fitted components, s = w_dmtl s_dmtl / sigma_dmtl + "
    "w_ease s_ease / sigma_ease: user columns with the user weights, group columns with the "
    "group weights (DMTL's natural groups; EASE fitted on the group rows). One torch thread."
)


class _Replayed:
    """Precomputed scores of one ``evaluate_sampled`` pass (one call: ``batch_size`` above
    the number of rows), replayed as an estimator."""

    def __init__(self, scores):
        self.scores = scores

    def predict(self, rows):
        assert len(rows) == len(self.scores)
        return self.scores

    predict_group = predict


def _standardised_case_scores(blend, level, held, neg):
    """Each component's weighted-by-one, spread-divided scores of the sampled candidates of
    ``held``, in ``evaluate_sampled``'s row order."""
    recorded = {}

    class Record:
        def predict(self, rows):
            recorded["rows"] = rows
            return np.zeros(len(rows))

        predict_group = predict

    n_rows = held.shape[0] * (neg.shape[1] + 1)
    evaluate_sampled(Record(), held, neg, level=level, batch_size=n_rows)
    score = blend.predict if level == "user" else blend.predict_group
    attribute = "weights_" if level == "user" else "group_weights_"
    kept = getattr(blend, attribute)
    parts = []
    for k in range(len(kept)):
        setattr(blend, attribute, np.eye(len(kept))[k])  # component k alone
        parts.append(score(recorded["rows"]))
    setattr(blend, attribute, kept)
    return np.array(parts), n_rows


def blend_validation_table(data_home=None, seeds=(0, 1, 2), weights=BLEND_WEIGHTS, *,
                           data=None):
    """Sampled HR/NDCG@5,10 of the DMTL + EASE blend, for users and for groups, under each
    weight pair, on :func:`validation_split` for each seed, then the mean over seeds per
    weight pair. Each component scores the candidates once per seed and level; a weight pair
    combines those scores."""
    rows = []
    for seed in seeds:
        data, u_train, u_held, u_neg, g_train, g_held, g_neg = validation_split(
            data_home, seed, data=data)
        blend, t = _timed(dmtl_ease_blend(seed), u_train, None, groups=data.groups,
                          X_group=g_train)
        cases = [("user", u_held, u_neg), ("group", g_held, g_neg)]
        parts = {level: _standardised_case_scores(blend, level, held, neg)
                 for level, held, neg in cases}
        for pair in weights:
            row = {"split seed": str(seed), "weights (dmtl, ease)": str(pair)}
            for level, held, neg in cases:
                components, n_rows = parts[level]
                scores = _Replayed(np.asarray(pair) @ components)
                metrics = evaluate_sampled(scores, held, neg, level=level, k=K_VALUES,
                                           ties="against", batch_size=n_rows)
                row.update({f"{level} {key}": float(value) for key, value in metrics.items()})
            rows.append({**row, "fit_time_s": t})
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    mean = table.groupby("weights (dmtl, ease)", sort=False).mean(numeric_only=True).reset_index()
    mean.insert(0, "split seed", "mean")
    return pd.concat([table, mean], ignore_index=True)


SEEDS_PROTOCOL = (
    "Published Mafengwo train/test files, the protocol of the main table (sampled, ties "
    "against): GroupDMTLRecommender(objective='bpr') at its defaults, fitted once per "
    "random_state (model initialisation and negative sampling; the data are the same). A "
    "measure of the spread of the main table's DMTL rows over seeds; nothing is chosen on it. "
    "One torch thread."
)


def seed_table(data_home=None, seeds=tuple(range(10)), *, data=None):
    """Test-file HR/NDCG of the default ranking DMTL for each ``random_state`` in ``seeds``,
    then their mean and standard deviation (rows ``mean``, ``std``)."""
    data = _dataset(data_home, data)
    users = data.user_interactions[["user_id", "item_id"]]
    group_rows = data.group_interactions[["group_id", "item_id"]]
    cases = (("user", data.user_test, data.user_negatives),
             ("group", data.group_test, data.group_negatives))
    rows = []
    for seed in seeds:
        model, t = _timed(GroupDMTLRecommender(objective="bpr", random_state=seed), users, None,
                          groups=data.groups, X_group=group_rows)
        rows.append({"random_state": str(seed), **_sampled_by_level(model, cases),
                     "fit_time_s": t})
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    numbers = table.drop(columns="random_state")
    summary = pd.DataFrame([{"random_state": "mean", **numbers.mean().to_dict()},
                            {"random_state": "std", **numbers.std(ddof=1).to_dict()}])
    return pd.concat([table, summary], ignore_index=True)


PROTOCOL = (
    "Published Mafengwo train/test files; each test line's item ranked among its 100 published "
    "negatives (a negative equal to the test item dropped, duplicates kept); columns without a "
    "suffix count ties against the test item (AGREE's evaluator), `(ties for)` columns count "
    "them for it (ConsRec's evaluator). `full` columns: every known item ranked, training items "
    "left out. One torch thread. Defaults of GroupDMTLRecommender were chosen on a validation "
    "split of the train files (one train interaction per group and per user held out), never "
    "on the test files. Published rows are copied from the papers (blank cells: not published). "
    "`GroupAggregator.recommend` leaves out every item a member has in the fitted rows; the "
    "members' rows hold the training items of all their groups, which include most groups' "
    "test items (a test item is usually a training item of an overlapping group), hence its "
    "low full-catalogue numbers."
)


def plot_hr_curves(curves, path, dataset="Mafengwo"):
    """HR@K against K (sampled, ties against), one line per model, groups and users."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(13, 5), sharey=True)
    colours = plt.get_cmap("tab20").colors
    for ax, level in zip(axes, ("group", "user")):
        names = [name for name in curves if name.startswith(level + ":")]
        for n, name in enumerate(names):
            ax.plot(CURVE_K, curves[name], marker=".", color=colours[n % len(colours)],
                    linestyle=("-", "--", ":")[n // len(colours) % 3],
                    label=name.split(": ", 1)[1])
        ax.set_title(f"{dataset} {level}s: HR@K, sampled negatives, ties against")
        ax.set_xlabel("K")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    axes[0].set_ylabel("HR@K")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _folder_protocol(protocol, folder):
    """A Mafengwo protocol text said of another folder: its remarks on the published Mafengwo
    files left out."""
    generic = (protocol.replace("Published Mafengwo train/test files", "The folder's train/test "
                                "files")
               .replace("its 100 published negatives", "its published negatives")
               .replace(" Published rows are copied from the papers (blank cells: not "
                        "published).", "")
               .replace(" " + MAFENGWO_NEGATIVES_REMARK, "")
               .replace("chosen on a validation split of the train files", "chosen on a "
                        "validation split of Mafengwo's train files"))
    return f"Folder `{folder}` (read with `load_group_folder`). {generic}"


def run(args, output):
    """``benchmarks/run.py --dataset mafengwo`` (or ``--dataset group-folder --folder PATH``):
    the table (``report.md``, ``mafengwo.csv``), the HR@K curves (``curves.json``) and their
    plot (``hr_at_k.png``); or, with ``--validation``, ``--negatives-validation``,
    ``--dropout-validation``, ``--blend-validation`` or ``--seeds``, that table instead."""
    import torch

    from . import report

    torch.set_num_threads(1)
    output.mkdir(parents=True, exist_ok=True)
    folder = getattr(args, "folder", None)
    data = load_group_folder(folder) if folder is not None else None
    name = "Mafengwo" if folder is None else Path(folder).expanduser().resolve().name
    source = {"data_home": args.data_home, "data": data}
    if getattr(args, "validation", False):
        table = validation_table(seed=args.seed, **source)
        csv, first, title, protocol = ("validation.csv", "model", "validation split of the "
                                       "train files", VALIDATION_PROTOCOL)
    elif getattr(args, "negatives_validation", False):
        table = negatives_validation_table(**source)
        csv, first, title, protocol = ("negatives_validation.csv", "split seed", "DMTL's "
                                       "negatives on validation splits", NEGATIVES_PROTOCOL)
    elif getattr(args, "dropout_validation", False):
        table = dropout_validation_table(seeds=tuple(args.split_seeds), **source)
        csv, first, title, protocol = ("dropout_validation.csv", "split seed", "DMTL's "
                                       "dropout on validation splits", DROPOUT_PROTOCOL)
    elif getattr(args, "blend_validation", False):
        table = blend_validation_table(**source)
        csv, first, title, protocol = ("blend_validation.csv", "split seed", "weights of the "
                                       "DMTL + EASE blend on validation splits", BLEND_PROTOCOL)
    elif getattr(args, "seeds", None):
        table = seed_table(seeds=args.seeds, **source)
        csv, first, title, protocol = ("seeds.csv", "random_state", "the default DMTL over "
                                       "model seeds", SEEDS_PROTOCOL)
    else:
        table, curves = mafengwo_tables(seed=args.seed, **source)
        (output / "curves.json").write_text(json.dumps({"k": list(CURVE_K), "hr": curves},
                                                       indent=1))
        plot_hr_curves(curves, output / "hr_at_k.png", name)  # figures/mafengwo-hr_at_k.png
        csv, first, title, protocol = ("mafengwo.csv", "level", "top-N for real groups from "
                                       "implicit feedback", PROTOCOL)
    if folder is not None:
        protocol = _folder_protocol(protocol, name)
    table.to_csv(output / csv, index=False)
    body = report.table_markdown(table, first, time_digits=1)
    text = report.write_report(output, f"{name}: {title}", protocol, body, started=args.started,
                               records=table.to_dict("records"))
    print(text)
    return table
