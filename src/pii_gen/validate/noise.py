"""Noise checks: when the manifest says noise was applied, the noise log's observed rates against the configured ones.

The manifest's ``noise.rates`` (or, failing that, ``config.noise.columns``) gives per ``table.column``
the share of its non-null clean values each noise type should touch (name variants of the middle name
and suffix: of every row, see ``NameVariant.EVERY_ROW``).  The observed rate of a column and type is
the number of ``noise_log`` rows for it divided by that base, both without the duplicate records noise
added; the duplicate rate is the share of people duplicated.
A column's rate passes within 10% (relative) of the configured rate, or within three binomial
standard deviations plus one record when that is wider (small tables, tiny rates); twice that warns.
"""

from __future__ import annotations

import math
from typing import Any

from ..packs.person.contract import TABLES
from ..variability.names import NameVariant
from .model import Check, Status
from .source import NOISE_LOG, Source, literal, quote
from .checks import CheckGroup, Run

GROUP = "noise"
RELATIVE_TOLERANCE = 0.10
DUPLICATE = "duplicate"


def expected_rates(manifest: dict[str, Any]) -> dict[str, dict[str, float]]:
    """{"table.column": {noise_type: rate}} from the manifest: the recorded effective rates, else the config's."""
    described = manifest.get("noise")
    recorded = described.get("rates") if isinstance(described, dict) else None  # a schema run lists steps
    if isinstance(recorded, dict) and recorded:
        return {k: {t: float(r) for t, r in v.items()} for k, v in recorded.items() if isinstance(v, dict)}
    columns = ((manifest.get("config") or {}).get("noise") or {}).get("columns") or {}
    return {k: {t: float(r) for t, r in v.items()} for k, v in columns.items() if isinstance(v, dict)}


def tolerance(expected_count: float, rows: int) -> float:
    """Allowed |observed - expected| count: 10% relative, or 3 binomial sd + 1 when wider."""
    p = expected_count / rows if rows else 0.0
    return max(RELATIVE_TOLERANCE * expected_count, 3 * math.sqrt(max(rows * p * (1 - p), 0.0)) + 1)


def run(src: Source) -> list[Check]:
    """The noise checks; one skipped check when the run applied no noise."""
    if src.noise is None:
        return [Check(GROUP, "noise", "skip", "no noise applied (clean output)")]
    if NOISE_LOG not in src.columns:
        figure = "the manifest says noise was applied but there is no noise_log table"
        return [Check(GROUP, "noise log present", "fail", figure, weight=2)]
    observed = _observed(src)
    rates = expected_rates(src.manifest)
    base = _clean_values(src, rates)
    every_row = _every_row_bases(src)
    cells: dict[str, list[dict[str, Any]]] = {}
    for key, by_type in rates.items():
        if key not in base:
            continue
        for kind, rate in by_type.items():
            rows = every_row.get(key, base[key]) if kind == NameVariant.name else base[key]
            cells.setdefault(kind, []).append(_cell(key, rate, observed.pop((key, kind), 0), rows))
    for (key, kind), n in observed.items():  # logged noise the manifest does not configure
        if kind != DUPLICATE:
            table = key.partition(".")[0]
            rows = (
                base.get(key) or int(src.one(f"SELECT COUNT(*) FROM {quote(table)}")[0]) if table in src.columns else 0
            )
            cells.setdefault(kind, []).append(_cell(key, 0.0, n, rows))
    checks = [_log_keys(src)]
    dup = _duplicates(src, cells)
    if dup is not None:
        checks.append(dup)
    checks += [_rate_check(kind, cells[kind]) for kind in sorted(cells)]
    return checks


def _duplicate_ids(table: str) -> str:
    return (
        f"SELECT record_id FROM {NOISE_LOG} WHERE noise_type = {literal(DUPLICATE)} AND table_name = {literal(table)}"
    )


def _observed(src: Source) -> dict[tuple[str, str], int]:
    """Log rows per ("table.column", noise type), leaving out changes made to duplicate records and the
    last names a first-name swap wrote (that swap was drawn, and is counted, for the first name)."""
    rows = src.all(
        f"SELECT table_name || '.' || column_name, noise_type, COUNT(*) FROM {NOISE_LOG} l "
        f"WHERE (noise_type = {literal(DUPLICATE)} OR NOT EXISTS (SELECT 1 FROM {NOISE_LOG} d WHERE "
        f"d.noise_type = {literal(DUPLICATE)} AND d.table_name = l.table_name AND d.record_id = l.record_id)) "
        f"AND NOT (column_name = 'last_name' AND variant = {literal(NameVariant.WRITES_LAST_NAME)}) "
        "GROUP BY ALL"
    )
    return {(key, kind): int(n) for key, kind, n in rows}


def _every_row_bases(src: Source) -> dict[str, int]:
    """Bases of the name variants drawn over every row (see NameVariant.EVERY_ROW), duplicates left out:
    all people for the middle name; for the suffix, people who had one or are men."""
    if not src.has("persons", "person_id", "name_suffix", "sex"):
        return {}
    logged = (
        f"SELECT record_id, original_value FROM {NOISE_LOG} WHERE table_name = 'persons' "
        "AND column_name = 'name_suffix' AND noise_type <> " + literal(DUPLICATE)
    )
    people, with_suffix = src.one(
        f"SELECT COUNT(*), COUNT(*) FILTER (WHERE p.sex = 'M' OR CASE WHEN l.record_id IS NULL "
        f"THEN p.name_suffix IS NOT NULL ELSE l.original_value IS NOT NULL END) "
        f"FROM persons p LEFT JOIN ({logged}) l ON l.record_id = p.person_id "
        f"WHERE p.person_id NOT IN ({_duplicate_ids('persons')})"
    )
    return {"persons.middle_name": int(people), "persons.name_suffix": int(with_suffix)}


def _clean_values(src: Source, rates: dict[str, dict[str, float]]) -> dict[str, int]:
    """Per "table.column": the non-null values it had before noise, duplicates left out.

    A value noise changed was non-null (noise only touches values), so it is counted whether or not
    it is null now; every other row still holds its clean value.
    """
    by_table: dict[str, list[str]] = {}
    for key in rates:
        table, _, column = key.partition(".")
        if table in TABLES and src.has(table, column, TABLES[table].primary_key):
            by_table.setdefault(table, []).append(column)
    out = {}
    for table, columns in by_table.items():
        pk = quote(TABLES[table].primary_key)
        counts = ", ".join(
            f"COUNT(*) FILTER (WHERE {quote(c)} IS NOT NULL OR coalesce(list_contains(l.cols, {literal(c)}), false))"
            for c in columns
        )
        row = src.one(
            f"WITH l AS (SELECT record_id, list(DISTINCT column_name) AS cols FROM {NOISE_LOG} "
            f"WHERE table_name = {literal(table)} AND noise_type <> {literal(DUPLICATE)} GROUP BY record_id) "
            f"SELECT {counts} FROM {quote(table)} t LEFT JOIN l ON l.record_id = t.{pk} "
            f"WHERE t.{pk} NOT IN ({_duplicate_ids(table)})"
        )
        out.update({f"{table}.{c}": int(n) for c, n in zip(columns, row)})
    return out


def _cell(column: str, rate: float, count: int, rows: int) -> dict[str, Any]:
    expected = rate * rows
    tol = tolerance(expected, rows)
    dev = abs(count - expected)
    status = "pass" if dev <= tol else ("warn" if dev <= 2 * tol else "fail")
    return {
        "column": column,
        "expected_rate": rate,
        "observed_rate": count / rows if rows else 0.0,
        "expected": round(expected, 1),
        "observed": count,
        "tolerance": round(tol, 1),
        "status": status,
    }


def _rate_check(kind: str, cells: list[dict[str, Any]]) -> Check:
    order = {"pass": 0, "warn": 1, "fail": 2}
    worst = max(cells, key=lambda c: (order[c["status"]], abs(c["observed"] - c["expected"]) / max(c["tolerance"], 1)))
    status: Status = worst["status"]
    bad = sum(c["status"] != "pass" for c in cells)
    figure = (
        f"{len(cells)} columns, {bad} off; worst {worst['column']}: {worst['observed_rate']:.3%} observed vs "
        f"{worst['expected_rate']:.3%} configured"
    )
    return Check(GROUP, f"{kind} rate", status, figure, "within 10% relative (or 3 sd + 1 record)", {"columns": cells})


def _duplicates(src: Source, cells: dict[str, list[dict[str, Any]]]) -> Check | None:
    """Duplicated people (distinct persons with a duplicate record) at the configured duplicate rate."""
    config = (src.noise or {}).get("duplicates") or {}
    if DUPLICATE in cells or "rate" not in config or not src.has("persons", "person_id"):
        return None
    records, people = src.one(
        f"SELECT COUNT(*), COUNT(*) FROM {NOISE_LOG} WHERE noise_type = {literal(DUPLICATE)} AND table_name = 'persons'"
    )
    if src.has("persons", "source_person_id"):
        records, people = src.one("SELECT COUNT(source_person_id), COUNT(DISTINCT source_person_id) FROM persons")
    clean = int(src.one("SELECT COUNT(*) FROM persons")[0]) - int(records)
    cell = _cell("persons", float(config["rate"]), int(people), clean)
    figure = (
        f"{people:,} people duplicated in {records:,} records: {cell['observed_rate']:.3%} observed vs "
        f"{cell['expected_rate']:.3%} configured"
    )
    return Check(
        GROUP,
        "duplicate rate",
        cell["status"],
        figure,
        "within 10% relative (or 3 sd + 1 record)",
        {"columns": [cell], "records": int(records)},
    )


def _log_keys(src: Source) -> Check:
    """Every noise log row names a table of the contract and a record that exists in it."""
    total = int(src.one(f"SELECT COUNT(*) FROM {NOISE_LOG}")[0])
    bad = int(
        src.one(
            f"SELECT COUNT(*) FROM {NOISE_LOG} WHERE table_name NOT IN "
            f"({', '.join(literal(t) for t in TABLES if t in src.columns)})"
        )[0]
    )
    for name, table in TABLES.items():
        if name in src.columns and table.primary_key in src.columns[name]:
            bad += int(
                src.one(
                    f"SELECT COUNT(*) FROM {NOISE_LOG} l LEFT JOIN {quote(name)} t ON t.{quote(table.primary_key)} = "
                    f"l.record_id WHERE l.table_name = {literal(name)} AND t.{quote(table.primary_key)} IS NULL"
                )[0]
            )
    status: Status = "fail" if bad else "pass"
    figure = f"{bad:,} of {total:,} log rows name no existing record" if bad else f"all {total:,} log rows resolve"
    return Check(
        GROUP,
        "noise log records exist",
        status,
        figure,
        "every record_id in its table",
        {"violations": bad, "total": total},
    )


class Noise(CheckGroup):
    """The noise checks, as one registered group."""

    name = "noise"
    order = 50

    def run(self, ctx: Run) -> list[Check]:
        return run(ctx.src)
