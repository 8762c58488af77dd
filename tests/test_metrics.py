import pickle
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import f1_score, ndcg_score
from sklearn.model_selection import GridSearchCV, KFold, cross_validate

from sk_grouprec._base import BaseRecommender
from sk_grouprec.metrics import (
    SCORERS,
    ErrorScorer,
    ProfilingScorer,
    RankingScorer,
    get_scorer,
    hit_precision_recall_at_k,
    mae,
    make_ranking_scorer,
    ndcg_at_k,
    neg_mae,
    neg_rmse,
    precision_at_10,
    precision_recall_at_k,
    profiling_f1,
    profiling_scores,
    recall_at_10,
    rmse,
)

# --------------------------------------------------------------------------------------
# references written out plainly (dict of lists), never used by the package


def faq_precision_recall_at_k(rows, k, threshold):
    """Surprise FAQ 'How to compute precision@k and recall@k', on (uid, true, est) rows."""
    user_est_true = defaultdict(list)
    for uid, true_r, est in rows:
        user_est_true[uid].append((est, true_r))
    precisions, recalls = {}, {}
    for uid, user_ratings in user_est_true.items():
        user_ratings.sort(key=lambda x: x[0], reverse=True)
        n_rel = sum((true_r >= threshold) for (_, true_r) in user_ratings)
        n_rec_k = sum((est >= threshold) for (est, _) in user_ratings[:k])
        n_rel_and_rec_k = sum(
            ((true_r >= threshold) and (est >= threshold)) for (est, true_r) in user_ratings[:k]
        )
        precisions[uid] = n_rel_and_rec_k / n_rec_k if n_rec_k != 0 else 0
        recalls[uid] = n_rel_and_rec_k / n_rel if n_rel != 0 else 0
    return precisions, recalls


def reference_hit(rows, k, threshold):
    per_user = defaultdict(list)
    for uid, true_r, est in rows:
        per_user[uid].append((est, true_r))
    precisions, recalls = {}, {}
    for uid, user_ratings in per_user.items():
        user_ratings.sort(key=lambda x: x[0], reverse=True)
        n_rel = sum(true_r >= threshold for (_, true_r) in user_ratings)
        if n_rel == 0:
            continue
        top = user_ratings[:k]
        hits = sum(true_r >= threshold for (_, true_r) in top)
        precisions[uid] = hits / len(top)
        recalls[uid] = hits / n_rel
    return precisions, recalls


def random_predictions(seed, n_users=40, n_rows=600, string_ids=False):
    """Random test rows with many tied estimates and ratings."""
    rng = np.random.default_rng(seed)
    users = rng.integers(0, n_users, n_rows)
    if string_ids:
        users = np.array([f"u{u}" for u in users], dtype=object)
    y_true = rng.integers(1, 6, n_rows).astype(float)
    y_pred = np.round(rng.uniform(1, 5, n_rows) * 2) / 2  # half-star estimates: ties
    return users, y_true, y_pred


# --------------------------------------------------------------------------------------
# rmse, mae


def test_rmse_and_mae_by_hand():
    y_true = [4, 2, 5, 1]
    y_pred = [3, 2, 5.5, 3]
    # errors: 1, 0, -0.5, -2 -> squares 1, 0, 0.25, 4 (sum 5.25); absolutes sum 3.5
    assert rmse(y_true, y_pred) == pytest.approx(np.sqrt(5.25 / 4))
    assert mae(y_true, y_pred) == pytest.approx(3.5 / 4)


@pytest.mark.parametrize("metric", [rmse, mae])
def test_error_metrics_reject_bad_input(metric):
    with pytest.raises(ValueError, match="different lengths"):
        metric([1, 2], [1])
    with pytest.raises(ValueError, match="NaN or infinite"):
        metric([1, np.nan], [1, 2])
    with pytest.raises(ValueError, match="empty"):
        metric([], [])


# --------------------------------------------------------------------------------------
# Surprise-FAQ precision / recall


def test_precision_recall_at_k_by_hand():
    users = ["a", "a", "a", "a", "b", "b", "c"]
    y_true = [5, 3, 4, 1, 2, 4, 5]
    y_pred = [4.0, 4.2, 3.0, 3.6, 2.0, 3.0, 4.0]
    # k = 2, threshold 3.5
    # a sorted by estimate: (3, 4.2), (5, 4.0), (1, 3.6), (4, 3.0); top-2 = first two
    #   n_rel = 2 (ratings 5 and 4); n_rec_k = 2 (4.2, 4.0 >= 3.5); n_rel_and_rec_k = 1
    #   precision 1/2, recall 1/2
    # b: (4, 3.0), (2, 2.0): nothing recommended -> precision 0; n_rel = 1 -> recall 0/1 = 0
    # c: (5, 4.0): n_rel 1, n_rec_k 1, both 1 -> precision 1, recall 1
    precision, recall = precision_recall_at_k(users, y_true, y_pred, k=2, threshold=3.5)
    assert precision == pytest.approx((0.5 + 0 + 1) / 3)
    assert recall == pytest.approx((0.5 + 0 + 1) / 3)
    per_user = precision_recall_at_k(users, y_true, y_pred, k=2, return_per_user=True)
    assert list(per_user.index) == ["a", "b", "c"]
    assert per_user.loc["a"].tolist() == [0.5, 0.5, 2, 2, 1]
    assert per_user.loc["b", "n_rec_k"] == 0 and per_user.loc["b", "precision"] == 0


def test_precision_recall_ties_keep_input_order():
    # one user, all estimates tied at 4: the top-1 is the first row of the input
    y_pred = [4.0, 4.0, 4.0]
    assert precision_recall_at_k([1, 1, 1], [5, 1, 1], y_pred, k=1) == (1.0, 1.0)
    assert precision_recall_at_k([1, 1, 1], [1, 5, 1], y_pred, k=1) == (0.0, 0.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k, threshold", [(1, 3.5), (3, 3.0), (10, 4.0), (50, 2.5)])
def test_precision_recall_matches_faq_reference(seed, k, threshold):
    users, y_true, y_pred = random_predictions(seed, string_ids=seed == 1)
    precisions, recalls = faq_precision_recall_at_k(zip(users, y_true, y_pred), k, threshold)
    per_user = precision_recall_at_k(users, y_true, y_pred, k=k, threshold=threshold, return_per_user=True)
    assert list(per_user.index) == list(precisions)  # first-appearance order, like the dict
    np.testing.assert_allclose(per_user["precision"], list(precisions.values()))
    np.testing.assert_allclose(per_user["recall"], list(recalls.values()))
    precision, recall = precision_recall_at_k(users, y_true, y_pred, k=k, threshold=threshold)
    assert precision == pytest.approx(sum(precisions.values()) / len(precisions))
    assert recall == pytest.approx(sum(recalls.values()) / len(recalls))


def test_precision_recall_matches_surprise_predictions():
    surprise = pytest.importorskip("surprise")
    from surprise.model_selection import train_test_split

    users, y_true, _ = random_predictions(3, n_users=30, n_rows=900)
    items = np.random.default_rng(3).integers(0, 50, users.shape[0])
    frame = pd.DataFrame({"u": users, "i": items, "r": y_true}).drop_duplicates(["u", "i"])
    data = surprise.Dataset.load_from_df(frame, surprise.Reader(rating_scale=(1, 5)))
    trainset, testset = train_test_split(data, test_size=0.3, random_state=0)
    predictions = surprise.BaselineOnly(verbose=False).fit(trainset).test(testset)
    rows = [(p.uid, p.r_ui, p.est) for p in predictions]
    precisions, recalls = faq_precision_recall_at_k(rows, 5, 3.5)
    uid, true_r, est = map(np.array, zip(*rows))
    precision, recall = precision_recall_at_k(uid, true_r, est, k=5, threshold=3.5)
    assert precision == pytest.approx(sum(precisions.values()) / len(precisions))
    assert recall == pytest.approx(sum(recalls.values()) / len(recalls))


# --------------------------------------------------------------------------------------
# hit-based precision / recall


def test_hit_precision_recall_by_hand():
    users = [1, 1, 1, 1, 2, 2, 3]
    y_true = [5, 3, 4, 1, 4, 5, 2]
    y_pred = [4.0, 4.2, 3.0, 3.6, 1.0, 1.5, 5.0]
    # k = 3, threshold 3.5
    # user 1 sorted: (3, 4.2), (5, 4.0), (1, 3.6) | (4, 3.0): hits 1, top size 3, n_rel 2
    #   precision 1/3, recall 1/2
    # user 2 sorted: (5, 1.5), (4, 1.0): top size min(3, 2) = 2, hits 2 -> precision 1, recall 1
    #   (low estimates do not matter in this protocol)
    # user 3: no relevant item -> left out
    precision, recall = hit_precision_recall_at_k(users, y_true, y_pred, k=3)
    assert precision == pytest.approx((1 / 3 + 1) / 2)
    assert recall == pytest.approx((1 / 2 + 1) / 2)
    per_user = hit_precision_recall_at_k(users, y_true, y_pred, k=3, return_per_user=True)
    assert np.isnan(per_user.loc[3, "precision"]) and per_user.loc[3, "n_rel"] == 0
    assert per_user.loc[2].tolist() == [1.0, 1.0, 2, 2, 2]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("k, threshold", [(1, 3.5), (5, 4.5), (40, 3.0)])
def test_hit_matches_reference(seed, k, threshold):
    users, y_true, y_pred = random_predictions(seed)
    precisions, recalls = reference_hit(zip(users, y_true, y_pred), k, threshold)
    precision, recall = hit_precision_recall_at_k(users, y_true, y_pred, k=k, threshold=threshold)
    assert precision == pytest.approx(np.mean(list(precisions.values())))
    assert recall == pytest.approx(np.mean(list(recalls.values())))


def test_hit_without_relevant_items_is_nan_with_warning():
    with pytest.warns(UndefinedMetricWarning, match="undefined"):
        precision, recall = hit_precision_recall_at_k([1, 2], [1, 2], [3, 4], k=1)
    assert np.isnan(precision) and np.isnan(recall)


# --------------------------------------------------------------------------------------
# NDCG


def test_ndcg_by_hand():
    users = [1, 1, 1, 2, 2, 3]
    y_true = [3, 5, 1, 2, 4, 5]
    y_pred = [4.0, 2.0, 3.0, 1.0, 2.0, 1.0]
    # user 1, k = 2, ranked by estimate gains 3, 1 | 5 -> DCG = 3/log2(2) + 1/log2(3)
    #   ideal gains 5, 3 -> IDCG = 5 + 3/log2(3)
    # user 2: ranked 4, 2 = ideal -> 1; user 3: a single row -> 1
    dcg1 = 3 + 1 / np.log2(3)
    idcg1 = 5 + 3 / np.log2(3)
    per_user = ndcg_at_k(users, y_true, y_pred, k=2, return_per_user=True)
    np.testing.assert_allclose(per_user.to_numpy(), [dcg1 / idcg1, 1.0, 1.0])
    assert ndcg_at_k(users, y_true, y_pred, k=2) == pytest.approx((dcg1 / idcg1 + 2) / 3)


def test_ndcg_ties_are_averaged():
    # estimates all tied: each position gets the mean gain (3 + 5) / 2 = 4
    # DCG = 4/log2(2) + 4/log2(3), IDCG = 5 + 3/log2(3), whatever the row order
    expected = (4 + 4 / np.log2(3)) / (5 + 3 / np.log2(3))
    assert ndcg_at_k([1, 1], [3, 5], [2.0, 2.0]) == pytest.approx(expected)
    assert ndcg_at_k([1, 1], [5, 3], [2.0, 2.0]) == pytest.approx(expected)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k", [1, 3, 10])
def test_ndcg_matches_sklearn_per_user(seed, k):
    users, y_true, y_pred = random_predictions(seed)
    y_true = y_true - 1  # gains 0..4, with some all-zero users possible
    per_user = ndcg_at_k(users, y_true, y_pred, k=k, return_per_user=True)
    for user, value in per_user.items():
        mask = users == user
        if mask.sum() < 2:
            assert value == (1.0 if y_true[mask][0] > 0 else 0.0)
            continue
        expected = ndcg_score(y_true[mask][None, :], y_pred[mask][None, :], k=k)
        assert value == pytest.approx(expected, abs=1e-12)
    assert ndcg_at_k(users, y_true, y_pred, k=k) == pytest.approx(per_user.mean())


def test_ndcg_rejects_negative_gains():
    with pytest.raises(ValueError, match="negative"):
        ndcg_at_k([1, 1], [-1, 2], [1, 2])


# --------------------------------------------------------------------------------------
# validation of ranking inputs


@pytest.mark.parametrize("func", [precision_recall_at_k, hit_precision_recall_at_k, ndcg_at_k])
def test_ranking_metrics_reject_bad_input(func):
    with pytest.raises(ValueError, match="same length"):
        func([1, 1, 2], [1, 2], [1, 2])
    with pytest.raises(ValueError, match="different lengths"):
        func([1, 1], [1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="y_pred has 1 NaN"):
        func([1, 1], [1, 2], [1, np.nan])
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        func([1, 1], [1, 2], [1, 2], k=0)
    with pytest.raises(ValueError, match="missing"):
        func([1, None], [1, 2], [1, 2])


def test_threshold_must_be_finite():
    with pytest.raises(ValueError, match="threshold"):
        precision_recall_at_k([1], [1], [1], threshold=np.nan)


# --------------------------------------------------------------------------------------
# profiling


def test_profiling_scores_by_hand_and_against_sklearn():
    true = [0, 0, 0, 1, 1, 2]
    pred = [0, 0, 1, 1, 2, 2]
    # class 0: TP 2, FP 0, FN 1 -> P 1, R 2/3, F1 0.8
    # class 1: TP 1, FP 1, FN 1 -> P 1/2, R 1/2, F1 1/2
    # class 2: TP 1, FP 1, FN 0 -> P 1/2, R 1, F1 2/3
    scores = profiling_scores(true, pred)
    assert scores.precision == pytest.approx((1 + 0.5 + 0.5) / 3)
    assert scores.recall == pytest.approx((2 / 3 + 0.5 + 1) / 3)
    assert scores.f1 == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert scores.f1 == pytest.approx(f1_score(true, pred, average="macro"))
    # a label never predicted has precision 0 (zero_division=0), no warning
    assert profiling_scores([0, 1], [0, 0]).precision == pytest.approx(0.25)
    with pytest.raises(ValueError, match="different lengths"):
        profiling_scores([0, 1], [0])


# --------------------------------------------------------------------------------------
# scorers


class ItemMean(BaseRecommender):
    """Global mean plus a shrunk item deviation: enough to exercise the scorers."""

    def __init__(self, shrinkage=0.0):
        self.shrinkage = shrinkage

    def _fit_indexed(self, users, items, ratings, X):
        sums = np.bincount(items, ratings - self.global_mean_, minlength=self.n_items_)
        counts = np.bincount(items, minlength=self.n_items_)
        self.item_dev_ = sums / (counts + self.shrinkage)

    def _predict_indexed(self, users, items):
        dev = np.where(items >= 0, self.item_dev_[np.maximum(items, 0)], 0.0)
        return self.global_mean_ + dev


class FixedProfiler:
    """Predicts group probabilities from a lookup: column order follows groups_."""

    groups_ = np.array(["x", "y", "z"])

    def predict_profile(self, X):
        codes = {"x": 0, "y": 1, "z": 2}
        guess = np.array([codes[g] for g in X["guess"]])
        return np.eye(3)[guess] * 0.8 + 0.1


@pytest.fixture(scope="module")
def ratings():
    from sk_grouprec.testing import make_small_ratings

    X, y, _ = make_small_ratings(n_users=30, n_items=25, n_ratings=400)
    return X[["user_id", "item_id"]], y


def test_ranking_scorer_equals_the_metric(ratings):
    X, y = ratings
    model = ItemMean().fit(X, y)
    pred = model.predict(X)
    users = X["user_id"].to_numpy()
    assert precision_at_10(model, X, y) == precision_recall_at_k(users, y, pred, k=10)[0]
    assert recall_at_10(model, X, y) == precision_recall_at_k(users, y, pred, k=10)[1]
    hit = make_ranking_scorer("recall", k=5, threshold=4, protocol="hit")
    assert hit(model, X, y) == hit_precision_recall_at_k(users, y, pred, k=5, threshold=4)[1]
    assert get_scorer("ndcg_at_10")(model, X, y) == ndcg_at_k(users, y, pred, k=10)
    assert neg_rmse(model, X, y) == -rmse(y, pred)
    assert neg_mae(model, X, y) == -mae(y, pred)
    # a numpy X: user ids from column 0
    assert precision_at_10(model, X.to_numpy(), y) == precision_at_10(model, X, y)


def test_scorers_in_grid_search_and_cross_validate(ratings):
    X, y = ratings
    search = GridSearchCV(
        ItemMean(),
        {"shrinkage": [0.0, 5.0, 50.0]},
        scoring=make_ranking_scorer("ndcg", k=5),
        cv=KFold(3, shuffle=True, random_state=0),
    )
    search.fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert np.all((scores > 0) & (scores <= 1))
    assert search.best_params_["shrinkage"] in (0.0, 5.0, 50.0)

    result = cross_validate(
        ItemMean(shrinkage=2.0),
        X,
        y,
        cv=3,
        scoring={"p10": precision_at_10, "r10": recall_at_10, "rmse": neg_rmse},
        n_jobs=2,
    )
    assert np.all((result["test_p10"] >= 0) & (result["test_p10"] <= 1))
    assert np.all(result["test_rmse"] < 0)


def test_scorers_pickle():
    for scorer in SCORERS.values():
        again = pickle.loads(pickle.dumps(scorer))
        assert repr(again) == repr(scorer)


def test_profiling_scorer():
    X = pd.DataFrame(
        {
            "user_id": [1, 2, 3, 4],
            "item_id": [1, 1, 1, 1],
            "group_id": ["x", "y", "z", "z"],
            "guess": ["x", "y", "y", "z"],
        }
    )
    # predicted x, y, y, z -> same as profiling_scores on the labels
    expected = profiling_scores(X["group_id"], X["guess"]).f1
    assert profiling_f1(FixedProfiler(), X, None) == pytest.approx(expected)
    assert ProfilingScorer("recall")(FixedProfiler(), X, None) == pytest.approx((1 + 1 + 0.5) / 3)
    with pytest.raises(ValueError, match="group_id"):
        profiling_f1(FixedProfiler(), X.drop(columns="group_id"), None)


def test_get_scorer():
    assert repr(get_scorer("precision_at_10")) == repr(precision_at_10)
    scorer = get_scorer("hit_recall_at_3")
    assert isinstance(scorer, RankingScorer)
    assert (scorer.metric, scorer.k, scorer.protocol) == ("recall", 3, "hit")
    assert isinstance(get_scorer("neg_mae"), ErrorScorer)
    assert callable(get_scorer("r2"))  # scikit-learn's own names still work
    with pytest.raises(ValueError, match="unknown scorer"):
        get_scorer("precision_at_zero")


def test_make_ranking_scorer_validates():
    with pytest.raises(ValueError, match="metric"):
        make_ranking_scorer("map")
    with pytest.raises(ValueError, match="protocol"):
        make_ranking_scorer(protocol="other")
    with pytest.raises(ValueError, match="k must be"):
        make_ranking_scorer(k=0)
