"""Databases: URLs, DDL and bulk loading."""
