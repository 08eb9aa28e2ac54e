"""Extra heads and wrappers the GAN family adds around the core networks.

- `AuxClassifier`: AC-GAN's auxiliary class head on D's features (Odena et al. 2017).
- `QHead`: InfoGAN's Q network, sharing D's body through `D.features` (Chen et al. 2016): logits
  of the categorical code and means of the continuous codes.
- `ConcatConditional`: a class-conditional D that sees its label as extra input (one-hot planes
  for images, one-hot features otherwise), the concatenation alternative to projection
  (Mirza & Osindero 2014; Miyato & Koyama 2018 compare the two); `class_planes` builds those
  planes (CycleGAN's class-conditional Ds read them too).
- `InfoGenerator`: wraps G so that its latent z carries InfoGAN's codes (see `split_codes`).
- `label_embedding` / `projection_embedding`: the label vectors of a conditional G and of a
  projection D, at scales that keep the label from drowning z or D's realism logit.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

# G's label embedding starts small next to z ~ N(0, I): with nn.Embedding's N(0, 1) the ten label
# vectors are G's strongest input, and G learns one image per label before it learns to use z
# (measured on the digits: within-class pixel std 0.02 against 0.33 real; 0.19 with this init).
LABEL_EMBED_STD = 0.1


def label_embedding(num_classes: int, dim: int) -> nn.Embedding:
    """G's label vectors [num_classes, dim], drawn from N(0, LABEL_EMBED_STD^2)."""
    e = nn.Embedding(num_classes, dim)
    nn.init.normal_(e.weight, std=LABEL_EMBED_STD)
    return e


def projection_logit(head: nn.Module, embed: nn.Module | None, h: torch.Tensor,
                     y: torch.Tensor | None) -> torch.Tensor:
    """A D's logit from its features h [N, F]: head(h) plus, with class vectors `embed`, the
    projection term <embed(y), h> (Miyato & Koyama 2018). Returns [N]."""
    logit = head(h).squeeze(1)
    return logit if embed is None else logit + (embed(y) * h).sum(1)


def projection_embedding(num_classes: int, dim: int) -> nn.Embedding:
    """A projection D's class vectors (Miyato & Koyama 2018) at the output layer's scale,
    N(0, 1/dim): with N(0, 1) the class term <embed(y), h> is ~sqrt(dim) times the realism logit,
    D mostly asks "is this a c?", and G answers with one image per class."""
    e = nn.Embedding(num_classes, dim)
    nn.init.normal_(e.weight, std=dim**-0.5)
    return e


def d_features(d: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """D's body features [N, F] for x; a clear error for a D without a `features` method."""
    from ganforge.errors import ConfigError

    if not hasattr(d, "features"):
        raise ConfigError(f"{type(d).__name__} has no features(x); this objective needs D's body")
    return d.features(x)


class AuxClassifier(nn.Module):
    """features [N, F] -> class logits [N, num_classes]."""

    def __init__(self, feat_dim: int, num_classes: int) -> None:
        super().__init__()
        self.fc = nn.Linear(feat_dim, num_classes)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.fc(h)


class QHead(nn.Module):
    """features [N, F] -> (categorical logits [N, K], continuous means [N, C]).

    One hidden layer on top of D's features, as in Chen et al. 2016 (App. C); the continuous
    codes are modelled as unit-variance Gaussians, so their NLL is 1/2 ||c - mu||^2 + const.
    """

    def __init__(
        self, feat_dim: int, *, categorical: int, continuous: int, hidden: int = 128
    ) -> None:
        super().__init__()
        self.k, self.c = categorical, continuous
        self.body = nn.Sequential(nn.Linear(feat_dim, hidden), nn.LeakyReLU(0.2))
        self.out = nn.Linear(hidden, categorical + continuous)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        o = self.out(self.body(h))
        return o[:, : self.k], o[:, self.k :]


def class_planes(y: torch.Tensor, num_classes: int, like: torch.Tensor) -> torch.Tensor:
    """Labels y [N] as constant one-hot planes [N, num_classes, H, W] at images `like`'s size
    and dtype: how a concat-conditioned image D reads its class."""
    planes = F.one_hot(y, num_classes).to(like.dtype)[:, :, None, None]
    return planes.expand(-1, -1, *like.shape[-2:])


class ConcatConditional(nn.Module):
    """x [N, *shape] and labels y [N] -> D(concat(x, label)) logits [N].

    `inner` is an unconditional D built for the widened input: images get num_classes extra
    channels (constant one-hot planes); other data get a learned label embedding of `embed`
    features after flattening (a bare one-hot is too weak next to hundreds of inputs).
    """

    def __init__(self, inner: nn.Module, num_classes: int, *, image: bool, embed: int = 0) -> None:
        super().__init__()
        self.inner, self.num_classes, self.image = inner, num_classes, image
        self.embed = None if image else nn.Embedding(num_classes, embed)

    def _widen(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.image:
            return torch.cat([x, class_planes(y, self.num_classes, x)], dim=1)
        return torch.cat([x.flatten(1), self.embed(y)], dim=1)

    def features(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.inner.features(self._widen(x, y))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.inner(self._widen(x, y))


def split_codes(z: torch.Tensor, *, categorical: int, continuous: int, z_dist: str):
    """Read InfoGAN's codes out of a prior draw z [N, z_dim].

    categorical c = argmax of z[:, :K]: for i.i.d. entries every index is equally likely, so c is
    uniform on {0..K-1} and independent of the other entries. continuous u = z[:, K:K+C] mapped
    to U[-1, 1] (identity for the uniform prior, erf(z / sqrt 2) for the normal one). The rest is
    the noise. Deriving the codes from z keeps them inside the trainer's seeded prior stream, so
    resumes stay exact and a checkpoint samples with nothing but its arch.

    Returns (c [N] int64, u [N, C] in [-1, 1], noise [N, z_dim - K - C]).
    """
    k = categorical
    c = z[:, :k].argmax(1) if k else torch.zeros(len(z), dtype=torch.long, device=z.device)
    u = z[:, k : k + continuous]
    if z_dist == "normal":
        u = torch.erf(u / math.sqrt(2.0))
    return c, u, z[:, k + continuous :]


class InfoGenerator(nn.Module):
    """G fed [s * onehot(c), u, noise] built from a prior draw z [N, z_dim] (see `split_codes`).

    s = `code_scale`. At s = 1 the one-hot is a small part of G's first-layer input next to
    dozens of noise entries, so G tends to draw the digit class from the noise and the code
    settles for a style change that Q can still read; a larger s makes the code G's dominant
    input from the first step, and the class becomes the code's job (docs/family.md).

    `forward(z)` samples like any G; `from_codes(c, u, noise)` sets the codes explicitly
    (traversals). Output as the inner G's (images [N, C, H, W] in [-1, 1]).
    """

    def __init__(
        self,
        inner: nn.Module,
        *,
        categorical: int,
        continuous: int,
        z_dist: str,
        code_scale: float = 1.0,
    ) -> None:
        super().__init__()
        self.net = inner
        self.categorical, self.continuous, self.z_dist = categorical, continuous, z_dist
        self.code_scale = float(code_scale)
        self.num_classes = 0  # unconditional: the trainer must not feed labels

    def codes(self, z: torch.Tensor):
        return split_codes(
            z, categorical=self.categorical, continuous=self.continuous, z_dist=self.z_dist
        )

    def from_codes(self, c: torch.Tensor, u: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        parts = [u, noise]
        if self.categorical:
            onehot = F.one_hot(c, self.categorical).to(noise.dtype)
            parts.insert(0, self.code_scale * onehot)
        return self.net(torch.cat(parts, dim=1))

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.from_codes(*self.codes(z))
