"""Import: start a schema file from what exists (a metadata template, a database, JSON samples of an API)."""
