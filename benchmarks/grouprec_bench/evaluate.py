"""One model on one fold: fit, predict, every metric, time and peak memory."""

from __future__ import annotations

import time

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline

from sk_grouprec import KMeansGrouper
from sk_grouprec import metrics as M

from .memory import PeakMemory

K = 10
THRESHOLD = 3.5


def rating_metrics(ids, y_true, y_pred, *, k=K, threshold=THRESHOLD, hit=True):
    """Every rating and ranking metric of the benchmark, named as in ``sk_grouprec.metrics``.

    ``ids`` are whoever a ranking is per: users, or groups for group ratings. ``hit=False``
    leaves out the hit-based Precision/Recall@k.
    """
    precision, recall = M.precision_recall_at_k(ids, y_true, y_pred, k=k, threshold=threshold)
    row = {
        "rmse": M.rmse(y_true, y_pred),
        "mae": M.mae(y_true, y_pred),
        f"precision@{k}": precision,
        f"recall@{k}": recall,
    }
    if hit:
        row[f"hit_precision@{k}"], row[f"hit_recall@{k}"] = M.hit_precision_recall_at_k(
            ids, y_true, y_pred, k=k, threshold=threshold
        )
    row[f"ndcg@{k}"] = M.ndcg_at_k(ids, y_true, y_pred, k=k)
    return row


def profiling_metrics(true_groups, predicted_groups):
    scores = M.profiling_scores(true_groups, predicted_groups)
    return {
        "profile_precision": scores.precision,
        "profile_recall": scores.recall,
        "profile_f1": scores.f1,
    }


def evaluate_fold(model, X_train, y_train, X_test, y_test, *, k=K):
    """Fit ``model`` on the training part and score it on the test part.

    Returns the metrics row (a dict) and the fitted model.
    """
    with PeakMemory() as peak:
        start = time.perf_counter()
        model.fit(X_train, y_train)
        fit_time = time.perf_counter() - start
        start = time.perf_counter()
        y_pred = model.predict(X_test)
        predict_time = time.perf_counter() - start
    row = rating_metrics(X_test["user_id"].to_numpy(), np.asarray(y_test), y_pred, k=k)
    row.update(fit_time=fit_time, predict_time=predict_time, peak_memory_mib=peak.mib)
    if isinstance(model, Pipeline) and hasattr(model[-1], "predict_profile"):
        X_grouped = model[:-1].transform(X_test)
        proba = model[-1].predict_profile(X_grouped)
        predicted = np.asarray(model[-1].groups_)[np.argmax(proba, axis=1)]
        row.update(profiling_metrics(X_grouped["group_id"].to_numpy(), predicted))
    return row, model


def evaluate_profiling_baseline(X_train, X_test, *, seed, n_groups=20):
    """The single-task profiling baseline: a logistic regression from a user's features to
    the KMeans group, on the same groups the DMTL pipeline profiles."""
    grouper = KMeansGrouper(n_groups=n_groups, random_state=seed)
    with PeakMemory() as peak:
        start = time.perf_counter()
        train = grouper.fit_transform(X_train)
        features = grouper.user_feature_names_
        users = train.drop_duplicates("user_id")
        classifier = make_pipeline(clone(grouper.encoder_), LogisticRegression(max_iter=1000))
        classifier.fit(users[features], users["group_id"])
        fit_time = time.perf_counter() - start
        start = time.perf_counter()
        test = grouper.transform(X_test)
        predicted = classifier.predict(test[features])
        predict_time = time.perf_counter() - start
    row = profiling_metrics(test["group_id"].to_numpy(), predicted)
    row.update(fit_time=fit_time, predict_time=predict_time, peak_memory_mib=peak.mib)
    return row
