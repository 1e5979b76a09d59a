"""The SQLite store: schema, typed records, hash-chained log."""
