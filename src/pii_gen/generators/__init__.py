"""The sub-generators and the one registry table that fixes their order."""

from __future__ import annotations

from .address import Address
from .base import Context, SubGenerator
from .contact import Contact, Email
from .demographics import Demographics
from .employment import Employment
from .financial import Financial
from .household import Household, HouseholdSummary, Relationships
from .identity import Identity
from .name import Name

#: Every sub-generator, in the order they run (each only reads what earlier ones provide).
REGISTRY: tuple[type[SubGenerator], ...] = (
    Household,
    Relationships,
    Demographics,
    Name,
    Identity,
    Address,
    Employment,
    Contact,
    Email,
    Financial,
    HouseholdSummary,
)

__all__ = ["REGISTRY", "Context", "SubGenerator"]
