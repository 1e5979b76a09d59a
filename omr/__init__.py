"""Ballot OMR: optical mark recognition for paper ballots."""

__version__ = "0.1.0"
