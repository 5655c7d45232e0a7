"""The report for people (a rich table per group on the console) and for CI (JSON)."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ..errors import OutputError
from .checks import group_names
from .model import Report, by_verdict

STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}


def _table(title: str, checks: list, group_column: bool = False) -> Table:
    table = Table(title=title, title_justify="left", expand=False, show_lines=False)
    if group_column:
        table.add_column("group")
    table.add_column("check", overflow="fold")
    table.add_column("verdict")
    table.add_column("figure", overflow="fold")
    table.add_column("threshold", overflow="fold", style="dim")
    for c in checks:
        table.add_row(*([c.group] if group_column else []), c.name, f"[{STYLE[c.status]}]{c.status}[/]", c.figure,
                      c.threshold)  # fmt: skip
    return table


def print_console(report: Report, console: Console) -> None:
    """One table per check group (failures first), then the failed and warning checks again next to the
    score, so the last screen of output says what is wrong."""
    for group in report.groups(group_names()):
        checks = [c for c in report.checks if c.group == group]
        if checks:
            console.print(_table(f"{group} checks", by_verdict(checks)))
    if report.attention:
        console.print(_table("failed and warning checks", report.attention, group_column=True))
    counts = report.counts()
    verdict = "[green]OK[/]" if report.ok else "[bold red]FAILED[/]"
    console.print(
        f"Quality score [bold]{report.score:.1f}[/]/100 (minimum {report.min_score:g}): {verdict} - "
        f"{counts['pass']} passed, {counts['warn']} warnings, {counts['fail']} failed, {counts['skip']} skipped; "
        f"{report.what} from {report.source} in {report.seconds:.1f} s",
        soft_wrap=True,
    )


def write_json(report: Report, path: Path) -> None:
    """Every check with its figures, for CI."""
    write_text(path, json.dumps(report.as_dict(), indent=2, default=str) + "\n")


def write_text(path: Path, text: str) -> None:
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as err:
        raise OutputError(f"cannot write '{path}': {err.strerror}") from None
