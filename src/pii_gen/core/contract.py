"""The table contract: columns with their types, sizes and kinds, tables with their keys.

File writers, database DDL and the validator all read a contract, so a column added to a pack's contract
appears everywhere at once.  A contract crosses process boundaries as JSON (see :mod:`.plan`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pyarrow as pa

#: What a column holds, as noise sees it.  A noise type changes the columns of the kinds it declares, so the
#: same noise applies to any table whose columns declare their kinds; where a change depends on the meaning
#: (a birth date can make someone 118, a job's start date only be misremembered), the kind carries it.
KINDS: dict[str, str] = {
    "id": "a key, or a reference to one: never noisy",
    "given_name": "a person's first name",
    "middle_name": "a person's middle name or initial",
    "family_name": "a person's surname",
    "name_suffix": "Jr., Sr., II, III or IV",
    "nickname": "the familiar form of a first name",
    "sex": "F or M",
    "ssn": "a Social Security number, AAA-GG-SSSS",
    "birth_date": "a person's date of birth",
    "reported_date": "a date a person gives from memory (when a job began): its year or month and day can be off",
    "date": "any other calendar date",
    "street": "house number, street name and suffix",
    "unit": "an apartment or suite: designator and number",
    "city": "a city or post office name",
    "county": "a county name",
    "state": "a two-letter state or military mail code",
    "zip": "a five-digit ZIP code",
    "coordinate": "a latitude or longitude",
    "phone": "a phone number, NPA-NXX-XXXX",
    "email": "an e-mail address",
    "organization": "an employer's name",
    "job_title": "a job title",
    "code": "a code of a published classification (SOC)",
    "category": "one of a few fixed labels (types, roles, groups)",
    "flag": "true or false",
    "count": "a number of people or things",
    "money": "an amount of US dollars a person earns, has or owes",
    "total": "an amount summed from other rows (a household's income): outliers would break the sum",
    "ratio": "a ratio of two amounts",
    "score": "a score on a fixed scale (a credit score)",
    "card": "a payment card number",
    "account": "a bank account number",
    "routing": "an ABA routing number",
    "text": "free text",
    "ip_address": "an IP address (IPv4 or IPv6) a device was seen on",
    "cookie": "a browser cookie id",
    "device": "a household device's key (household id x 100 + its number): noise keeps it a real device",
}

#: Kinds no population column holds: an identity graph's identifiers, which a schema file's noise step names
#: with ``kind:`` (the identity noise types change them).
SCHEMA_KINDS = frozenset({"ip_address", "cookie", "device"})


#: The Arrow types a contract's columns may have, by the name ``str(type)`` gives them in JSON.
_TYPES: dict[str, pa.DataType] = {
    str(t): t
    for t in (pa.bool_(), pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.float32(), pa.float64(), pa.string(),
              pa.date32(), pa.timestamp("us"))
}  # fmt: skip


def columns_of(text: str) -> list[str]:
    """The columns of a primary or foreign key as a contract writes them: comma-separated when composite."""
    return [c.strip() for c in text.split(",")]


@dataclass(frozen=True)
class Column:
    """One column of the output contract."""

    name: str
    type: pa.DataType
    nullable: bool = False
    max_length: int | None = None  # for strings: the longest value ever generated
    description: str = ""
    repetitive: bool = False  # few distinct values: worth dictionary-encoding in columnar formats
    kind: str = ""  # one of KINDS; empty for bookkeeping columns, which noise never touches
    #: A schema file's ``int``, ``bigint`` or ``decimal(P,S)``, which the DDL spells exactly (the Arrow type,
    #: what files hold, is the wider int64 or float64).
    declared: str = ""

    def __post_init__(self) -> None:
        if self.kind and self.kind not in KINDS:
            raise ValueError(f"column {self.name} has kind '{self.kind}', which is not one of: {', '.join(KINDS)}")

    def to_dict(self) -> dict[str, Any]:
        """The column as JSON-ready values, its type by name."""
        return {**asdict(self), "type": str(self.type)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Column:
        return cls(**{**data, "type": _TYPES[data["type"]]})


@dataclass(frozen=True)
class Table:
    """One output table: its columns, primary key and foreign keys."""

    name: str
    columns: tuple[Column, ...]
    primary_key: str
    foreign_keys: tuple[tuple[str, str, str], ...] = ()  # (columns, table, columns): see columns_of
    description: str = ""
    key_factor: int | None = None  # child tables: primary key = root key * key_factor + sequence
    per_person: bool = True  # rows belong to one root row: duplicate records copy them (links: no)

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.type, nullable=c.nullable) for c in self.columns])

    @property
    def repetitive_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.repetitive]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """The table as JSON-ready values (see :meth:`from_dict`)."""
        return {**asdict(self), "columns": [c.to_dict() for c in self.columns]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Table:
        return cls(
            **{
                **data,
                "columns": tuple(Column.from_dict(c) for c in data["columns"]),
                "foreign_keys": tuple(tuple(fk) for fk in data["foreign_keys"]),
            }
        )
