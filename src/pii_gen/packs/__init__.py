"""The packs: each subpackage is a domain (its contract, steps and reference data) the core runs.

A pack registers itself when its ``pack`` module is imported; :func:`get` imports it by name.
"""

from __future__ import annotations

import importlib
import pkgutil

from ..core.pack import PACKS, Pack
from ..errors import RegistryError


def names() -> tuple[str, ...]:
    """The packs this installation ships."""
    return tuple(info.name for info in pkgutil.iter_modules(__path__) if info.ispkg)


def get(name: str) -> Pack:
    """The pack called ``name``, registered by importing its ``pack`` module."""
    if name not in names():
        raise RegistryError(f"no pack is called '{name}' (packs: {', '.join(names())})")
    importlib.import_module(f"{__name__}.{name}.pack")
    return PACKS[name]()


def all_packs() -> tuple[Pack, ...]:
    """Every pack this installation ships."""
    return tuple(get(name) for name in names())
