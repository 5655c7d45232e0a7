"""Small inline SVG plots for the schema report: paired bars (observed vs expected shares) and a daily series
with a shaded window.  Plain SVG text, no plotting library, so the page stays one file that opens anywhere."""

from __future__ import annotations

import html

OBSERVED, EXPECTED, SHADE = "#3b6ea8", "#e08a2c", "#f6e05e"
WIDTH, HEIGHT, PAD = 640, 220, 36


def _frame(title: str, body: list[str], top: float, unit: str) -> str:
    label = html.escape(title)
    axis = (f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - 8}" y2="{HEIGHT - PAD}" stroke="#444"/>'
            f'<text x="{PAD - 4}" y="{PAD + 4}" font-size="10" text-anchor="end">{top:.3g}{unit}</text>'
            f'<text x="{PAD - 4}" y="{HEIGHT - PAD}" font-size="10" text-anchor="end">0</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
            f'role="img" '
            f'aria-label="{label}"><title>{label}</title>'
            f'<text x="{WIDTH / 2}" y="14" font-size="12" text-anchor="middle">{label}</text>{axis}'
            + "".join(body) + "</svg>")


def bars(labels: list[str], observed: list[float], expected: list[float], title: str) -> str:
    """Observed (blue) beside expected (orange) share of each label."""
    top = max([*observed, *expected, 1e-12])
    slot = (WIDTH - PAD - 8) / max(len(labels), 1)
    scale = (HEIGHT - 2 * PAD - 10) / top
    body = []
    for i, (label, o, e) in enumerate(zip(labels, observed, expected)):
        x = PAD + i * slot
        for j, (v, color, what) in enumerate(((o, OBSERVED, "observed"), (e, EXPECTED, "expected"))):
            h = v * scale
            body.append(f'<rect x="{x + 1 + j * slot * 0.45:.1f}" y="{HEIGHT - PAD - h:.1f}" width="{slot * 0.43:.1f}" '
                        f'height="{h:.1f}" fill="{color}"><title>{html.escape(label)} {what} {v:.2%}</title></rect>')
        if len(labels) <= 40:
            body.append(f'<text x="{x + slot / 2:.1f}" y="{HEIGHT - PAD + 12}" font-size="9" text-anchor="middle">'
                        f"{html.escape(label)}</text>")
    body.append(f'<text x="{WIDTH - 8}" y="28" font-size="10" text-anchor="end" fill="{OBSERVED}">observed</text>'
                f'<text x="{WIDTH - 8}" y="40" font-size="10" text-anchor="end" fill="{EXPECTED}">expected</text>')
    return _frame(title, body, top * 100, "%")


def line(series: list[int], shades: list[tuple[int, int]], title: str) -> str:
    """A count per day as a line, each range of days ``[from, to)`` in ``shades`` shaded (an effect's windows)."""
    top = max([*series, 1])
    step = (WIDTH - PAD - 8) / max(len(series) - 1, 1)
    scale = (HEIGHT - 2 * PAD - 10) / top
    body = []
    for shade_from, shade_to in shades:
        x0, x1 = PAD + max(shade_from, 0) * step, PAD + min(shade_to, len(series)) * step
        if x1 < PAD or x0 > WIDTH:
            continue
        body.append(f'<rect class="window" x="{x0:.1f}" y="{PAD}" width="{max(x1 - x0, 2):.1f}" '
                    f'height="{HEIGHT - 2 * PAD}" fill="{SHADE}" opacity="0.6"><title>effect window</title></rect>')
    points = " ".join(f"{PAD + i * step:.1f},{HEIGHT - PAD - v * scale:.1f}" for i, v in enumerate(series))
    body.append(f'<polyline points="{points}" fill="none" stroke="{OBSERVED}" stroke-width="1.2"/>')
    return _frame(title, body, top, "")
