"""`python -m omr ...` is `omr ...`: works wherever the console script is not on PATH."""

import sys

from omr.cli.main import main

sys.exit(main())
