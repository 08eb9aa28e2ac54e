"""Training: the trainer, its random states, callbacks protocol, checkpoints, torchrun glue, stats, optimizers."""
