"""Speed: ganforge's trainer against a plain PyTorch loop, in-process and as whole processes.

In-process (per preset): both sides use the same architectures and initial weights, the same
data sampler, batch, losses and optimizer hyper-parameters. The plain loop is built from stock
parts (nn.Tanh, torch.optim.Adam with its fused kernel, the default memory layout) and written
the way tutorials write it: `D(G(z).detach())` in the D step, a fresh G(z) in the G step, D's
weight gradients computed (then discarded) in the G step. Blocks of steps alternate between the
two sides in one process, so machine noise hits both alike; between blocks a 1024^3 matmul
measures one thread's matmul peak, and a FLOP counter gives each side's FLOPs per step, so the
share of the peak a step reaches (MFU) is reported too.

Whole process (`--whole N`): `ganforge train --preset seed-mlp-mnist --steps N` (with its
defaults: diagnostics, previews, checkpoints, logs) against `benchmarks/plain_mlp.py --steps N`,
alternating runs, wall time from launch to exit.

Prints min / median / max, threads and machine, and writes docs/speed.md.

    python benchmarks/speed.py          # both presets + 1- and 6,000-step whole runs: ~11 min here
    python benchmarks/speed.py --blocks 3 --steps 50 --whole 0
"""

from __future__ import annotations

import argparse
import copy
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.nets.activations import Tanh
from ganforge.presets import preset_config
from ganforge.training.trainer import Trainer

ROOT = Path(__file__).resolve().parents[1]
MNIST = ROOT.parent / "shared" / "data" / "mnist"


def stock(net: nn.Module) -> nn.Module:
    """A copy of `net` built from stock torch.nn parts in the default memory layout."""
    net = copy.deepcopy(net).to(memory_format=torch.contiguous_format)
    for mod in list(net.modules()):
        for name, child in mod.named_children():
            if isinstance(child, Tanh):
                setattr(mod, name, nn.Tanh())
    return net


class PlainLoop:
    """The tutorial GAN loop on copies of a trainer's nets and data (so both start equal)."""

    def __init__(self, trainer: Trainer) -> None:
        cfg = trainer.cfg
        self.g, self.d = stock(trainer.nets["G"]), stock(trainer.nets["D"])

        def adam(net, o):
            return torch.optim.Adam(net.parameters(), lr=o.lr, betas=(o.beta1, o.beta2), fused=True)

        self.opt_g, self.opt_d = adam(self.g, cfg.g_opt), adam(self.d, cfg.d_opt)
        self.data, self.B, self.zd = trainer.shard, cfg.train.batch_size, cfg.model.z_dim
        self.uniform = cfg.model.z_dist == "uniform"
        self.device = trainer.device
        self.gen = torch.Generator().manual_seed(1)
        self.zgen = torch.Generator(device=self.device).manual_seed(2)

    def z(self):
        if self.uniform:
            return torch.rand(self.B, self.zd, generator=self.zgen, device=self.device) * 2 - 1
        return torch.randn(self.B, self.zd, generator=self.zgen, device=self.device)

    def step(self) -> None:
        x = self.data.sample(self.B, self.gen).x.to(self.device)
        # D step: maximise log D(x) + log(1 - D(G(z)))
        self.opt_d.zero_grad()
        real, fake = self.d(x), self.d(self.g(self.z()).detach())
        loss_d = F.binary_cross_entropy_with_logits(real, torch.ones_like(real)) + \
            F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
        loss_d.backward()
        self.opt_d.step()
        # G step: minimise -log D(G(z))
        self.opt_g.zero_grad()
        out = self.d(self.g(self.z()))
        loss_g = F.binary_cross_entropy_with_logits(out, torch.ones_like(out))
        loss_g.backward()
        self.opt_g.step()


def _sync(device: torch.device) -> None:
    """Wait for queued GPU work so block timings are wall-clock true."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def flops_per_step(fn) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def matmul_peak(device: torch.device, n: int = 1024) -> float:
    """FLOP/s of an n^3 matmul on this thread count (median of 5)."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    times = []
    for _ in range(5):
        _sync(device)
        t0 = time.perf_counter()
        a @ b
        _sync(device)
        times.append(time.perf_counter() - t0)
    return 2 * n**3 / statistics.median(times)


def spread(values: list[float]) -> tuple[float, float, float]:
    return min(values), statistics.median(values), max(values)


def bench(preset: str, *, blocks: int, steps: int, data_dir: Path) -> dict:
    cfg = preset_config(preset, {"data.data_dir": str(data_dir), "train.diagnose": False,
                                 "train.steps": blocks * steps})
    trainer = Trainer(cfg, "/tmp/ganforge-speed", quiet=True)
    plain = PlainLoop(trainer)
    for _ in range(5):  # warm up both
        trainer.train_step()
        plain.step()
    flops = {"ours": flops_per_step(trainer.train_step), "plain": flops_per_step(plain.step)}
    t_ours, t_plain, peaks = [], [], []
    for _ in range(blocks):
        peaks.append(matmul_peak(trainer.device))
        _sync(trainer.device)
        t0 = time.perf_counter()
        for _ in range(steps):
            trainer.train_step()
            trainer.step += 1
        trainer.stats.collect()  # the tick's one host sync, as in fit()
        t_ours.append(steps / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        for _ in range(steps):
            plain.step()
        _sync(trainer.device)
        t_plain.append(steps / (time.perf_counter() - t0))
    ratios = [a / b for a, b in zip(t_ours, t_plain)]  # per block pair: noise hits both alike
    peak = statistics.median(peaks)
    ours, base = statistics.median(t_ours), statistics.median(t_plain)
    return {
        "preset": preset, "batch": cfg.train.batch_size, "ours": spread(t_ours),
        "plain": spread(t_plain), "ratio": spread(ratios), "flops": flops, "peak": peak,
        "mfu_ours": flops["ours"] * ours / peak, "mfu_plain": flops["plain"] * base / peak,
        "images_s": ours * cfg.train.batch_size, "threads": torch.get_num_threads(),
    }


def whole(steps: int, runs: int, data_dir: Path) -> dict:
    """Wall seconds of whole processes, alternating ganforge's CLI and the plain script."""
    cmds = {
        "ganforge": [sys.executable, "-m", "ganforge", "train", "--preset", "seed-mlp-mnist",
                     "--steps", str(steps), "--data-dir", str(data_dir), "--out", "/tmp/speed-whole"],
        "plain": [sys.executable, str(ROOT / "benchmarks" / "plain_mlp.py"), "--steps", str(steps),
                  "--data-dir", str(data_dir)],
    }
    times: dict[str, list[float]] = {k: [] for k in cmds}
    header = ""
    for _ in range(runs):
        for name, cmd in cmds.items():
            shutil.rmtree("/tmp/speed-whole", ignore_errors=True)
            t0 = time.perf_counter()
            out = subprocess.run(cmd, capture_output=True, text=True, check=False)
            times[name].append(time.perf_counter() - t0)
            if out.returncode != 0:
                raise SystemExit(f"{name} failed: {out.stderr[-2000:]}")
            if name == "ganforge":
                header = next((ln for ln in out.stdout.splitlines() if "thread" in ln), header)
    ratios = [a / b for a, b in zip(times["ganforge"], times["plain"])]
    return {"steps": steps, "ganforge": spread(times["ganforge"]), "plain": spread(times["plain"]),
            "ratio": spread(ratios), "header": header}


def fmt(t: tuple[float, float, float], p: int = 1) -> str:
    return f"{t[1]:.{p}f} ({t[0]:.{p}f}-{t[2]:.{p}f})"


NOTES = """## Where the difference comes from

- One G forward pass per step (`Phase.reuses`, training/step.py): the G phase takes the D phase's
  z and its G(z), graph included, instead of drawing fresh noise and running G again; exact
  (tests/test_reuse.py: bit-identical weights to a step that recomputes G(z) on the same z). The
  D phase reads G(z) detached; the G phase runs D with D's weights frozen, so D's weight
  gradients are never computed. FLOPs per MLP step: 238 M against the plain loop's 293 M.
- Cheaper kernels: tanh as 2 sigmoid(2x) - 1 on CPU (nets/activations.py; PyTorch's CPU tanh
  is 2.6x slower than its sigmoid here), batches gathered with `index_select` (2.6x faster than
  `x[idx]`, same values), the uniform prior in one kernel, convolutional nets in channels-last
  layout (training/placement.py; 11% on the DCGAN step), and `LeanAdam` (training/optim.py):
  torch's fused Adam kernels without the per-call regrouping, profiler wrapper and
  torch._dynamo import, bit-identical to `torch.optim.Adam(fused=True)`.
- Start-up: `torch.optim.Optimizer` imports torch._dynamo on its first use (2.3 s here); ganforge's
  optimizers avoid it (tests/test_speed_parts.py checks that a run never imports it);
  matplotlib, scikit-learn and scipy load only when a run needs them (an MNIST run imports none).
- The plain loop is a strong baseline: the fused Adam kernel, one thread, the same data sampler.

What the reuse changes: the G phase no longer draws its own z (or real batch), so every preset
trains a different (equally valid) trajectory than before; G's batch-norm running statistics
update once per step instead of twice. Objectives opt in by declaring `reuses="D"` on their G
phase; with `train.d_steps` > 1 (WGAN's n_critic) they draw fresh noise for G, as in WGAN's
Algorithm 1. `train.reuse=false` restores the fresh draws. The two presets tuned to the mode
benchmark's targets keep them: with reuse, `ring8-best` kept 8/8 modes and reverse KL <= 0.002
in 5 of 5 seeds but put 96.5-97.6% of its samples near a mode (2 of 5 seeds at the 97% target,
against 10 of 10 before), so `ring8-best` and `grid25-best` set `train.reuse=false` and trained
bit-identical weights to before (`python benchmarks/same_weights.py`: 8308c49bc22bfbde and
cdefb88bfbd9b049, as in docs/benchmarks.md) until 2026-12-01, when `ring8-best` took a decaying
lr and `grid25-best` the RpGAN loss (docs/held-out-2d.md).

Threads: `train.threads=0` (the default) takes one thread on machines with two cores or fewer and
for networks under 5M parameters; the run header prints the choice. On this 2-core machine the
default is therefore one thread, never slower than `train.threads=1`.

GPU: `train.amp=bf16` (autocast, no scaler) or `fp16` (with a loss scaler saved in checkpoints),
the training set kept on the device as uint8 (data/device.py). No GPU was available for these
measurements; `python benchmarks/speed.py` runs unchanged on a CUDA machine and reports images/s
and MFU there.

Tried and not kept (measured in the same way, interleaved): D on real and fake in one pass of
256 rows, for a D without batch statistics (0.99x the two-pass step: no gain on this CPU);
gathering batches from uint8 storage on CPU (218 us against 205 us for float32; kept for GPUs
only); `gc.freeze()` after start-up (no full collections happen during training anyway).
What a whole run spends beyond the steps (cProfile, 2,000 MLP steps): the live diagnostics
about 36 ms per tick (gradient probe 12 ms each tick, sample probe 54 ms every fifth), a preview
picture about 40 ms, the animation 0.24 s, TensorBoard's import 0.15-0.25 s.
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blocks", type=int, default=9)
    ap.add_argument("--steps", type=int, default=100, help="MLP steps per block (DCGAN: a fifth)")
    ap.add_argument("--whole", type=int, default=6000, help="steps of the whole-process runs (0: skip)")
    ap.add_argument("--runs", type=int, default=3, help="whole-process runs per side")
    ap.add_argument("--short", type=int, default=1, help="steps of the start-up runs (0: skip)")
    ap.add_argument("--data-dir", type=Path, default=MNIST)
    ap.add_argument("--presets", default="seed-mlp-mnist,dcgan-mnist-paper")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "speed.md")
    args = ap.parse_args()
    rows = []
    for preset in args.presets.split(","):
        steps = args.steps if "mlp" in preset else max(10, args.steps // 5)
        r = bench(preset, blocks=args.blocks, steps=steps, data_dir=args.data_dir)
        rows.append(r)
        print(f"{preset:<16} ganforge {fmt(r['ours'])} steps/s, plain {fmt(r['plain'])}, ratio "
              f"{fmt(r['ratio'], 2)}; MFU {r['mfu_ours']:.0%} vs {r['mfu_plain']:.0%} of "
              f"{r['peak'] / 1e9:.1f} GFLOP/s", flush=True)
    wholes = [whole(n, args.runs, args.data_dir) for n in (args.short, args.whole) if n]
    for w in wholes:
        print(f"whole process, {w['steps']} steps: ganforge {fmt(w['ganforge'])} s, plain "
              f"{fmt(w['plain'])} s, ratio {fmt(w['ratio'], 2)}", flush=True)
    env = (f"torch {torch.__version__}, {rows[0]['threads']} thread(s) in-process, "
           f"{platform.processor() or platform.machine()}, {torch.device('cuda' if torch.cuda.is_available() else 'cpu')}, "
           f"Python {platform.python_version()}")
    cmd = "python benchmarks/speed.py " + " ".join(sys.argv[1:])
    lines = [
        "# Speed: the trainer against a plain PyTorch loop",
        "",
        (f"Produced by `{cmd.strip()}` (see the script's docstring). Values are median (min-max) over "
        "alternating blocks; ratio > 1 means ganforge is faster, and is taken per pair of "
        "neighbouring blocks."),
        "",
        f"Environment: {env}.",
        "",
        ("| preset | batch | ganforge steps/s | plain loop steps/s | ratio | MFLOP/step ours / plain "
        "| MFU ours / plain | images/s |"),
        "|---|---|---|---|---|---|---|---|",
        *[f"| {r['preset']} | {r['batch']} | {fmt(r['ours'])} | {fmt(r['plain'])} | "
          f"{fmt(r['ratio'], 2)} | {r['flops']['ours'] / 1e6:.0f} / {r['flops']['plain'] / 1e6:.0f} | "
          f"{r['mfu_ours']:.0%} / {r['mfu_plain']:.0%} of {r['peak'] / 1e9:.1f} GFLOP/s | "
          f"{r['images_s']:.0f} |" for r in rows],
        "",
    ]
    if wholes:
        lines += [
            (f"Whole processes of seed-mlp-mnist, {args.runs} alternating runs each (launch to exit, "
            "imports included; the 1-step run is the start-up and first-step latency):"),
            "",
            "| steps | ganforge train (s) | plain script (s) | ratio ganforge / plain |",
            "|---|---|---|---|",
            *[f"| {w['steps']} | {fmt(w['ganforge'])} | {fmt(w['plain'])} | {fmt(w['ratio'], 2)} |"
              for w in wholes],
            "",
            f"ganforge's run header: `{wholes[-1]['header'].strip()}`",
            "",
        ]
    lines += NOTES.splitlines()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
