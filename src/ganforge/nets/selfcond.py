"""Self-conditioning: G and D conditioned on clusters of the real data, no labels needed.

Liu et al. 2020 ("Diverse Image Generation via Self-Conditioned GANs"): cluster the real images,
condition G and D on the cluster, and draw G's clusters with the real data's frequencies. D then
judges (image, cluster) pairs, so G must make each cluster's images, and as often as the data
does: a G that over-produces one kind of image (the typical partial collapse: some digits twice
as often as others) is caught cluster by cluster. The clusters need not be pure; G matches each
cluster's own mixture, so only the imbalance inside a cluster is left to chance.

The clusters live in the top principal components of the pixels and are fitted once before
training (the paper re-clusters D's features as it trains; fixed clusters keep resumes exact and
cost seconds). `method="kmeans"` is k-means there: one centroid per cluster, whose Voronoi cells
mix digits that look alike in pixels (on MNIST 50 clusters are 83% pure). `method="spectral"`
clusters a k-nearest-neighbour graph of the images instead (spectral embedding, then k-means;
Ng, Jordan & Weiss 2002), which follows the curved, thin shapes that strokes make in pixel space
(about 93% pure at 50 clusters), and keeps `PROTOS_PER_CLUSTER` k-means prototypes of each
cluster to label new images by their nearest prototype; on Stacked MNIST it lowers the KL from
0.066 to 0.037 (docs/modes.md). `parts="channels"` clusters every channel on its own and gives
each image a tuple of labels, one per channel, drawn independently: right for data whose
channels are independent images, as Stacked MNIST's three digits are.

D checks the labels only as far as its projection learns to; `cluster_loss` (the objective's
`G/cluster` term, weight `loss.self_cond_weight`) asks each fake directly to land in its cluster,
which lets more, purer clusters be used (docs/modes.md: 50 per channel on Stacked MNIST).

Points (`model.arch=mlp` on 2-D mixtures and point files): the same scheme on the MLP nets, with
clusters fitted on the coordinates themselves (the "PCA" keeps all min(PCA_DIMS, D) dimensions, a
rotation). More clusters than modes are fine: each then lies inside one mode. With `G/cluster` G
obeys its labels, so each mode gets its weight's share of z: on grid25 with weights 8 : 1 the
nearest-mode shares are off by <= 0.01, where the unconditional G drops the lightest modes. D's
projection alone does not hold G to them (5 of 25 labels ignored), and neither makes G's
points sharp: some labels land 0.3-0.5 off their mode (docs/held-out-2d.md).

G's labels come from its own prior draw (as InfoGAN's codes do, `heads.split_codes`): the first
P entries of z pick the P labels through the inverse CDF of the cluster frequencies, so G samples
unconditionally, resumes stay exact, and a checkpoint needs nothing but its arch and weights.
"""

from __future__ import annotations

import math
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.errors import ConfigError

PCA_DIMS = 32  # saved in G's arch: the buffers' shapes depend on it
FIT_N = 20_000  # real images the clusters are fitted on
# the PCA's SVD takes at most this many float64 entries (480 MB): all 60,000 rows of Stacked
# MNIST's channels, a few thousand whole 64x64 RGB images
SVD_ENTRIES = 60_000_000
# `cluster_loss`'s temperature divisor: real Stacked MNIST channels in their own cluster (50 or
# 100 clusters) score a cross-entropy of 0.12 at 10 and about 2 at 1, where the loss would pull
# every image towards its centroid
CLUSTER_SHARPNESS = 10.0
# spectral clustering: images in the graph, neighbours per image, most eigenvectors kept (50
# clusters of MNIST's test digits: 0.93-0.94 pure with 7 neighbours and 50 eigenvectors, 0.93
# with 16 eigenvectors, 0.92 with 10 neighbours; k-means of the PCA, 0.83)
SPECTRAL_N = 10_000
SPECTRAL_NEIGHBOURS = 7
SPECTRAL_DIMS = 100
# prototypes per spectral cluster: their nearest-prototype labels agree with the graph's for
# 94% of MNIST digits at 20 (90% at 10); each costs K x S distances per row, a few ms a step
PROTOS_PER_CLUSTER = 20
ASSIGN_CHUNK = 1024  # images labelled at once: [1024 * P, K * S] distances


def pca_dims(dim: int) -> int:
    """The PCA's dimensions for rows of `dim` numbers: `PCA_DIMS`, or all of them if fewer."""
    return min(PCA_DIMS, dim)


def label_parts(parts: str, shape) -> int:
    """P, the labels per sample: the channel count of `shape` [C, ...] for "channels", else 1."""
    return int(shape[0]) if parts == "channels" else 1


class ClusterCoder(nn.Module):
    """Nearest-prototype labels in a fixed PCA space, and the real data's label frequencies.

    Buffers (saved with G): mean [D], basis [D, d] (d = `pca_dims`), centroids [K * S, d] (S
    prototypes per cluster, cluster c's at rows c*S..c*S+S-1; S = 1 for k-means), cdf [P, K]
    (the cumulative label frequencies of each part). They are fitted once and never trained, so
    data-parallel training does not average them (`fixed_buffers`).
    """

    fixed_buffers = True

    def __init__(
        self, k: int, parts: int, dim: int, pca_dims: int = PCA_DIMS, method: str = "kmeans",
    ) -> None:
        super().__init__()
        self.k, self.parts, self.method = k, parts, method
        self.protos = PROTOS_PER_CLUSTER if method == "spectral" else 1
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("basis", torch.zeros(dim, pca_dims))
        self.register_buffer("centroids", torch.zeros(k * self.protos, pca_dims))
        self.register_buffer("cdf", torch.linspace(1 / k, 1, k).repeat(parts, 1))
        # derived from the centroids after a fit or a load, not saved (`_count_copies`)
        self.register_buffer("log_copies", torch.zeros(k, self.protos), persistent=False)

    def _rows(self, x: torch.Tensor) -> torch.Tensor:
        """x [N, C, ...] -> [N * P, D]: whole images, or one row per channel."""
        return x.flatten(1) if self.parts == 1 else x.flatten(2).flatten(0, 1)

    def sq_dists(self, x: torch.Tensor) -> torch.Tensor:
        """Squared distances [N * P, K, S] of x's rows to every prototype, in PCA space."""
        f = (self._rows(x).float() - self.mean) @ self.basis
        return torch.cdist(f, self.centroids).pow(2).view(len(f), self.k, self.protos)

    @torch.no_grad()
    def assign(self, x: torch.Tensor) -> torch.Tensor:
        """Cluster labels [N, P] (int64) of images x [N, C, H, W]: the nearest prototype's.
        In chunks: the fit labels all its rows, and 1,000 spectral clusters hold 20,000
        prototypes."""
        return torch.cat([self.sq_dists(chunk).amin(2).argmin(1).view(len(chunk), self.parts)
                          for chunk in x.split(ASSIGN_CHUNK)])

    def _count_copies(self) -> None:
        """`log_copies` [K, S]: log of how many times each prototype occurs in its cluster (a
        cluster with fewer members than S repeats them; `cluster_loss` counts each once)."""
        c = self.centroids.view(self.k, self.protos, -1)
        self.log_copies.copy_((c[:, :, None] == c[:, None]).all(-1).sum(-1).float().log())

    def _load_from_state_dict(self, *args, **kwargs) -> None:
        super()._load_from_state_dict(*args, **kwargs)
        with torch.no_grad():
            self._count_copies()

    def draw(self, u: torch.Tensor) -> torch.Tensor:
        """Labels [N, P] from uniforms u [N, P] in [0, 1], with the real data's frequencies."""
        idx = torch.searchsorted(self.cdf, u.t().contiguous(), right=True).t()
        return idx.clamp(max=self.k - 1)

    @torch.no_grad()
    def fit(self, x: torch.Tensor, seed: int) -> None:
        """PCA, then the clusters (scikit-learn; `method`) on real images x [N, C, H, W]; the
        PCA on the first rows that fit in `SVD_ENTRIES`."""
        rows = self._rows(x).double()
        mean = rows.mean(0)
        sub = rows[: max(self.basis.shape[1], SVD_ENTRIES // rows.shape[1])]
        _, _, vt = torch.linalg.svd(sub - mean, full_matrices=False)
        basis = vt[: self.basis.shape[1]].t()
        feats = ((rows - mean) @ basis).numpy()
        fit = _spectral_prototypes if self.method == "spectral" else _kmeans_centroids
        self.mean.copy_(mean)
        self.basis.copy_(basis)
        self.centroids.copy_(torch.from_numpy(fit(feats, self.k, seed)))
        self._count_copies()
        labels = self.assign(x)
        for p in range(self.parts):  # the parts share the clusters, each has its own frequencies
            counts = torch.bincount(labels[:, p], minlength=self.k).double()
            self.cdf[p] = counts.cumsum(0) / counts.sum()


def _kmeans_centroids(feats, k: int, seed: int):
    """[k, d]: k-means++ with 4 restarts on the rows of `feats` [N, d]."""
    from sklearn.cluster import KMeans

    return KMeans(k, n_init=4, random_state=seed).fit(feats).cluster_centers_


def _spectral_prototypes(feats, k: int, seed: int):
    """[k * PROTOS_PER_CLUSTER, d]: spectral clusters of the distinct rows of `feats` (at most
    `SPECTRAL_N` of them), each summarised by PROTOS_PER_CLUSTER k-means prototypes; a cluster
    with fewer members repeats them (`ClusterCoder.log_copies` discounts the repeats).

    Ng, Jordan & Weiss 2002: the symmetrised kNN graph's top min(k, `SPECTRAL_DIMS`) Laplacian
    eigenvectors, each row scaled to unit length, then k-means. Kept whole (the constant first
    eigenvector too), a graph of separate components puts each component at its own point.
    """
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.manifold import spectral_embedding
    from sklearn.neighbors import kneighbors_graph

    rng = np.random.default_rng(seed)
    rows = np.unique(feats, axis=0)  # Stacked MNIST's channels repeat the same digits
    rows = rows[rng.permutation(len(rows))[:SPECTRAL_N]]
    need = max(2 * k, SPECTRAL_NEIGHBOURS + 1)
    if len(rows) < need:
        raise ConfigError(
            f"model.self_cond={k}: spectral clustering needs at least {need} distinct real "
            f"images (or channels, with self_cond_parts=channels), the data has {len(rows)}"
        )
    graph = kneighbors_graph(rows, SPECTRAL_NEIGHBOURS, include_self=False)
    with warnings.catch_warnings():  # separate components are handled, see above
        warnings.filterwarnings("ignore", "Graph is not fully connected")
        emb = spectral_embedding(
            0.5 * (graph + graph.T), n_components=min(k, SPECTRAL_DIMS), drop_first=False,
            random_state=seed,
        )
    emb /= np.linalg.norm(emb, axis=1, keepdims=True).clip(1e-12)
    labels = KMeans(k, n_init=4, random_state=seed).fit_predict(emb)
    out = []
    for c in range(k):
        members = rows[labels == c]
        s = min(PROTOS_PER_CLUSTER, len(members))
        protos = KMeans(s, n_init=1, random_state=seed).fit(members).cluster_centers_
        out.append(protos[np.arange(PROTOS_PER_CLUSTER) % s])
    return np.concatenate(out)


class PartEmbedding(nn.Module):
    """Labels [N, P] in 0..K-1 -> the sum of one learned vector per (part, label), [N, dim].

    Entries start at N(0, std^2): G's at 1 (see `SelfCondGenerator`), a projection D's at
    dim^-1/2 like `heads.projection_embedding`.
    """

    def __init__(self, k: int, parts: int, dim: int, std: float) -> None:
        super().__init__()
        self.k = k
        self.table = nn.Embedding(k * parts, dim)
        nn.init.normal_(self.table.weight, std=std)
        self.register_buffer("offset", torch.arange(parts) * k, persistent=False)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.table(y + self.offset).sum(1)


def part_projection(k: int, parts: int, dim: int) -> PartEmbedding:
    """A projection D's vectors for labels [N, P] at `heads.projection_embedding`'s scale."""
    return PartEmbedding(k, parts, dim, std=dim**-0.5)


def to_uniform(z: torch.Tensor, z_dist: str) -> torch.Tensor:
    """Prior entries -> U[0, 1]: the normal CDF for "normal", (z + 1) / 2 for "uniform"
    (`heads.split_codes` maps to [-1, 1] the same way)."""
    if z_dist == "normal":
        return 0.5 * (1 + torch.erf(z / math.sqrt(2.0)))
    return (z + 1) / 2


class SelfCondGenerator(nn.Module):
    """z [N, z_dim] -> images, conditioned on cluster labels read from z's first P entries.

    The inner G is unconditional and fed [noise (z_dim - P), label embedding (`embed_dim`)].
    The embedding starts at N(0, 1), a strong input next to the noise: the balance holds only
    if G makes the cluster it is given (on Stacked MNIST with 20 clusters per channel it does
    for 95% of its samples after 300 CPU-s; docs/modes.md). A conditional G's small label init
    (`heads.LABEL_EMBED_STD`) guards against one image per class; a cluster label is one of
    several (one per channel) and each cluster holds many kinds of image.
    """

    def __init__(
        self, inner: nn.Module, *, k: int, parts: int, z_dist: str, embed_dim: int, dim: int,
        pca_dims: int = PCA_DIMS, method: str = "kmeans",
    ) -> None:
        super().__init__()
        self.net, self.z_dist, self.parts = inner, z_dist, parts
        self.coder = ClusterCoder(k, parts, dim, pca_dims, method)
        self.embed = PartEmbedding(k, parts, embed_dim, std=1.0)
        self.num_classes = 0  # unconditional to the trainer and samplers: labels come from z

    def labels(self, z: torch.Tensor) -> torch.Tensor:
        """The cluster labels [N, P] that `forward(z)` conditions on."""
        return self.coder.draw(to_uniform(z[:, : self.parts], self.z_dist))

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if y is not None:
            raise ValueError("a self-conditioned G reads its cluster labels from z, not from y")
        e = self.embed(self.labels(z))
        return self.net(torch.cat([z[:, self.parts :], e], dim=1))


def cluster_loss(coder: ClusterCoder, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of x's soft cluster assignment against the labels G was given, a scalar.

    x [N, C, H, W], labels [N, P]. The logit of cluster k is log sum_s exp(-||f - c_ks||^2 / tau)
    over its prototypes c_ks (a kernel density of the cluster; -||f - c_k||^2 / tau for one
    centroid), f the PCA features of each row, tau = s / `CLUSTER_SHARPNESS`, s the batch's mean
    squared distance to the nearest prototype (detached, so the loss does not pay for shrinking
    distances). D alone checks labels only as well as its projection learns to; this term asks
    every fake to fall in its own cluster, which keeps G's cluster frequencies at the data's even
    where D lets a label slip.
    """
    d2 = coder.sq_dists(x)
    tau = d2.flatten(1).min(1).values.mean().detach().clamp_min(1e-8) / CLUSTER_SHARPNESS
    logits = torch.logsumexp(-d2 / tau - coder.log_copies, 2)
    return F.cross_entropy(logits, labels.reshape(-1))


def fit_clusters(g: nn.Module, data, seed: int, *, fit: bool = True) -> ClusterCoder | None:
    """Fit a self-conditioned G's clusters on `FIT_N` real samples of `data`, drawn from their
    own seeded stream (`fit=False`: left for a checkpoint to restore); returns its coder (None
    for any other G)."""
    coder = getattr(g, "coder", None)
    if isinstance(coder, ClusterCoder) and fit:
        fit_gen = torch.Generator().manual_seed(seed + 54_321)
        coder.fit(data.sample(FIT_N, fit_gen).x, seed=seed)
    return coder
