"""Training pieces whose cost follows the batch, not the tables: sparse-gradient lookups,
the row-lazy AdamW, user-blocked and sharded batches."""

import copy
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from sk_grouprec.dmtl._batching import ShardedBatchIterator, UserBlocks
from sk_grouprec.dmtl._optim import SparseAdamW
from sk_grouprec.dmtl._sparse import bag_sum, row_lookup
from sk_grouprec.dmtl.network import DMTLNetwork, EntityTower


def _history():
    # 5 entities (+ unknown row), histories over 7 columns; entity 2 and the unknown: none
    indptr = torch.tensor([0, 2, 5, 5, 6, 8, 8])
    columns = torch.tensor([0, 3, 1, 2, 3, 4, 6, 0])
    return indptr, columns, 7


def _grads(module):
    return {
        name: (p.grad.to_dense() if p.grad.is_sparse else p.grad).clone()
        for name, p in module.named_parameters()
        if p.grad is not None
    }


def test_sparse_tower_matches_dense_outputs_and_gradients():
    torch.manual_seed(0)
    tower = EntityTower(
        torch.randn(6, 3), 4, 3, n_context=2, use_bias_term=True, history=_history()
    )
    index = torch.tensor([[0, 1, 1], [5, 4, 2]])
    context = torch.randn(2, 3, 2)
    results = []
    for sparse in (False, True):
        tower.zero_grad(set_to_none=True)
        tower.set_sparse_gradients(sparse)
        h, e, b = tower(index, context)
        (h.pow(2).sum() + (e * torch.arange(3.0)).sum() + 3 * b.sum()).backward()
        results.append(((h, e, b), _grads(tower)))
    (dense_out, dense_grads), (sparse_out, sparse_grads) = results
    for a, b in zip(dense_out, sparse_out):
        torch.testing.assert_close(a, b)
    assert dense_grads.keys() == sparse_grads.keys()
    for name in dense_grads:
        torch.testing.assert_close(dense_grads[name], sparse_grads[name])
    for name in ("embedding.weight", "bias.weight", "implicit.weight"):
        assert dict(tower.named_parameters())[name].grad.is_sparse
    # the unknown row (padding) gets no gradient
    assert float(sparse_grads["embedding.weight"][5].abs().sum()) == 0.0


def test_sparse_gradient_holds_only_the_batch_rows():
    weight = torch.randn(1000, 4, requires_grad=True)
    row_lookup(weight, torch.tensor([7, 3, 7, 999])).sum().backward()
    grad = weight.grad.coalesce()
    assert grad.indices()[0].tolist() == [3, 7, 999]
    np.testing.assert_allclose(grad.values()[:, 0].numpy(), [1.0, 2.0, 1.0])
    columns, offsets = torch.tensor([5, 5, 8, 1]), torch.tensor([0, 3])
    out = bag_sum(weight, columns, offsets, torch.tensor([1.0, 2.0, 0.5, 4.0]))
    torch.testing.assert_close(out[0], 3 * weight[5] + 0.5 * weight[8])
    weight.grad = None
    out.sum().backward()
    assert weight.grad.coalesce().indices()[0].tolist() == [1, 5, 8]


def _train(optimizer, sparse, rows_at, steps=25, schedule=True):
    torch.manual_seed(0)
    table = torch.nn.Parameter(torch.randn(8, 3))
    head = torch.nn.Linear(3, 1)
    opt = optimizer(
        [{"params": [table, head.weight]}, {"params": [head.bias], "weight_decay": 0.0}],
        lr=0.05,
        weight_decay=0.5,
    )
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps) if schedule else None
    for step in range(steps):
        index = rows_at(step)
        e = row_lookup(table, index) if sparse else table[index]
        (head(e) - 1.0).pow(2).sum().backward()
        opt.step()
        opt.zero_grad()
        if sched is not None:
            sched.step()
    if isinstance(opt, SparseAdamW):
        opt.flush()
    return table.detach(), head.weight.detach(), head.bias.detach()


def test_sparse_adamw_equals_adamw_on_dense_gradients_and_full_batches():
    every_row = lambda step: torch.arange(8)  # noqa: E731
    reference = _train(torch.optim.AdamW, False, every_row)
    for sparse in (False, True):
        for a, b in zip(reference, _train(SparseAdamW, sparse, every_row)):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def _rows_only(optimizer, sparse, rows_at, steps):
    """Each row pulled to its own target (rows do not interact)."""
    torch.manual_seed(0)
    table = torch.nn.Parameter(torch.randn(8, 3))
    target = torch.randn(8, 3)
    # beta2 = 0.95: the bias correction has settled after the warm-up
    opt = optimizer([table], lr=0.01, betas=(0.9, 0.95), weight_decay=0.5)
    for step in range(steps):
        index = rows_at(step)
        e = row_lookup(table, index) if sparse else table[index]
        (e - target[index]).pow(2).sum().backward()
        opt.step()
        opt.zero_grad()
    if isinstance(opt, SparseAdamW):
        opt.flush()
    return table.detach()


def test_sparse_adamw_catches_up_absent_rows_like_adamw():
    # after 100 steps with every row: rows 0-3 in every batch, rows 4-6 every third step,
    # row 7 never again. Dense AdamW keeps decaying absent rows and moving them with their
    # momentum; SparseAdamW applies both when a row returns (and in flush), exactly once the
    # bias correction has settled (it is taken at a row's first absent step)
    def rows_at(step):
        if step < 100:
            return torch.arange(8)
        return torch.tensor([0, 1, 2, 3] + ([4, 5, 6] if step % 3 == 0 else []))

    reference = _rows_only(torch.optim.AdamW, False, rows_at, 160)
    lazy = _rows_only(SparseAdamW, True, rows_at, 160)
    torch.testing.assert_close(reference[:4], lazy[:4], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(reference[4:], lazy[4:], rtol=5e-2, atol=5e-3)
    # without the catch-up, row 7 would have kept its value of step 100
    frozen = _rows_only(SparseAdamW, True, lambda step: torch.arange(8 if step < 100 else 7), 100)
    assert float((lazy[7] - frozen[7]).abs().max()) > 1e-2


def test_sparse_adamw_rejects_bad_hyper_parameters():
    with pytest.raises(ValueError, match="lr"):
        SparseAdamW([torch.nn.Parameter(torch.ones(1))], lr=-1.0)
    with pytest.raises(ValueError, match="betas"):
        SparseAdamW([torch.nn.Parameter(torch.ones(1))], betas=(1.0, 0.9))


def test_user_blocks_order_is_a_permutation_with_short_user_runs():
    g = torch.Generator().manual_seed(0)
    users = torch.randint(0, 50, (5000,), generator=g)
    blocks = UserBlocks(users, 16)
    order = blocks.order(g)
    assert torch.equal(torch.sort(order).values, torch.arange(5000))
    # batches of 256 rows hold about 256 / 16 users, against ~50 with a plain shuffle
    distinct = [len(torch.unique(users[order[i : i + 256]])) for i in range(0, 4096, 256)]
    plain = torch.randperm(5000, generator=g)
    distinct_plain = [len(torch.unique(users[plain[i : i + 256]])) for i in range(0, 4096, 256)]
    assert max(distinct) <= 24  # 16 full blocks, plus cut and short (last) blocks
    assert min(distinct_plain) > 40
    # a new order every epoch
    assert not torch.equal(order, blocks.order(g))


def test_user_blocks_shuffle_within_users_and_reorder_blocks_each_epoch():
    g = torch.Generator().manual_seed(1)
    users = torch.randint(0, 30, (3000,), generator=g)
    blocks = UserBlocks(users, 8)
    first, second = blocks.order(g), blocks.order(g)
    for order in (first, second):
        assert torch.equal(torch.sort(order).values, torch.arange(3000))
        # every run of 8 rows that starts a block belongs to one user
        changes = int((users[order][1:] != users[order][:-1]).sum())
        assert changes < blocks.block_start.shape[0]
    assert not torch.equal(first, second)
    # the rows of a user are not always in the same blocks (shuffled within users)
    user0 = [torch.nonzero(users[o] == 0).squeeze(1) for o in (first, second)]
    assert not torch.equal(first[user0[0]].sort().values[:8], second[user0[1]][:8].sort().values)


def test_training_epochs_see_different_batch_orders():
    from sk_grouprec.dmtl._net import DMTLNet, InteractionDataset

    seen = []

    class Recording(ShardedBatchIterator):
        def __iter__(self):
            batches = list(super().__iter__())
            seen.append(torch.cat([x["row"] for x, _ in batches]))
            return iter(batches)

    net = DMTLNet(
        _RowModule, criterion=torch.nn.MSELoss, max_epochs=3, batch_size=10,
        iterator_train=Recording, iterator_train__shuffle=True, iterator_train__seed=0,
        train_split=None, verbose=0,
    )
    net.get_loss = lambda y_pred, y_true, X=None, training=False: ((y_pred - y_true) ** 2).mean()
    rows = _Rows(40)
    net.fit(InteractionDataset(rows.inputs, rows.target), None)
    assert len(seen) == 3
    assert not torch.equal(seen[0], seen[1]) and not torch.equal(seen[1], seen[2])


class _RowModule(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.task_weighting = SimpleNamespace(needs_custom_backward=False)

    def forward(self, user, row):
        return self.w * row.float()


class _Rows:
    def __init__(self, n):
        self.inputs = {"user": torch.arange(n) % 7, "row": torch.arange(n)}
        self.target = torch.arange(n, dtype=torch.float32)

    def __len__(self):
        return self.target.shape[0]


@pytest.mark.parametrize("user_block", [1, 4])
def test_shards_are_disjoint_cover_the_epoch_and_have_equal_lengths(user_block):
    data = _Rows(1000)
    shards = [
        ShardedBatchIterator(
            data, 64, shuffle=True, seed=3, user_block=user_block, num_replicas=3, rank=r
        )
        for r in range(3)
    ]
    rows = [[int(v) for batch, _ in shard for v in batch["row"]] for shard in shards]
    assert [len(s) for s in shards] == [6, 6, 6]  # 16 batches over 3 ranks, padded to 6
    assert sorted(set().union(*map(set, rows))) == list(range(1000))
    counts = [len(r) for r in rows]
    assert sum(counts) >= 1000 and max(counts) - min(counts) <= 64
    single = ShardedBatchIterator(data, 64, shuffle=True, seed=3, user_block=user_block)
    assert len(single) == 16
    assert sorted(int(v) for b, _ in single for v in b["row"]) == list(range(1000))


def test_iterator_without_shuffle_keeps_row_order_and_subsets():
    data = _Rows(10)
    subset = torch.utils.data.Subset(data, [9, 2, 4])
    batches = list(ShardedBatchIterator(subset, 2))
    assert [b["row"].tolist() for b, _ in batches] == [[9, 2], [4]]
    with pytest.raises(ValueError, match="rank"):
        ShardedBatchIterator(data, 2, num_replicas=2, rank=2)


def test_dmtl_network_trains_the_same_with_sparse_gradients():
    """A few steps of the whole network: SparseAdamW on sparse gradients follows AdamW."""
    torch.manual_seed(0)
    user_x, item_x = torch.randn(21, 3), torch.randn(11, 2)
    rng = np.random.default_rng(0)
    users = rng.integers(0, 20, 400)
    items = rng.integers(0, 10, 400)
    import scipy.sparse as sp

    rated = sp.csr_matrix((np.ones(400), (users, items)), shape=(21, 11))
    history = (
        torch.as_tensor(rated.indptr.astype(np.int64)),
        torch.as_tensor(rated.indices.astype(np.int64)),
        11,
    )
    net = DMTLNetwork(user_x, item_x, n_context=0, n_groups=3, user_history=history)
    target = torch.randn(400)
    results = []
    for sparse, optimizer in ((False, torch.optim.AdamW), (True, SparseAdamW)):
        model = copy.deepcopy(net)
        for tower in model.modules():
            if isinstance(tower, EntityTower):
                tower.set_sparse_gradients(sparse)
        opt = optimizer(model.parameters(), lr=0.01, weight_decay=1.0)
        for start in range(0, 400, 100):
            u = torch.as_tensor(users[start : start + 100])
            i = torch.as_tensor(items[start : start + 100])
            rating = model(u, i)[0]
            (rating - target[start : start + 100]).pow(2).mean().backward()
            opt.step()
            opt.zero_grad()
        if sparse:
            opt.flush()
        results.append(model(torch.as_tensor(users), torch.as_tensor(items))[0].detach())
    torch.testing.assert_close(results[0], results[1], rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize(
    "params, sparse",
    [({}, True), ({"task_weighting": "gradnorm"}, False), ({"optimizer": "adam"}, False)],
)
def test_estimator_uses_sparse_rows_with_adamw_only(params, sparse):
    from bad_input_cases import tiny_dmtl

    from sk_grouprec.testing import make_small_ratings

    X, y, group = make_small_ratings()
    est = tiny_dmtl(**params).fit(X, y)
    towers = [m for m in est.module_.modules() if isinstance(m, EntityTower)]
    assert towers and all(t.sparse_gradients is sparse for t in towers)
    assert isinstance(est.net_.optimizer_, SparseAdamW) is sparse
    assert np.isfinite(est.predict(X)).all()


def test_auto_batch_size_follows_the_data():
    from sk_grouprec.dmtl._net import batching

    class Est:
        batch_size = "auto"

    assert batching(Est, 80_000) == (1024, 1)
    assert batching(Est, 1_000_000) == (8192, 32)
    Est.batch_size = 512
    assert batching(Est, 1_000_000) == (512, 1)
