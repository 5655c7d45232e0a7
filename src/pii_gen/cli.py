"""Command line: a thin layer over :mod:`pii_gen.api`.

Every user error becomes one line on stderr and exit status 2; this module is
the one place that happens.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from . import __version__, api
from .config import build_config, default_config_yaml, read_config_file
from .errors import ConfigError, OutputError, PiiGenError

err_console = Console(stderr=True, highlight=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pii_gen")
def cli() -> None:
    """Generate realistic synthetic people, fast and safe by default."""


@cli.command()
@click.option("-n", "--count", type=int, help="Number of people to generate.")
@click.option("--seed", type=int, help="Random seed (same seed and config give identical output).")
@click.option("--workers", type=int, help="Worker processes (default: all cores).")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl", "parquet"]), help="Output format.")
@click.option("--out", type=click.Path(path_type=Path), help="Output folder (default: people).")
@click.option("--config", "config_file", type=click.Path(path_type=Path), help="YAML or JSON config file.")
@click.option("--pii-mode", type=click.Choice(["strict", "realistic"]), help="strict (default) or realistic identifiers.")
@click.option("--batch-size", type=int, help="People handed to a worker at a time.")
@click.option("-q", "--quiet", is_flag=True, default=None, help="No progress bar or summary.")
def generate(
    count: int | None,
    seed: int | None,
    workers: int | None,
    fmt: str | None,
    out: Path | None,
    config_file: Path | None,
    pii_mode: str | None,
    batch_size: int | None,
    quiet: bool | None,
) -> None:
    """Generate people into one file per table in an output folder."""
    data = read_config_file(config_file) if config_file else {}
    config = build_config(
        data, count=count, seed=seed, workers=workers, format=fmt, out=out, pii_mode=pii_mode,
        batch_size=batch_size, quiet=quiet,
    )  # fmt: skip
    if config.pii_mode == "realistic":
        err_console.print(
            "[yellow]warning:[/] --pii-mode realistic makes structurally valid SSNs, phones, e-mails and cards "
            "that may belong to real people; never publish or share this output.",
            soft_wrap=True,
        )
    show = not config.quiet and err_console.is_terminal
    with Progress(
        TextColumn("[bold]generating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} people/s"),
        TimeRemainingColumn(),
        console=err_console,
        disable=not show,
        transient=True,
    ) as bar:
        task = bar.add_task("people", total=config.count, rate="-")

        def advance(people: int) -> None:
            bar.advance(task, people)
            elapsed = bar.tasks[0].elapsed or 0
            if elapsed > 0:
                bar.update(task, rate=f"{bar.tasks[0].completed / elapsed:,.0f}")

        result = api.generate(config, advance)
    if not config.quiet:
        tables = ", ".join(f"{name} {rows:,}" for name, rows in result.rows.items())
        err_console.print(
            f"Wrote {result.rows.get('persons', 0):,} people to {config.out}/ as {config.format} "
            f"in {result.seconds:.1f} s ({result.people_per_second:,.0f} people/s, {result.workers} workers): {tables}",
            soft_wrap=True,
        )


@cli.command("create-config")
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


def _one_line(message: str) -> str:
    return " ".join(message.split())


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
        click.echo("pii_gen: interrupted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("pii_gen: interrupted; nothing was written", err=True)
        sys.exit(130)
    except PiiGenError as exc:
        click.echo(f"pii_gen: error: {_one_line(str(exc))}", err=True)
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        sys.exit(0)
