"""The scan simulator: hand-like marks, voter behaviours, scanner and phone degradations.

For tests, benchmarks and the bundled samples; not part of the installed package.
"""
