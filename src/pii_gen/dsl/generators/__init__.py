"""Column generators of schema files, one module per family; each class registers itself on import."""
