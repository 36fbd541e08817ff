"""The frame-level detector network: a small dilated CNN plus cheap duration-aware context.

Two paths over the features of 10 ms frames:

- a local encoder: a 3-tap convolution and residual dilated convolutions (dilations 1, 2,
  4, 8: +-150 ms), which sees the shape of clicks, dropout edges and clipped vowels;
- a context path: a few learned per-frame descriptors (a 1x1 convolution and a sigmoid,
  e.g. "this frame is room noise only"), summarised over fixed windows of up to 3 s with
  masked moving averages and morphological openings (a minimum over w frames, then a
  maximum over w frames: 1 exactly where the descriptor stays high for a run of at least
  w frames). An opening over 0.95 s is what tells a >= 1 s pause from a 300 ms gap
  between words, at the cost of a few comparisons per frame.

The head mixes both per frame into one logit per artifact type. The network is about
20k parameters and 40 kFLOPs per frame.

Every output frame depends only on the input frames within `margin` of it. `forward`
takes `margin` frames of input on each side of the frames it scores and a mask of which
input frames exist (0 beyond the file's ends): masked frames act as if the file stopped
there, at every layer, so a file scored in overlapping chunks gives the same
probabilities as the whole file at once, and training windows near a file's ends see
what inference sees.
"""

import torch
import torch.nn.functional as F
from torch import nn


def moving_sum(x: torch.Tensor, width: int) -> torch.Tensor:
    """Sum over a centred window of odd `width` along the last axis, zeros outside (in float64)."""
    half = width // 2
    c = F.pad(x.double(), (half + 1, half)).cumsum(-1)
    return c[..., width:] - c[..., :-width]


def masked_mean(x, mask, width):
    return (moving_sum(x * mask, width) / moving_sum(mask, width).clamp_min(1.0)).to(x.dtype)


def opening(x, mask, width):
    """Morphological opening (erosion then dilation) over `width` frames, ignoring masked frames."""
    half = width // 2
    valid = mask > 0
    eroded = -F.max_pool1d(-torch.where(valid, x, torch.full_like(x, 2.0)), width, 1, half)
    return F.max_pool1d(torch.where(valid, eroded, torch.full_like(x, -1.0)), width, 1, half)


class FrameDetector(nn.Module):
    def __init__(self, n_inputs, n_types, channels=32, descriptors=8, dilations=(1, 2, 4, 8),
                 average_widths=(21, 61, 151, 301), opening_widths=(25, 55, 95)):
        super().__init__()
        if any(w % 2 == 0 for w in (*average_widths, *opening_widths)):
            raise ValueError("window widths must be odd")
        self.kwargs = {
            "n_inputs": n_inputs, "n_types": n_types, "channels": channels, "descriptors": descriptors,
            "dilations": list(dilations), "average_widths": list(average_widths),
            "opening_widths": list(opening_widths),
        }
        self.dilations = tuple(dilations)
        self.average_widths = tuple(average_widths)
        self.opening_widths = tuple(opening_widths)
        self.register_buffer("mean", torch.zeros(n_inputs), persistent=False)
        self.register_buffer("std", torch.ones(n_inputs), persistent=False)
        self.inp = nn.Conv1d(n_inputs, channels, 3)
        self.blocks = nn.ModuleList(nn.Conv1d(channels, channels, 3, dilation=d) for d in dilations)
        self.describe = nn.Conv1d(n_inputs, descriptors, 1)
        n_context = descriptors * (len(average_widths) + len(opening_widths))
        self.mix = nn.Conv1d(channels + n_context, channels, 1)
        self.out = nn.Conv1d(channels, n_types, 1)

    @property
    def encoder_margin(self) -> int:
        return 1 + sum(self.dilations)

    @property
    def margin(self) -> int:
        """Input frames needed on each side of an output frame."""
        context = max([w // 2 for w in self.average_widths] + [2 * (w // 2) for w in self.opening_widths])
        return max(self.encoder_margin, context)

    def set_normalisation(self, mean, std):
        self.mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.std.copy_(torch.as_tensor(std, dtype=torch.float32))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x (batch, n_inputs, T + 2 margin) raw features, mask (batch, T + 2 margin) -> logits (batch, n_types, T)."""
        margin = self.margin
        length = x.shape[-1] - 2 * margin
        if length <= 0:
            raise ValueError(f"input needs more than {2 * margin} frames")
        m = mask[:, None, :].to(x.dtype)
        xn = (x - self.mean[:, None]) / self.std[:, None] * m

        e = self.encoder_margin
        lo, hi = margin - e, margin + length + e
        h, hm = xn[..., lo:hi], m[..., lo:hi]
        hm = hm[..., 1:-1]
        h = F.relu(self.inp(h)) * hm
        for d, conv in zip(self.dilations, self.blocks, strict=True):
            hm = hm[..., d:-d]
            h = (h[..., d:-d] + F.relu(conv(h))) * hm

        desc = torch.sigmoid(self.describe(xn))
        centre = slice(margin, margin + length)
        parts = [h]
        parts += [masked_mean(desc, m, w)[..., centre] for w in self.average_widths]
        parts += [opening(desc, m, w)[..., centre] for w in self.opening_widths]
        z = F.relu(self.mix(torch.cat(parts, dim=1)))
        return self.out(z)
