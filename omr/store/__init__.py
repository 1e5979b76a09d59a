"""The SQLite store, by job: ``database`` (the `Store`: connection, transactions, inserts, queries),
``records`` (the typed records it returns), ``schema`` (tables, version, upgrades), ``sheets`` (a read
in and out of its tables), ``chain`` (canonical payloads, hash chain, the log check, pure), ``log``
(the log table), ``validate`` (what may be stored, the rules of a decision), ``environment`` (what a
run records about the computer)."""
