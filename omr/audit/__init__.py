"""Audit: re-read archived scans, compare with what was stored, verify the log, the audit report."""
