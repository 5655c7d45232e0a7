"""The registries: every contract column is produced exactly once, in dependency order; noise types register
themselves and change columns by their declared kind; a broken declaration is refused with a clear error."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from pii_gen.config import build_config
from pii_gen.errors import ConfigError, RegistryError
from pii_gen.generators import REGISTRY
from pii_gen.reference import load
from pii_gen.schema import KINDS, NOISE_LOG, SOURCE_PERSON_ID, TABLES, Column, Table
from pii_gen.variability import noise_types
from pii_gen.variability.base import Cells, NoiseType, NoiseTypes
from pii_gen.variability.typos import Typo
from pii_gen.variability.wrong import WrongValue

# -- sub-generators -------------------------------------------------------------------------------


def test_registry_covers_the_contract_exactly():
    produced: dict[str, list[str]] = {name: [] for name in TABLES}
    produced["persons"].append("person_id")  # the engine assigns keys
    for gen in REGISTRY:
        assert gen.table in TABLES, gen.name
        produced[gen.table].extend(gen.columns)
    for name, spec in TABLES.items():
        assert sorted(produced[name]) == sorted(spec.column_names), name


def test_registry_order_respects_dependencies_and_streams_are_unique():
    available: set[str] = set()
    for gen in REGISTRY:
        missing = set(gen.requires) - available
        assert not missing, f"{gen.name} needs {missing} before it runs"
        available |= set(gen.provides)
    streams = [g.stream for g in REGISTRY]
    assert len(set(streams)) == len(streams)
    names = [g.name for g in REGISTRY]
    assert len(set(names)) == len(names)


# -- column kinds and noise types -----------------------------------------------------------------

#: The columns each noise type changed when they were listed by name: choosing by kind changes none of them.
COLUMNS_BY_NAME = {
    "typo": {
        "persons": ("first_name", "middle_name", "last_name", "nickname"),
        "addresses": ("street", "city", "county"),
        "email_addresses": ("email",),
        "employments": ("employer_name", "job_title"),
    },
    "name_variant": {"persons": ("first_name", "middle_name", "last_name", "name_suffix")},
    "format": {
        "persons": ("ssn", "first_name", "middle_name", "last_name", "date_of_birth"),
        "addresses": ("street", "unit", "city", "county", "valid_from", "valid_to"),
        "phone_numbers": ("phone_number",),
        "email_addresses": ("email",),
        "employments": ("employer_name", "job_title", "start_date", "end_date"),
        "financial_profiles": ("credit_card_number",),
    },
    "wrong_value": {
        "persons": ("ssn", "date_of_birth"),
        "addresses": ("zip_code",),
        "phone_numbers": ("phone_number",),
        "email_addresses": ("email",),
        "employments": ("start_date",),
    },
    "outlier": {
        "persons": ("date_of_birth",),
        "employments": ("annual_salary",),
        "financial_profiles": ("annual_income", "credit_score", "total_debt", "debt_to_income"),
    },
}


def test_every_column_declares_a_known_kind_and_every_kind_is_held_by_a_column():
    columns = [c for t in (*TABLES.values(), NOISE_LOG) for c in t.columns] + [SOURCE_PERSON_ID]
    undeclared = [c.name for c in columns if c.kind not in KINDS]
    assert not undeclared
    assert {c.kind for c in columns} == set(KINDS)
    keys = {(t.name, k) for t in TABLES.values() for k in (t.primary_key, *(fk[0] for fk in t.foreign_keys))}
    assert all(TABLES[t].column(c).kind == "id" for t, c in keys)


def test_a_column_of_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="column postcode has kind 'zip_code', which is not one of: id, given_name"):
        Column("postcode", pa.string(), kind="zip_code")


def test_noise_types_register_themselves_in_their_positions():
    assert [t.name for t in noise_types()] == ["typo", "name_variant", "missing", "format", "wrong_value", "outlier"]
    assert [t.position for t in noise_types()] == sorted(t.position for t in noise_types())


def test_noise_types_chosen_by_kind_change_the_same_columns_as_by_name():
    by_kind = {t.name: t.columns_in(TABLES) for t in noise_types()}
    missing = by_kind.pop("missing")
    assert {t: {k: set(v) for k, v in cols.items()} for t, cols in by_kind.items()} == {
        t: {k: set(v) for k, v in cols.items()} for t, cols in COLUMNS_BY_NAME.items()
    }
    # Missing values go into every column that holds data: all but keys and links.
    assert missing == {
        name: tuple(c for c in t.column_names if c not in {t.primary_key, *(fk[0] for fk in t.foreign_keys)}
                    and not c.endswith("_id"))
        for name, t in TABLES.items()
    }  # fmt: skip


def test_config_names_the_noise_types_a_column_takes_in_their_order():
    with pytest.raises(ConfigError, match=r"format noise cannot change persons\.nickname \(noise types for it: typo, "
                       r"missing\)$"):  # fmt: skip
        build_config({"noise": {"columns": {"persons.nickname": {"format": 0.1}}}})
    with pytest.raises(ConfigError, match=r"\(noise types for it: missing, format, wrong_value\)"):
        build_config({"noise": {"columns": {"persons.ssn": {"typo": 0.1}}}})


def _cells(table: Table, column: str, values: pa.Array, seed: int = 5) -> Cells:
    n = len(values)
    return Cells(
        {column: values}, column, table.column(column).kind, table, np.arange(n), values, values.type,
        [np.random.default_rng(seed)], np.array([0, n]), load(), True, dt.date(2026, 1, 1), 10.0,
    )  # fmt: skip


def test_noise_changes_a_column_by_its_kind_whatever_it_is_called():
    # A table that is not the population's: a post code and a contact address, named as nothing noise knows.
    customers = Table(
        "customers",
        (
            Column("customer_no", pa.int64(), kind="id"),
            Column("postcode", pa.string(), kind="zip"),
            Column("contact", pa.string(), kind="email"),
        ),
        "customer_no",
    )
    zips = pa.array(["10001", "94103", "60614", "73301"] * 50)
    change = WrongValue().apply(_cells(customers, "postcode", zips))
    old, new = np.array(zips.to_pylist()), np.array(change.values.to_pylist())
    differing = (np.array([list(s) for s in old]) != np.array([list(s) for s in new])).sum(axis=1)
    assert change.applied.all() and (differing == 1).all()  # one wrong digit each, not a value copied
    assert set(change.variant.tolist()) == {WrongValue.variants.index("zip_digit")}

    emails = pa.array([f"person{i}@example.com" for i in range(200)])
    change = Typo().apply(_cells(customers, "contact", emails))
    typed = change.values.filter(pa.array(change.applied)).to_pylist()
    assert len(typed) > 150 and all(e.endswith("@example.com") for e in typed)  # typos stay left of the @


class _Base(NoiseType, register=False):
    name = "smudge"
    position = 99
    kinds = frozenset({"zip"})
    variants = ("smudged",)
    description = "a test noise type"


def test_a_well_declared_noise_type_registers():
    registry = NoiseTypes("noise type")
    registry.add(_Base)
    assert list(registry) == [_Base] and registry["smudge"] is _Base


@pytest.mark.parametrize(
    "declares, message",
    [
        ({"kinds": frozenset({"zip_code"})}, "declares kind zip_code, which no column has (column kinds: id, "),
        ({"kinds": frozenset()}, "declares kind (none), which no column has"),
        ({"position": 3}, "has position 3, already pii_gen.variability.missing.Missing's: positions must differ"),
        ({"name": "typo"}, "is named 'typo' like pii_gen.variability.typos.Typo: names must differ"),
        ({"variants": ("a", "a")}, "needs variants, each named once"),
    ],
)
def test_a_badly_declared_noise_type_is_refused_naming_it(declares, message):
    registry = NoiseTypes("noise type")
    for t in noise_types():
        registry.add(t)
    broken = type("Broken", (_Base,), dict(declares), register=False)
    with pytest.raises(RegistryError) as err:
        registry.add(broken)
    assert message in str(err.value) and "test_registry.Broken" in str(err.value)
    assert "\n" not in str(err.value)


def test_a_noise_type_registers_on_definition():
    from pii_gen.variability.base import REGISTRY as NOISE

    before = len(NOISE)
    with pytest.raises(RegistryError, match="declares kind postcode, which no column has"):

        class Misdeclared(_Base):  # registers as it is defined, and is refused
            name = "misdeclared"
            position = 98
            kinds = frozenset({"postcode"})

    assert len(NOISE) == before and "misdeclared" not in NOISE
