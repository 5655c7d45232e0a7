"""pii_gen: a fast, census-grounded synthetic population generator that is safe by default."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["GenerateConfig", "PersonGenerator", "PiiGenError", "build_config", "__version__"]

# The names load on first use (PEP 562), so the command line starts, and can catch a Ctrl-C, before
# numpy, Arrow and pydantic are imported.
_LAZY = {"GenerateConfig": "config", "build_config": "config", "PiiGenError": "errors",
         "PersonGenerator": "packs.person.pack"}  # fmt: skip

if TYPE_CHECKING:
    from .config import GenerateConfig, build_config
    from .errors import PiiGenError
    from .packs.person.pack import PersonGenerator


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'pii_gen' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value
