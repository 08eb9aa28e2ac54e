"""Discriminator remedies against mode collapse (placeholder until the remedies module lands)."""


def wrap_discriminator(d, model, spec):
    """Return D wrapped with the remedies `model` asks for; none are implemented yet."""
    return d
