"""Self-registering classes: subclassing a registered base adds the class to its registry.

A registry checks each class as it arrives, so a clash (a second class under a taken name) or a broken
declaration is an error naming the class when its module is imported, never a silent replacement.
:func:`discover` imports every module of a package, so adding a class is adding its module.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from typing import Generic, Iterator, TypeVar

from ..errors import RegistryError

C = TypeVar("C", bound=type)


def where(cls: type) -> str:
    """A class as its module and qualified name (what an error should point at)."""
    return f"{cls.__module__}.{cls.__qualname__}"


class Registry(Generic[C]):
    """Classes by their ``name``, in the order they registered.

    Subclasses check what their classes declare in :meth:`check`; registering the same class again (its
    module re-imported) replaces it.
    """

    def __init__(self, what: str) -> None:
        self.what = what
        self._classes: dict[str, C] = {}

    def add(self, cls: C) -> C:
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not name:
            raise RegistryError(f"{self.what} {where(cls)} declares no name")
        others = [c for c in self._classes.values() if where(c) != where(cls)]
        taken = next((c for c in others if c.name == name), None)
        if taken is not None:
            raise RegistryError(f"{self.what} {where(cls)} is named '{name}' like {where(taken)}: names must differ")
        self.check(cls, others)
        self._classes = {n: c for n, c in self._classes.items() if where(c) != where(cls)}
        self._classes[name] = cls
        return cls

    def check(self, cls: C, others: list[C]) -> None:
        """Raise RegistryError when ``cls`` cannot join ``others`` (the classes registered before it)."""

    def __getitem__(self, name: str) -> C:
        return self._classes[name]

    def __contains__(self, name: object) -> bool:
        return name in self._classes

    def __iter__(self) -> Iterator[C]:
        return iter(tuple(self._classes.values()))

    def __len__(self) -> int:
        return len(self._classes)


@functools.cache
def discover(package: str) -> None:
    """Import every module of ``package``, so the classes they define register themselves (once a package)."""
    pkg = importlib.import_module(package)
    for info in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"{package}.{info.name}")
