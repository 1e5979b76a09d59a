"""The `omr` command line: thin shells over the packages, one module per group of sub-commands."""
