"""The frame-level detector network: a small dilated CNN plus cheap duration-aware context.

Two paths over the features of 10 ms frames:

- a local encoder: a 3-tap convolution and residual dilated convolutions (dilations 1, 2,
  4, 8: +-150 ms), which sees the shape of clicks, dropout edges and clipped vowels;
- a context path at 50 ms resolution (groups of 5 frames, averaged): a few learned
  descriptors (a 1x1 convolution and a sigmoid, e.g. "this is room noise only"),
  summarised over fixed windows of up to 2 s with masked moving averages and
  morphological openings (a minimum over w, then a maximum over w: 1 exactly where the
  descriptor stays high for a run of at least w). An opening over 0.95 s is what tells a
  >= 1 s pause from a 300 ms gap between words, for a few comparisons per frame.

The head mixes both per 10 ms frame into one logit per artifact type. The network has
about 20k parameters and costs about 40 kFLOPs per frame.

Every output frame depends only on input frames within `margin` (1 s) of it, plus up
to 4 frames of its context group. `forward` takes `margin` frames of input on each side
of the frames it scores and a mask of which input frames exist (0 beyond the file's
ends): masked frames act as if the file stopped there, at every layer. With inputs
starting on a multiple of 5 frames of the file (context groups), a file scored in
overlapping chunks gives the same probabilities as the whole file at once, and training
windows near a file's ends see what inference sees.
"""

import torch
import torch.nn.functional as F
from torch import nn


def moving_sum(x: torch.Tensor, width: int) -> torch.Tensor:
    """Sums over every full window of odd `width` along the last axis (length shrinks by width - 1), in float64."""
    c = F.pad(x.double(), (1, 0)).cumsum(-1)
    return c[..., width:] - c[..., :-width]


def masked_mean(x, mask, width):
    """Mean of the unmasked frames in each full window of `width` (output length shrinks by width - 1)."""
    return (moving_sum(x * mask, width) / moving_sum(mask, width).clamp_min(1.0)).to(x.dtype)


def window_max(x: torch.Tensor, width: int) -> torch.Tensor:
    """Maximum over every full window of `width` (a multiple of 5, plus 0 to 4): a 5-wide max, then a dilated one.

    The same result as one `width`-wide max pool with about a fifth of the comparisons.
    """
    if width <= 7:
        return F.max_pool1d(x, width, 1)
    inner = 5
    outer = (width - inner) // inner + 1
    rest = width - (inner + (outer - 1) * inner)
    y = F.max_pool1d(x, inner + rest, 1)
    return F.max_pool1d(y, outer, 1, dilation=inner)


def opening(x, mask, width):
    """Morphological opening (minimum then maximum over `width` frames) ignoring masked frames.

    Output length shrinks by 2 (width - 1): frame i of the output is centred on input frame i + width - 1.
    """
    valid = mask > 0
    eroded = -window_max(-torch.where(valid, x, torch.full_like(x, 2.0)), width)
    inner_valid = valid[..., width // 2 : x.shape[-1] - width // 2]
    return window_max(torch.where(inner_valid, eroded, torch.full_like(eroded, -1.0)), width)


class FrameDetector(nn.Module):
    def __init__(
        self,
        n_inputs,
        n_types,
        channels=32,
        descriptors=8,
        opened_descriptors=4,
        dilations=(1, 2, 4, 8),
        context_pool=5,
        average_widths=(5, 13, 25, 41),
        opening_widths=(5, 11, 19),
        first_kernel=3,
    ):
        super().__init__()
        if any(w % 2 == 0 for w in (*average_widths, *opening_widths)):
            raise ValueError("window widths must be odd")
        if first_kernel % 2 == 0 or not 0 < opened_descriptors <= descriptors or context_pool < 1:
            raise ValueError("first_kernel must be odd, 0 < opened_descriptors <= descriptors, context_pool >= 1")
        self.kwargs = {
            "n_inputs": n_inputs,
            "n_types": n_types,
            "channels": channels,
            "descriptors": descriptors,
            "opened_descriptors": opened_descriptors,
            "dilations": list(dilations),
            "context_pool": context_pool,
            "average_widths": list(average_widths),
            "opening_widths": list(opening_widths),
            "first_kernel": first_kernel,
        }
        self.first_kernel = first_kernel
        self.opened_descriptors = opened_descriptors
        self.dilations = tuple(dilations)
        self.pool = context_pool
        self.average_widths = tuple(average_widths)
        self.opening_widths = tuple(opening_widths)
        self.register_buffer("mean", torch.zeros(n_inputs), persistent=False)
        self.register_buffer("std", torch.ones(n_inputs), persistent=False)
        self.inp = nn.Conv1d(n_inputs, channels, first_kernel)
        self.blocks = nn.ModuleList(nn.Conv1d(channels, channels, 3, dilation=d) for d in dilations)
        self.describe = nn.Conv1d(n_inputs, descriptors, 1)
        n_context = descriptors * len(average_widths) + opened_descriptors * len(opening_widths)
        self.mix = nn.Conv1d(channels + n_context, channels, 1)
        self.out = nn.Conv1d(channels, n_types, 1)

    @property
    def encoder_margin(self) -> int:
        return self.first_kernel // 2 + sum(self.dilations)

    @property
    def context_reach(self) -> int:
        """Pooled frames the context path reads on each side of a pooled frame."""
        return max([w // 2 for w in self.average_widths] + [2 * (w // 2) for w in self.opening_widths])

    @property
    def margin(self) -> int:
        """Input frames needed on each side of the scored frames: a multiple of the pooling."""
        need = max(self.encoder_margin, self.context_reach * self.pool)
        return -(-need // self.pool) * self.pool

    def set_normalisation(self, mean, std):
        self.mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.std.copy_(torch.as_tensor(std, dtype=torch.float32))

    def forward(self, x: torch.Tensor, mask: torch.Tensor, normalised=False) -> torch.Tensor:
        """x (batch, n_inputs, T + 2 margin) raw features, mask (batch, T + 2 margin) -> logits (batch, n_types, T).

        With `normalised`, x is already (x - mean) / std and 0 where the mask is 0.

        The context path averages groups of `pool` input frames starting at input frame 0:
        for results independent of where a file is cut, input frame 0 must sit at a
        multiple of `pool` in the file (frame -margin of a file is such a frame), and the
        input should end on a group boundary or past the file's end.
        """
        margin, pool = self.margin, self.pool
        length = x.shape[-1] - 2 * margin
        if length <= 0:
            raise ValueError(f"input needs more than {2 * margin} frames")
        batch = x.shape[0]
        m = mask[:, None, :].to(x.dtype)
        xn = x if normalised else (x - self.mean[:, None]) / self.std[:, None] * m

        e = self.encoder_margin
        lo, hi = margin - e, margin + length + e
        h, hm = xn[..., lo:hi], m[..., lo:hi]
        k = self.first_kernel // 2
        hm = hm[..., k : hm.shape[-1] - k]
        h = F.relu(self.inp(h)) * hm
        for d, conv in zip(self.dilations, self.blocks, strict=True):
            hm = hm[..., d:-d]
            h = (h[..., d:-d] + F.relu(conv(h))) * hm

        # Context at 1/pool resolution: masked means of groups of `pool` frames.
        pad = (-x.shape[-1]) % pool
        sums = F.pad(xn, (0, pad)).view(batch, xn.shape[1], -1, pool).sum(-1)
        counts = F.pad(m, (0, pad)).view(batch, 1, -1, pool).sum(-1)
        pooled = sums / counts.clamp_min(1.0)
        pm = (counts > 0).to(x.dtype)
        desc = torch.sigmoid(self.describe(pooled)) * pm
        first, last = margin // pool, (margin + length - 1) // pool  # pooled frames under the scored ones
        parts = []
        for w in self.average_widths:
            a, b = first - w // 2, last + w // 2 + 1
            parts.append(masked_mean(desc[..., a:b], pm[..., a:b], w))
        for w in self.opening_widths:
            a, b = first - 2 * (w // 2), last + 2 * (w // 2) + 1
            parts.append(opening(desc[:, : self.opened_descriptors, a:b], pm[..., a:b], w))
        context = torch.cat(parts, dim=1).repeat_interleave(pool, dim=-1)[..., :length]
        z = F.relu(self.mix(torch.cat([h, context], dim=1)))
        return self.out(z)
