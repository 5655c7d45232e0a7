"""PII detection: which columns of a source table hold personal data, judged by their names and the shape of
their values, and the population field (``gen: person``) or safe generator each one becomes.

A column is bound when its name says what it holds (``email``, ``firstName``, ``dob``, ``zip``), or a
template's Faker method does, or its values have an unmistakable shape (e-mail, SSN, NANP phone, a
Luhn-valid card number).  Names decide the field; values confirm it or, for an unnamed column, find it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from .source import SourceColumn

#: Share of a column's non-null examples that must have a shape for the shape to count.
SHAPE_SHARE = 0.8


@dataclass
class Detection:
    """One decision of an import, for the report and the comment beside the column in the written file:
    ``kind`` (pii, key, foreign key, fanout, categories, distribution, series, faker, pattern, cycle, safe,
    type), ``what`` it became and ``why``."""

    table: str
    column: str
    kind: str
    what: str
    why: str

    @property
    def comment(self) -> str:
        """The comment written beside the binding (``PII: email (name 'email', values look like e-mail)``)."""
        head = f"PII: {self.what}" if self.kind in ("pii", "safe") else self.what
        return f"{head} ({self.why})"


def snake(name: str) -> str:
    """``firstName``, ``First-Name``, ``FIRST_NAME`` -> ``first_name`` (how names are compared)."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


# Population fields by column name (the snake form, whole name).  Order matters: the first match wins.
_NAMES: list[tuple[str, str]] = [
    ("first_name", r"(first|given|fore)_?name|fname|first"),
    ("middle_name", r"middle_?name|middle_initial|mname"),
    ("last_name", r"(last|family|sur)_?name|lname|surname|last"),
    ("full_name", r"full_?name|person_?name|display_?name|(customer|employee|user|patient|contact|member|"
                  r"client|student|owner|holder|account_holder|card_holder)_name"),
    ("email", r"(e_?)?mail(_?address)?|(personal|work|contact|user|customer)_e_?mail"),
    ("phone", r"(tele)?phone(_?(number|no|num))?|mobile(_?(number|phone))?|cell(_?phone)?|tel|msisdn|"
              r"(home|work|contact)_phone"),
    ("ssn", r"ssn|social_security(_number|_no)?|sin|social_insurance_number"),
    ("date_of_birth", r"dob|d_o_b|birth_?(date|day)|date_of_birth|birthdate|born(_on)?"),
    ("sex", r"sex|gender"),
    ("street", r"street(_?address)?|address(_?line)?_?1?|addr(ess)?|address_street"),
    ("city", r"city|town|address_city"),
    ("state", r"state|state_code|province|address_state"),
    ("zip_code", r"zip(_?code)?|post(al)?_?code|postcode|address_zip"),
    ("county", r"county"),
    ("latitude", r"lat(itude)?"),
    ("longitude", r"lng|lon|long|longitude"),
    ("job_title", r"job(_?title)?|occupation|position_title"),
    ("employer_name", r"employer(_?name)?"),
    ("annual_income", r"(annual_)?income"),
    ("credit_score", r"credit_score|fico(_score)?"),
]
_NAME_RES = [(f, re.compile(rf"^(?:{rx})$")) for f, rx in _NAMES]

# Personal numbers no population field holds: written with a safe pattern instead (see ``SAFE``).
_NUMBERS: list[tuple[str, str]] = [
    ("card_number", r"(credit_?|debit_?)?card(_?(number|no|num))?|cc_?(number|no|num)|pan|credit_card"),
    ("account_number", r"(bank_)?acc(oun)?t_?(number|no|num)|iban|bban|bank_account(_number)?"),
    ("national_id", r"national_?id(_number)?|personal_?(number|id(_number)?|code)|passport(_?(number|no))?|"
                    r"tax_?id|tin|nin|nino|driver_?licen[cs]e(_?(number|no))?|id_?card(_?number)?"),
]
_NUMBER_RES = [(f, re.compile(rf"^(?:{rx})$")) for f, rx in _NUMBERS]

#: Faker methods that name a population field (what a template's faker_method says).
FAKER_FIELDS = {
    "first_name": "first_name", "first_name_male": "first_name", "first_name_female": "first_name",
    "last_name": "last_name", "name": "full_name", "name_male": "full_name", "name_female": "full_name",
    "email": "email", "safe_email": "email", "free_email": "email", "company_email": "email",
    "phone_number": "phone", "msisdn": "phone", "ssn": "ssn", "date_of_birth": "date_of_birth",
    "address": "street", "street_address": "street", "city": "city", "state": "state", "state_abbr": "state",
    "zipcode": "zip_code", "postcode": "zip_code", "zip": "zip_code", "zipcode_plus4": "zip_code",
    "latitude": "latitude", "longitude": "longitude", "job": "job_title", "company": "employer_name",
    "passport_number": "national_id", "credit_card_number": "card_number", "iban": "account_number",
    "bban": "account_number", "bank_account": "account_number",
}

#: Fields that by themselves make a table describe people (a name, an SSN, a birth date); otherwise it takes
#: two different person fields (a city alone is a store's, a city and a phone are someone's).
PERSON_CORE = frozenset({"first_name", "last_name", "full_name", "middle_name", "ssn", "date_of_birth"})
#: Bound where the table describes a person, else left to the ordinary generators (a team's company, a
#: store's city): they are not personal on their own.
CONTEXTUAL = frozenset({"employer_name", "job_title", "city", "state", "county", "zip_code", "latitude",
                        "longitude", "sex", "annual_income", "credit_score", "street"})

#: Safe generators for personal values outside a population table: (pattern, why it can be no one's).
SAFE: dict[str, tuple[str, str]] = {
    "email": ("user########@example.com", "example.com is reserved (RFC 2606)"),
    "phone": ("%##-555-01##", "555-0100..0199 are NANPA's fictional lines"),
    "ssn": ("000-##-####", "area 000 is never issued"),
    "card_number": ("0###############", "MII 0 is issued to no card network"),
    "account_number": ("0000########", "zero prefix marks a test number; no account range is reserved, review it"),
    "national_id": ("000######", "zero prefix marks a test number; no range is reserved, review it"),
}

_EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
_SSN = re.compile(r"^\d{3}-\d{2}-\d{4}$")
_PHONE = re.compile(r"^(\+?1[\s.-]?)?\(?[2-9]\d{2}\)?[\s.-]?\d{3}[\s.-]?\d{4}$")
_ZIP = re.compile(r"^\d{5}(-\d{4})?$")


def luhn(digits: str) -> bool:
    """The Luhn check of a digit string (card numbers pass it)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card(value: str) -> bool:
    digits = re.sub(r"[\s-]", "", value)
    return digits.isdigit() and 13 <= len(digits) <= 19 and luhn(digits)


#: Value shapes: field, test, how the report says it.
SHAPES: list[tuple[str, Callable[[str], bool], str]] = [
    ("email", lambda v: bool(_EMAIL.match(v)), "e-mail"),
    ("ssn", lambda v: bool(_SSN.match(v)), "SSN (123-45-6789)"),
    ("card_number", _card, "card numbers (Luhn-valid)"),
    ("phone", lambda v: bool(_PHONE.match(v)), "phone numbers"),
]


def shape_of(examples: list[Any]) -> tuple[str, str] | None:
    """The field the values' shape says (and the words for it), when at least SHAPE_SHARE of them have it."""
    texts = [str(v).strip() for v in examples if v is not None and not isinstance(v, (bool, dict, list))]
    if not texts:
        return None
    for field, test, words in SHAPES:
        if sum(map(test, texts)) >= SHAPE_SHARE * len(texts):
            return field, words
    return None


def _confirm(field: str, col: SourceColumn) -> str:
    """What the values add to a name's verdict (``values look like e-mail``), or nothing."""
    texts = [str(v) for v in col.examples if v is not None]
    if not texts:
        return ""
    found = shape_of(col.examples)
    if found and found[0] == field:
        return f", values look like {found[1]}"
    if field == "date_of_birth" and col.type in ("date", "timestamp"):
        return ", values are dates"
    if field == "zip_code" and sum(bool(_ZIP.match(t)) for t in texts) >= SHAPE_SHARE * len(texts):
        return ", values look like ZIP codes"
    return ""


#: Fields also found at the end of a longer name (``home_phone``, ``address_zip``, ``billing_city``).
SUFFIXED = frozenset({"email", "phone", "street", "city", "state", "zip_code", "county", "date_of_birth", "ssn",
                      "first_name", "last_name", "full_name", "card_number", "account_number"})


def _matches(name: str) -> list[tuple[str, re.Pattern[str], str]]:
    """(field, regex, part of the name) to try in order: the whole name against every field, then its
    shorter endings (``billing_address_city`` -> ``address_city``, ``city``) against the SUFFIXED fields."""
    tokens = name.split("_")
    out = [(f, rx, name) for f, rx in _NAME_RES + _NUMBER_RES]
    for i in range(1, len(tokens)):
        part = "_".join(tokens[i:])
        out += [(f, rx, part) for f, rx in _NAME_RES + _NUMBER_RES if f in SUFFIXED and len(part) >= 3]
    return out


#: What the values of a field named like a place must look like, when there are values: a ``state`` of
#: ``active``/``closed`` is an account's, not an address's.
_PLACES = {
    "state": re.compile(r"^([A-Z]{2}|[A-Z][a-z]+( [A-Z][a-z]+)*)$"),
    "city": re.compile(r"^[A-Z][A-Za-z.'-]*( [A-Za-z.'-]+)*$"),
    "county": re.compile(r"^[A-Z][A-Za-z.'-]*( [A-Za-z.'-]+)*$"),
    "zip_code": _ZIP,
}


def _fits(field: str, col: SourceColumn) -> bool:
    rx = _PLACES.get(field)
    texts = [str(v) for v in col.examples if v is not None]
    return rx is None or not texts or sum(bool(rx.match(t)) for t in texts) >= SHAPE_SHARE * len(texts)


def classify(col: SourceColumn) -> tuple[str, str] | None:
    """The personal field a column holds (a population field name, or card_number / account_number /
    national_id) and why, or None."""
    name = snake(col.name)
    if col.faker and col.faker in FAKER_FIELDS:
        field = FAKER_FIELDS[col.faker]
        return field, f"Faker method {col.faker}"
    for field, rx, part in _matches(name):
        if rx.match(part):
            if field == "date_of_birth" and col.type not in ("date", "timestamp", "string"):
                continue
            if field in ("latitude", "longitude", "annual_income", "credit_score") and col.type == "string":
                continue
            if not _fits(field, col):
                continue
            return field, f"name '{col.name}'{_confirm(field, col)}"
    if col.type == "string":
        found = shape_of(col.examples)
        if found:
            return found[0], f"values look like {found[1]}"
    return None


def describes_person(fields: set[str], table_name: str) -> bool:
    """Whether a table's personal fields describe a person (so it becomes ``from: population``)."""
    person = {f for f in fields if f not in ("card_number", "account_number", "national_id")}
    return bool(person & PERSON_CORE) or len(person) >= 2 or bool(
        person and re.search(r"(user|customer|employee|person|people|patient|member|client|contact|student)",
                             snake(table_name)))


def is_personal_name_column(name: str) -> bool:
    """A bare ``name`` column, which is a person's name only in a table that describes people."""
    return snake(name) in ("name", "names")
