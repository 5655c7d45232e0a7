"""The sub-generators of the person pipeline.

Each is a :class:`SubGenerator` subclass in a module of this package and registers itself as it is
defined; :func:`registry` imports every module here and puts what registered in the order their
``requires`` and ``provides`` allow, checked against the contract.
"""

from __future__ import annotations

from functools import cache

from ....core.registry import discover
from ....core.steps import check_contract, run_order
from ..contract import TABLES
from .base import REGISTRY, Context, SubGenerator

#: Columns the engine fills, not a sub-generator: the people's keys.
ENGINE_COLUMNS = (("persons", "person_id"),)


@cache
def registry() -> tuple[type[SubGenerator], ...]:
    """Every sub-generator, in the order they run (each after those providing what it requires)."""
    discover(__name__)
    order = run_order(REGISTRY)
    check_contract(order, TABLES, ENGINE_COLUMNS)
    return order


__all__ = ["ENGINE_COLUMNS", "Context", "SubGenerator", "registry"]
