"""Sampling a trained run: loading a network from a checkpoint, rejection sampling, traversals."""
