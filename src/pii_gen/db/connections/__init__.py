"""One module per database connection type, each registering itself (see :mod:`.base`)."""
