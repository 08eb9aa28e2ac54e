"""The game lab: small two-player games where GAN training dynamics can be seen and checked.

Games (games.py) are vector fields; update rules (methods.py) are pure step functions with closed-form
or linearised rates; plot.py draws trajectories; cli.py is `ganforge game`.
"""

from ganforge.games.games import (
    DIRAC_LOSSES,
    GAME_NAMES,
    Game,
    bilinear_field,
    bilinear_game,
    dirac_field,
    dirac_game,
    dirac_losses,
    make_game,
    xy_field,
    xy_game,
)
from ganforge.games.methods import (
    METHODS,
    Hyper,
    distances,
    get_method,
    linear_operator,
    linear_ratio,
    mean_ratio,
    simulate,
    xy_ratio,
)

__all__ = [
    "DIRAC_LOSSES",
    "GAME_NAMES",
    "METHODS",
    "Game",
    "Hyper",
    "bilinear_field",
    "bilinear_game",
    "dirac_field",
    "dirac_game",
    "dirac_losses",
    "distances",
    "get_method",
    "linear_operator",
    "linear_ratio",
    "make_game",
    "mean_ratio",
    "simulate",
    "xy_field",
    "xy_game",
    "xy_ratio",
]
