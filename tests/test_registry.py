"""The registry table: every contract column is produced exactly once, in dependency order."""

from pii_gen.generators import REGISTRY
from pii_gen.schema import TABLES


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
