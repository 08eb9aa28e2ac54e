"""Live training diagnostics (placeholder until the diagnostics module lands): no probes yet."""


class Diagnostics:
    def __init__(self, trainer) -> None:
        self.trainer = trainer

    def __call__(self, trainer, record: dict) -> dict:
        return {}
