"""`ganforge diagnose RUN`: a short report and plots of a finished (or running) training run.

Reads only the run folder: `log.jsonl` (losses and the `diag/` values the live `Diagnostics`
wrote at each tick), `events.jsonl` (its warnings) and `config.json`. Writes `report.md` and three
PNG plots into `RUN/diagnosis/` (or `--out`): gradient norms over time (per network, thin lines
per layer), the mode histogram over time (shares per mode as a heat map), and the balance of the
game (mean D(x), D(G(z)), saturated share, losses), with warnings marked on the time axis.
"""

from __future__ import annotations

import json
from pathlib import Path

from ganforge.errors import CheckpointError


def _read(run: Path) -> tuple[list[dict], list[dict], dict]:
    from ganforge.training.stats import read_jsonl

    if not run.is_dir():
        raise CheckpointError(f"{run}: not a folder; give a run folder written by ganforge train")
    log = run / "log.jsonl"
    if not log.is_file():
        raise CheckpointError(f"{run}: no log.jsonl; is this a ganforge run folder?")
    records = read_jsonl(log)
    if not records:
        raise CheckpointError(f"{log}: holds no complete record yet")
    events = read_jsonl(run / "events.jsonl") if (run / "events.jsonl").is_file() else []
    cfg = json.loads((run / "config.json").read_text()) if (run / "config.json").is_file() else {}
    return records, events, cfg


def _series(records: list[dict], key: str) -> tuple[list[int], list[float]]:
    pts = [(r["step"], r[key]) for r in records if isinstance(r.get(key), (int, float))]
    return [p[0] for p in pts], [float(p[1]) for p in pts]


def _mark_events(ax, events: list[dict]) -> None:
    for e in events:
        if e.get("event") == "warning":
            ax.axvline(e["step"], color="red", alpha=0.3, lw=1)


def _plots(records, events, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    paths = []
    fig, ax = plt.subplots(figsize=(7, 4))
    for net, color in (("G", "tab:blue"), ("D", "tab:orange")):
        layers = sorted({k for r in records for k in r if k.startswith(f"diag/grad/{net}/")})
        for k in layers:
            ax.plot(*_series(records, k), color=color, alpha=0.25, lw=0.7)
        ax.plot(
            *_series(records, f"diag/grad/{net}"), color=color, lw=2, label=f"{net} (thin: layers)"
        )
    ax.set_yscale("log")
    ax.set(xlabel="step", ylabel="gradient norm", title="gradient norms (red: warnings)")
    ax.legend()
    _mark_events(ax, events)
    paths.append(out / "grad_norms.png")
    fig.tight_layout()
    fig.savefig(paths[-1], dpi=100)
    plt.close(fig)

    hist = [(r["step"], r["diag/mode_hist"]) for r in records if r.get("diag/mode_hist")]
    if hist:
        steps = [h[0] for h in hist]
        m = np.array([h[1] for h in hist], dtype=float)
        m = m / np.maximum(m.sum(1, keepdims=True), 1)
        fig, ax = plt.subplots(figsize=(7, 3.5))
        im = ax.imshow(
            m.T,
            aspect="auto",
            origin="lower",
            cmap="viridis",
            interpolation="nearest",
            extent=(steps[0], steps[-1], -0.5, m.shape[1] - 0.5),
        )
        fig.colorbar(im, ax=ax, label="share of samples")
        ax.set(xlabel="step", ylabel="mode / class", title="mode histogram over time")
        paths.append(out / "modes.png")
        fig.tight_layout()
        fig.savefig(paths[-1], dpi=100)
        plt.close(fig)

    fig, (a1, a2) = plt.subplots(2, 1, figsize=(7, 5), sharex=True)
    for key, label in (
        ("D/p_real", "D(x)"),
        ("D/p_fake", "D(G(z))"),
        ("diag/saturated", "saturated"),
    ):
        s = _series(records, key)
        if s[0]:
            a1.plot(*s, label=label)
    a1.set(ylabel="probability / share", ylim=(-0.02, 1.02), title="balance of the game")
    a1.legend(fontsize=8)
    for key in sorted({k for r in records for k in r if k[:2] in ("D/", "G/") and "/p_" not in k}):
        a2.plot(*_series(records, key), label=key)
    a2.set(xlabel="step", ylabel="loss")
    a2.legend(fontsize=8)
    for ax in (a1, a2):
        _mark_events(ax, events)
    paths.append(out / "balance.png")
    fig.tight_layout()
    fig.savefig(paths[-1], dpi=100)
    plt.close(fig)
    return paths


def report_text(records: list[dict], events: list[dict], cfg: dict, *, run: str = "") -> str:
    """The markdown report: run summary, last diagnostics, and each condition's history."""
    last = records[-1]
    lines = [f"# Diagnosis of {run}", ""]
    preset = cfg.get("preset", "?")
    total = cfg.get("train", {}).get("steps", "?")
    lines.append(f"preset `{preset}`, step {last['step']} of {total}, {len(records)} ticks logged.")
    losses = ", ".join(
        f"{k} {v:.3f}"
        for k, v in last.items()
        if k[:2] in ("D/", "G/") and "/p_" not in k and isinstance(v, float)
    )
    lines += ["", f"last tick: {losses}"]
    if "diag/grad/G" not in last:
        lines += ["", "no live diagnostics in this log (train.diagnose was false)."]
    else:
        g = _series(records, "diag/grad/G")[1]
        d = _series(records, "diag/grad/D")[1]
        lines.append(
            f"gradient norm G: first {g[0]:.3g}, min {min(g):.3g}, last {g[-1]:.3g}; "
            f"D: first {d[0]:.3g}, min {min(d):.3g}, last {d[-1]:.3g}; "
            f"saturated D outputs (last): {last.get('diag/saturated', 0):.0%}"
        )
        modes = [r for r in records if "diag/diversity" in r]
        if modes:
            m = modes[-1]
            txt = (
                f"samples (step {m['step']}): diversity {m['diag/diversity']:.2f} of real, "
                f"near-duplicates {m['diag/duplicates']:.0%}"
            )
            if "diag/modes_live" in m:
                k = len(m["diag/mode_hist"])
                txt += (
                    f", {m['diag/modes_live']} of {k} modes live, dominant mode "
                    f"{m['diag/dominant']} holds {m['diag/dominant_share']:.0%}, "
                    f"KL to uniform {m['diag/mode_kl']:.3f}"
                )
            lines.append(txt)
    lines += ["", "## Warnings", ""]
    warns = [e for e in events if e.get("event") == "warning"]
    if not warns:
        lines.append("none: no condition was detected.")
    for e in warns:
        cleared = next(
            (
                c["step"]
                for c in events
                if c.get("event") == "cleared"
                and c["condition"] == e["condition"]
                and c["step"] > e["step"]
            ),
            None,
        )
        until = f", cleared at step {cleared}" if cleared else ", still active at the end"
        ev = ", ".join(f"{k.removeprefix('diag/')}={v}" for k, v in e.get("evidence", {}).items())
        lines.append(
            f"- step {e['step']}: **{e['condition'].replace('_', ' ')}**{until}. "
            f"Evidence: {ev}. Try: {e.get('remedies', '')}"
        )
    return "\n".join(lines) + "\n"


def diagnose_run(run: str | Path, *, out: str | Path | None = None) -> dict:
    """Write report.md and plots for run folder `run`; returns {"report": text, "files": [...]}."""
    run = Path(run)
    records, events, cfg = _read(run)
    out = Path(out) if out else run / "diagnosis"
    out.mkdir(parents=True, exist_ok=True)
    text = report_text(records, events, cfg, run=str(run))
    files = _plots(records, events, out)
    for f in files:
        text += f"\n![{f.stem}]({f.name})\n"
    (out / "report.md").write_text(text)
    return {"report": text, "files": [out / "report.md", *files]}


def cmd_diagnose(args) -> int:
    res = diagnose_run(args.run, out=args.out)
    print(res["report"].split("\n![")[0].rstrip())
    print("\nwrote " + ", ".join(str(f) for f in res["files"]))
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("diagnose", help="summarise a run's diagnostics: report and plots")
    p.add_argument("run", help="run folder (holds log.jsonl and events.jsonl)")
    p.add_argument(
        "--out", default=None, help="folder for report.md and plots (default RUN/diagnosis)"
    )
    p.set_defaults(func=cmd_diagnose)
