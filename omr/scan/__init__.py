"""Scanning a batch: files -> page images (ingest), worker processes, the store."""
