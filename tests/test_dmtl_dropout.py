"""RandDropout: nn.Dropout's semantics with a cheaper mask."""

import pytest
import torch

from sk_grouprec.dmtl._dropout import RandDropout


def test_zeroes_a_share_p_and_scales_the_rest():
    torch.manual_seed(0)
    x = torch.ones(200_000)
    out = RandDropout(0.3)(x)
    zeroed = (out == 0).float().mean().item()
    assert zeroed == pytest.approx(0.3, abs=0.005)
    assert torch.allclose(out[out != 0], torch.full_like(out[out != 0], 1 / 0.7))
    assert out.mean().item() == pytest.approx(1.0, abs=0.01)  # unbiased, as nn.Dropout


def test_identity_in_eval_mode_and_at_rate_zero():
    x = torch.randn(5, 7)
    assert torch.equal(RandDropout(0.5).eval()(x), x)
    assert torch.equal(RandDropout(0.0)(x), x)


def test_gradient_is_the_mask_times_the_scale():
    torch.manual_seed(1)
    x = torch.randn(1000, requires_grad=True)
    out = RandDropout(0.5)(x)
    out.sum().backward()
    expected = (out.detach() != 0).float() * 2.0
    assert torch.equal(x.grad, expected)


def test_same_seed_same_mask():
    x = torch.ones(50)
    torch.manual_seed(3)
    a = RandDropout(0.5)(x)
    torch.manual_seed(3)
    b = RandDropout(0.5)(x)
    assert torch.equal(a, b)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_rate_outside_zero_one_is_an_error(p):
    with pytest.raises(ValueError, match="p must be in"):
        RandDropout(p)
