"""Inverted dropout whose mask is drawn with :func:`torch.rand_like`.

Same result in distribution as :class:`torch.nn.Dropout` (each entry zeroed with probability
``p``, the others scaled by ``1 / (1 - p)``, identity in eval mode), but on CPU
``torch.rand_like`` draws a mask about four times faster than the ``bernoulli_`` kernel
``nn.Dropout`` uses: at rate 0.5 a Mafengwo ranking fit takes about 1.5 times as long as
without dropout with ``nn.Dropout``, about 1.2 times with these masks.
"""

from __future__ import annotations

import torch
from torch import nn


class RandDropout(nn.Module):
    """:class:`torch.nn.Dropout` with a mask from :func:`torch.rand_like`.

    Parameters
    ----------
    p : float
        Probability of zeroing an entry, in ``[0, 1)``.

    Examples
    --------
    >>> import torch
    >>> drop = RandDropout(0.5)
    >>> x = torch.ones(4, 3)
    >>> _ = torch.manual_seed(0)
    >>> sorted(set(drop(x).flatten().tolist()))
    [0.0, 2.0]
    >>> torch.equal(drop.eval()(x), x)
    True
    """

    def __init__(self, p):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"p must be in [0, 1); got {p!r}.")
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        # one float mask, built in place: 0 or 1 / (1 - p); the backward pass is one product
        mask = torch.rand_like(x).ge_(self.p).mul_(1.0 / (1.0 - self.p))
        return x * mask

    def extra_repr(self):
        return f"p={self.p}"
