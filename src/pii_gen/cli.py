"""Command line: a thin layer over :mod:`pii_gen.api`.

Every user error becomes one line on stderr and exit status 2; this module is
the one place that happens.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from . import __version__, api
from .config import NOISE_PROFILES, GenerateConfig, build_config, default_config_yaml, read_config_file
from .db import ddl
from .db.guard import Overrides, open_checked
from .db.loaders import connect
from .db.url import DEFAULT_DUCKDB, redact
from .db.url import parse as parse_url
from .backends import BlockDone, CancelToken, Event, OnEvent
from .errors import ConfigError, OutputError, PiiGenError
from .sinks.database import ensure_schema, link
from .planning import build_plan
from .sources import pack_settings, schema_source

err_console = Console(stderr=True, highlight=False)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, prog_name="pii_gen")
def cli() -> None:
    """Generate realistic synthetic people, fast and safe by default."""


def _default(field: str) -> str:
    """A config field's default as --help shows it (the flags default to None so the config file can set them)."""
    return str(GenerateConfig.model_fields[field].default)


#: A --schema value named like a schema file is read as one even when missing (a typo gets "cannot read").
SCHEMA_SUFFIXES = (".yaml", ".yml", ".json")


def _schema_file(ctx: click.Context, param: click.Parameter, value: str | None) -> Path | None:
    """``--schema`` names a schema file; a value that is neither a file nor named like one is the old spelling
    of the database namespace (now ``--db-schema``), refused with a pointer rather than read as a file."""
    if value is None:
        return None
    path = Path(value)
    if not path.is_file() and path.suffix.lower() not in SCHEMA_SUFFIXES:
        raise ConfigError(f"--schema '{value}' is not a schema file; the database namespace option is now --db-schema")
    return path


def _schema_file_option(hidden: bool = False) -> Callable[[Any], Any]:
    """The ``--schema FILE`` option (hidden where a command takes no schema file yet, to refuse the old spelling)."""
    return click.option("--schema", "schema_file", metavar="FILE", callback=_schema_file, hidden=hidden,
                        help="Schema file (YAML or JSON) describing your own tables.")


def _pack_run_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--scenario``, ``--from``, ``--to`` and ``--multiplier``: a pack's scenario, calendar window and volume."""
    options = [
        click.option("--scenario", metavar="NAME|FILE",
                     help="With --pack: a scenario of the pack ('pii_gen packs scenarios NAME') or a scenario file."),
        click.option("--from", "start", metavar="YYYY-MM-DD", help="With --pack: the calendar window's first day."),
        click.option("--to", "end", metavar="YYYY-MM-DD", help="With --pack: the calendar window's last day."),
        click.option("--multiplier", type=float, help="With --pack: multiply the pack's volumes."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _no_schema_file(command: str, path: Path | None) -> None:
    if path is not None:
        raise ConfigError(f"{command} takes no schema file yet (--schema {path}); "
                          "the database namespace option is --db-schema")


def _guard_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The safety guard's overrides (see :mod:`pii_gen.db.guard`), one flag per rule it names."""
    command = click.option("--allow-unmarked", is_flag=True,
                           help="Write into a database schema that holds tables pii_gen did not make.")(command)
    return click.option("--allow-production", is_flag=True,
                        help="Write to a database that PII_GEN_ENV, its marker or its name says is production.")(
        command)  # fmt: skip


@cli.command(short_help="Generate people into files or a database.")
@click.option("-n", "--count", type=int, show_default=_default("count"), help="Number of people to generate.")
@click.option("--seed", type=int, show_default=_default("seed"),
              help="Random seed (same seed and config give identical output).")  # fmt: skip
@click.option("--scale", type=click.FloatRange(min=0, min_open=True),
              help="With --schema: multiply the file's rows (default: the file's scale).")  # fmt: skip
@click.option("--workers", type=int, show_default="all cores", help="Worker processes.")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl", "parquet", "delta"]),
              show_default=_default("format"),
              help="Output format (delta: a Delta Lake table each; --engine spark: parquet or delta).")  # fmt: skip
# A string, not a Path: with --engine spark it may be a URI (s3a://bucket/x), which a Path would fold to s3a:/bucket/x.
@click.option("--out", type=click.Path(), show_default=_default("out"), help="Output folder (--engine spark: or URI).")
@click.option("--config", "config_file", type=click.Path(path_type=Path), help="YAML or JSON config file.")
@click.option("--pii-mode", type=click.Choice(["strict", "realistic"]), show_default=_default("pii_mode"),
              help="strict (identifiers can never be real) or realistic.")  # fmt: skip
@click.option("--batch-size", type=int, show_default=_default("batch_size"),
              help="People handed to a worker at a time.")  # fmt: skip
@click.option(
    "--db",
    is_flag=False,
    flag_value=DEFAULT_DUCKDB,
    default=None,
    help=f"Load into this database URL instead of files (alone: {DEFAULT_DUCKDB}).",
)
@click.option("--db-schema", help="Database schema (namespace) for the tables.")
@_schema_file_option()
@click.option("--template", "template_file", type=click.Path(path_type=Path),
              help="Metadata template (JSON): imported in memory, then generated like --schema.")
@click.option("--pack", "pack_name", metavar="NAME",
              help="A schema pack that ships with pii_gen (see 'pii_gen packs list'); -n is its people.")
@click.option("--set", "settings", multiple=True, metavar="NAME=VALUE",
              help="Override a setting of the pack or schema file (repeatable; see 'pii_gen packs show').")
@_pack_run_options
@click.option("--if-exists", type=click.Choice(["fail", "append", "replace"]), show_default=_default("if_exists"),
              help="When the tables already hold rows (a database, Delta tables).")  # fmt: skip
@click.option("--resume", help="Run id of an interrupted database load to continue.")
@click.option("--clean-twin", "clean_twin", metavar="DIR",
              help="With --schema/--pack: also write the same run without its anomalies into DIR.")
@click.option("--dry-run", is_flag=True,
              help="With --schema/--pack: print the plan (tables, rows, effects, anomalies); write nothing.")
@click.option("--json", "as_json", is_flag=True, help="With --dry-run: print the plan as JSON.")
@click.option("--noise", type=click.Choice(NOISE_PROFILES), show_default="none",
              help="Data-quality noise profile (none: clean data).")  # fmt: skip
@click.option("-q", "--quiet", is_flag=True, default=None, help="No progress bar or summary.")
@click.option("--engine", type=click.Choice(["local", "spark"]), default="local",
              help="local: this machine's processes; spark: a Spark session (pip install \"pii-gen[spark]\").")
@click.option("--master", help="With --engine spark: the master of a new session (default: the running one's, "
              "else local[*]).")
@click.option("--partitions", type=click.IntRange(min=1),
              help="With --engine spark: Spark partitions of the blocks (default: four per core).")
@_guard_options
def generate(
    count: int | None,
    seed: int | None,
    scale: float | None,
    workers: int | None,
    fmt: str | None,
    out: str | None,
    config_file: Path | None,
    pii_mode: str | None,
    batch_size: int | None,
    db: str | None,
    db_schema: str | None,
    schema_file: Path | None,
    template_file: Path | None,
    pack_name: str | None,
    settings: tuple[str, ...],
    scenario: str | None,
    start: str | None,
    end: str | None,
    multiplier: float | None,
    if_exists: str | None,
    resume: str | None,
    clean_twin: str | None,
    dry_run: bool,
    as_json: bool,
    noise: str | None,
    quiet: bool | None,
    engine: str,
    master: str | None,
    partitions: int | None,
    allow_production: bool,
    allow_unmarked: bool,
) -> None:
    """Generate people (or the tables of a schema file, --schema, or of a metadata template, --template) into
    one file per table in an output folder, or into a database (--db); with --engine spark, on Spark into a
    folder per table, or into catalog tables (--db-schema CATALOG.SCHEMA)."""
    sources = [flag for flag, v in (("--schema", schema_file), ("--template", template_file), ("--pack", pack_name))
               if v is not None]
    if len(sources) > 1:
        raise ConfigError(f"{' and '.join(sources)} are sources of tables: pass one of them")
    overrides = Overrides(allow_production, allow_unmarked)
    if settings and not (schema_file or pack_name):
        raise ConfigError("--set needs --pack NAME or --schema FILE (it overrides their settings)")
    for option, given in (("--clean-twin", clean_twin), ("--dry-run", dry_run)):
        if given and not (schema_file or template_file or pack_name):
            raise ConfigError(f"{option} needs --schema FILE or --pack NAME")
    if as_json and not dry_run:
        raise ConfigError("--json needs --dry-run (it prints the plan as JSON)")
    chosen = pack_settings(pack_name, settings, scenario, start, end, multiplier)
    if engine == "spark":
        if clean_twin or dry_run:
            raise ConfigError(f"{'--clean-twin' if clean_twin else '--dry-run'} runs with the local engine only")
        _generate_spark(count=count, seed=seed, scale=scale, workers=workers, fmt=fmt, out=out,
                        config_file=config_file, pii_mode=pii_mode, batch_size=batch_size, db=db, db_schema=db_schema,
                        schema_file=schema_file, template_file=template_file, pack_name=pack_name,
                        settings=chosen, scenario=scenario, if_exists=if_exists, resume=resume, noise=noise,
                        quiet=quiet, master=master, partitions=partitions, overrides=overrides)  # fmt: skip
        return
    if master is not None or partitions is not None:
        raise ConfigError(f"{'--master' if master is not None else '--partitions'} needs --engine spark")
    if schema_file is not None or template_file is not None or pack_name is not None:
        from . import dsl

        schema = schema_source(schema_file, template_file, pack_name, chosen, scenario=scenario, count=count,
                               pii_mode=pii_mode, config_file=config_file, noise=noise)
        config = build_config(
            {}, workers=workers, format=fmt, out=out, batch_size=batch_size, quiet=quiet, db=db, db_schema=db_schema,
            if_exists=if_exists, resume=resume,
        )  # fmt: skip
        if config.resume and not config.db:
            raise ConfigError("--resume needs --db with the database of the interrupted run")
        if dry_run:
            _print_plan(api.dry_run_schema(schema, seed, scale), as_json)
            return
        estimates = dsl.row_estimates(schema, scale)
        total = None if None in estimates.values() else sum(n for n in estimates.values() if n is not None)
        with _progress("rows", total, not config.quiet and err_console.is_terminal) as advance, \
                _CancelOnSignals() as cancel:  # fmt: skip
            source = schema_file if schema_file is not None and not settings else schema
            result = api.generate_schema(source, config, seed=seed, scale=scale, cancel=cancel,
                                         on_event=advance, clean_twin=clean_twin, overrides=overrides)
        if not config.quiet:
            err_console.print(_schema_summary(config, result), soft_wrap=True)
            if clean_twin:
                err_console.print(f"Wrote the same run without its anomalies to {clean_twin}/", soft_wrap=True)
        return
    if scale is not None:
        raise ConfigError("--scale needs --schema FILE (it multiplies a schema file's rows)")
    data = read_config_file(config_file) if config_file else {}
    if noise is not None:  # the profile flag keeps the file's per-column rates
        data = {**data, "noise": {**(data.get("noise") or {}), "profile": noise}}
    config = build_config(
        data, count=count, seed=seed, workers=workers, format=fmt, out=out, pii_mode=pii_mode,
        batch_size=batch_size, quiet=quiet, db=db, db_schema=db_schema, if_exists=if_exists, resume=resume,
    )  # fmt: skip
    if config.resume and not config.db:
        raise ConfigError("--resume needs --db with the database of the interrupted run")
    if config.pii_mode == "realistic":
        err_console.print(
            "[yellow]warning:[/] --pii-mode realistic makes structurally valid SSNs, phones, e-mails and cards "
            "that may belong to real people; never publish or share this output.",
            soft_wrap=True,
        )
    show = not config.quiet and err_console.is_terminal
    with _progress("people", config.count, show) as advance, _CancelOnSignals() as cancel:
        result = api.generate(config, cancel=cancel, on_event=advance, overrides=overrides)
    if not config.quiet and result.run_id:
        tables = ", ".join(f"{name} {rows:,}" for name, rows in result.rows.items())
        err_console.print(
            f"Loaded {result.people:,} people{_duplicates(result)} into {parse_url(config.db).redacted()} "
            f"in {result.seconds:.1f} s ({result.people_per_second:,.0f} people/s, run {result.run_id}, "
            f"{result.retries} retried batches): {tables}",
            soft_wrap=True,
        )
    elif not config.quiet:
        tables = ", ".join(f"{name} {rows:,}" for name, rows in result.rows.items())
        err_console.print(
            f"Wrote {result.people:,} people{_duplicates(result)} to {config.out}/ as {config.format} "
            f"in {result.seconds:.1f} s ({result.people_per_second:,.0f} people/s, {_workers(result.workers)}): "
            f"{tables}",
            soft_wrap=True,
        )


def _print_plan(plan: dict[str, Any], as_json: bool) -> None:
    """What ``generate --dry-run`` prints: the plan as JSON, or as aligned tables."""
    if as_json:
        click.echo(json.dumps(plan, indent=2, default=str))
        return
    click.echo(f"dry run of schema {plan['schema'] or '(unnamed)'} (seed {plan['seed']}, scale {plan['scale']:g}): "
               "nothing is written")
    click.echo(_aligned(["table", "kind", "rows"], [[t["name"], t["kind"], f"{t['rows']:,}"] for t in plan["tables"]],
                        frozenset({2})))
    if plan["effects"]:
        click.echo("\n" + _aligned(["effect", "table", "window", "does"], [
            [e["name"], e["table"], " .. ".join(e["window"]) if "window" in e else f"rows of {e['source']}",
             ", ".join(f"{k} {e[k]}" for k in ("rate", "column", "multiply", "add", "where") if e[k] is not None)
             + (", labelled" if e["label"] else "")] for e in plan["effects"]]))
    if plan["anomalies"]:
        click.echo("\n" + _aligned(["anomaly", "kind", "table", "column", "rows", "of", "severity", "effect"], [
            [a["name"], a["kind"], a["table"], a["column"] or "", f"{a['rows']:,}", f"{a['eligible']:,}",
             a["severity"], a["effect"] or ""] for a in plan["anomalies"]], frozenset({4, 5})))


def _generate_spark(*, count: int | None, seed: int | None, scale: float | None, workers: int | None,
                    fmt: str | None, out: str | None, config_file: Path | None, pii_mode: str | None,
                    batch_size: int | None, db: str | None, db_schema: str | None, schema_file: Path | None,
                    template_file: Path | None, pack_name: str | None, settings: dict[str, str],
                    scenario: str | None, if_exists: str | None, resume: str | None, noise: str | None,
                    quiet: bool | None, master: str | None, partitions: int | None,
                    overrides: Overrides) -> None:
    """``generate --engine spark``: the same source and seed as a local run, generated and written by Spark."""
    from . import spark

    refused = {"--db": (db, "Spark writes files (--out) or catalog tables (--db-schema CATALOG.SCHEMA)"),
               "--resume": (resume, "a Spark run is one set of jobs, rerun with --if-exists replace"),
               "--workers": (workers, "Spark's parallelism is its cores and --partitions"),
               "--batch-size": (batch_size, "Spark runs whole blocks, a partition at a time")}
    for option, (value, why) in refused.items():
        if value is not None:
            raise ConfigError(f"{option} does not apply to --engine spark: {why}")
    if fmt not in (None, *spark.FORMATS):
        raise ConfigError(f"--engine spark writes {' or '.join(spark.FORMATS)} (got --format {fmt})")
    if out is not None and db_schema is not None:
        raise ConfigError("--out and --db-schema are two destinations for --engine spark: pass one of them")
    source: Any
    if schema_file is not None or template_file is not None or pack_name is not None:
        from . import dsl

        # every error in the file (and in --set) before Spark starts
        schema = schema_source(schema_file, template_file, pack_name, settings, scenario=scenario, count=count,
                               pii_mode=pii_mode, config_file=config_file, noise=noise)
        # a schema file as such keeps its folder, where its vocab files are
        source = schema_file if schema_file is not None and not settings else schema
        estimates = dsl.row_estimates(schema, scale)
        unit, total = "rows", None if None in estimates.values() else sum(n or 0 for n in estimates.values())
    else:
        if scale is not None:
            raise ConfigError("--scale needs --schema FILE (it multiplies a schema file's rows)")
        data = read_config_file(config_file) if config_file else {}
        if noise is not None:
            data = {**data, "noise": {**(data.get("noise") or {}), "profile": noise}}
        source = build_config(data, count=count, seed=seed, pii_mode=pii_mode)
        unit, total = "people", source.count
        seed = None
    where = str(out or GenerateConfig.model_fields["out"].default) if db_schema is None else None
    show = not quiet and err_console.is_terminal
    with _progress(unit, total, show) as advance, _CancelOnSignals() as cancel:
        result = spark.generate(source, out=where, database=db_schema, format=fmt or "parquet",
                                if_exists=if_exists or "fail", seed=seed, scale=scale, partitions=partitions,
                                master=master, cancel=cancel, on_event=advance, overrides=overrides)  # fmt: skip
    if not quiet:
        tables = ", ".join(f"{name} {rows:,}" for name, rows in result.rows.items())
        dest = f"{where}/" if where is not None else f"the tables of {db_schema}"
        err_console.print(f"Wrote {len(result.rows)} tables to {dest} as {fmt or 'parquet'} on Spark "
                          f"({result.partitions} partitions) in {result.seconds:.1f} s: {tables}", soft_wrap=True)


@cli.command("create-schema", short_help="Create the output tables in a database.")
@click.option("--db", help="Database URL to create the tables in.")
@click.option("--db-schema", help="Database schema (namespace) for the tables.")
@_schema_file_option()
@click.option("--drop-existing", is_flag=True, help="Drop pii_gen's tables first (their rows are lost).")
@click.option("--dialect", type=click.Choice(list(ddl.DIALECTS)), help="With --dry-run: the SQL dialect to print.")
@click.option("--dry-run", is_flag=True, help="Print the DDL instead of connecting.")
@click.option("--noise", type=click.Choice(NOISE_PROFILES), help="Tables for output with this noise profile.")
@_guard_options
def create_schema(
    db: str | None,
    db_schema: str | None,
    schema_file: Path | None,
    drop_existing: bool,
    dialect: str | None,
    dry_run: bool,
    noise: str | None,
    allow_production: bool,
    allow_unmarked: bool,
) -> None:
    """Create the output tables (with keys and indexes) in a database, or print their DDL; with --schema FILE
    the tables of that schema file."""
    if schema_file is not None:
        from . import dsl

        schema = dsl.load(schema_file)  # every error in the file before anything else
        if noise is not None:
            raise ConfigError("--noise does not apply to --schema FILE (the file describes the tables)")
        tables = api.schema_tables(schema)
        source = f"schema {schema.name or schema_file.name}"
    else:
        tables = build_plan(build_config({"noise": {"profile": noise or "none"}})).tables
        source = ddl.POPULATION_SOURCE
    if dry_run:
        name = dialect or (parse_url(db).dialect if db else None)
        if name is None:
            raise ConfigError("--dry-run needs --dialect (one of: " + ", ".join(ddl.DIALECTS) + ") or --db")
        click.echo(ddl.script(name, db_schema, drop_existing, tables, source), nl=False)
        return
    if not db:
        raise ConfigError("create-schema needs --db URL (or --dry-run --dialect D to print the DDL)")
    url = parse_url(db)
    conn = open_checked(url, db_schema, Overrides(allow_production, allow_unmarked), lambda: connect(url, db_schema))
    try:
        ensure_schema(conn, drop_existing, tables)
        link(conn, ddl.forward_keys(ddl.all_tables(tables)))  # a load leaves them out until it ends
    except PiiGenError:
        raise
    except Exception as err:  # noqa: BLE001 - driver errors, reported without the password
        raise OutputError(
            f"cannot create the schema in {url.redacted()}: {' '.join(redact(str(err), url.password).split())}"
        ) from None
    finally:
        conn.close()
    err_console.print(f"Created pii_gen's tables in {url.redacted()}", soft_wrap=True)


@cli.command("cleanup", short_help="Drop the tables pii_gen created in a database.")
@click.option("--db", required=True, help="Database URL to clean up.")
@click.option("--db-schema", help="Database schema (namespace) holding the tables.")
@click.option("--confirm", "token", metavar="TOKEN", help="Drop them: the token the first call printed.")
@click.option("--dry-run", is_flag=True, help="Only list what would go (no token).")
@click.option("--allow-production", is_flag=True,
              help="Clean up a database that PII_GEN_ENV, its marker or its name says is production.")
def cleanup_command(db: str, db_schema: str | None, token: str | None, dry_run: bool, allow_production: bool) -> None:
    """List the tables pii_gen created in a database schema (from its marker) with their rows, and a token;
    with --confirm TOKEN (within 300 s, once) drop them."""
    from .db.cleanup import TOKEN_SECONDS

    result = api.cleanup(db, db_schema, confirm=token, dry_run=dry_run, overrides=Overrides(allow_production))
    if not result.tables:
        click.echo(f"Nothing of pii_gen's in {result.where}: no {ddl.MARKER.name} there")
        return
    rows = [[name, f"{n:,}"] for name, n in result.tables]
    verb = "Dropped" if result.dropped else "Would drop"
    click.echo(f"{verb} {len(rows)} tables pii_gen created in {result.where}:")
    click.echo(_aligned(["table", "rows"], rows, right=frozenset({1})))
    if dry_run:
        click.echo("(a dry run: nothing dropped, no token issued)")
    if result.token is not None:
        url = parse_url(db)
        command = ["pii_gen", "cleanup", "--db", redact(db, url.password),
                   *(["--db-schema", db_schema] if db_schema else []), "--confirm", result.token]  # fmt: skip
        where = " (with the password in place of ***)" if url.password else ""
        click.echo(f"To drop them, run within {TOKEN_SECONDS} s (the token works once){where}:\n  "
                   f"{shlex.join(command)}")  # fmt: skip


@cli.command("serve", short_help="Run the job API and the web wizard.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; beyond this machine a token is required (PII_GEN_API_TOKEN or --token-file).")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Port to listen on.")
@click.option("--data", type=click.Path(path_type=Path), default=Path("pii_gen_server"), show_default=True,
              help="Folder of the jobs' files, uploaded schema files, file databases and the job store.")
@click.option("--token-file", type=click.Path(path_type=Path), help="File whose first line is the API token.")
@click.option("--store", metavar="URL", help="A postgresql:// URL to keep jobs in (default: SQLite in --data).")
@click.option("--max-jobs", type=int, default=2, show_default=True, help="Jobs running at once; more wait.")
@click.option("--max-rows", type=int, default=200_000_000, show_default=True,
              help="Rows one job may write (a population job: people x 13).")
@click.option("--grace", type=float, default=10.0, show_default=True,
              help="Seconds a cancelled job has to stop before its processes are killed.")
@click.option("--heartbeat", type=float, default=15.0, show_default=True,
              help="Seconds between the comments that keep an idle event stream open.")
def serve_command(host: str, port: int, data: Path, token_file: Path | None, store: str | None, max_jobs: int,
                  max_rows: int, grace: float, heartbeat: float) -> None:
    """Run the job API (POST /jobs, GET /jobs/ID, events, previews, downloads, reports, cleanup) and the
    wizard at http://HOST:PORT/ until interrupted (pip install "pii-gen[server]")."""
    from .server import ServerSettings, serve
    from .server.settings import read_token

    settings = ServerSettings(host=host, port=port, data=data, token=read_token(token_file), store=store,
                              max_jobs=max_jobs, max_rows=max_rows, grace=grace, heartbeat=heartbeat)
    serve(settings.check())


@cli.command("create-config", short_help="Write a commented config file.")
@click.option("--out", "path", default="pii_gen.yaml", show_default=True, help="File to write, or - for stdout.")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def create_config(path: str, force: bool) -> None:
    """Write a commented config file with every option at its default."""
    text = default_config_yaml()
    if path == "-":
        click.echo(text, nl=False)
        return
    target = Path(path)
    if target.exists() and not force:
        raise ConfigError(f"'{target}' already exists; pass --force to overwrite it or --out to choose another file")
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as err:
        raise OutputError(f"cannot write '{target}': {err.strerror}") from None
    err_console.print(f"Wrote {target}; edit it and pass it with: pii_gen generate --config {target}", soft_wrap=True)


@cli.command("import", short_help="Start a schema file from a template, an API or a database.")
@click.option("--template", "template_file", type=click.Path(path_type=Path), help="Metadata template (JSON).")
@click.option("--json", "json_file", type=click.Path(path_type=Path),
              help='JSON samples: an array of objects, or {"data": [...]}.')
@click.option("--url", help="REST endpoint to GET JSON samples from (pages followed).")
@click.option("--header", "headers", multiple=True, metavar="'NAME: VALUE'",
              help="HTTP header for --url (repeatable); its value is never printed or written.")
@click.option("--max-pages", type=click.IntRange(min=1), default=10, show_default=True, help="Most pages --url reads.")
@click.option("--db", help="Database URL whose tables to read.")
@click.option("--db-schema", help="With --db: the database schema (namespace) to read.")
@click.option("--tables", help="With --db: comma-separated tables to read (default: all).")
@click.option("--sample", type=click.IntRange(min=0), help="With --db: rows per table to read aggregates from.")
@click.option("--out", "out", default="schema.yaml", show_default=True, help="Schema file to write, or - for stdout.")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.option("--name", help="The schema's name (default: the source's).")
@click.option("-q", "--quiet", is_flag=True, help="No table of what was detected.")
def import_command(template_file: Path | None, json_file: Path | None, url: str | None, headers: tuple[str, ...],
                   max_pages: int, db: str | None, db_schema: str | None, tables: str | None, sample: int | None,
                   out: str, force: bool, name: str | None, quiet: bool) -> None:
    """Write a schema file to review from what exists: a metadata template, JSON samples (a file or a REST
    API) or a database.  Nothing row-level is copied; what was detected, and why, is printed to stderr."""
    from .importers import run

    given = [flag for flag, v in (("--template", template_file), ("--json", json_file), ("--url", url),
                                  ("--db", db)) if v is not None]
    if len(given) != 1:
        raise ConfigError("pass one source: --template FILE, --json FILE, --url URL or --db URL"
                          + (f" (got {', '.join(given)})" if given else ""))
    for flag, value in (("--header", headers if url is None else None), ("--db-schema", db_schema if db is None
                        else None), ("--tables", tables if db is None else None),
                        ("--sample", sample if db is None else None)):
        if value:
            raise ConfigError(f"{flag} applies to {'--url' if flag == '--header' else '--db'} only")
    target = None if out == "-" else Path(out)
    if target is not None and target.exists() and not force:
        raise ConfigError(f"'{target}' already exists; pass --force to overwrite it or --out to choose another file")
    if template_file is not None:
        result = run.import_template(template_file, name)
    elif json_file is not None:
        result = run.import_json(json_file, name)
    elif url is not None:
        from .importers.rest import parse_headers

        result = run.import_url(url, parse_headers(list(headers)), max_pages, name)
    else:
        names = [t.strip() for t in tables.split(",") if t.strip()] if tables else None
        result = run.import_db(db or "", db_schema, names, sample, name)
    if not quiet:
        err_console.print(_detections(result), soft_wrap=True)
    if target is None:
        click.echo(result.text, nl=False)
        return
    try:
        target.write_text(result.text, encoding="utf-8")
    except OSError as err:
        raise OutputError(f"cannot write '{target}': {err.strerror}") from None
    if not quiet:
        tables_n = len(result.schema["tables"])
        err_console.print(f"Wrote {target} ({tables_n} tables) from {result.source}; check it with: "
                          f"pii_gen schema check {target}", soft_wrap=True, markup=False)


def _detections(result: Any) -> Any:
    """What an import detected, per table and column, and why (a rich table for stderr)."""
    from rich.table import Table

    table = Table(title=f"Imported from {result.source}", title_justify="left", show_lines=False)
    for header in ("table", "column", "became", "why"):
        table.add_column(header, overflow="fold")
    for d in result.detections:
        became = f"PII: {d.what}" if d.kind in ("pii", "safe") else d.what
        table.add_row(d.table, d.column or "(table)", became, d.why)
    return table


@cli.command(short_help="Check generated data; exit 1 when it fails.")
@click.argument("folder", required=False, type=click.Path(path_type=Path))
@click.option("--db", help="Validate this database URL instead of an output folder.")
@click.option("--db-schema", help="Database schema (namespace) holding the tables.")
@_schema_file_option()
@click.option("--json", "json_file", type=click.Path(path_type=Path), help="Write every check with its figures here.")
@click.option("--html", "html_file", type=click.Path(path_type=Path), help="Write a self-contained HTML report here.")
@click.option("--min-score", type=float, default=90.0, show_default=True, help="Lowest quality score that passes.")
@click.option(
    "--pii-mode", type=click.Choice(["strict", "realistic"]), help="Identifier rules to check (default: the run's)."
)
@click.option("--pack", "pack_name", metavar="NAME", help="Check a run of this schema pack (its targets).")
@click.option("--set", "settings", multiple=True, metavar="NAME=VALUE", help="The pack settings the run used.")
@_pack_run_options
@click.option("-q", "--quiet", is_flag=True, help="No console report (exit status and files only).")
def validate(
    folder: Path | None,
    db: str | None,
    db_schema: str | None,
    schema_file: Path | None,
    pack_name: str | None,
    settings: tuple[str, ...],
    scenario: str | None,
    start: str | None,
    end: str | None,
    multiplier: float | None,
    json_file: Path | None,
    html_file: Path | None,
    min_score: float,
    pii_mode: str | None,
    quiet: bool,
) -> None:
    """Check an output folder (or --db) for structure, values, statistics and noise; with --schema FILE, a schema
    run for its constraints and targets; exit 1 when it fails."""
    from . import validate as validation
    from .validate import report as reporting

    chosen = pack_settings(pack_name, settings, scenario, start, end, multiplier)
    if pack_name is not None:
        from .dsl import packs

        if schema_file is not None:
            raise ConfigError("--pack and --schema are two schema files: pass one of them")
        schema_file = packs.load(pack_name, chosen, scenario=scenario)
    elif settings:
        raise ConfigError("--set needs --pack NAME")
    if schema_file is not None:
        from .validate.schema import validate_schema

        result = validate_schema(schema_file, folder, db=db, db_schema=db_schema, pii_mode=pii_mode,
                                 min_score=min_score)
    else:
        if html_file is not None:
            from .validate.html import require_matplotlib

            require_matplotlib()
        result = validation.validate(folder, db=db, schema=db_schema, pii_mode=pii_mode, min_score=min_score)
    if json_file is not None:
        reporting.write_json(result, json_file)
    if html_file is not None:
        from .validate.html import render

        reporting.write_text(html_file, render(result, result.plots.get("svg") if schema_file is not None else None))
    if not quiet:
        reporting.print_console(result, Console(highlight=False))
    if not result.ok:
        sys.exit(1)


@cli.command("stream", short_help="Stream people continuously at a set rate.")
@click.option("--rate", type=float, help="People per second (default 100; 0: as fast as possible).")
@click.option("--duration", type=float, help="Stop after this many seconds.")
@click.option("-n", "--count", type=int, help="Stop after this many people.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), help="jsonl (default): one document per "
              "person; csv: the persons columns.")  # fmt: skip
@click.option("--to", "to", help="- (stdout, default), a file, a database URL, http(s)://, redis:// or nats://.")
@click.option("--seed", type=int, help="Random seed (the sequence of people depends only on seed and config).")
@click.option("--noise", type=click.Choice(NOISE_PROFILES), help="Data-quality noise profile (default none).")
@click.option("--config", "config_file", type=click.Path(path_type=Path), help="YAML or JSON config file.")
@click.option(
    "--pii-mode", type=click.Choice(["strict", "realistic"]), help="strict (default) or realistic identifiers."
)
@click.option("--db-schema", help="Database schema (namespace) for the tables.")
@_schema_file_option(hidden=True)
@click.option("--batch", type=int, help="Most people per write, POST, commit or pipeline (default 1000).")
@click.option("--rotate-size", help="File: start a new file past this size (e.g. 100MB).")
@click.option("--rotate-every", type=float, help="File: start a new file after this many seconds.")
@click.option("--min-delivered", type=float, help="Share of people that must arrive (default 1: all), else exit 2.")
@click.option("-q", "--quiet", is_flag=True, default=None, help="No progress, lag warnings or summary.")
@_guard_options
def stream_command(
    rate: float | None,
    duration: float | None,
    count: int | None,
    fmt: str | None,
    to: str | None,
    seed: int | None,
    noise: str | None,
    config_file: Path | None,
    pii_mode: str | None,
    db_schema: str | None,
    schema_file: Path | None,
    batch: int | None,
    rotate_size: str | None,
    rotate_every: float | None,
    min_delivered: float | None,
    quiet: bool | None,
    allow_production: bool,
    allow_unmarked: bool,
) -> None:
    """Stream people continuously at --rate per second to stdout, a file, a database, HTTP, Redis or NATS."""
    from .stream import build_options, parse_size, stream

    _no_schema_file("stream", schema_file)
    data = read_config_file(config_file) if config_file else {}
    if noise is not None:
        data = {**data, "noise": {**(data.get("noise") or {}), "profile": noise}}
    config = build_config(data, seed=seed, pii_mode=pii_mode)
    options = build_options(
        rate=rate, duration=duration, count=count, format=fmt, to=to, db_schema=db_schema, batch=batch,
        rotate_size=parse_size(rotate_size), rotate_every=rotate_every, quiet=quiet, min_delivered=min_delivered,
        allow_production=allow_production, allow_unmarked=allow_unmarked,
    )  # fmt: skip
    if config.pii_mode == "realistic":
        err_console.print(
            "[yellow]warning:[/] --pii-mode realistic makes structurally valid SSNs, phones, e-mails and cards "
            "that may belong to real people; never publish or share this output.",
            soft_wrap=True,
        )
    with _CancelOnSignals(kill_on_second=True) as cancel:
        result = stream(config, options, cancel=cancel)
    if result.reason == "closed":  # the reader went away (| head): nothing more to say
        return
    if not options.quiet:
        click.echo(result.summary(), err=True)
    if result.error:  # stopped by an error, or too little delivered
        raise OutputError(result.error)
    if result.exit_code:
        sys.exit(result.exit_code)


@cli.group("packs", short_help="List or print the schema packs that ship with pii_gen.")
def packs_group() -> None:
    """Schema packs: ready-made schema files (``generate --pack NAME``) to run, tune with --set, or copy."""


@packs_group.command("list", short_help="List the packs and what each makes.")
def packs_list() -> None:
    """Print each pack's name and what it makes."""
    from .dsl import packs

    for name in packs.names():
        click.echo(f"{name}  {packs.summary(name)}")


@packs_group.command("show", short_help="Print a pack's schema file (or its settings).")
@click.argument("name")
@click.option("--settings", "only_settings", is_flag=True, help="Only the settings: name, default and range.")
def packs_show(name: str, only_settings: bool) -> None:
    """Print the pack's schema file, to read or to copy and edit (then: generate --schema FILE)."""
    from .dsl import packs

    if not only_settings:
        click.echo(packs.text(name), nl=False)
        return
    rows = [[key, str(spec.get("default")), f"{spec.get('min', '')}..{spec.get('max', '')}"]
            for key, spec in packs.settings(name).items()]
    click.echo(_aligned(["setting", "default", "range"], rows))


@packs_group.command("scenarios", short_help="List a pack's scenarios and what each simulates.")
@click.argument("name")
def packs_scenarios(name: str) -> None:
    """Print each scenario of the pack: its name, the scenario it extends and what it simulates."""
    from .dsl import packs
    from .dsl.packs import scenarios

    packs.path(name)  # an unknown pack is one error listing the packs
    rows = []
    for scenario in scenarios.names(name):
        resolved = scenarios.resolve(name, scenario)
        base = resolved.chain[-2] if len(resolved.chain) > 1 else "-"
        rows.append([scenario, base, resolved.summary])
    if not rows:
        click.echo(f"pack {name} has no scenarios")
        return
    click.echo(_aligned(["scenario", "extends", "what it simulates"], rows))


@cli.group("schema", short_help="Check, preview or describe schema files.")
def schema_group() -> None:
    """Schema files describe your own tables: check one, preview its rows, or print its JSON Schema."""


@schema_group.command("check", short_help="Check a schema file; print its tables in generation order.")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--scale", type=click.FloatRange(min=0, min_open=True), help="Multiply the rows (default: the file's).")
def schema_check(path: Path, scale: float | None) -> None:
    """Read and check a schema file as a whole; print its tables in generation order with kind and rows."""
    from . import dsl

    schema = dsl.load(path)
    estimates = dsl.row_estimates(schema, scale)
    click.echo(f"{path}: ok, {len(estimates)} tables in generation order "
               f"(seed {schema.seed}, scale {schema.scale if scale is None else scale:g})")  # fmt: skip
    rows = [[name, schema.tables[name].kind, "unknown" if n is None else f"{n:,}"] for name, n in estimates.items()]
    click.echo(_aligned(["table", "kind", "rows"], rows, right=frozenset({2})))


@schema_group.command("preview", short_help="Print the first rows of every table of a schema file.")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--rows", type=click.IntRange(min=1), default=10, show_default=True, help="Rows per table.")
@click.option("--seed", type=int, help="Random seed (default: the file's).")
def schema_preview(path: Path, rows: int, seed: int | None) -> None:
    """Print the first rows of every table in generation order (a table only the engine makes gets a note)."""
    for i, (name, table) in enumerate(api.preview_schema(path, rows, seed).items()):
        if i:
            click.echo()
        if isinstance(table, str):
            click.echo(f"{name}: {table}")
            continue
        click.echo(f"{name}: {table.num_rows} rows")
        cells = [["null" if v is None else _cell(v) for v in row.values()] for row in table.to_pylist()]
        click.echo(_aligned(table.column_names, cells))


@schema_group.command("json-schema", short_help="Print the JSON Schema of schema files (for editors).")
def schema_json_schema() -> None:
    """Print the JSON Schema a schema file follows, for editors and other tools."""
    import json

    from . import dsl

    click.echo(json.dumps(dsl.json_schema(), indent=2))


#: The widest cell a preview prints (longer values are cut with an ellipsis).
CELL_WIDTH = 40


def _cell(value: object) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= CELL_WIDTH else text[: CELL_WIDTH - 1] + "…"


def _aligned(header: list[str], rows: list[list[str]], right: frozenset[int] = frozenset()) -> str:
    """Plain text columns under a header, numbers (``right``) right-aligned: fast and readable in any terminal."""
    widths = [max(len(text) for text in column) for column in zip(header, *rows)]

    def line(cells: list[str]) -> str:
        parts = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))]
        return "  ".join(parts).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def _workers(n: int) -> str:
    """``1 worker``, ``2 workers``."""
    return f"{n} worker" + ("" if n == 1 else "s")


def _schema_summary(config: GenerateConfig, result: api.RunResult) -> str:
    """The last line of a schema run: where its rows went, how fast, per table."""
    tables = ", ".join(f"{name} {rows:,}" for name, rows in result.rows.items())
    done = f"in {result.seconds:.1f} s ({_workers(result.workers)}): {tables}"
    if result.run_id:
        return (f"Loaded {len(result.rows)} tables into {parse_url(config.db or '').redacted()} (run {result.run_id}, "
                f"{result.retries} retried batches) {done}")
    return f"Wrote {len(result.rows)} tables to {config.out}/ as {config.format} {done}"


@contextlib.contextmanager
def _progress(unit: str, total: int | None, show: bool) -> Iterator[OnEvent | None]:
    """A transient progress bar of ``unit`` (people, or a schema run's rows over all tables) while the
    block yields; the backend events' listener that moves it (None when not shown)."""
    with Progress(TextColumn("[bold]generating"), BarColumn(), MofNCompleteColumn(),
                  TextColumn(f"{{task.fields[rate]}} {unit}/s"), TimeRemainingColumn(), console=err_console,
                  disable=not show, transient=True) as bar:  # fmt: skip
        task = bar.add_task(unit, total=total, rate="-")

        def advance(event: Event) -> None:
            if not isinstance(event, BlockDone):
                return
            bar.advance(task, event.people if unit == "people" else event.rows)
            elapsed = bar.tasks[0].elapsed or 0
            if elapsed > 0:
                bar.update(task, rate=f"{bar.tasks[0].completed / elapsed:,.0f}")

        yield advance if show else None


def _duplicates(result: api.RunResult) -> str:
    return f" (+{result.duplicates:,} duplicate records)" if result.duplicates else ""


def _one_line(message: str) -> str:
    return " ".join(message.split())


class _CancelOnSignals:
    """While active, SIGINT and SIGTERM cancel the run's token instead of raising wherever the code is.

    A second signal is ignored, and after a cancel they stay ignored, so nothing cuts the clean-up, the
    last message and the exit status short.  With ``kill_on_second`` the first signal is acknowledged on
    standard error and a second ends the process of it at once instead: a stream's write can block on
    a reader or server that no longer reads, and then asking twice is the only way out.  Handlers can
    only be set in the main thread; elsewhere this does nothing and signals keep their meaning.
    """

    def __init__(self, kill_on_second: bool = False) -> None:
        self.token = CancelToken()
        self.kill_on_second = kill_on_second
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> CancelToken:
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                if signal.getsignal(signum) is not signal.SIG_IGN:  # ignored by whoever started us: stays so
                    self._previous[signum] = signal.signal(signum, self._handle)
        return self.token

    def __exit__(self, *exc: object) -> None:
        for signum, previous in self._previous.items():
            if self.token.cancelled:
                previous = signal.SIG_IGN
            elif previous is None:  # set outside Python: restore the default
                previous = signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL
            signal.signal(signum, previous)
        self._previous.clear()

    def _handle(self, signum: int, frame: object) -> None:
        if self.kill_on_second:
            if self.token.cancelled:  # asked twice: die of the signal, as without a handler
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)
            # Said at once, so a user (or a script) knows the first one was heard before sending another:
            # two signals that arrive before the first is handled count as one.  os.write: no buffer to
            # share with the code this handler interrupted.
            name = signal.Signals(signum).name
            os.write(2, f"pii_gen: {name} received, stopping; another {name} ends it at once\n".encode())
        self.token.cancel(signum)


def _ignore_stop_signals() -> None:
    """Once interrupted, a second Ctrl-C or SIGTERM must not cut the last message and exit status short."""
    if threading.current_thread() is threading.main_thread():
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)


def main(argv: list[str] | None = None) -> Any:
    """Entry point: run the CLI, turning user errors into one line and exit status 2."""
    try:
        return cli.main(args=argv, prog_name="pii_gen", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:  # bare group: show help, as a user expects
        click.echo(exc.ctx.get_help() if exc.ctx else "", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        hint = ""
        if isinstance(exc, click.UsageError) and exc.ctx is not None:
            hint = f" (see '{exc.ctx.command_path} --help')"
        click.echo(f"pii_gen: error: {_one_line(exc.format_message())}{hint}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        _ignore_stop_signals()
        click.echo("pii_gen: interrupted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        _ignore_stop_signals()
        click.echo("pii_gen: interrupted; nothing was written", err=True)
        sys.exit(130)
    except PiiGenError as exc:
        kind = "error: "
        if isinstance(exc, api.Interrupted):  # an interruption is not an error
            _ignore_stop_signals()
            kind = ""
        click.echo(f"pii_gen: {kind}{_one_line(redact(str(exc)))}", err=True)  # no credential ever, whatever the path
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        sys.exit(0)
