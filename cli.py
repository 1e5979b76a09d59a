"""Run the command line from a checkout: `python cli.py scan ...` is `omr scan ...`."""

import sys

from omr.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
