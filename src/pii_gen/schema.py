"""The output contract: every table, column, type, key and size, defined once.

File writers, database DDL and the validator all read this module, so a column
added here appears everywhere at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa


@dataclass(frozen=True)
class Column:
    """One column of the output contract."""

    name: str
    type: pa.DataType
    nullable: bool = False
    max_length: int | None = None  # for strings: the longest value ever generated
    description: str = ""
    repetitive: bool = False  # few distinct values: worth dictionary-encoding in columnar formats


@dataclass(frozen=True)
class Table:
    """One output table: its columns, primary key and foreign keys."""

    name: str
    columns: tuple[Column, ...]
    primary_key: str
    foreign_keys: tuple[tuple[str, str, str], ...] = ()  # (column, table, column)
    description: str = ""
    key_factor: int | None = None  # child tables: primary key = person_id * key_factor + sequence
    per_person: bool = True  # rows belong to one person: duplicate records copy them (households, links: no)

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


def _s(name: str, length: int, nullable: bool = False, description: str = "", repetitive: bool = False) -> Column:
    return Column(name, pa.string(), nullable, length, description, repetitive)


def _r(name: str, length: int, nullable: bool = False, description: str = "") -> Column:
    """A string column with few distinct values (names, places, categories)."""
    return _s(name, length, nullable, description, repetitive=True)


_FK_PERSON = (("person_id", "persons", "person_id"),)

PERSONS = Table(
    "persons",
    (
        Column("person_id", pa.int64(), description="key; 1..n in generation order"),
        _s("ssn", 11, description="AAA-GG-SSSS; never SSA-issuable in strict mode"),
        _r("first_name", 40),
        _r("middle_name", 40, nullable=True, description="full name, an initial, or empty"),
        _r("last_name", 40),
        _r("name_suffix", 4, nullable=True, description="Jr., Sr., II, III or IV"),
        _r("nickname", 40, nullable=True, description="familiar form of first_name, when one is used"),
        _r("sex", 1, description="F or M"),
        Column("date_of_birth", pa.date32()),
        _r("race_ethnicity", 40, description="Census 2020 race/ethnicity group"),
        _r("marital_status", 16),
        _r("education", 24, description="highest level completed"),
        Column("household_id", pa.int64(), description="the household: its householder's person_id"),
        _r("household_role", 16, description="what the person is to the householder (householder, spouse, ...)"),
    ),
    "person_id",
    (("household_id", "households", "household_id"),),
    description="One row per person.",
)

HOUSEHOLDS = Table(
    "households",
    (
        Column("household_id", pa.int64(), description="key: the householder's person_id"),
        _r("household_type", 24, description="census household type, or the group-quarters type"),
        Column("size", pa.int16(), description="people in the household"),
        Column("is_group_quarters", pa.bool_(), description="a dormitory, nursing home, barracks, ... resident"),
        Column(
            "address_id",
            pa.int64(),
            description="the householder's current home in addresses (no FK constraint: addresses load after)",
        ),
        Column("household_income", pa.int64(), description="US dollars: the sum of the members' annual incomes"),
    ),
    "household_id",
    description="One row per household; each group-quarters resident is a unit of its own.",
    per_person=False,
)

ADDRESSES = Table(
    "addresses",
    (
        Column("address_id", pa.int64(), description="key: person_id * 10 + sequence"),
        Column("person_id", pa.int64()),
        _r("address_type", 10, description="home (current), previous, mailing or shipping"),
        _s("street", 60),
        _s("unit", 16, nullable=True),
        _r("city", 40),
        _r("state", 2),
        _r("zip_code", 5),
        _r("county", 40, nullable=True),
        Column("latitude", pa.float64(), nullable=True, description="empty for military (APO/FPO/DPO) mail"),
        Column("longitude", pa.float64(), nullable=True),
        Column("valid_from", pa.date32()),
        Column("valid_to", pa.date32(), nullable=True, description="empty while the address is current"),
    ),
    "address_id",
    _FK_PERSON,
    key_factor=10,
)

PHONE_NUMBERS = Table(
    "phone_numbers",
    (
        Column("phone_id", pa.int64(), description="key: person_id * 10 + sequence"),
        Column("person_id", pa.int64()),
        _r("phone_type", 6, description="mobile, home or work"),
        _s("phone_number", 12, description="NPA-NXX-XXXX; 555-0100..0199 lines in strict mode"),
        Column("is_primary", pa.bool_()),
    ),
    "phone_id",
    _FK_PERSON,
    key_factor=10,
)

EMAIL_ADDRESSES = Table(
    "email_addresses",
    (
        Column("email_id", pa.int64(), description="key: person_id * 10 + sequence"),
        Column("person_id", pa.int64()),
        _r("email_type", 8, description="personal or work"),
        _s("email", 96, description="reserved domains only in strict mode"),
        Column("is_primary", pa.bool_()),
    ),
    "email_id",
    _FK_PERSON,
    key_factor=10,
)

EMPLOYMENTS = Table(
    "employments",
    (
        Column("employment_id", pa.int64(), description="key: person_id * 100 + sequence"),
        Column("person_id", pa.int64()),
        _r("employer_name", 80),
        _r("job_title", 100),
        _r("occupation_code", 7, description="2018 SOC code"),
        _r("industry", 80, description="NAICS sector"),
        Column("start_date", pa.date32()),
        Column("end_date", pa.date32(), nullable=True, description="empty for the current job"),
        Column("annual_salary", pa.int32(), description="US dollars"),
        Column("is_current", pa.bool_()),
    ),
    "employment_id",
    _FK_PERSON,
    key_factor=100,
)

FINANCIAL_PROFILES = Table(
    "financial_profiles",
    (
        Column("person_id", pa.int64()),
        Column("annual_income", pa.int32(), description="US dollars, all sources"),
        Column("credit_score", pa.int16(), description="300-850"),
        Column("total_debt", pa.int32(), description="US dollars outstanding"),
        Column("debt_to_income", pa.float32(), description="monthly debt payments / monthly income"),
        _s("credit_card_number", 19, description="Luhn-valid; no live issuer prefix in strict mode"),
        _s("bank_account_number", 17),
        _s("routing_number", 9, description="ABA checksum-valid; unassigned prefix in strict mode"),
    ),
    "person_id",
    _FK_PERSON,
)

RELATIONSHIPS = Table(
    "relationships",
    (
        Column("relationship_id", pa.int64(), description="key: person_id * 10 + the related person's position"),
        Column("person_id", pa.int64()),
        Column("related_person_id", pa.int64()),
        _r("relationship_type", 16, description="what the related person is to the person (child, spouse, ...)"),
    ),
    "relationship_id",
    (*_FK_PERSON, ("related_person_id", "persons", "person_id")),
    description="One row per ordered pair of related household members.",
    key_factor=10,
    per_person=False,
)

# Only in output with noise (see pii_gen.variability): the link from a duplicate record to its
# person, and the log of every change noise made.
SOURCE_PERSON_ID = Column(
    "source_person_id", pa.int64(), nullable=True, description="for a duplicate record: the person it duplicates"
)

NOISE_LOG = Table(
    "noise_log",
    (
        _r("table_name", 32),
        Column("record_id", pa.int64(), description="primary key of the changed row"),
        _r("column_name", 32),
        _r("noise_type", 16, description="typo, name_variant, missing, format, wrong_value, outlier or duplicate"),
        _r("variant", 24, description="the finer kind of change"),
        _s("original_value", 128, nullable=True, description="the clean value, as text"),
    ),
    "table_name, record_id, column_name",
    description="One row per changed value (and per duplicate record): the truth behind noisy output.",
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        HOUSEHOLDS,
        PERSONS,
        ADDRESSES,
        PHONE_NUMBERS,
        EMAIL_ADDRESSES,
        EMPLOYMENTS,
        FINANCIAL_PROFILES,
        RELATIONSHIPS,
    )
}  # in foreign-key order: a table only references tables before it
