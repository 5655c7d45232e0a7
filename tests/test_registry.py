"""The registries: every contract column is produced exactly once, in dependency order; noise types register
themselves and change columns by their declared kind; a broken declaration is refused with a clear error."""

from __future__ import annotations

import datetime as dt
import sys
from typing import get_args

import numpy as np
import pyarrow as pa
import pytest

from pii_gen import PersonGenerator
from pii_gen.config import Format, build_config
from pii_gen.db.connections.base import REGISTRY as CONNECTIONS
from pii_gen.db.connections.base import Connection, connection_class, connection_types
from pii_gen.db.ddl import DIALECTS
from pii_gen.db.loaders import connect
from pii_gen.db.url import SCHEMES as DB_SCHEMES
from pii_gen.db.url import DatabaseURL, parse
from pii_gen.errors import ConfigError, OutputError, RegistryError
from pii_gen.packs.person.generators import ENGINE_COLUMNS, Context, SubGenerator, registry
from pii_gen.core.steps import Steps, check_contract, run_order
from pii_gen.packs.person.generators.base import REGISTRY as GENERATORS
from pii_gen.core.rng import block_rng
from pii_gen.packs.person.reference import load
from pii_gen.core.registry import discover
from pii_gen.sinks.codecs import CsvCodec
from pii_gen.sinks.files import CsvSink, FileOutput, FileSink, file_formats, file_sink
from pii_gen.sinks.outputs import OUTPUTS
from pii_gen.stream.destinations import Destination, destinations, kind_of, make_destination
from pii_gen.stream.options import build_options
from pii_gen.core.contract import KINDS, SCHEMA_KINDS, Column, Table
from pii_gen.packs.person.contract import NOISE_LOG, SOURCE_PERSON_ID, TABLES
from pii_gen.variability import noise_types
from pii_gen.variability.base import Cells, NoiseType, NoiseTypes
from pii_gen.variability.typos import Typo
from pii_gen.variability.wrong import WrongValue

# -- sub-generators -------------------------------------------------------------------------------

#: The order the generators ran in when it was a hand-kept tuple.
PREVIOUS_ORDER = ("household", "relationships", "demographics", "name", "identity", "address", "employment",
                  "contact", "email", "financial", "households")  # fmt: skip


def test_registry_covers_the_contract_exactly():
    produced: dict[str, list[str]] = {name: [] for name in TABLES}
    produced["persons"].append("person_id")  # the engine assigns keys
    for gen in registry():
        assert gen.table in TABLES, gen.name
        produced[gen.table].extend(gen.columns)
    for name, spec in TABLES.items():
        assert sorted(produced[name]) == sorted(spec.column_names), name


def test_registry_order_respects_dependencies_and_streams_are_unique():
    available: set[str] = set()
    for gen in registry():
        missing = set(gen.requires) - available
        assert not missing, f"{gen.name} needs {missing} before it runs"
        available |= set(gen.provides)
    streams = [g.stream for g in registry()]
    assert len(set(streams)) == len(streams)
    names = [g.name for g in registry()]
    assert len(set(names)) == len(names)


def test_run_order_comes_from_requires_and_provides_with_ties_by_stream():
    assert [g.name for g in registry()] == [
        "identity", "household", "demographics", "name", "address", "employment", "contact", "email", "financial",
        "relationships", "households",
    ]  # fmt: skip
    assert sorted(g.name for g in registry()) == sorted(PREVIOUS_ORDER)
    assert run_order(reversed(registry())) == registry()  # the order of registration does not matter


def test_the_computed_order_gives_the_tables_the_previous_order_gave():
    gen = PersonGenerator(build_config({"seed": 3}))
    computed = gen.clean_block(2, 4_000)
    by_name = {type(g).name: type(g) for g in gen.generators}
    gen.generators = [by_name[name]() for name in PREVIOUS_ORDER]
    previous = gen.clean_block(2, 4_000)
    for name in TABLES:
        assert computed[name].num_rows > 0 and computed[name].equals(previous[name]), name


class _Reads(dict):
    """Context values that note which ones are read."""

    def __init__(self) -> None:
        super().__init__()
        self.read: set[str] = set()

    def __getitem__(self, key: str):
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default=None):
        self.read.add(key)
        return super().get(key, default)


def test_each_generator_reads_exactly_the_values_it_declares_it_requires():
    # The run order is only as right as the declarations: a value read but not required could be read
    # before it is provided; one required but not read holds a generator back for nothing.
    gen = PersonGenerator(build_config({"seed": 5}))
    values = _Reads()
    ctx = Context(gen.config, gen.ref, np.arange(1, 5_001, dtype=np.int64), values)
    for sub in gen.generators:
        values.read = set()
        sub.generate(5_000, block_rng(5, 0, sub.stream), ctx)
        assert values.read - set(sub.provides) == set(sub.requires), sub.name


def _generator(name: str, stream: int, requires: tuple[str, ...] = (), provides: tuple[str, ...] = (),
               table: str = "persons", columns: tuple[str, ...] = ()) -> type[SubGenerator]:  # fmt: skip
    attrs = {"name": name, "stream": stream, "table": table, "columns": columns, "requires": requires,
             "provides": provides}  # fmt: skip
    return type(name.title(), (SubGenerator,), attrs, register=False)


def _registered() -> Steps:
    reg = Steps("sub-generator")
    for gen in registry():
        reg.add(gen)
    return reg


def test_a_new_generator_runs_after_what_it_requires_and_moves_no_other():
    zodiac = _generator("zodiac", 12, requires=("birth_days",), provides=("sign",))
    order = [g.name for g in run_order([*registry(), zodiac])]
    assert order.index("zodiac") > order.index("demographics")
    assert [n for n in order if n != "zodiac"] == [g.name for g in registry()]


@pytest.mark.parametrize(
    "declares, message",
    [
        ({"stream": 4}, "has stream 4, already pii_gen.packs.person.generators.address.Address's: streams must differ"),
        (
            {"name": "address"},
            "is named 'address' like pii_gen.packs.person.generators.address.Address: names must differ",
        ),
        ({"provides": ("age",)}, "provides age, as pii_gen.packs.person.generators.demographics.Demographics does"),
        ({"columns": ("ssn",)}, "writes persons.ssn, as pii_gen.packs.person.generators.identity.Identity does"),
        ({"stream": -1}, "has stream -1: a whole number >= 0"),
    ],
)
def test_a_clashing_generator_is_refused_when_it_registers(declares, message):
    broken = _generator("zodiac", 12, provides=("sign",), columns=("zodiac_sign",))
    for attr, value in declares.items():
        setattr(broken, attr, value)
    with pytest.raises(RegistryError) as err:
        _registered().add(broken)
    assert message in str(err.value) and "test_registry.Zodiac" in str(err.value)


def test_a_generator_declaring_no_stream_is_refused():
    class NoStream(SubGenerator, register=False):
        name, table, columns = "no_stream", "persons", ()

    with pytest.raises(RegistryError, match=r"sub-generator .*NoStream declares no stream$"):
        _registered().add(NoStream)


def test_a_generator_registers_on_definition_and_a_clash_is_refused_there():
    clash = "has stream 3, already pii_gen.packs.person.generators.identity.Identity's"
    with pytest.raises(RegistryError, match=clash):

        class Clash(SubGenerator):  # registers as it is defined, and is refused
            name, stream, table, columns = "clash", 3, "persons", ()

    assert "clash" not in GENERATORS


@pytest.mark.parametrize(
    "extra, message",
    [
        ([_generator("zodiac", 12, requires=("star",))], r"Zodiac requires star, which no sub-generator provides$"),
        ([_generator("a", 12, requires=("b",), provides=("a",)), _generator("b", 13, requires=("a",), provides=("b",))],
         r"sub-generators require each other's values in a cycle: (a -> b -> a|b -> a -> b)$"),
        ([_generator("ages", 12, provides=("age",))],
         r"Ages provides age, as pii_gen.packs.person.generators.demographics"),
    ],
)  # fmt: skip
def test_an_order_that_cannot_be_is_refused(extra, message):
    with pytest.raises(RegistryError, match=message):
        run_order([*registry(), *extra])


def test_the_contract_check_finds_a_column_nobody_writes_or_one_it_lacks():
    check_contract(registry(), TABLES, ENGINE_COLUMNS)
    without_identity = [g for g in registry() if g.name != "identity"]
    with pytest.raises(RegistryError, match=r"^no sub-generator writes persons\.ssn$"):
        check_contract(without_identity, TABLES, ENGINE_COLUMNS)
    with pytest.raises(RegistryError, match=r"Zodiac writes persons\.zodiac_sign, which the contract lacks"):
        check_contract([*registry(), _generator("zodiac", 12, columns=("zodiac_sign",))], TABLES, ENGINE_COLUMNS)
    with pytest.raises(RegistryError, match="writes table horoscopes, which the contract lacks"):
        check_contract([*registry(), _generator("zodiac", 12, table="horoscopes")], TABLES, ENGINE_COLUMNS)


def test_discovery_imports_every_module_of_a_package(tmp_path, monkeypatch):
    pkg = tmp_path / "plugins_for_discovery"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("FOUND = []\n")
    for mod in ("alpha", "beta"):
        (pkg / f"{mod}.py").write_text(f"from . import FOUND\nFOUND.append({mod!r})\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    discover("plugins_for_discovery")
    import plugins_for_discovery

    assert sorted(plugins_for_discovery.FOUND) == ["alpha", "beta"]


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
    # identity noise: e-mails and phones of the population too; IPs, cookies and devices only in schema files
    "email_typo": {"email_addresses": ("email",)},
    "recycled_phone": {"phone_numbers": ("phone_number",)},
    "ip_reassigned": {},
    "cookie_churn": {},
    "borrowed_device": {},
}


def test_every_column_declares_a_known_kind_and_every_kind_is_held_by_a_column():
    columns = [c for t in (*TABLES.values(), NOISE_LOG) for c in t.columns] + [SOURCE_PERSON_ID]
    undeclared = [c.name for c in columns if c.kind not in KINDS]
    assert not undeclared
    assert {c.kind for c in columns} == set(KINDS) - SCHEMA_KINDS  # the rest are schema files' (identity graphs)
    keys = {(t.name, k) for t in TABLES.values() for k in (t.primary_key, *(fk[0] for fk in t.foreign_keys))}
    assert all(TABLES[t].column(c).kind == "id" for t, c in keys)


def test_a_column_of_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="column postcode has kind 'zip_code', which is not one of: id, given_name"):
        Column("postcode", pa.string(), kind="zip_code")


def test_noise_types_register_themselves_in_their_positions():
    assert [t.name for t in noise_types()] == [
        "typo",
        "name_variant",
        "missing",
        "format",
        "wrong_value",
        "outlier",
        "email_typo",
        "recycled_phone",
        "ip_reassigned",
        "cookie_churn",
        "borrowed_device",
    ]
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
        ({"name": "seventeen_letters"}, "names 'seventeen_letters', longer than the noise log's noise_type column (16"),
        ({"variants": ("ok", "x" * 25)}, f"names '{'x' * 25}', longer than the noise log's variant column (24 char"),
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


# -- outputs and stream destinations ----------------------------------------------------------------


def _defined_in(package: str, base: type) -> list[type]:
    """Every subclass of ``base`` defined in the modules of ``package``."""
    discover(package)
    found = []
    for name in sorted(sys.modules):
        if name.startswith(package + "."):
            module = sys.modules[name]
            found += [c for c in vars(module).values() if isinstance(c, type) and issubclass(c, base)
                      and c is not base and c.__module__ == name]  # fmt: skip
    return found


def _registered_or_their_base(classes: list[type], registered: list[type]) -> list[type]:
    """Classes neither registered nor a base of registered ones: outputs nobody can choose."""
    return [c for c in classes if c not in registered and not any(issubclass(r, c) for r in registered)]


def test_every_file_output_is_registered_under_a_config_format():
    formats = file_formats()
    assert sorted(f.name for f in formats) == sorted(get_args(Format))
    assert _registered_or_their_base(_defined_in("pii_gen.sinks", FileOutput), list(formats)) == []
    assert [type(file_sink(f, None)).__name__ for f in ("csv", "jsonl", "parquet")] == [  # type: ignore[arg-type]
        "CsvSink", "JsonlSink", "ParquetSink",
    ]  # fmt: skip


def test_every_stream_destination_is_registered_and_each_scheme_names_one():
    registered = destinations()
    assert _registered_or_their_base(_defined_in("pii_gen.stream.destinations", Destination), list(registered)) == []
    schemes = [s for d in registered for s in d.schemes]
    assert len(schemes) == len(set(schemes))
    kinds = {to: kind_of(to) for to in ("-", "", "people.jsonl", "file:///tmp/p.jsonl", "https://h/p", "http://h",
                                        "redis://h", "rediss://h", "nats://h", "tls://h", "postgresql://u@h/db",
                                        "mariadb+pyodbc://u@h/db", "sqlite:///p.db", "duckdb:///p.duckdb",
                                        "DRIVER={x};SERVER=h")}  # fmt: skip
    assert set(kinds.values()) == {d.name for d in registered}
    assert kinds["https://h/p"] == "http" and kinds["tls://h"] == "nats" and kinds["DRIVER={x};SERVER=h"] == "database"
    assert set(DB_SCHEMES) <= set(OUTPUTS["database"].schemes)


def test_two_file_outputs_cannot_claim_one_format():
    with pytest.raises(RegistryError, match=r"OtherCsv is named 'csv' like pii_gen\.sinks\.files\.CsvSink: names"):

        class OtherCsv(FileOutput):
            name = "csv"

    assert OUTPUTS["csv"] is CsvSink


def test_two_destinations_cannot_claim_one_scheme():
    with pytest.raises(RegistryError, match=r"Webhook claims scheme 'https://' like pii_gen\.stream\.destinations\.h"):

        class Webhook(Destination):
            name = "webhook"
            schemes = ("webhook", "https")

            @classmethod
            def create(cls, to, options, config, header):  # noqa: ANN001, ANN206
                return cls("webhook")

    assert OUTPUTS.by_scheme("https", streaming=True) is OUTPUTS["http"] and "webhook" not in OUTPUTS


def test_a_destination_that_cannot_be_built_is_refused():
    with pytest.raises(RegistryError, match=r"Unbuildable has no create\(\)"):

        class Unbuildable(Destination):
            name = "unbuildable"
            schemes = ("unbuildable",)


@pytest.fixture
def scratch_registries(monkeypatch):
    """Classes a test registers are gone after it."""
    monkeypatch.setattr(OUTPUTS, "_classes", dict(OUTPUTS._classes))


def test_a_new_output_is_chosen_by_its_name_alone(scratch_registries, tmp_path):
    class TsvSink(FileSink):
        name = "tsv"

        def __init__(self, staging):  # noqa: ANN001
            super().__init__(staging, CsvCodec())

    class Echo(Destination):
        name = "echo"
        schemes = ("echo",)

        @classmethod
        def create(cls, to, options, config, header):  # noqa: ANN001, ANN206
            return cls(to)

    assert isinstance(file_sink("tsv", None), TsvSink)  # type: ignore[arg-type]
    expected = "csv, delta, jsonl, parquet or tsv"
    with pytest.raises(OutputError, match=rf"^unknown output format 'xml' \(expected {expected}\)$"):
        file_sink("xml", None)  # type: ignore[arg-type]
    made = make_destination(build_options(to="echo://here"), build_config({}))
    assert isinstance(made, Echo) and made.label == "echo://here"
    with pytest.raises(ConfigError, match=r"--format csv is for stdout and files; echo destinations take JSON"):
        make_destination(build_options(to="echo://here", format="csv"), build_config({}))


def test_a_url_scheme_names_one_output_for_a_run_and_one_for_a_stream():
    from pii_gen.db.url import scheme_of
    from pii_gen.sinks.database import DatabaseSink
    from pii_gen.stream.destinations.database import DatabaseDestination

    for url in [f"{s}://u@h/db" for s in DB_SCHEMES] + ["DRIVER={x};SERVER=h", ""]:
        assert OUTPUTS.by_scheme(scheme_of(url), streaming=False) is DatabaseSink, url
        assert OUTPUTS.by_scheme(scheme_of(url), streaming=True) is DatabaseDestination, url
    assert OUTPUTS.by_scheme("https", streaming=False) is None
    with pytest.raises(RegistryError, match=r"OtherDb claims scheme 'sqlite://' like pii_gen\.sinks\.database\.Da"):

        @OUTPUTS.add
        class OtherDb(DatabaseSink):
            name = "other_db"
            schemes = ("sqlite",)


def test_generate_db_builds_the_output_its_scheme_names(scratch_registries, tmp_path):
    from pii_gen import api
    from pii_gen.errors import PiiGenError
    from pii_gen.sinks.database import DatabaseSink

    class Chosen(PiiGenError):
        pass

    del OUTPUTS._classes["db"]

    @OUTPUTS.add
    class Refusing(DatabaseSink):
        name = "refusing"
        schemes = ("sqlite",)

        def prepare(self):  # noqa: ANN201
            raise Chosen(self.url.redacted())

    with pytest.raises(Chosen, match="people.db"):
        api.generate(build_config({"count": 10, "db": f"sqlite:///{tmp_path / 'people.db'}", "quiet": True}))
    assert not (tmp_path / "people.db").exists()


# -- database connections -------------------------------------------------------------------------


def test_every_dialect_and_path_opens_with_its_registered_connection():
    registered = connection_types()
    assert _registered_or_their_base(_defined_in("pii_gen.db.connections", Connection), list(registered)) == []
    claims = [c for cls in registered for c in cls.claims]
    assert len(claims) == len(set(claims)) and set(claims) == set(DB_SCHEMES.values())
    assert {dialect for dialect, _ in claims} == set(DIALECTS)
    chosen = {scheme: CONNECTIONS.serving(*key).name for scheme, key in DB_SCHEMES.items()}
    assert chosen == {
        "postgresql": "postgresql", "postgres": "postgresql", "postgresql+psycopg": "postgresql",
        "postgresql+pyodbc": "odbc", "mysql": "mysql", "mariadb": "mysql", "mysql+pymysql": "mysql",
        "mariadb+pymysql": "mysql", "mysql+pyodbc": "odbc", "mariadb+pyodbc": "odbc", "mssql+pyodbc": "odbc",
        "mssql": "odbc", "sqlite": "sqlite", "duckdb": "duckdb",
    }  # fmt: skip
    assert [c.name for c in registered if c.fallback] == ["odbc"]
    assert connection_class(DatabaseURL("oracle", "odbc")).name == "odbc"  # what no class claims goes to ODBC
    assert connection_class(parse("DRIVER={x};SERVER=h;UID=sa;PWD=pw;")).name == "odbc"


def test_two_connections_cannot_claim_one_dialect_and_path():
    before = list(CONNECTIONS)
    clash = r"<locals>\.OtherPostgres claims postgresql\+native like pii_gen\.db\.connections\.postgres\.Postgres"
    with pytest.raises(RegistryError, match=clash + r"Connection: a dialect and path name one connection$"):

        class OtherPostgres(Connection):
            name = "other-postgres"
            claims = (("postgresql", "asyncpg"), ("postgresql", "native"))

    with pytest.raises(RegistryError, match=r"SecondFallback is a fallback like pii_gen\.db\.connections\.odbc\.Od"):

        class SecondFallback(Connection):
            name = "second-fallback"
            fallback = True

    assert list(CONNECTIONS) == before and connection_class(parse("postgresql://u@h/db")).name == "postgresql"


@pytest.fixture
def scratch_connections(monkeypatch):
    """Connection types a test registers are gone after it."""
    connection_types()
    monkeypatch.setattr(CONNECTIONS, "_classes", dict(CONNECTIONS._classes))


def test_a_new_connection_registers_itself_and_opens_its_urls(scratch_connections, tmp_path):
    import sqlite3

    class MemorySqlite(Connection):
        """SQLite in memory, as a connection type that nothing else names."""

        name = "sqlite-memory"
        claims = (("sqlite", "memory"),)

        def __init__(self, url: DatabaseURL, schema: str | None) -> None:
            super().__init__(url, schema)
            self.raw = sqlite3.connect(":memory:")

    conn = connect(DatabaseURL("sqlite", "memory"))
    assert isinstance(conn, MemorySqlite) and conn.execute("SELECT 40 + 2") == [(42,)]
    conn.close()
    assert type(connect(parse(f"sqlite:///{tmp_path / 'p.db'}"))).__name__ == "SqliteConnection"

    class Broken(Connection):
        name = "broken"
        claims = (("sqlite", "broken"),)
        extras = {"no_such_driver": "broken"}

        def __init__(self, url: DatabaseURL, schema: str | None) -> None:
            import no_such_driver  # noqa: F401

    with pytest.raises(OutputError, match=r"^cannot load sqlite:///x\.db: the driver 'no_such_driver' is missing; "
                       r'install it with pip install "pii-gen\[broken\]"$'):  # fmt: skip
        connect(DatabaseURL("sqlite", "broken", file="x.db"))


# -- validation check groups ----------------------------------------------------------------------


def test_the_check_groups_register_themselves_in_report_order():
    from pii_gen.validate.checks import check_groups, group_names

    assert group_names() == ("structural", "values", "statistical", "households", "noise")
    assert [cls.order for cls in check_groups()] == sorted(cls.order for cls in check_groups())


def test_a_new_check_group_runs_in_validate_and_shows_in_the_report(monkeypatch, tmp_path):
    from pii_gen import api
    from pii_gen.validate import validate
    from pii_gen.validate.checks import GROUPS_REGISTRY, CheckGroup
    from pii_gen.validate.model import Check

    monkeypatch.setattr(GROUPS_REGISTRY, "_classes", dict(GROUPS_REGISTRY._classes))

    class Adults(CheckGroup):
        """Counts the adults, as a pack's own group of checks would."""

        name = "adults"
        order = 45

        def run(self, ctx):  # noqa: ANN001, ANN201
            n = ctx.src.one("SELECT COUNT(*) FROM persons WHERE date_of_birth <= DATE '2008-01-01'")[0]
            return [Check(self.name, "adults counted", "pass", f"{n:,}", "any")]

    api.generate(build_config({"count": 300, "out": str(tmp_path / "out"), "quiet": True}))
    report = validate(tmp_path / "out")
    mine = [c for c in report.checks if c.group == "adults"]
    assert [c.name for c in mine] == ["adults counted"] and int(mine[0].figure.replace(",", "")) > 150
    groups = list(dict.fromkeys(c.group for c in report.checks))
    assert groups == ["structural", "values", "statistical", "households", "adults", "noise"]

    with pytest.raises(RegistryError, match=r"Late has order 45 like .*Adults: orders must differ"):

        class Late(CheckGroup):
            name = "late"
            order = 45
