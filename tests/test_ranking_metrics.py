"""Top-N metrics: every formula against hand-computed cases, the estimator-facing functions,
the scorers (GridSearchCV, pickling, n_jobs), and one real-data pass on Mafengwo."""

import math
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV

from sk_grouprec import GroupAggregator
from sk_grouprec.baselines import BaselineOnly
from sk_grouprec.metrics import (
    SCORERS,
    TopNScorer,
    evaluate_full_catalogue,
    evaluate_sampled,
    full_catalogue_metrics,
    get_scorer,
    make_topn_scorer,
    sample_negatives,
    sampled_ranking_metrics,
)
from sk_grouprec.model_selection import LeaveKOut


def d(rank):
    """NDCG of one relevant item at 0-based ``rank``."""
    return 1.0 / math.log2(rank + 2)


class ItemScores:
    """Scores an item by a fixed table (its id indexes ``table``); records its queries."""

    def __init__(self, table):
        self.table = np.asarray(table, dtype=float)
        self.queries = []

    def predict(self, X):
        self.queries.append(X.copy())
        return self.table[X["item_id"].to_numpy()]


# --- sampled_ranking_metrics: the formulas ---------------------------------------------


def test_rank_counts_strictly_higher_and_ties_against_by_default():
    # case 0: 1 higher, 1 tied -> rank 2 (against), 1 (for)
    # case 1: 0 higher, 2 tied -> rank 2 (against), 0 (for)
    test, negatives = [0.9, 0.5], [[0.1, 0.95, 0.9], [0.5, 0.5, 0.1]]
    metrics, ranks = sampled_ranking_metrics(test, negatives, k=(1, 2, 3), return_ranks=True)
    assert ranks.tolist() == [2.0, 2.0]
    assert metrics == {
        "hr@1": 0.0, "ndcg@1": 0.0, "hr@2": 0.0, "ndcg@2": 0.0,
        "hr@3": 1.0, "ndcg@3": pytest.approx(d(2)),
    }  # fmt: skip
    metrics, ranks = sampled_ranking_metrics(test, negatives, k=(1, 2), ties="for", return_ranks=True)
    assert ranks.tolist() == [1.0, 0.0]
    assert metrics["hr@1"] == 0.5 and metrics["ndcg@1"] == 0.5
    assert metrics["hr@2"] == 1.0 and metrics["ndcg@2"] == pytest.approx((d(1) + d(0)) / 2)


def test_ties_average_is_the_expectation_over_tied_positions():
    # test 0.5 tied with two negatives, one lower: ranks 0, 1, 2 equally likely
    metrics, ranks = sampled_ranking_metrics(
        [0.5], [[0.5, 0.5, 0.1]], k=(1, 2, 5), ties="average", return_ranks=True
    )
    assert ranks.tolist() == [1.0]
    assert metrics["hr@1"] == pytest.approx(1 / 3)
    assert metrics["ndcg@1"] == pytest.approx(1 / 3)
    assert metrics["hr@2"] == pytest.approx(2 / 3)
    assert metrics["ndcg@2"] == pytest.approx((d(0) + d(1)) / 3)
    assert metrics["hr@5"] == 1.0
    assert metrics["ndcg@5"] == pytest.approx((d(0) + d(1) + d(2)) / 3)
    # without ties, all three rules agree
    rules = [sampled_ranking_metrics([0.5], [[0.9, 0.1]], ties=t) for t in ("against", "for", "average")]
    assert rules[0] == rules[1] == rules[2]


def test_duplicate_negatives_count_twice():
    metrics = sampled_ranking_metrics([0.5], [[0.7, 0.7, 0.1]], k=(2, 3))
    assert metrics == {"hr@2": 0.0, "ndcg@2": 0.0, "hr@3": 1.0, "ndcg@3": 0.5}  # rank 2


def test_negative_mask_drops_entries():
    negatives = [[0.9, 0.1, np.nan]]  # a masked entry may be anything, NaN included
    metrics, ranks = sampled_ranking_metrics(
        [0.5], negatives, k=1, negative_mask=[[False, True, False]], return_ranks=True
    )
    assert ranks.tolist() == [0.0] and metrics == {"hr@1": 1.0, "ndcg@1": 1.0}


def test_k_larger_than_the_number_of_candidates():
    metrics = sampled_ranking_metrics([0.1, 0.5], [[0.9, 0.8], [0.9, 0.1]], k=10)
    assert metrics["hr@10"] == 1.0
    assert metrics["ndcg@10"] == pytest.approx((d(2) + d(1)) / 2)


def test_constant_scorer_wins_every_tie_only_with_ties_for():
    test, negatives = np.zeros(4), np.zeros((4, 100))
    assert sampled_ranking_metrics(test, negatives, k=5, ties="for")["hr@5"] == 1.0
    assert sampled_ranking_metrics(test, negatives, k=5)["hr@5"] == 0.0
    assert sampled_ranking_metrics(test, negatives, k=5, ties="average")["hr@5"] == pytest.approx(
        5 / 101
    )


def test_k_int_and_sequence_keys_in_order():
    metrics = sampled_ranking_metrics([1.0], [[0.0]], k=[10, 5, 10])
    assert list(metrics) == ["hr@10", "ndcg@10", "hr@5", "ndcg@5"]


@pytest.mark.parametrize(
    "test, negatives, kwargs, message",
    [
        ([], np.zeros((0, 3)), {}, "empty"),
        ([np.nan], [[0.1]], {}, "test_scores has 1 NaN"),
        ([0.5], [[np.inf, 0.1]], {}, "negative_scores has 1 NaN or infinite"),
        ([0.5, 0.1], [[0.1]], {}, "negative_scores must have shape"),
        ([[0.5]], [[0.1]], {}, "test_scores must be 1-D"),
        ([0.5], [[0.1]], {"ties": "random"}, "ties must be one of"),
        ([0.5], [[0.1]], {"k": 0}, "k must be an integer >= 1"),
        ([0.5], [[0.1]], {"k": ()}, "k is empty"),
        ([0.5], [[0.1]], {"k": 2.5}, "k must be an integer"),
        ([0.5], [[0.1]], {"negative_mask": [[1]]}, "negative_mask must be a boolean"),
        ([0.5], [[0.1]], {"negative_mask": [[True, False]]}, "negative_mask must be a boolean"),
    ],
)
def test_sampled_input_errors(test, negatives, kwargs, message):
    with pytest.raises(ValueError, match=message):
        sampled_ranking_metrics(test, negatives, **kwargs)


# --- evaluate_sampled: candidates built from item ids -----------------------------------


def reference_rank(test_item, negatives, score, ties):
    """A plain re-implementation: sort the candidate list, ties by position (ConsRec style)."""
    candidates = [(score[test_item], 1 if ties == "against" else 0, "test")]
    candidates += [(score[n], 1 if ties == "for" else 0, "neg") for n in negatives if n != test_item]
    ordered = sorted(candidates, key=lambda c: (-c[0], c[1]))
    return [c[2] for c in ordered].index("test")


@pytest.mark.parametrize("ties", ["against", "for"])
def test_evaluate_sampled_matches_a_plain_reference(ties):
    rng = np.random.default_rng(0)
    table = rng.integers(0, 4, size=30).astype(float)  # few distinct values: many ties
    cases = pd.DataFrame({"user_id": np.arange(40) % 7, "item_id": rng.integers(0, 30, 40)})
    negatives = rng.integers(0, 30, size=(40, 12))  # duplicates and test items included
    negatives[:5, 0] = cases["item_id"][:5]
    metrics, ranks = evaluate_sampled(
        ItemScores(table), cases, negatives, k=(1, 3, 5), ties=ties, return_ranks=True
    )
    expected = [reference_rank(t, n, table, ties) for t, n in zip(cases["item_id"], negatives)]
    assert ranks.tolist() == expected
    for cut in (1, 3, 5):
        assert metrics[f"hr@{cut}"] == pytest.approx(np.mean([r < cut for r in expected]))
        assert metrics[f"ndcg@{cut}"] == pytest.approx(
            np.mean([d(r) if r < cut else 0 for r in expected])
        )


def test_negative_equal_to_test_item_is_dropped_and_duplicates_kept():
    table = np.array([0.0, 0.5, 0.5, 0.9])
    cases = pd.DataFrame({"user_id": [7], "item_id": [1]})
    # 1 is the test item itself (dropped, twice); 3 twice beats it; 2 ties it
    metrics, ranks = evaluate_sampled(
        ItemScores(table), cases, [[1, 3, 3, 2, 1, 0]], k=3, return_ranks=True
    )
    assert ranks.tolist() == [3.0] and metrics["hr@3"] == 0.0
    _, ranks = evaluate_sampled(ItemScores(table), cases, [[1, 3, 3, 2, 1, 0]], ties="for",
                                return_ranks=True)  # fmt: skip
    assert ranks.tolist() == [2.0]


def test_evaluate_sampled_queries_rows_with_context_in_whole_cases():
    model = ItemScores(np.arange(10.0))
    cases = pd.DataFrame(
        {"item_id": [5, 6, 7], "user_id": [0, 1, 2], "ctx_day": [1, 2, 3], "rating": 1.0}
    )
    one = evaluate_sampled(model, cases, [[1, 9], [2, 3], [8, 9]], batch_size=4)
    assert [len(q) for q in model.queries] == [3, 3, 3]  # batch_size 4 < 3 candidates x 2
    first = model.queries[0]
    assert list(first.columns) == ["user_id", "item_id", "ctx_day"]
    assert first.to_numpy().tolist() == [[0, 5, 1], [0, 1, 1], [0, 9, 1]]
    big = evaluate_sampled(ItemScores(np.arange(10.0)), cases, [[1, 9], [2, 3], [8, 9]])
    assert one == big == {"hr@5": 1.0, "ndcg@5": pytest.approx((d(1) + 1 + d(2)) / 3),
                          "hr@10": 1.0, "ndcg@10": pytest.approx((d(1) + 1 + d(2)) / 3)}  # fmt: skip


class GroupScores:
    def __init__(self):
        self.calls = []

    def predict(self, X):
        self.calls.append("predict")
        return X["item_id"].to_numpy(dtype=float)

    def predict_group(self, X):
        self.calls.append("predict_group")
        return -X["item_id"].to_numpy(dtype=float)


def test_group_level_uses_predict_group_when_present():
    model = GroupScores()
    cases = pd.DataFrame({"group_id": [3], "item_id": [2]})
    metrics = evaluate_sampled(model, cases, [[1, 4]], level="group", k=1)
    assert model.calls == ["predict_group"] and metrics["hr@1"] == 0.0  # 1 scores -1 > -2


def test_group_level_falls_back_to_predict_of_group_aggregator():
    X = pd.DataFrame({"user_id": [0, 0, 1, 1, 2], "item_id": [0, 1, 0, 2, 1]})
    y = np.array([5.0, 1.0, 4.0, 2.0, 1.0])
    members = pd.DataFrame({"group_id": [9, 9], "user_id": [0, 1]})
    model = GroupAggregator(BaselineOnly()).fit(X, y, groups=members)
    cases = pd.DataFrame({"group_id": [9], "item_id": [0]})
    metrics, ranks = evaluate_sampled(model, cases, [[1, 2]], level="group", k=1,
                                      return_ranks=True)  # fmt: skip
    scores = model.predict(pd.DataFrame({"group_id": [9, 9, 9], "item_id": [0, 1, 2]}))
    assert ranks[0] == float((scores[1:] >= scores[0]).sum())


class NanModel:
    def predict(self, X):
        return np.where(X["item_id"].to_numpy() == 2, np.nan, 1.0)


@pytest.mark.parametrize(
    "cases, negatives, kwargs, error, message",
    [
        (pd.DataFrame({"user_id": [0], "item_id": [1]}), [[2, 3]], {}, ValueError,
         "NanModel.predict returned 1 NaN"),
        (pd.DataFrame({"user_id": [0, 1], "item_id": [1, 1]}), [[2, 3]], {}, ValueError,
         "negatives must have shape"),
        (pd.DataFrame({"user_id": [], "item_id": []}), np.zeros((0, 2)), {}, ValueError,
         "empty"),
        (pd.DataFrame({"user_id": [0], "item_id": [1]}), [[3, None]], {}, ValueError,
         "missing item id"),
        (pd.DataFrame({"user_id": [0], "item_id": [1]}), [[3]], {"level": "team"}, ValueError,
         "level must be one of"),
        (pd.DataFrame({"user_id": [0], "item_id": [1]}), [[3]], {"level": "group"}, ValueError,
         "lacks the column"),
        ([[0, 1]], [[3]], {"level": "group"}, TypeError, "must be a pandas DataFrame"),
    ],
)  # fmt: skip
def test_evaluate_sampled_errors(cases, negatives, kwargs, error, message):
    with pytest.raises(error, match=message):
        evaluate_sampled(NanModel(), cases, negatives, **kwargs)


# --- full catalogue ----------------------------------------------------------------------


def test_full_catalogue_hand_case_and_min_k_denominator():
    recs = pd.DataFrame(
        {"user_id": [1, 1, 1, 2, 2, 2, 4], "item_id": [5, 6, 7, 7, 6, 5, 5],
         "rank": [1, 2, 3, 3, 2, 1, 1]}
    )  # fmt: skip
    # user 1: tests 6, 9, 5 (5 twice): hits at positions 0, 1 -> recall@2 2/min(2,3) = 1
    # user 2: test 7 at position 2 (rank column, not row order) -> nothing in top 2
    # user 3: no list at all -> 0; user 4's list has no test item: not averaged
    test = pd.DataFrame({"user_id": [1, 1, 1, 1, 2, 3], "item_id": [6, 9, 5, 5, 7, 8]})
    metrics = full_catalogue_metrics(recs, test, k=(2, 3))
    assert metrics["recall@2"] == pytest.approx(1 / 3)
    assert metrics["ndcg@2"] == pytest.approx(1 / 3)  # user 1: DCG = IDCG = 1 + d(1)
    # k=3: user 1 recall 2/3, NDCG (1 + d(1)) / (1 + d(1) + d(2)); user 2 recall 1, NDCG d(2)
    assert metrics["recall@3"] == pytest.approx((2 / 3 + 1) / 3)
    assert metrics["ndcg@3"] == pytest.approx(((1 + d(1)) / (1 + d(1) + d(2)) + d(2)) / 3)


def test_full_catalogue_row_order_without_rank_and_groups():
    recs = pd.DataFrame({"group_id": ["a", "a"], "item_id": [3, 4]})
    test = pd.DataFrame({"group_id": ["a"], "item_id": [4]})
    assert full_catalogue_metrics(recs, test, level="group", k=1) == {"recall@1": 0.0, "ndcg@1": 0.0}
    assert full_catalogue_metrics(recs, test, level="group", k=2)["ndcg@2"] == pytest.approx(d(1))


def test_full_catalogue_errors():
    test = pd.DataFrame({"user_id": [1], "item_id": [2]})
    with pytest.raises(ValueError, match="empty"):
        full_catalogue_metrics(test, test.iloc[:0])
    with pytest.raises(ValueError, match="recommendations lacks"):
        full_catalogue_metrics(pd.DataFrame({"item_id": [1]}), test)
    with pytest.raises(TypeError, match="recommendations must be a pandas DataFrame"):
        full_catalogue_metrics([[1, 2]], test)


@pytest.fixture
def fitted():
    X = pd.DataFrame(
        {"user_id": [0, 0, 0, 1, 1, 2, 2, 2], "item_id": [0, 1, 2, 0, 3, 1, 2, 4]}
    )
    y = np.array([5.0, 4, 3, 5, 1, 2, 5, 4])
    return BaselineOnly().fit(X, y), X


def test_evaluate_full_catalogue_uses_recommend_excluding_training_items(fitted):
    model, X = fitted
    test = pd.DataFrame({"user_id": [0, 1, 1, 2], "item_id": [3, 1, 0, 0]})
    # user 1's test item 0 is a training item: excluded from its list, never a hit
    lists = model.recommend([0, 1, 2], n_items=2)
    assert not lists.merge(X, on=["user_id", "item_id"]).shape[0]
    expected = full_catalogue_metrics(lists, test, k=2)
    assert evaluate_full_catalogue(model, test, k=2, batch_size=1) == expected
    assert evaluate_full_catalogue(model, test, k=2) == expected


def test_evaluate_full_catalogue_group_aggregator(fitted):
    model, X = fitted
    members = pd.DataFrame({"group_id": [5, 5, 6], "user_id": [0, 1, 2]})
    agg = GroupAggregator(BaselineOnly()).fit(X, np.ones(len(X)) * 3 + X["item_id"] % 2,
                                              groups=members)  # fmt: skip
    test = pd.DataFrame({"group_id": [5, 6], "item_id": [4, 3]})
    lists = agg.recommend([5, 6], n_items=1)
    assert evaluate_full_catalogue(agg, test, level="group", k=1) == full_catalogue_metrics(
        lists, test, level="group", k=1
    )


# --- sample_negatives and the scorers -------------------------------------------------------


def test_sample_negatives_avoid_training_and_test_items_and_are_deterministic(fitted):
    model, X = fitted
    cases = pd.DataFrame({"user_id": [0, 1, 2, 9], "item_id": [3, 2, 0, 1]})
    negatives = sample_negatives(model, cases, 200, random_state=3)
    assert negatives.shape == (4, 200)
    assert set(negatives[0]) == {4}  # user 0: trained on 0, 1, 2, test 3
    assert set(negatives[1]) == {1, 4}  # user 1: trained on 0, 3, test 2
    assert set(negatives[2]) == {3}  # user 2: trained on 1, 2, 4, test 0
    assert set(negatives[3]) == {0, 2, 3, 4}  # unknown user: only its test item 1 excluded
    np.testing.assert_array_equal(negatives, sample_negatives(model, cases, 200, random_state=3))
    assert not np.array_equal(negatives, sample_negatives(model, cases, 200, random_state=4))


def test_sample_negatives_user_with_nothing_left(fitted):
    model, _ = fitted
    cases = pd.DataFrame({"user_id": [0, 0], "item_id": [3, 4]})  # 0, 1, 2 trained
    with pytest.raises(ValueError, match="user_id 0 has no item left"):
        sample_negatives(model, cases, 5)


def test_sample_negatives_group_level_uses_items_(fitted):
    _, X = fitted
    members = pd.DataFrame({"group_id": [5, 5], "user_id": [0, 1]})
    agg = GroupAggregator(BaselineOnly()).fit(X, np.arange(len(X), dtype=float), groups=members)
    cases = pd.DataFrame({"group_id": [5], "item_id": [4]})
    negatives = sample_negatives(agg, cases, 50, level="group")
    assert set(negatives.ravel()) <= {0, 1, 2, 3} and len(set(negatives.ravel())) == 4


def test_make_topn_scorer_validates_and_reprs():
    scorer = make_topn_scorer("ndcg", k=5, protocol="full", level="group")
    assert repr(scorer) == (
        "make_topn_scorer(metric='ndcg', k=5, protocol='full', n_negatives=100, "
        "ties='against', random_state=0, level='group')"
    )
    for kwargs, message in (
        ({"metric": "recall"}, "metric must be one of \\['hr', 'ndcg'\\] for protocol='sampled'"),
        ({"metric": "hr", "protocol": "full"}, "for protocol='full'"),
        ({"k": 0}, "k must be"),
        ({"n_negatives": 0}, "n_negatives must be"),
        ({"ties": "x"}, "ties must be"),
        ({"level": "x"}, "level must be"),
        ({"protocol": "x"}, "protocol must be"),
    ):
        with pytest.raises(ValueError, match=message):
            make_topn_scorer(**kwargs)


def test_scorer_values_equal_the_functions(fitted):
    model, _ = fitted
    held = pd.DataFrame({"user_id": [1, 2, 9], "item_id": [2, 0, 4]})
    negatives = sample_negatives(model, held, 100, random_state=0)
    sampled = evaluate_sampled(model, held, negatives, k=10)
    assert make_topn_scorer("hr", k=10)(model, held) == sampled["hr@10"]
    assert make_topn_scorer("ndcg", k=10)(model, held, None) == sampled["ndcg@10"]
    full = evaluate_full_catalogue(model, held, k=3)
    assert make_topn_scorer("recall", k=3, protocol="full")(model, held) == full["recall@3"]
    # an array X is read as user_id, item_id
    assert make_topn_scorer("hr", k=10)(model, held.to_numpy()) == sampled["hr@10"]


def test_named_scorers():
    assert get_scorer("hr_at_10") is not SCORERS["hr_at_10"]
    assert repr(get_scorer("hr_at_10")) == repr(make_topn_scorer("hr", k=10))
    assert repr(get_scorer("hr_at_5_sampled")) == repr(make_topn_scorer("hr", k=5))
    assert repr(get_scorer("ndcg_at_20_sampled")) == repr(make_topn_scorer("ndcg", k=20))
    assert repr(get_scorer("recall_at_10_full")) == repr(
        make_topn_scorer("recall", k=10, protocol="full")
    )
    assert repr(get_scorer("group_ndcg_at_3_full")) == repr(
        make_topn_scorer("ndcg", k=3, protocol="full", level="group")
    )
    assert repr(get_scorer("group_hr_at_5")) == repr(make_topn_scorer("hr", k=5, level="group"))
    # the rating-based names keep their meaning
    assert "make_ranking_scorer" in repr(get_scorer("recall_at_10"))
    assert "make_ranking_scorer" in repr(get_scorer("ndcg_at_10"))
    with pytest.raises(ValueError, match="hr_at_<k>"):
        get_scorer("hr_at_10_full")


def test_scorer_pickles_and_runs_in_grid_search_with_two_jobs():
    rng = np.random.default_rng(0)
    n_users = 30
    users = np.repeat(np.arange(n_users), 8)
    items = (users % 4) * 10 + rng.integers(0, 10, users.size)  # 4 taste blocks
    X = pd.DataFrame({"user_id": users, "item_id": items}).drop_duplicates(ignore_index=True)
    y = np.full(len(X), 5.0)
    y[::3] = 1.0
    scorer = pickle.loads(pickle.dumps(make_topn_scorer("hr", k=5, n_negatives=20)))
    search = GridSearchCV(
        BaselineOnly(),
        {"reg_i": [1.0, 100.0]},
        cv=LeaveKOut(k=2, random_state=0, strategy="random"),
        scoring={"hr": scorer, "recall": get_scorer("recall_at_5_full")},
        refit=False,
        n_jobs=2,
    )
    search.fit(X, y)
    single = GridSearchCV(
        BaselineOnly(), {"reg_i": [1.0, 100.0]}, cv=LeaveKOut(k=2, random_state=0,
        strategy="random"), scoring=scorer, n_jobs=1,
    ).fit(X, y)  # fmt: skip
    np.testing.assert_allclose(search.cv_results_["mean_test_hr"], single.cv_results_["mean_test_score"])
    assert np.all((0 <= search.cv_results_["mean_test_hr"]) & (search.cv_results_["mean_test_hr"] <= 1))
    assert isinstance(scorer, TopNScorer)


# --- real data: popularity on Mafengwo, the number the literature compares against ----------


class Popularity:
    """Scores an item by its number of training rows (0 when unseen)."""

    def __init__(self, interactions):
        self.counts = interactions["item_id"].value_counts()

    def predict(self, X):
        return X["item_id"].map(self.counts).fillna(0).to_numpy(dtype=float)


@pytest.mark.realdata
def test_mafengwo_popularity_under_the_published_protocol(data_home):
    from sk_grouprec.datasets import load_mafengwo

    if not (data_home / "mafengwo").is_dir():
        pytest.skip("Mafengwo files not found in the data home")
    data = load_mafengwo(data_home)
    expected = {
        ("group", "against"): (0.4804, 0.3541, 0.6050, 0.3942),
        ("group", "for"): (0.4915, 0.3616, 0.6362, 0.4083),
        ("user", "against"): (0.6408, 0.4663, 0.7434, 0.4997),
        ("user", "for"): (0.6460, 0.4706, 0.7452, 0.5028),
    }
    for (level, ties), values in expected.items():
        model = Popularity(data[f"{level}_interactions"])
        metrics = evaluate_sampled(
            model, data[f"{level}_test"], data[f"{level}_negatives"], level=level, ties=ties
        )
        assert np.round(list(metrics.values()), 4).tolist() == list(values), (level, ties)


def test_pipeline_scored_through_predict_and_listed_by_its_last_step(fitted):
    from sklearn.pipeline import Pipeline

    model, X = fitted
    pipe = Pipeline([("model", BaselineOnly())]).fit(X, model.predict(X))
    held = pd.DataFrame({"user_id": [1, 2], "item_id": [2, 0]})
    full = evaluate_full_catalogue(pipe, held, k=2)
    assert full == evaluate_full_catalogue(pipe[-1], held, k=2)
    assert make_topn_scorer("ndcg", k=2, protocol="full")(pipe, held) == full["ndcg@2"]
    negatives = sample_negatives(pipe, held, 10)
    assert set(negatives[0]) <= {1, 4}  # user 1: trained on 0, 3; test 2
    assert make_topn_scorer("hr", k=3, n_negatives=10)(pipe, held) == evaluate_sampled(
        pipe, held, negatives, k=3
    )["hr@3"]
