"""ganforge: train, diagnose and evaluate Generative Adversarial Networks.

Imports are light: heavy submodules load when first used.
"""

__version__ = "0.1.0"


def load_generator(path, *, net: str | None = None, ema: bool = True, device: str = "cpu"):
    """Load a trained generator from a run folder or checkpoint (see `ganforge.sampling.generator`)."""
    from ganforge.sampling.generator import load_generator as _load

    return _load(path, net=net, ema=ema, device=device)


__all__ = ["__version__", "load_generator"]
