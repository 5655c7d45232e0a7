"""The population fields a ``person`` column may name: the kind of their values and what the population
contract says they hold (read by the ``person`` generator, the checks and the ``noise`` modifier)."""

from __future__ import annotations

#: Columns of the population contract a `person` column may name, with the kind of their values; the last five
#: are the person's household's (a household table's row is its householder, so they are that household's).
PERSON_FIELDS = {
    "person_id": "int", "first_name": "string", "middle_name": "string", "last_name": "string",
    "full_name": "string", "sex": "string", "date_of_birth": "date", "age": "int", "ssn": "string",
    "email": "string", "phone": "string", "street": "string", "city": "string", "state": "string",
    "zip_code": "string", "county": "string", "latitude": "float", "longitude": "float",
    "employer_name": "string", "job_title": "string", "annual_income": "float", "credit_score": "int",
    "household_id": "int", "household_type": "string", "household_size": "int", "is_group_quarters": "bool",
    "address_id": "int", "household_income": "int",
}
#: What the population contract says each field holds (its column kind: what noise may do to it); a field
#: missing here (full_name, age) is no contract column and is treated by its values' kind.
PERSON_KINDS = {
    "person_id": "id", "first_name": "given_name", "middle_name": "middle_name", "last_name": "family_name",
    "sex": "sex", "date_of_birth": "birth_date", "ssn": "ssn", "email": "email", "phone": "phone",
    "street": "street", "city": "city", "state": "state", "zip_code": "zip", "county": "county",
    "latitude": "coordinate", "longitude": "coordinate", "employer_name": "organization", "job_title": "job_title",
    "annual_income": "money", "credit_score": "score", "household_id": "id", "household_type": "category",
    "household_size": "count", "is_group_quarters": "flag", "address_id": "id", "household_income": "total",
}
