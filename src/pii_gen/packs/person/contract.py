"""The person pack's contract: every table, column, type, key and size of the population, defined once."""

from __future__ import annotations

import pyarrow as pa

from ...core.contract import Column, Table

#: People per block, the unit of determinism: block ``b`` holds person ids ``b * BLOCK_SIZE + 1`` on.
BLOCK_SIZE = 10_000


def _s(
    name: str, length: int, nullable: bool = False, description: str = "", repetitive: bool = False, *, kind: str
) -> Column:
    return Column(name, pa.string(), nullable, length, description, repetitive, kind)


def _r(name: str, length: int, nullable: bool = False, description: str = "", *, kind: str) -> Column:
    """A string column with few distinct values (names, places, categories)."""
    return _s(name, length, nullable, description, repetitive=True, kind=kind)


_FK_PERSON = (("person_id", "persons", "person_id"),)

PERSONS = Table(
    "persons",
    (
        Column("person_id", pa.int64(), description="key; 1..n in generation order", kind="id"),
        _s("ssn", 11, description="AAA-GG-SSSS; never SSA-issuable in strict mode", kind="ssn"),
        _r("first_name", 40, kind="given_name"),
        _r("middle_name", 40, nullable=True, description="full name, an initial, or empty", kind="middle_name"),
        _r("last_name", 40, kind="family_name"),
        _r("name_suffix", 4, nullable=True, description="Jr., Sr., II, III or IV", kind="name_suffix"),
        _r("nickname", 40, nullable=True, description="familiar form of first_name, when one is used", kind="nickname"),
        _r("sex", 1, description="F or M", kind="sex"),
        Column("date_of_birth", pa.date32(), kind="birth_date"),
        _r("race_ethnicity", 40, description="Census 2020 race/ethnicity group", kind="category"),
        _r("marital_status", 16, kind="category"),
        _r("education", 24, description="highest level completed", kind="category"),
        Column("household_id", pa.int64(), description="the household: its householder's person_id", kind="id"),
        _r(
            "household_role",
            16,
            description="what the person is to the householder (householder, spouse, ...)",
            kind="category",
        ),
    ),
    "person_id",
    (("household_id", "households", "household_id"),),
    description="One row per person.",
)

HOUSEHOLDS = Table(
    "households",
    (
        Column("household_id", pa.int64(), description="key: the householder's person_id", kind="id"),
        _r("household_type", 24, description="census household type, or the group-quarters type", kind="category"),
        Column("size", pa.int16(), description="people in the household", kind="count"),
        Column(
            "is_group_quarters",
            pa.bool_(),
            description="a dormitory, nursing home, barracks, ... resident",
            kind="flag",
        ),
        Column(
            "address_id",
            pa.int64(),
            description="the householder's current home in addresses (no FK constraint: addresses load after)",
            kind="id",
        ),
        Column(
            "household_income",
            pa.int64(),
            description="US dollars: the sum of the members' annual incomes",
            kind="total",
        ),
    ),
    "household_id",
    description="One row per household; each group-quarters resident is a unit of its own.",
    per_person=False,
)

ADDRESSES = Table(
    "addresses",
    (
        Column("address_id", pa.int64(), description="key: person_id * 10 + sequence", kind="id"),
        Column("person_id", pa.int64(), kind="id"),
        _r("address_type", 10, description="home (current), previous, mailing or shipping", kind="category"),
        _s("street", 60, kind="street"),
        _s("unit", 16, nullable=True, kind="unit"),
        _r("city", 40, kind="city"),
        _r("state", 2, kind="state"),
        _r("zip_code", 5, kind="zip"),
        _r("county", 40, nullable=True, kind="county"),
        Column(
            "latitude",
            pa.float64(),
            nullable=True,
            description="empty for military (APO/FPO/DPO) mail",
            kind="coordinate",
        ),
        Column("longitude", pa.float64(), nullable=True, kind="coordinate"),
        Column("valid_from", pa.date32(), kind="date"),
        Column("valid_to", pa.date32(), nullable=True, description="empty while the address is current", kind="date"),
    ),
    "address_id",
    _FK_PERSON,
    key_factor=10,
)

PHONE_NUMBERS = Table(
    "phone_numbers",
    (
        Column("phone_id", pa.int64(), description="key: person_id * 10 + sequence", kind="id"),
        Column("person_id", pa.int64(), kind="id"),
        _r("phone_type", 6, description="mobile, home or work", kind="category"),
        _s("phone_number", 12, description="NPA-NXX-XXXX; 555-0100..0199 lines in strict mode", kind="phone"),
        Column("is_primary", pa.bool_(), kind="flag"),
    ),
    "phone_id",
    _FK_PERSON,
    key_factor=10,
)

EMAIL_ADDRESSES = Table(
    "email_addresses",
    (
        Column("email_id", pa.int64(), description="key: person_id * 10 + sequence", kind="id"),
        Column("person_id", pa.int64(), kind="id"),
        _r("email_type", 8, description="personal or work", kind="category"),
        _s("email", 96, description="reserved domains only in strict mode", kind="email"),
        Column("is_primary", pa.bool_(), kind="flag"),
    ),
    "email_id",
    _FK_PERSON,
    key_factor=10,
)

EMPLOYMENTS = Table(
    "employments",
    (
        Column("employment_id", pa.int64(), description="key: person_id * 100 + sequence", kind="id"),
        Column("person_id", pa.int64(), kind="id"),
        _r("employer_name", 80, kind="organization"),
        _r("job_title", 100, kind="job_title"),
        _r("occupation_code", 7, description="2018 SOC code", kind="code"),
        _r("industry", 80, description="NAICS sector", kind="category"),
        Column("start_date", pa.date32(), kind="reported_date"),
        Column("end_date", pa.date32(), nullable=True, description="empty for the current job", kind="date"),
        Column("annual_salary", pa.int32(), description="US dollars", kind="money"),
        Column("is_current", pa.bool_(), kind="flag"),
    ),
    "employment_id",
    _FK_PERSON,
    key_factor=100,
)

FINANCIAL_PROFILES = Table(
    "financial_profiles",
    (
        Column("person_id", pa.int64(), kind="id"),
        Column("annual_income", pa.int32(), description="US dollars, all sources", kind="money"),
        Column("credit_score", pa.int16(), description="300-850", kind="score"),
        Column("total_debt", pa.int32(), description="US dollars outstanding", kind="money"),
        Column("debt_to_income", pa.float32(), description="monthly debt payments / monthly income", kind="ratio"),
        _s("credit_card_number", 19, description="Luhn-valid; no live issuer prefix in strict mode", kind="card"),
        _s("bank_account_number", 17, kind="account"),
        _s("routing_number", 9, description="ABA checksum-valid; unassigned prefix in strict mode", kind="routing"),
    ),
    "person_id",
    _FK_PERSON,
)

RELATIONSHIPS = Table(
    "relationships",
    (
        Column(
            "relationship_id", pa.int64(), description="key: person_id * 10 + the related person's position", kind="id"
        ),
        Column("person_id", pa.int64(), kind="id"),
        Column("related_person_id", pa.int64(), kind="id"),
        _r(
            "relationship_type",
            16,
            description="what the related person is to the person (child, spouse, ...)",
            kind="category",
        ),
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
    "source_person_id",
    pa.int64(),
    nullable=True,
    description="for a duplicate record: the person it duplicates",
    kind="id",
)

NOISE_LOG = Table(
    "noise_log",
    (
        _r("table_name", 32, kind="category"),
        Column("record_id", pa.int64(), description="primary key of the changed row", kind="id"),
        _r("column_name", 32, kind="category"),
        _r(
            "noise_type",
            16,
            description="the name of the noise type (or duplicate, for a duplicate record)",
            kind="category",
        ),
        _r("variant", 24, description="the finer kind of change", kind="category"),
        _s("original_value", 128, nullable=True, description="the clean value, as text", kind="text"),
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
