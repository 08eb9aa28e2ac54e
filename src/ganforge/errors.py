"""User-facing errors.

Every fault in the user's input (a config key, a data file, a checkpoint) raises `GanforgeError`
with a one-line message naming the file or value and what is wrong. The CLI prints it and exits
with code 2, without a traceback.
"""


class GanforgeError(Exception):
    """A fault in the user's input; its message is one line naming the culprit."""


class ConfigError(GanforgeError):
    """A bad config key, value or preset name."""


class DataError(GanforgeError):
    """A missing, corrupt or malformed data file or folder."""


class CheckpointError(GanforgeError):
    """A missing, corrupt or incompatible checkpoint or run folder."""
