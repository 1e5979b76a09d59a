"""Reading one sheet: register -> identify -> measure marks -> inspect -> interpret.

Pure: arrays in, typed reads out; no file, database or network I/O.
"""
