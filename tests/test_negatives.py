import numpy as np
import pytest

from sk_grouprec._negatives import PositiveSet, item_weights, sample_negatives


def _data(seed=0, n_entities=50, n_items=30, n_pairs=600):
    rng = np.random.default_rng(seed)
    return rng.integers(0, n_entities, n_pairs), rng.integers(0, n_items, n_pairs), n_items


def test_negatives_avoid_the_positives_of_their_entity():
    entities, items, n_items = _data()
    positives = PositiveSet(entities, items, n_items)
    negatives = sample_negatives(positives, entities, 5, np.random.default_rng(1))
    assert negatives.shape == (entities.shape[0], 5)
    assert negatives.min() >= 0 and negatives.max() < n_items
    own = {(e, i) for e, i in zip(entities, items)}
    assert not any((e, j) in own for e, row in zip(entities, negatives) for j in row)
    # positives of *other* entities stay possible negatives
    assert np.isin(negatives, items).any()


def test_sampling_is_deterministic_under_the_seed_and_changes_with_it():
    entities, items, n_items = _data()
    positives = PositiveSet(entities, items, n_items)
    a = sample_negatives(positives, entities, 3, np.random.default_rng(7))
    b = sample_negatives(positives, entities, 3, np.random.default_rng(7))
    c = sample_negatives(positives, entities, 3, np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()


def test_an_almost_saturated_entity_gets_its_only_free_item():
    items = np.arange(9)  # entity 0 has 9 of the 10 items
    positives = PositiveSet(np.zeros(9, int), items, 10)
    negatives = sample_negatives(positives, np.zeros(4, int), 50, np.random.default_rng(0))
    assert (negatives == 9).all()


def test_a_saturated_entity_is_an_error():
    positives = PositiveSet([0, 0, 1], [0, 1, 0], 2)
    with pytest.raises(ValueError, match=r"entities \[0\] have every one of the 2 items"):
        sample_negatives(positives, [1, 0], 1, np.random.default_rng(0))


def test_contains_matches_a_set():
    entities, items, n_items = _data(3)
    positives = PositiveSet(entities, items, n_items)
    rng = np.random.default_rng(0)
    qe, qi = rng.integers(0, 50, 500), rng.integers(0, n_items, 500)
    own = {(e, i) for e, i in zip(entities, items)}
    expected = [(e, i) in own for e, i in zip(qe, qi)]
    assert positives.contains(qe, qi).tolist() == expected


def test_item_weights_are_smoothed_counts_to_the_exponent():
    weights = item_weights([0, 0, 0, 2], n_items=4, exponent=0.5)
    np.testing.assert_allclose(weights, [2.0, 1.0, np.sqrt(2.0), 1.0])
    assert item_weights([0, 1], n_items=4, exponent=0) is None


def test_weighted_draws_follow_the_weights_and_avoid_positives():
    # entity 0 owns item 0; items 1..3 drawn in proportion 1 : 2 : 5
    positives = PositiveSet([0], [0], 4)
    weights = np.array([100.0, 1.0, 2.0, 5.0])
    draws = sample_negatives(positives, np.zeros(2000, int), 4, np.random.default_rng(0), weights)
    assert not (draws == 0).any()
    shares = np.bincount(draws.ravel(), minlength=4)[1:] / draws.size
    np.testing.assert_allclose(shares, [1 / 8, 2 / 8, 5 / 8], atol=0.01)


def test_weighted_draws_are_deterministic_under_the_seed():
    entities, items, n_items = _data()
    positives = PositiveSet(entities, items, n_items)
    weights = item_weights(items, n_items, 1.0)
    a = sample_negatives(positives, entities, 3, np.random.default_rng(5), weights)
    b = sample_negatives(positives, entities, 3, np.random.default_rng(5), weights)
    np.testing.assert_array_equal(a, b)


def test_popularity_draws_favour_popular_items():
    items = np.repeat(np.arange(10), [50, 1, 1, 1, 1, 1, 1, 1, 1, 1])
    entities = np.arange(items.shape[0]) + 1  # entity 0 owns nothing
    positives = PositiveSet(entities, items, 10)
    rng = np.random.default_rng(0)
    uniform = sample_negatives(positives, np.zeros(500, int), 4, rng)
    popular = sample_negatives(positives, np.zeros(500, int), 4, rng,
                               item_weights(items, 10, 1.0))
    assert (uniform == 0).mean() < 0.15 < 0.7 < (popular == 0).mean()


@pytest.mark.parametrize(
    "weights, match",
    [(np.ones(3), "one per item"), (np.array([1.0, -1.0, 1.0, 1.0]), "non-negative"),
     (np.array([1.0, np.nan, 1.0, 1.0]), "finite"), (np.zeros(4), "positive entry")],
)
def test_bad_weights_raise(weights, match):
    positives = PositiveSet([0], [0], 4)
    with pytest.raises(ValueError, match=match):
        sample_negatives(positives, [0], 2, np.random.default_rng(0), weights)
