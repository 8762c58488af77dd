"""ITM-Rec's real groups: predicting group ratings from members.

Protocol (``evaluate_itm_rec_groups``): the 143 groups are split into folds by group id
(``KFold(n_splits, shuffle=True, random_state=seed)`` over the distinct group ids), so each
test group is new as a group: none of its group ratings is seen in training, while its members'
individual ratings are (that is how a newly formed group asks for a recommendation). Every
model trains on all individual ratings (the aggregators and DMTL's "membership only" variant)
or on them plus the training groups' ratings (DMTL), and predicts each test group's rating of
each item that group rated. Metrics: RMSE and MAE over group ratings,
NDCG@5 over each test group's rated items (groups as the "users" of ``ndcg_at_k``),
Precision/Recall@5 (Surprise-FAQ protocol, threshold 3.5).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold

from sk_grouprec import GroupAggregator, aggregation

from . import models as registry
from . import report
from .evaluate import THRESHOLD, rating_metrics

STRATEGIES = aggregation.STRATEGIES  # every strategy, in the package's order
#: DMTL's group predictions (member attention), trained with the training groups' ratings
#: and, for reference, from the membership alone (a group is then its members' pooled
#: representation, as for a group with no rating history)
DMTL_GROUP_MODELS = {"DMTL (member attention)": True, "DMTL (member attention, membership only)": False}
#: cut-off of the group ranking metrics (ITM-Rec groups rate few items each)
K = 5


def best_individual_baseline(individual_folds):
    """The baseline with the lowest mean RMSE on individual ratings (DMTL excluded)."""
    candidates = individual_folds[individual_folds["model"].isin(registry.BASELINES)]
    if candidates.empty:
        return "SVDpp"
    return candidates.groupby("model")["rmse"].mean().idxmin()


def group_folds(group_ratings, n_splits, seed):
    group_ids = np.sort(group_ratings["group_id"].unique())
    cv = KFold(n_splits=n_splits, shuffle=True, random_state=seed)
    for fold, (_, test) in enumerate(cv.split(group_ids)):
        in_test = group_ratings["group_id"].isin(group_ids[test]).to_numpy()
        yield fold, group_ratings[~in_test], group_ratings[in_test]


def evaluate_itm_rec_groups(args, individual_folds, output):
    """Group-rating table on ITM-Rec: aggregation strategies over the best individual
    baseline (and over SVD++), against DMTL's member-attention group predictions."""
    from sk_grouprec.datasets import load_itm_rec

    data = load_itm_rec(data_home=args.data_home)
    X, y, membership = data.data, data.target, data.groups
    group_ratings = data.group_ratings
    group_columns = [c for c in group_ratings.columns if c == "group_id" or c == "item_id" or c.startswith("ctx_")]
    best = best_individual_baseline(individual_folds)
    inner_models = dict.fromkeys([best, "SVDpp"])
    rows = []
    for fold, train_groups, test_groups in list(group_folds(group_ratings, args.n_splits, args.seed))[: args.folds]:
        X_test = test_groups[group_columns]
        y_true = test_groups["rating"].to_numpy()
        ids = test_groups["group_id"].to_numpy()
        for inner in inner_models:
            for strategy in STRATEGIES:
                threshold = THRESHOLD if strategy in ("approval", "average_without_misery") else None
                model = GroupAggregator(
                    registry.build(inner, args.seed, quick=args.quick), strategy=strategy, threshold=threshold
                )
                start = time.perf_counter()
                model.fit(X, y, groups=membership)
                y_pred = model.predict(X_test)
                elapsed = time.perf_counter() - start
                rows.append({"model": f"GroupAggregator({inner}, {strategy})", "fold": fold,
                             **rating_metrics(ids, y_true, y_pred, k=K, hit=False), "fit_time": elapsed})
        if "DMTL" in args.models:
            for name, with_group_ratings in DMTL_GROUP_MODELS.items():
                pipe = registry.build("DMTL", args.seed, quick=args.quick, dataset="itm-rec")
                step = pipe.steps[-1][0]
                params = {f"{step}__groups": membership}
                if with_group_ratings:
                    params[f"{step}__X_group"] = train_groups[group_columns]
                    params[f"{step}__y_group"] = train_groups["rating"].to_numpy()
                start = time.perf_counter()
                pipe.fit(X, y, **params)
                y_pred = pipe[-1].predict_group(X_test)
                elapsed = time.perf_counter() - start
                rows.append({"model": name, "fold": fold,
                             **rating_metrics(ids, y_true, y_pred, k=K, hit=False), "fit_time": elapsed})
    folds = pd.DataFrame(rows)
    summary = report.summary_table(folds)
    protocol = (
        f"group ratings of ITM-Rec; KFold(n_splits={args.n_splits}, shuffle=True, "
        f"random_state={args.seed}) over group ids (test groups unseen as groups, members' "
        "individual ratings all in training); NDCG@5 and P/R@5 per group over its rated items."
    )
    text = report.write_outputs(folds, summary, "itm-rec: group ratings", protocol, output,
                                started=getattr(args, "started", None))
    print(text)
    if not args.no_plots:
        report.plot_metrics(summary, output / "metrics.png")
    return folds
