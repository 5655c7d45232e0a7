"""The builders of data/: one module per group of tables (numbered as in data/SOURCES.md)."""
