"""Self-conditioning on clusters of the real data: the clusters, the labels G draws from z, a run
that obeys its labels, exact resumes and checkpoints, and the config's errors."""

import pytest
import torch

from ganforge import load_generator
from ganforge.errors import ConfigError
from ganforge.nets.selfcond import ClusterCoder, cluster_loss
from ganforge.presets import preset_config
from ganforge.runner import make_trainer, resume_trainer

from .test_trainer import _assert_identical, _weights

SC = {
    "model.self_cond": 10, "train.threads": 1, "train.diagnose": False,
    "train.sample_every": 10**6, "train.checkpoint_every": 10**6,
}


def _two_kinds(n, share, gen, channels=1):
    """Images [n, channels, 8, 8]: per channel, a bright left half with probability `share[c]`,
    else a bright right half, plus noise; and the kind of each channel [n, channels]."""
    kinds = torch.stack([torch.rand(n, generator=gen) < s for s in share], 1)
    x = torch.full((n, channels, 8, 8), -1.0)
    left = kinds[:, :, None, None].expand(-1, -1, 8, 4)
    x[..., :4] = torch.where(left, 1.0, -1.0)
    x[..., 4:] = torch.where(left, -1.0, 1.0)
    return x + 0.3 * torch.randn(x.shape, generator=gen), kinds


def _fit_two_kinds(n, share, gen, method, channels=1):
    """`_two_kinds` images, their kinds, and 2 clusters (`method`) fitted on them."""
    x, kinds = _two_kinds(n, share, gen, channels)
    coder = ClusterCoder(2, channels, 64, method=method)
    coder.fit(x, seed=0)
    return x, kinds, coder


@pytest.mark.parametrize("method", ["kmeans", "spectral"])
def test_clusters_find_the_kinds_and_draw_them_at_the_data_frequencies(method):
    gen = torch.Generator().manual_seed(0)
    x, kinds, coder = _fit_two_kinds(2000, [0.7], gen, method)
    lab = coder.assign(x)[:, 0]
    left = lab[kinds[:, 0]].mode().values  # the cluster of the left-bright images
    assert float((lab == left).eq(kinds[:, 0]).float().mean()) == 1.0
    drawn = coder.draw(torch.rand(100_000, 1, generator=gen))[:, 0]
    share = float(kinds.float().mean())  # about 0.7; the clusters' frequency is the sample's
    assert abs(float((drawn == left).float().mean()) - share) < 0.01
    # one label per channel, each channel with its own frequencies
    x3, kinds3, coder3 = _fit_two_kinds(2000, [0.7, 0.2, 0.5], gen, method, channels=3)
    lab3 = coder3.assign(x3)
    left = lab3[:, 0][kinds3[:, 0]].mode().values
    assert torch.equal(lab3 == left, kinds3)
    drawn3 = coder3.draw(torch.rand(100_000, 3, generator=gen))
    shares = (drawn3 == left).float().mean(0)
    assert torch.allclose(shares, kinds3.float().mean(0), atol=0.01), shares


@pytest.mark.parametrize("method", ["kmeans", "spectral"])
def test_cluster_loss_is_low_in_the_given_cluster_and_pulls_towards_it(method):
    gen = torch.Generator().manual_seed(0)
    x, _, coder = _fit_two_kinds(2000, [0.5], gen, method)
    lab = coder.assign(x)
    right, wrong = cluster_loss(coder, x, lab), cluster_loss(coder, x, 1 - lab)
    assert float(right) < 0.1 and float(wrong) > 1.0, (float(right), float(wrong))
    # a step down the loss moves a mislabelled image towards the cluster it is given
    x1 = x[:1].clone().requires_grad_(True)
    target = 1 - lab[:1]
    cluster_loss(coder, x1, target).backward()
    moved = (x1 - 0.5 * x1.grad / x1.grad.norm()).detach()
    def dist(v):  # to the nearest prototype of the cluster it is given
        return float(coder.sq_dists(v)[0, target[0, 0]].min())

    assert dist(moved) < dist(x1.detach())


def test_small_spectral_clusters_repeat_prototypes_and_count_each_once():
    """Clusters with fewer members than prototypes repeat them: labels are unchanged, and the
    loss's kernel density counts every member once (an unevenly repeated one would pull harder)."""
    gen = torch.Generator().manual_seed(0)
    # about 20 per kind: some clusters repeat members
    x, kinds, coder = _fit_two_kinds(40, [0.5], gen, "spectral")
    lab = coder.assign(x)[:, 0]
    assert float((lab == lab[kinds[:, 0]].mode().values).eq(kinds[:, 0]).float().mean()) == 1.0
    assert float(coder.log_copies.max()) > 0  # some prototype is repeated
    loaded = ClusterCoder(2, 1, 64, method="spectral")
    loaded.load_state_dict(coder.state_dict())  # the counts are derived again, not saved
    assert torch.equal(loaded.log_copies, coder.log_copies)
    x, _ = _two_kinds(20, [0.5], gen)  # new images of the kinds, at no prototype
    f = (x.flatten(1) - coder.mean) @ coder.basis
    for i in range(len(x)):  # one image at a time, each given either cluster
        tau = coder.sq_dists(x[i : i + 1]).min() / 10.0
        logits = torch.stack([  # each distinct prototype once
            torch.logsumexp(-torch.cdist(f[i : i + 1], protos.unique(dim=0)).pow(2) / tau, 1)
            for protos in coder.centroids.view(2, -1, coder.centroids.shape[1])
        ], 1)
        for c in (0, 1):
            y = torch.tensor([[c]])
            expected = torch.nn.functional.cross_entropy(logits, y[:, 0])
            assert torch.allclose(cluster_loss(coder, x[i : i + 1], y), expected, rtol=1e-4, atol=1e-5)


def test_spectral_clustering_with_too_few_distinct_images_is_a_config_error():
    x = torch.randn(3, 1, 8, 8, generator=torch.Generator().manual_seed(0)).repeat(20, 1, 1, 1)
    with pytest.raises(ConfigError, match="distinct real images"):
        ClusterCoder(2, 1, 64, method="spectral").fit(x, seed=0)


def test_spectral_clusters_of_mnist_are_purer_than_kmeans(mnist_dir):
    """The graph follows the digits where k-means' Voronoi cells mix those that look alike
    (4/9/7, 3/5/8): measured with MNIST's labels, which the clustering never sees."""
    from ganforge.data.idx import load_idx_dataset

    with pytest.warns(UserWarning, match="no train split in .*; using the test split instead"):
        base = load_idx_dataset("mnist", data_dir=str(mnist_dir), download=False)

    def purity(method):
        coder = ClusterCoder(50, 1, 28 * 28, method=method)
        coder.fit(base.x, seed=0)
        lab = coder.assign(base.x)[:, 0]
        return sum(int(torch.bincount(base.y[lab == c]).max()) for c in lab.unique()) / len(lab)

    kmeans, spectral = purity("kmeans"), purity("spectral")
    assert spectral >= kmeans + 0.05 and spectral > 0.88, (kmeans, spectral)


def test_a_self_conditioned_dcgan_makes_the_cluster_it_is_given(tmp_path):
    t = make_trainer(preset_config("digits", {**SC, "train.steps": 1500}), tmp_path, quiet=True)
    t.fit()
    g = t.sample_net().eval()
    z = t.prior(2000, torch.Generator().manual_seed(1), device="cpu")
    with torch.no_grad():
        asked, got = g.labels(z), t.objective.coder.assign(g(z))[:, 0]
    # chance agreement is about 0.1 (10 clusters); G that ignores its label cannot beat it
    agree = float((asked[:, 0] == got).float().mean())
    assert agree >= 0.6, agree
    # and G's clusters come at the real data's frequencies
    real = t.objective.coder.assign(t.data.real_sample(2000, seed=2).x)[:, 0]
    p_real = torch.bincount(real, minlength=10) / len(real)
    p_g = torch.bincount(got, minlength=10) / len(got)
    assert float((p_real - p_g).abs().sum()) < 0.25, (p_real, p_g)


@pytest.mark.parametrize("method", ["kmeans", "spectral"])
def test_self_conditioned_resume_is_bit_identical_and_the_checkpoint_samples(tmp_path, method):
    ov = {**SC, "model.self_cond_method": method, "train.ema": 0.9, "train.batch_size": 16, "train.tick": 5,
          "train.checkpoint_every": 5, "model.base_channels": 8}
    full = make_trainer(preset_config("digits", {**ov, "train.steps": 12}), tmp_path / "full", quiet=True)
    full.fit()
    half = make_trainer(preset_config("digits", {**ov, "train.steps": 5}), tmp_path / "half", quiet=True)
    half.fit()
    resumed = resume_trainer(tmp_path / "half", overrides={"train.steps": 12}, quiet=True)
    resumed.fit(resumed=True)
    _assert_identical(_weights(full), _weights(resumed))
    g = load_generator(tmp_path / "full")
    with torch.no_grad():
        z = g.prior(6, torch.Generator().manual_seed(0))
        assert torch.equal(g(z), full.ema["G"].eval()(z))


def test_per_channel_labels_reach_d_for_real_and_fake_batches(tmp_path, mnist_dir):
    """Stacked MNIST, one label per channel: D sees the clusters of the real images it judges
    and the labels G drew for its fakes, in the D, lazy R1 and G phases and the diagnostics."""
    cfg = preset_config("stacked-mnist-best", {
        "data.data_dir": str(mnist_dir), "model.base_channels": 8, "train.batch_size": 8,
        "train.steps": 4, "train.tick": 2, "train.threads": 1, "train.grid_size": 9,
        "loss.r1_gamma": 0.1, "loss.r1_every": 2, "train.sample_every": 10**6,
        "train.checkpoint_every": 10**6,
    })
    with pytest.warns(UserWarning, match="no train split in .*; using the test split instead"):
        t = make_trainer(cfg, tmp_path, quiet=True)
    g, seen = t.nets["G"], {"real": 0, "fake": 0}
    fakes: list[tuple[torch.Tensor, torch.Tensor]] = []
    g.register_forward_hook(lambda m, inp, out: fakes.append((out.detach(), m.labels(inp[0]))))

    def check(module, args):
        x, y = args
        assert y.shape == (len(x), 3)
        for fx, fy in fakes:
            if fx.shape == x.shape and torch.equal(fx, x.detach()):
                assert torch.equal(y, fy)
                seen["fake"] += 1
                return
        assert torch.equal(y, t.objective.coder.assign(x))
        seen["real"] += 1

    t.nets["D"].register_forward_pre_hook(check)
    t.fit()
    assert seen["real"] >= 6 and seen["fake"] >= 8, seen


@pytest.mark.parametrize(
    "override",
    [
        {"model.self_cond": 1},
        {"model.self_cond": 10, "model.arch": "mlp"},
        {"model.self_cond": 10, "model.conditional": True},
        {"model.self_cond": 10, "loss.objective": "wgan"},
        {"model.self_cond": 10, "model.z_dist": "mixture", "model.z_components": 4},
        {"model.self_cond": 10, "model.self_cond_parts": "channels", "model.pack": 2},
        {"model.self_cond_parts": "pixels"},
        {"loss.self_cond_weight": 1.0},
        {"model.self_cond_method": "spectral"},
        {"model.self_cond": 10, "model.self_cond_method": "graph"},
        {"model.self_cond": 10, "loss.self_cond_weight": -1.0},
    ],
)
def test_self_conditioning_config_faults_are_config_errors(override):
    with pytest.raises(ConfigError, match="self_cond"):
        preset_config("digits", override)


def test_a_latent_without_room_for_noise_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="model.z_dim=1"):
        make_trainer(preset_config("digits", {**SC, "model.z_dim": 1}), tmp_path, quiet=True)
