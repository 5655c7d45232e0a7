"""The package's source read statically: no import cycle through the config, the noise registry or the
packs; the engine core importing nothing above it and naming no domain table; no reference data loaded that
nothing reads.

Imports are read with ``ast`` from the source, at module level and inside functions alike (a deferred
import only hides a cycle until the import order changes); imports under ``if TYPE_CHECKING:`` never run
and do not count.  Importing ``a.b.c`` from outside package ``a.b`` first runs ``a.b``'s ``__init__``,
so that counts as an import of the package too, except for the root package: Python always runs it first.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

from pii_gen import packs
from pii_gen.packs.person import reference

SRC = Path(__file__).resolve().parents[1] / "src" / "pii_gen"
#: Modules no cycle may pass through: the config and the two registries with what they stand on.
GUARDED = ("pii_gen.config", "pii_gen.core", "pii_gen.errors", "pii_gen.packs", "pii_gen.planning",
           "pii_gen.variability")  # fmt: skip


def modules(root: Path = SRC) -> dict[str, tuple[Path, bool]]:
    """Dotted name -> (file, is a package) of every module under ``root``."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        package = parts[-1] == "__init__"
        out[".".join(parts[:-1] if package else parts)] = (path, package)
    return out


def _runs(node: ast.If) -> bool:
    """False for ``if TYPE_CHECKING:`` (its body is for type checkers only)."""
    test = node.test
    return not (getattr(test, "id", None) == "TYPE_CHECKING" or getattr(test, "attr", None) == "TYPE_CHECKING")


def _import_nodes(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []
    todo = list(ast.iter_child_nodes(tree))
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        elif isinstance(node, ast.If) and not _runs(node):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))
    return found


def import_graph(mods: dict[str, tuple[Path, bool]]) -> dict[str, set[str]]:
    """Module -> the package modules importing it runs."""
    graph: dict[str, set[str]] = {}
    for name, (path, package) in mods.items():
        here = name if package else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
                continue
            base = node.module or ""
            if node.level:
                parts = here.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            targets |= {f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names}
        edges: set[str] = set()
        for target in targets & mods.keys():
            edges.add(target)
            parts = target.split(".")
            for i in range(2, len(parts)):  # the enclosing packages (the root always runs first)
                package_name = ".".join(parts[:i])
                if name != package_name and not name.startswith(package_name + "."):
                    edges.add(package_name)
        edges.discard(name)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


#: What the engine core stands below: the packs it runs, the outputs, the validator and every front end.
ABOVE_CORE = ("pii_gen.packs", "pii_gen.sinks", "pii_gen.db", "pii_gen.stream", "pii_gen.validate", "pii_gen.cli",
              "pii_gen.server", "pii_gen.backends", "pii_gen.api", "pii_gen.planning", "pii_gen.config",
              "pii_gen.variability")  # fmt: skip

#: Modules outside packs/ that still name domain tables, each with the reason it may for now.
NAMES_DOMAIN_TABLES = {
    # The population's checks (households, census shares, identifier rules) are the person pack's checks
    # until the check registry lets a pack bring its own.
    "pii_gen.validate": "checks of the person pack",
    # A stream document is a person with their child rows; a database stream splits blocks by households;
    # the CSV format's help text names the persons columns.
    "pii_gen.stream.documents": "documents of the person pack",
    "pii_gen.stream.destinations.database": "block slices by households",
    "pii_gen.stream.options": "help text",
    # A metadata template's own key (its list of foreign keys) shares its word with the population's table.
    "pii_gen.importers.template": "the template format's relationships key",
    # Noise still reads the person contract (duplicates copy persons rows, their source_person_id); it moves
    # under core/noise once duplicates and the noise log take the root table from the plan.
    "pii_gen.variability": "noise on the person contract",
    # The generate config is the person pack's settings (households, contact, employment sections).
    "pii_gen.config": "the person pack's settings",
    # Counting people (duplicates left out) reads persons rows until the run record carries the plan.
    "pii_gen.api": "people counted from persons rows",
    "pii_gen.sinks.database": "people counted from persons rows; the next free person_id",
    # Help texts printed as they were ("the persons columns").
    "pii_gen.cli": "help text",
    # A schema file's `from: households` is a keyword of the file's contract (rows from the population's
    # households), not a read of the person pack's table.
    "pii_gen.dsl.model": "the schema file's from: households keyword",
}


def _within(name: str, prefixes: tuple[str, ...] | dict[str, str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def domain_table_names() -> set[str]:
    """Every table a shipped pack's contract declares (a new pack's tables are covered as it is added)."""
    return {name for pack in packs.all_packs() for name in pack.contract()}


def naming(names: set[str], mods: dict[str, tuple[Path, bool]]) -> dict[str, list[str]]:
    """Module -> the names of ``names`` its source contains as words (code, strings and comments alike)."""
    pattern = re.compile(r"\b(" + "|".join(sorted(map(re.escape, names))) + r")\b")
    found = {name: sorted(set(pattern.findall(path.read_text(encoding="utf-8")))) for name, (path, _) in mods.items()}
    return {name: hits for name, hits in found.items() if hits}


def _core(mods: dict[str, tuple[Path, bool]]) -> dict[str, tuple[Path, bool]]:
    return {name: entry for name, entry in mods.items() if _within(name, ("pii_gen.core",))}


def reached_above_core(graph: dict[str, set[str]]) -> dict[str, str]:
    """Core module -> the first module above the core its imports reach (directly or through others)."""
    bad: dict[str, str] = {}
    for start in sorted(m for m in graph if _within(m, ("pii_gen.core",))):
        seen, todo = {start}, [start]
        while todo:
            node = todo.pop()
            for child in sorted(graph.get(node, ())):
                if _within(child, ABOVE_CORE):
                    bad.setdefault(start, f"{node} imports {child}")
                elif child not in seen:
                    seen.add(child)
                    todo.append(child)
    return bad


def test_the_core_imports_no_pack_output_validator_or_front_end():
    bad = reached_above_core(import_graph(modules()))
    assert not bad, f"the engine core reaches above itself: {bad}"


def test_no_core_source_names_a_domain_table():
    tables = domain_table_names()
    assert {"persons", "households", "addresses"} <= tables  # the person pack's, found through the registry
    bad = naming(tables, _core(modules()))
    assert not bad, f"core modules name domain tables: {bad}"


def test_only_packs_name_domain_tables_apart_from_the_listed_modules():
    mods = {name: entry for name, entry in modules().items() if not _within(name, ("pii_gen.packs",))}
    found = naming(domain_table_names(), mods)
    bad = {name: hits for name, hits in found.items() if not _within(name, NAMES_DOMAIN_TABLES)}
    assert not bad, f"modules outside packs/ name domain tables: {bad}"


def test_the_layering_checks_see_a_core_that_imports_a_pack_or_names_a_table(tmp_path):
    # The checks above are only as good as what they detect: a core module importing a pack (even through
    # another core module, even inside a function) and one naming a table in a string are both found.
    root = tmp_path / "pii_gen"
    for folder in ("core", "packs", "packs/person"):
        (root / folder).mkdir(parents=True)
        (root / folder / "__init__.py").write_text("")
    (root / "__init__.py").write_text("")
    (root / "packs" / "person" / "pack.py").write_text("X = 1\n")
    (root / "core" / "a.py").write_text("from . import b\n")
    (root / "core" / "b.py").write_text("def f():\n    from ..packs.person import pack\n")
    (root / "core" / "c.py").write_text('ROOT = "persons"  # the root table\n')
    bad = reached_above_core(import_graph(modules(root)))
    through_b = "pii_gen.core.b imports pii_gen.packs"
    assert bad == {"pii_gen.core.a": through_b, "pii_gen.core.b": through_b}
    assert naming({"persons", "addresses"}, _core(modules(root))) == {"pii_gen.core.c": ["persons"]}


def _guarded(name: str) -> bool:
    return any(name == g or name.startswith(g + ".") for g in GUARDED)


def test_config_noise_registry_and_generators_import_without_a_cycle():
    graph = import_graph(modules())
    bad = [c for c in cycles(graph) if any(_guarded(m) for m in c)]
    assert not bad, f"import cycles through the config, noise types or generators: {bad}"


def test_the_analysis_sees_a_deferred_import_cycle(tmp_path):
    # A cycle closed only by an import inside a function is still found; one under TYPE_CHECKING is not.
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from .b import B\n")
    (pkg / "a.py").write_text("def f():\n    from .sub import b\n")
    (pkg / "sub" / "b.py").write_text("from .. import c\nB = 1\n")
    checking = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
    (pkg / "c.py").write_text(checking + "    from . import a\nfrom . import a\n")
    (pkg / "d.py").write_text(checking + "    from .sub import b\n")
    graph = import_graph(modules(pkg))
    assert graph["pkg.a"] == {"pkg.sub", "pkg.sub.b"}
    assert graph["pkg.d"] == set()
    assert cycles(graph) == [["pkg.a", "pkg.c", "pkg.sub", "pkg.sub.b"]]


def test_every_field_of_the_reference_data_is_read_somewhere():
    # Reference data is loaded into every worker: a field nothing reads only costs memory and load time.
    read = {
        node.attr
        for path, _ in modules().values()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute)
    }
    mine = [c for c in vars(reference).values() if isinstance(c, type) and c.__module__.startswith(reference.__name__)]
    holders = [c for c in mine if dataclasses.is_dataclass(c)]
    assert {"Names", "Places", "Work", "People", "Households", "Reference"} <= {c.__name__ for c in holders}
    unread = [f"{c.__name__}.{f.name}" for c in holders for f in dataclasses.fields(c) if f.name not in read]
    assert not unread, f"reference fields nothing reads: {unread}"
