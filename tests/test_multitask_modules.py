"""Alternative multi-task designs for DMTL: sharing, task refinement and task weighting.

Each test checks the defining mechanism of one option on a tiny torch problem.
"""

import math

import pytest
import torch
from torch import nn

from sk_grouprec.dmtl.network import DMTLNetwork, EntityTower, FeatureAttention, SharedBottom
from sk_grouprec.dmtl.refinement import RefinedBottom, SENetRefinement
from sk_grouprec.dmtl.sharing import MMoEBottom, PLEBottom, STEMBottom, TowerPair
from sk_grouprec.dmtl.task_weighting import (
    GradNormWeighting,
    PMTRecWeighting,
    UncertaintyWeighting,
    reduce_task_loss,
)

H = 8


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny tensors: one intra-op thread avoids contention on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _grad(loss, params):
    """Gradients of ``loss`` w.r.t. ``params``, zeros where unused."""
    grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for g, p in zip(grads, params)]


def _two_task_data(n=256, seed=0):
    """Rec target depends on the user side only, profiling target on the item side only."""
    g = torch.Generator().manual_seed(seed)
    h_u, h_i = torch.randn(n, H, generator=g), torch.randn(n, H, generator=g)
    y_rec = h_u[:, :2].sum(1)
    y_prof = (h_i[:, -2:].sum(1) > 0).long()
    return h_u, h_i, y_rec, y_prof


def _train_two_tasks(bottom, steps=60, seed=0):
    torch.manual_seed(seed)
    h_u, h_i, y_rec, y_prof = _two_task_data(seed=seed)
    heads = nn.ModuleList([nn.Linear(H, 1), nn.Linear(H, 2)])
    opt = torch.optim.Adam(list(bottom.parameters()) + list(heads.parameters()), lr=0.05)
    for _ in range(steps):
        opt.zero_grad()
        z_rec, z_prof = bottom(h_u, h_i)
        loss = ((heads[0](z_rec).squeeze(1) - y_rec) ** 2).mean() + nn.functional.cross_entropy(
            heads[1](z_prof), y_prof
        )
        loss.backward()
        opt.step()
    return h_u, h_i


# --------------------------------------------------------------------------------------
# sharing
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "bottom",
    [
        MMoEBottom(H, n_experts=3),
        PLEBottom(H, n_levels=2),
        RefinedBottom(SharedBottom(H), H),
        RefinedBottom(MMoEBottom(H), H, n_fields_per_side=1),
    ],
    ids=["mmoe", "ple", "senet+shared", "senet+mmoe"],
)
def test_bottoms_plug_into_dmtl_network(bottom):
    torch.manual_seed(0)
    net = DMTLNetwork(torch.randn(5, 2), torch.randn(6, 1), n_context=0, n_groups=3, hidden_size=H)
    net.sharing = bottom
    rating, logits, z, attention = net(torch.tensor([0, 1, 4]), torch.tensor([2, 5, 0]))
    assert rating.shape == (3,) and logits.shape == (3, 3) and z.shape == (3, H)
    (rating.sum() + logits.sum()).backward()
    assert all(p.grad is not None for p in bottom.parameters())


def test_mmoe_gates_are_softmax_per_task_and_diverge_with_training():
    torch.manual_seed(0)
    bottom = MMoEBottom(H, n_experts=4)
    with torch.no_grad():  # identical gates at the start: any difference is learned
        bottom.gates.weight[1] = bottom.gates.weight[0]
        bottom.gates.bias[1] = bottom.gates.bias[0]
    h_u, h_i, _, _ = _two_task_data()
    gates = bottom.gate_weights(h_u, h_i).detach()
    assert gates.shape == (2, 256, 4)
    assert torch.all(gates > 0)
    torch.testing.assert_close(gates.sum(-1), torch.ones(2, 256))
    torch.testing.assert_close(gates[0], gates[1])
    _train_two_tasks(bottom)
    gates = bottom.gate_weights(h_u, h_i).detach()
    torch.testing.assert_close(gates.sum(-1), torch.ones(2, 256))
    assert (gates[0] - gates[1]).abs().mean() > 0.05


def test_mmoe_outputs_are_gate_weighted_expert_sums():
    torch.manual_seed(0)
    bottom = MMoEBottom(H, n_experts=3)
    h_u, h_i = torch.randn(4, H), torch.randn(4, H)
    x = torch.cat([h_u, h_i], 1)
    experts = torch.stack(
        [torch.relu(x @ bottom.experts.weight[0, k] + bottom.experts.bias[0, k]) for k in range(3)],
        1,
    )
    gates = bottom.gate_weights(h_u, h_i)
    for t, z in enumerate(bottom(h_u, h_i)):
        torch.testing.assert_close(z, (gates[t].unsqueeze(-1) * experts).sum(1))


def test_ple_task_experts_get_no_gradient_from_the_other_task():
    torch.manual_seed(0)
    bottom = PLEBottom(H, n_shared_experts=2, n_task_experts=2, n_levels=1)
    h_u, h_i = torch.randn(16, H), torch.randn(16, H)
    z_rec, z_prof = bottom(h_u, h_i)
    experts = bottom.levels[0].task_experts.weight  # (task, expert, in, out)
    shared = bottom.levels[0].shared_experts.weight
    g_prof, g_shared_prof = _grad(z_prof.pow(2).sum(), [experts, shared])
    g_rec, g_shared_rec = _grad(z_rec.pow(2).sum(), [experts, shared])
    assert torch.count_nonzero(g_prof[0]) == 0 and torch.count_nonzero(g_prof[1]) > 0
    assert torch.count_nonzero(g_rec[1]) == 0 and torch.count_nonzero(g_rec[0]) > 0
    assert g_shared_prof.abs().sum() > 0 and g_shared_rec.abs().sum() > 0


def test_ple_two_levels_isolate_the_last_level_task_experts():
    torch.manual_seed(0)
    bottom = PLEBottom(H, n_levels=2)
    h_u, h_i = torch.randn(16, H), torch.randn(16, H)
    _, z_prof = bottom(h_u, h_i)
    last, first = bottom.levels[1].task_experts.weight, bottom.levels[0].task_experts.weight
    g_last, g_first = _grad(z_prof.pow(2).sum(), [last, first])
    assert torch.count_nonzero(g_last[0]) == 0 and torch.count_nonzero(g_last[1]) > 0
    # below the last level the shared gate mixes every expert: both tasks train them
    assert torch.count_nonzero(g_first[0]) > 0
    assert len(bottom.gate_weights(h_u, h_i)) == 2


def _stem_setup(seed=0):
    torch.manual_seed(seed)
    users, items = torch.randn(6, 2), torch.randn(7, 3)

    def make():
        return TowerPair(EntityTower(users, H, 4), EntityTower(items, H, 4), FeatureAttention(H))

    shared = make()
    stem = STEMBottom(make, H, n_experts=2)
    user, item = torch.tensor([0, 1, 2, 3, 4, 0]), torch.tensor([1, 2, 3, 4, 5, 6])
    return shared, stem, {"user": user, "item": item}


def test_stem_profiling_loss_leaves_rating_embeddings_untouched():
    shared, stem, batch = _stem_setup()
    z_rec, z_prof = stem(*shared(**batch), **batch)
    rec_own = stem.task_towers[0].user_tower.embedding.weight
    prof_own = stem.task_towers[1].user_tower.embedding.weight
    shared_emb = shared.user_tower.embedding.weight
    params = [rec_own, prof_own, shared_emb, stem.task_experts.weight]
    g_rec_own, g_prof_own, g_shared, g_experts = _grad(z_prof.pow(2).sum(), params)
    assert torch.count_nonzero(g_rec_own) == 0  # exactly zero: stop-gradient
    assert torch.count_nonzero(g_experts[0]) == 0
    assert torch.count_nonzero(g_prof_own) > 0
    assert torch.count_nonzero(g_shared) > 0
    g_rec_own, g_prof_own, g_shared, _ = _grad(z_rec.pow(2).sum(), params)
    assert torch.count_nonzero(g_prof_own) == 0
    assert torch.count_nonzero(g_rec_own) > 0 and torch.count_nonzero(g_shared) > 0


def test_stem_gates_see_every_embedding_in_the_forward_pass():
    shared, stem, batch = _stem_setup()
    sides = shared(**batch)
    _, before = stem(*sides, **batch)
    gates = stem.gate_weights(*sides, **batch)
    assert gates.shape == (2, 6, 6)  # (tasks, batch, (tasks + 1) * experts)
    torch.testing.assert_close(gates.sum(-1), torch.ones(2, 6))
    with torch.no_grad():  # change only the rating task's own embeddings
        stem.task_towers[0].user_tower.embedding.weight.add_(1.0)
    _, after = stem(*sides, **batch)
    assert (after - before).abs().max() > 1e-4  # all forward: profiling output moved


def test_tower_pair_pools_natural_group_members():
    shared, _, batch = _stem_setup()
    members = torch.tensor([[2, 3], [4, 5]])
    weights = torch.tensor([[1.0, 0.0], [0.25, 0.75]])
    h_u, _ = shared(
        **batch, group_rows=torch.tensor([1, 4]), member_index=members, member_weights=weights
    )
    h_m = shared.user_tower(members)[0]
    torch.testing.assert_close(h_u[1], h_m[0, 0])
    torch.testing.assert_close(h_u[4], 0.25 * h_m[1, 0] + 0.75 * h_m[1, 1])
    torch.testing.assert_close(h_u[0], shared.user_tower(batch["user"][:1])[0][0])


def test_bottoms_reject_bad_sizes():
    with pytest.raises(ValueError, match="n_experts"):
        MMoEBottom(H, n_experts=0)
    with pytest.raises(ValueError, match="n_levels"):
        PLEBottom(H, n_levels=0)
    with pytest.raises(TypeError, match="make_towers"):
        STEMBottom(None, H)
    with pytest.raises(ValueError, match="STEM"):
        RefinedBottom(_stem_setup()[1], H)


# --------------------------------------------------------------------------------------
# task refinement (SENet)
# --------------------------------------------------------------------------------------
def test_senet_weights_start_at_one_and_ablation_recovers_the_plain_bottom():
    torch.manual_seed(0)
    refined = RefinedBottom(SharedBottom(H), H, n_fields_per_side=2)
    h_u, h_i, _, _ = _two_task_data(n=32)
    plain = refined.bottom(h_u, h_i)
    for z, z_plain in zip(refined(h_u, h_i), plain):  # excitation starts at zero: weights 1
        torch.testing.assert_close(z, z_plain)
    _train_two_tasks(refined)
    ones = torch.ones(2, 32, 4)
    for z, z_plain in zip(refined(h_u, h_i, field_weights=ones), refined.bottom(h_u, h_i)):
        torch.testing.assert_close(z, z_plain)
    assert not torch.allclose(refined(h_u, h_i)[0], refined.bottom(h_u, h_i)[0])


def test_senet_learns_task_specific_field_weights_in_range():
    torch.manual_seed(0)
    refined = RefinedBottom(SharedBottom(H), H, n_fields_per_side=1)
    h_u, h_i = _train_two_tasks(refined, steps=150)
    w = refined.field_weights(h_u, h_i).detach()  # (task, row, [user side, item side])
    assert torch.all((w > 0) & (w < 2))
    assert (w[0] - w[1]).abs().mean() > 0.05
    # rating needs the user side, profiling the item side: their user/item balance differs
    balance = (w[..., 0] / w[..., 1]).mean(1)
    assert balance[0] > balance[1]


def test_senet_refinement_scales_each_field():
    se = SENetRefinement([2, 3], n_tasks=2)
    fields = [torch.ones(4, 2), torch.ones(4, 3)]
    weights = torch.tensor([0.5, 1.5]).expand(2, 4, 2)
    out = se.refine(fields, weights)
    assert out.shape == (2, 4, 5)
    torch.testing.assert_close(out[0, 0], torch.tensor([0.5, 0.5, 1.5, 1.5, 1.5]))
    with pytest.raises(ValueError, match="field_sizes"):
        SENetRefinement([])


# --------------------------------------------------------------------------------------
# task weighting
# --------------------------------------------------------------------------------------
def test_reduce_task_loss_masks_nan_rows_and_keeps_gradients_finite():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    rows = torch.where(torch.tensor([True, False, True]), x**2, torch.tensor(float("nan")))
    loss = reduce_task_loss(rows)
    assert float(loss.detach()) == pytest.approx(5.0)
    loss.backward()
    torch.testing.assert_close(x.grad, torch.tensor([1.0, 0.0, 3.0]))
    assert float(reduce_task_loss(torch.full((2,), float("nan")))) == 0.0


def test_uncertainty_weighting_formula_and_learned_log_variances():
    weighting = UncertaintyWeighting(tasks=("rec", "profile", "group"))
    assert any(p is weighting.log_variance for p in weighting.parameters())
    with torch.no_grad():
        weighting.log_variance.copy_(torch.tensor([0.3, -0.7, 1.1]))
    losses = {"rec": torch.tensor(2.0), "profile": torch.tensor(0.8), "group": torch.tensor(1.5)}
    expected = (
        0.5 * math.exp(-0.3) * 2.0
        + 0.15
        + math.exp(0.7) * 0.8
        - 0.35
        + 0.5 * math.exp(-1.1) * 1.5
        + 0.55
    )
    assert float(weighting(losses).detach()) == pytest.approx(expected, rel=1e-6)
    # fixed losses: the optimum is s = log L (regression) and s = log 2L (classification)
    weighting = UncertaintyWeighting()
    opt = torch.optim.Adam(weighting.parameters(), lr=0.05)
    fixed = {"rec": torch.tensor(4.0), "profile": torch.tensor(0.5)}
    for _ in range(400):
        opt.zero_grad()
        weighting(fixed).backward()
        opt.step()
    s = weighting.log_variance.detach()
    assert float(s[0]) == pytest.approx(math.log(4.0), abs=0.02)
    assert float(s[1]) == pytest.approx(math.log(1.0), abs=0.02)
    with pytest.raises(ValueError, match="unknown task"):
        weighting({"rec": torch.tensor(1.0), "other": torch.tensor(1.0)})


def _shared_toy(scale_a=10.0, seed=0):
    torch.manual_seed(seed)
    x = torch.randn(128, 6)
    shared = nn.Linear(6, H)
    heads = nn.ModuleList([nn.Linear(H, 1), nn.Linear(H, 1)])
    y_a, y_b = scale_a * x[:, 0], x[:, 1]

    def losses():
        z = torch.relu(shared(x))
        return {
            "rec": ((heads[0](z).squeeze(1) - y_a) ** 2).mean(),
            "profile": ((heads[1](z).squeeze(1) - y_b) ** 2).mean(),
        }

    return shared, heads, losses


def test_gradnorm_moves_weights_toward_equal_gradient_norms():
    # the model is held fixed so that only the weights can change the gradient norms
    shared, heads, losses = _shared_toy()
    weighting = GradNormWeighting(alpha=0.0)
    params = list(shared.parameters()) + list(heads.parameters()) + list(weighting.parameters())
    opt = torch.optim.SGD(weighting.parameters(), lr=0.01)
    imbalance = []
    for _ in range(30):
        for p in params:
            p.grad = None
        total = weighting.backward(losses(), params, [shared.weight])
        assert total.requires_grad is False
        norms = weighting.last_gradient_norms
        imbalance.append(abs(math.log(float(norms[0] / norms[1]))))
        opt.step()
    assert imbalance[-1] < 0.5 * imbalance[0]
    weights = weighting.task_weights()
    assert sum(weights.values()) == pytest.approx(2.0)
    assert weights["rec"] < 1.0 < weights["profile"]  # the dominant task is turned down
    assert not torch.isnan(weighting.initial_losses).any()


def test_gradnorm_writes_the_weighted_model_gradient():
    shared, heads, losses = _shared_toy()
    weighting = GradNormWeighting()
    with torch.no_grad():
        weighting.weight.copy_(torch.tensor([3.0, 1.0]))  # renormalised to [1.5, 0.5]
    params = list(shared.parameters()) + list(heads.parameters())
    weighting.backward(losses(), params + list(weighting.parameters()), [shared.weight])
    current = losses()
    expected = _grad(1.5 * current["rec"] + 0.5 * current["profile"], params)
    for p, g in zip(params, expected):
        torch.testing.assert_close(p.grad, g)
    assert weighting.weight.grad is not None


def _pmtrec_toy(seed=0):
    """Users 0-1 have a 20x larger auxiliary loss; the auxiliary target opposes the main."""
    torch.manual_seed(seed)
    n_users, n_items, n = 4, 5, 200
    user_emb, item_emb = nn.Embedding(n_users, 4), nn.Embedding(n_items, 4)
    shared = nn.Linear(8, H)
    heads = nn.ModuleList([nn.Linear(H, 1), nn.Linear(H, 1)])
    with torch.no_grad():
        heads[1].weight.copy_(heads[0].weight)
        heads[1].bias.copy_(heads[0].bias)
    user = torch.arange(n) % n_users
    item = torch.arange(n) % n_items
    y = torch.randn(n) + 2.0
    aux_scale = torch.where(user < 2, 20.0, 1.0)
    has_label = torch.arange(n) % 3 != 0

    def losses():
        z = torch.relu(shared(torch.cat([user_emb(user), item_emb(item)], 1)))
        main = (heads[0](z).squeeze(1) - y) ** 2
        aux = aux_scale * (heads[1](z).squeeze(1) + y) ** 2
        return {"rec": main, "profile": torch.where(has_label, aux, torch.tensor(float("nan")))}

    modules = nn.ModuleList([user_emb, item_emb, shared, heads])
    tables = {"user": user_emb.weight, "item": item_emb.weight}
    return modules, losses, {"user": user, "item": item}, tables


def test_pmtrec_personal_weights_focusing_and_balancing():
    modules, losses, batch, tables = _pmtrec_toy()
    weighting = PMTRecWeighting()
    params = list(modules.parameters())
    shared = params[:4]  # both embedding tables and the shared layer
    current = losses()
    main_flat = torch.cat([g.reshape(-1) for g in _grad(reduce_task_loss(current["rec"]), shared)])
    aux_flat = torch.cat(
        [g.reshape(-1) for g in _grad(reduce_task_loss(current["profile"]), shared)]
    )
    assert torch.dot(main_flat, aux_flat) < 0  # the toy's tasks conflict
    weighting.backward(current, params, shared, batch, tables)
    w = weighting.last_row_weights
    both = ~torch.isnan(current["profile"])
    torch.testing.assert_close(w["rec"], torch.ones_like(w["rec"]))  # the main task keeps 1
    assert torch.all((w["profile"] > 0) & (w["profile"] <= 1))
    torch.testing.assert_close(w["profile"][~both], torch.ones((~both).sum()))
    user = batch["user"]
    # personalised: weights differ between users, heavy-auxiliary users get less auxiliary
    per_user = torch.stack([w["profile"][both & (user == u)].mean() for u in range(4)])
    assert per_user.max() - per_user.min() > 0.1
    assert per_user[:2].max() < per_user[2:].min()
    g = weighting.last_shared_gradients
    assert torch.dot(g["profile"], g["rec"]) >= -1e-6 * g["rec"].norm() ** 2
    assert g["profile"].norm() <= g["rec"].norm() * (1 + 1e-5)  # balanced: never dominates
    written = torch.cat([p.grad.reshape(-1) for p in shared])
    torch.testing.assert_close(written, g["rec"] + g["profile"])
    assert all(p.grad is not None for p in params[4:])  # heads get their own gradients


def test_pmtrec_without_entities_or_personalisation_uses_unit_weights():
    modules, losses, batch, tables = _pmtrec_toy()
    weighting = PMTRecWeighting(alpha=0.0, relax_factor=0.0, focus=False)
    params = list(modules.parameters())
    current = losses()
    weighting.backward(current, params, params[:3], batch, tables)
    expected = _grad(
        reduce_task_loss(current["rec"]) + reduce_task_loss(current["profile"]), params
    )
    for p, g in zip(params, expected):
        torch.testing.assert_close(p.grad, g)
    with pytest.raises(ValueError, match="per-row"):
        weighting.row_weights({"rec": torch.tensor(1.0), "profile": torch.ones(3)})
    with pytest.raises(ValueError, match="main_task"):
        PMTRecWeighting(main_task="other")
    with pytest.raises(ValueError, match="relax_factor"):
        PMTRecWeighting(relax_factor=2.0)


def test_pmtrec_ignores_tasks_that_do_not_reach_an_entity():
    # natural-group rows reach no real user: they must not shrink the other tasks' weights
    modules, losses, batch, tables = _pmtrec_toy()
    weighting = PMTRecWeighting(tasks=("rec", "profile", "group"))
    current = losses()
    two = weighting.row_weights(current, batch, tables)
    assert two[1].min() < 0.9  # the auxiliary task is personalised...
    nowhere = current["rec"] * torch.tensor(float("nan"))
    three = weighting.row_weights({**current, "group": nowhere}, batch, tables)
    torch.testing.assert_close(three[:2], two)  # ...and unaffected by a task reaching no one
    torch.testing.assert_close(three[2], torch.ones_like(three[2]))


def test_pmtrec_balancing_only_shrinks_auxiliary_gradients():
    weighting = PMTRecWeighting(relax_factor=0.5)
    main = torch.tensor([3.0, 4.0])  # norm 5
    big, small = torch.tensor([0.0, 15.0]), torch.tensor([1.0, 0.0])
    torch.testing.assert_close(weighting.balance(big, main), torch.tensor([0.0, 10.0]))
    torch.testing.assert_close(weighting.balance(small, main), small)
