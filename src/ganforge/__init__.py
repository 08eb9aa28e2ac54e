"""ganforge: train, diagnose and evaluate Generative Adversarial Networks."""

__version__ = "0.1.0"
