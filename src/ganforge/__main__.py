"""`python -m ganforge` is the `ganforge` command (and what torchrun launches)."""

import sys

from ganforge.cli import main

sys.exit(main())
