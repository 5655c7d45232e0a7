"""The output contract: every table, column, type, key and size, defined once.

File writers, database DDL and the validator all read this module, so a column
added here appears everywhere at once.
"""

from __future__ import annotations

from dataclasses import dataclass

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
}


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

    def __post_init__(self) -> None:
        if self.kind and self.kind not in KINDS:
            raise ValueError(f"column {self.name} has kind '{self.kind}', which is not one of: {', '.join(KINDS)}")


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
