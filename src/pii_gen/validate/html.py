"""A self-contained HTML page: what failed or warned first, the plots a person would rather look at
than read, then every check, failures first.

Plots are drawn with matplotlib's Agg backend and embedded as base64 PNG, so the page is one file
that opens anywhere.  matplotlib is the optional ``report`` extra.
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

from ..errors import ConfigError
from .checks import group_names
from .model import Check, Report, by_verdict

COLORS = {"observed": "#3b6ea8", "expected": "#e08a2c", "census": "#7a7a7a"}
VERDICT_COLORS = {"pass": "#1b7f3b", "warn": "#b7791f", "fail": "#c53030", "skip": "#718096"}
# SOC 2018 major groups by code, as BLS OEWS May 2025 names them (occupation codes xx-0000, the same release as
# data/occupations.parquet), without the trailing "Occupations".
SOC_MAJOR_GROUPS = {
    "11": "Management",
    "13": "Business and Financial Operations",
    "15": "Computer and Mathematical",
    "17": "Architecture and Engineering",
    "19": "Life, Physical, and Social Science",
    "21": "Community and Social Service",
    "23": "Legal",
    "25": "Educational Instruction and Library",
    "27": "Arts, Design, Entertainment, Sports, and Media",
    "29": "Healthcare Practitioners and Technical",
    "31": "Healthcare Support",
    "33": "Protective Service",
    "35": "Food Preparation and Serving Related",
    "37": "Building and Grounds Cleaning and Maintenance",
    "39": "Personal Care and Service",
    "41": "Sales and Related",
    "43": "Office and Administrative Support",
    "45": "Farming, Fishing, and Forestry",
    "47": "Construction and Extraction",
    "49": "Installation, Maintenance, and Repair",
    "51": "Production",
    "53": "Transportation and Material Moving",
    "55": "Military Specific",
}


def soc_label(code: str) -> str:
    """'43' -> '43 Office and Administrative Support' (the bare code when it is no SOC major group)."""
    name = SOC_MAJOR_GROUPS.get(str(code))
    return f"{code} {name}" if name else str(code)


def require_matplotlib() -> Any:
    """matplotlib.pyplot on the Agg backend, or a one-line error naming the extra to install."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError('--html needs matplotlib: pip install "pii-gen[report]"') from None
    return plt


def _png(fig: Any, plt: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _age_pyramid(p: dict[str, Any], plt: Any) -> Any:
    import numpy as np

    y = np.arange(len(p["groups"]))
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.barh(y, [-v * 100 for v in p["M_observed"]], color=COLORS["observed"], alpha=0.85, label="observed (men left)")
    ax.barh(y, [v * 100 for v in p["F_observed"]], color="#b0487a", alpha=0.85, label="observed (women right)")
    for sex, sign in (("M", -1), ("F", 1)):
        ax.barh(
            y,
            [sign * v * 100 for v in p[f"{sex}_expected"]],
            fill=False,
            edgecolor=COLORS["expected"],
            lw=1.8,
            label="Census 2020 pyramid" if sex == "M" else None,
        )
    ax.set_yticks(y, p["groups"])
    ax.axvline(0, color="black", lw=0.6)
    ticks = ax.get_xticks()
    ax.set_xticks(ticks, [f"{abs(t):.0f}%" for t in ticks])
    ax.set_xlabel("share of people")
    ax.set_title("Age and sex: observed against the census pyramid")
    ax.legend(loc="upper right", fontsize=8)
    return fig


def _histogram(edges: list[float], counts: list[float], title: str, xlabel: str, plt: Any, last_open: bool) -> Any:
    fig, ax = plt.subplots(figsize=(7, 3.6))
    widths = [b - a for a, b in zip(edges[:-1], edges[1:])]
    ax.bar(edges[:-1], counts, width=widths, align="edge", color=COLORS["observed"], edgecolor="white", lw=0.3)
    ax.set_title(title)
    ax.set_xlabel(xlabel + (" (last bar: that and above)" if last_open else ""))
    ax.set_ylabel("people")
    return fig


def _paired_bars(rows: list[tuple], title: str, plt: Any, horizontal: bool = False, census: bool = False) -> Any:
    import numpy as np

    labels = [str(r[0]) for r in rows]
    obs = [r[1] * 100 for r in rows]
    exp = [r[2] * 100 for r in rows]
    x = np.arange(len(rows))
    width = 0.27 if census else 0.4
    if horizontal:
        fig, ax = plt.subplots(figsize=(7, max(3.0, 0.28 * len(rows) + 1)))
        ax.barh(x - width / 2, obs, height=width, color=COLORS["observed"], label="observed")
        ax.barh(x + width / 2, exp, height=width, color=COLORS["expected"], label="expected")
        ax.set_yticks(x, labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel("share (%)")
    else:
        fig, ax = plt.subplots(figsize=(max(7.0, 0.22 * len(rows) + 2), 3.8))
        ax.bar(x - width, obs, width=width, color=COLORS["observed"], label="observed")
        ax.bar(x, exp, width=width, color=COLORS["expected"], label="expected (model)")
        if census:
            ax.bar(
                x + width, [r[3] * 100 for r in rows], width=width, color=COLORS["census"], label="Census 2020 counts"
            )
        ax.set_xticks(x, labels, rotation=90 if len(rows) > 12 else 45, fontsize=8)
        ax.set_ylabel("share (%)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return fig


def _bars(caption: str, rows: list[tuple], title: str, plt: Any, **kw: Any) -> tuple[str, str, str]:
    """A bar chart with its categories in the image's text alternative, for readers who cannot see it."""
    return caption, _png(_paired_bars(rows, title, plt, **kw), plt), f"{caption}: " + "; ".join(str(r[0]) for r in rows)


def figures(report: Report) -> list[tuple[str, str, str]]:
    """(caption, base64 PNG, text alternative) of every plot the report's aggregates allow."""
    plt = require_matplotlib()
    p = report.plots
    out = []
    if "age_pyramid" in p:
        cap = "Age/sex pyramid against Census 2020"
        out.append((cap, _png(_age_pyramid(p["age_pyramid"], plt), plt), cap))
    if "income" in p:
        h = p["income"]
        png = _png(_histogram(h["edges"], h["counts"], "Annual income", "US dollars", plt, True), plt)
        out.append(("Annual income", png, "Annual income"))
    if "credit_score" in p:
        h = p["credit_score"]
        edges = h["bins"] + [h["bins"][-1] + 10] if h["bins"] else [300, 310]
        png = _png(_histogram(edges, h["counts"] or [0], "Credit score", "score", plt, False), plt)
        out.append(("Credit score", png, "Credit score"))
    if "states" in p:
        out.append(_bars("Home state shares", p["states"], "Home states: observed, model, census", plt, census=True))
    if "first_names" in p:
        out.append(_bars("Top first names", p["first_names"], "Top 20 first names", plt, horizontal=True))
    if "surnames" in p:
        out.append(_bars("Top surnames", p["surnames"], "Top 20 surnames", plt, horizontal=True))
    if "occupations" in p:
        rows = [(soc_label(g), *rest) for g, *rest in p["occupations"]]
        out.append(_bars("Occupation mix", rows, "Current jobs by SOC major group vs OEWS", plt, horizontal=True))
    return out


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>pii_gen validation: {title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; padding: 0 1em; max-width: 1100px; color: #1a202c; }}
.score {{ font-size: 2.4em; font-weight: bold; }}
table {{ border-collapse: collapse; width: 100%; margin-bottom: 1.5em; font-size: 0.9em; }}
th, td {{ border-bottom: 1px solid #e2e8f0; padding: 4px 8px; text-align: left; vertical-align: top; }}
@media (max-width: 700px) {{ table {{ display: block; overflow-x: auto; }} }}
th {{ background: #f7fafc; }}
.verdict {{ font-weight: bold; color: white; border-radius: 3px; padding: 1px 6px; white-space: nowrap; }}
figure {{ display: inline-block; margin: 0.5em; vertical-align: top; max-width: calc(100% - 1em); }}
figure img, figure svg {{ max-width: 100%; height: auto; }}
.dim {{ color: #718096; }}
#summary {{ border-left: 6px solid {score_color}; padding: 0.2em 1em; background: #f7fafc; margin-bottom: 1.5em; }}
</style></head><body>
<h1>pii_gen validation</h1>
<p>{source}: {subject}, validated in {seconds:.1f} s.</p>
<p><span class="score" style="color: {score_color}">{score:.1f}/100</span>
&nbsp; {verdict} (minimum {min_score:g}) &mdash; {counts}</p>
{summary}
<h2>Plots</h2>
{figures}
{tables}
</body></html>
"""


def _rows(checks: list[Check], group_column: bool = False) -> str:
    return "\n".join(
        "<tr>"
        + (f"<td>{html.escape(c.group)}</td>" if group_column else "")
        + f'<td>{html.escape(c.name)}</td><td><span class="verdict" style="background: '
        f'{VERDICT_COLORS[c.status]}">{c.status}</span></td><td>{html.escape(c.figure)}</td>'
        f'<td class="dim">{html.escape(c.threshold)}</td></tr>'
        for c in checks
    )


def _summary(report: Report) -> str:
    """What needs attention, at the top: every failed check, then every warning, with its measured figure."""
    counts = report.counts()
    if not report.attention:
        verdict = "OK" if report.ok else f"the score is under the minimum of {report.min_score:g}"
        return (
            f'<section id="summary"><p>No check failed or warned: {counts["pass"]} passed, {counts["skip"]} '
            f"skipped ({verdict}).</p></section>"
        )
    why = [f"{counts['fail']} failed" if counts["fail"] else "", f"{counts['warn']} warned" if counts["warn"] else ""]
    return (
        f'<section id="summary"><h2>Needs attention: {" and ".join(w for w in why if w)}</h2>\n'
        "<table><tr><th>group</th><th>check</th><th>verdict</th><th>figure</th><th>threshold</th></tr>\n"
        f"{_rows(report.attention, group_column=True)}\n</table></section>"
    )


def render(report: Report, svgs: list[tuple[str, str]] | None = None) -> str:
    """The whole page as one string; ``svgs`` (caption, inline SVG) are its plots instead of matplotlib's."""
    if svgs is not None:
        figs = "\n".join(f"<figure>{image}<figcaption>{html.escape(cap)}</figcaption></figure>" for cap, image in svgs)
    else:
        figs = "\n".join(
            f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"><figcaption>'
            f"{html.escape(cap)}</figcaption></figure>"
            for cap, data, alt in figures(report)
        )
    tables = []
    for group in report.groups(group_names()):
        checks = [c for c in report.checks if c.group == group]
        if not checks:
            continue
        rows = _rows(by_verdict(checks))
        tables.append(
            f"<h2>{group.capitalize()} checks</h2>\n<table><tr><th>check</th><th>verdict</th>"
            f"<th>figure</th><th>threshold</th></tr>\n{rows}\n</table>"
        )
    counts = ", ".join(f"{n} {s}" for s, n in report.counts().items())
    return PAGE.format(
        title=html.escape(report.source),
        source=html.escape(report.source),
        subject=html.escape(report.what),
        seconds=report.seconds,
        score=report.score,
        score_color=VERDICT_COLORS["pass" if report.ok else "fail"],
        verdict="OK" if report.ok else "FAILED",
        min_score=report.min_score,
        counts=counts,
        summary=_summary(report),
        figures=figs,
        tables="\n".join(tables),
    )
