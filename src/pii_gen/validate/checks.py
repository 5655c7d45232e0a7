"""The registry of check groups: each group of checks registers itself by subclassing :class:`CheckGroup`.

A group reads the opened source and returns its checks; :func:`pii_gen.validate.validate` runs every
registered group in ``order`` and the reports show them in that order.  Adding a group (a pack's own checks,
a schema file's constraints and targets) is one module defining a subclass, nothing else edited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ..core.registry import Registry, discover, where
from ..errors import RegistryError
from .dataset import Source
from .model import Check


@dataclass
class Run:
    """What every check group sees: the source, the folder read (None for a database), the PII mode the
    values are held to, and the aggregates the HTML report plots (groups add theirs)."""

    src: Source
    folder: Path | None
    pii_mode: str
    plots: dict[str, Any] = field(default_factory=dict)


class _Groups(Registry[type["CheckGroup"]]):
    def check(self, cls: type[CheckGroup], others: list[type[CheckGroup]]) -> None:
        order = getattr(cls, "order", None)
        if not isinstance(order, int) or isinstance(order, bool):
            raise RegistryError(f"check group {where(cls)} declares no whole-number order")
        taken = next((c for c in others if c.order == order), None)
        if taken is not None:
            raise RegistryError(f"check group {where(cls)} has order {order} like {where(taken)}: orders must differ")


GROUPS_REGISTRY = _Groups("check group")


class CheckGroup:
    """A group of checks (its ``name`` is the group the report shows), run in ``order`` among the groups."""

    name: ClassVar[str]
    order: ClassVar[int]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        GROUPS_REGISTRY.add(cls)

    def run(self, run: Run) -> list[Check]:
        raise NotImplementedError


def check_groups() -> list[type[CheckGroup]]:
    """Every registered check group, in run (and report) order."""
    discover("pii_gen.validate")
    return sorted(GROUPS_REGISTRY, key=lambda cls: cls.order)


def group_names() -> tuple[str, ...]:
    """The groups' names in report order."""
    return tuple(cls.name for cls in check_groups())
