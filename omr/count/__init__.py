"""Counting: reconciliation with the ballots issued and collected, results by the rules (pure)."""
