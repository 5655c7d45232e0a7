"""``pii_gen validate --schema``: constraints and targets of a schema file checked on what a run wrote.

Each constraint kind passes on generated data and fails on the same data broken on purpose (the stored
Parquet edited here); each metric passes on data of its own schema and fails on data of a different schema
(the generator changed on purpose); ``fail`` constraints stop a run while generating (exit 1, no output);
exit codes, ``--json``, ``--html`` and ``--db`` on PostgreSQL.
"""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from servers import server_url

from browsing import browser
from pii_gen import schema_run
from pii_gen.validate.schema import validate_schema

ROOT = Path(__file__).resolve().parents[1]
HOURS = str([0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.4, 0.7, 1.0, 1.2, 1.3, 1.4, 1.5, 1.4, 1.3, 1.3, 1.4, 1.6, 1.9, 2.2, 2.3,
             2.0, 1.4, 0.7])
FLAT = "[" + ", ".join(["1"] * 24) + "]"

BASE = """\
version: 1
name: val
seed: 11
tables:
  customers:
    kind: entity
    rows: {customers}
    key: customer_id
    columns:
      customer_id: {{gen: sequence}}
      region: {{gen: choice, values: [north, south], weights: [0.5, 0.5]}}
      income: {{gen: distribution, dist: lognormal, mu: 10.5, sigma: 0.5, decimals: 2}}
      tier: {{gen: choice, values: [gold, silver, bronze], weights: {tier}}}
  orders:
    kind: fact
    parent: customers
    key: order_id
    fanout: {{dist: poisson, mean: {fanout}}}
    columns:
      order_id: {{gen: sequence}}
      line: {{gen: expression, expr: "index_in_parent"}}
      ordered_at: {{gen: datetime_series, weekday: {weekday}, hour: {hours}}}
      shipped_at: {{gen: expression, expr: "date_add(ordered_at, 2, 'day')"}}
      status: {{gen: choice, values: [delivered, refunded], weights: [{delivered}, {refunded}]}}
      quantity: {{gen: distribution, dist: poisson, mean: 2, min: 1}}
      unit_price: {{gen: distribution, dist: uniform, min: 1, max: 50, decimals: 2}}
      line_total: {{gen: expression, expr: "quantity * unit_price"}}
      amount: {{gen: distribution, dist: normal, mean: {amount}, sd: 10, min: 0}}
      basket: {{gen: expression, expr: "{basket}"}}
constraints:
  - unique: orders.order_id
  - unique: [orders.customer_id, orders.line]
  - fk: auto
  - range: {{column: orders.amount, min: 0}}
  - inequality: "orders.shipped_at >= orders.ordered_at"
  - check: "orders.quantity * orders.unit_price == orders.line_total"
targets:
  - {{name: weekend, metric: weekend_share, table: orders, column: ordered_at, between: [0.33, 0.40]}}
  - {{name: basket mean, metric: mean_in_range, table: orders, column: amount, between: [38, 42]}}
  - {{name: rhythm, metric: composite_effect, table: orders, column: ordered_at, dims: [weekday, hour], max_mape: 0.25}}
  - {{name: orders per customer, metric: per_parent_count, table: orders, parent: customers, mean: [2.8, 3.2]}}
  - {{name: refunds, metric: share, table: orders, where: "status == 'refunded'", between: [0.03, 0.07]}}
  - {{name: income drives basket, metric: corr, table: orders, x: "lookup(customer_id, customers.income)", y: basket,
     method: spearman, min: 0.3}}
  - {{name: tiers, metric: tvd, table: customers, column: tier, max: 0.02}}
  - {{name: amounts, metric: ks, table: orders, column: amount, max: 0.02}}
"""
GOOD = dict(customers=2000, tier="[0.6, 0.3, 0.1]", fanout=3, weekday="[1, 1, 1, 1, 1.2, 1.6, 1.5]", hours=HOURS,
            delivered=0.95, refunded=0.05, amount=40, basket="amount + parent.income / 1000")
#: A different generator for every declared target (and the automatic ones beside them).
WRONG = dict(GOOD, tier="[0.4, 0.4, 0.2]", fanout=4, weekday="[1.6, 1.5, 1, 1, 1, 1, 1]", hours=FLAT,
             delivered=0.8, refunded=0.2, amount=47, basket="amount * 2")
DECLARED = ("weekend", "basket mean", "rhythm", "orders per customer", "refunds", "income drives basket", "tiers",
            "amounts")


def write(tmp: Path, name: str, **values: object) -> Path:
    path = tmp / f"{name}.yaml"
    path.write_text(BASE.format(**values), encoding="utf-8")
    return path


def with_sale(plain: Path) -> Path:
    """``plain``'s schema plus a 2.5x rate effect on orders over November 2024, as ``e.yaml`` beside it."""
    path = plain.parent / "e.yaml"
    path.write_text(plain.read_text().replace(
        "constraints:", "effects:\n  - {name: sale, table: orders, time: ordered_at, window: {start: 2024-11-01, "
        "end: 2024-11-30}, rate: 2.5}\nconstraints:"), encoding="utf-8")
    return path


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "pii_gen.py"), *args], capture_output=True, text=True,
                          timeout=300)  # fmt: skip


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, Path]:
    """(schema file, its run as Parquet), once."""
    tmp = tmp_path_factory.mktemp("val")
    schema = write(tmp, "good", **GOOD)
    schema_run.generate_schema(schema, out=str(tmp / "out"), format="parquet", workers=1)
    return schema, tmp / "out"


def copy(folder: Path, tmp: Path) -> Path:
    out = tmp / f"copy_{uuid.uuid4().hex[:6]}"
    out.mkdir()
    for f in folder.iterdir():
        (out / f.name).write_bytes(f.read_bytes())
    return out


def edit(folder: Path, table: str, change) -> None:
    path = folder / f"{table}.parquet"
    pq.write_table(change(pq.read_table(path)), path)


def replace(t: pa.Table, column: str, values) -> pa.Table:
    i = t.column_names.index(column)
    return t.set_column(i, t.schema.field(column), pa.array(values, t.schema.field(column).type))


def test_good_run_passes_every_constraint_and_target(run) -> None:
    schema, out = run
    report = validate_schema(schema, out)
    assert report.ok and report.score == 100.0, [(c.name, c.figure, c.threshold) for c in report.failed]
    names = {(c.group, c.name) for c in report.checks}
    for name in DECLARED:
        assert ("targets", name) in names
    for name in ("unique orders.order_id", "unique (orders.customer_id, orders.line)",
                 "fk orders.customer_id -> customers.customer_id", "range orders.amount min 0",
                 "inequality orders.shipped_at >= orders.ordered_at",
                 "check orders.quantity * orders.unit_price == orders.line_total"):
        assert ("constraints", name) in names
    auto = {c.name for c in report.checks if c.group == "auto targets"}
    assert {"weights customers.tier", "weights orders.status", "distribution customers.income",
            "distribution orders.amount", "fanout orders mean", "fanout orders dispersion",
            "series orders.ordered_at by weekday", "series orders.ordered_at by hour"} <= auto
    rows = report.rows["orders"]
    assert report.check("constraints", "unique orders.order_id").metrics == {
        "violations": 0, "total": rows, "constraint": 0}
    # measured values sit where the file says
    assert 2.8 < report.check("targets", "orders per customer").metrics["value"] < 3.2
    assert report.check("targets", "income drives basket").metrics["value"] > 0.3


@pytest.mark.parametrize("broken, table, change", [
    ("unique orders.order_id", "orders",
     lambda t: replace(t, "order_id", np.r_[2, t.column("order_id").to_numpy()[1:]])),
    ("unique (orders.customer_id, orders.line)", "orders",
     lambda t: replace(t, "line", np.zeros(t.num_rows, dtype=np.int64))),
    ("fk orders.customer_id -> customers.customer_id", "orders",
     lambda t: replace(t, "customer_id", np.r_[10**9, t.column("customer_id").to_numpy()[1:]])),
    ("range orders.amount min 0", "orders",
     lambda t: replace(t, "amount", np.r_[-1.0, t.column("amount").to_numpy()[1:]])),
    ("inequality orders.shipped_at >= orders.ordered_at", "orders",
     lambda t: replace(t, "shipped_at", pc.subtract(t.column("ordered_at").combine_chunks(),
                                                    pa.scalar(3600_000_000, pa.duration("us"))))),
    ("check orders.quantity * orders.unit_price == orders.line_total", "orders",
     lambda t: replace(t, "line_total", pc.add(t.column("line_total"), 0.01))),
])  # fmt: skip
def test_each_constraint_fails_on_data_broken_on_purpose(run, tmp_path, broken, table, change) -> None:
    schema, out = run
    folder = copy(out, tmp_path)
    edit(folder, table, change)
    report = validate_schema(schema, folder)
    assert not report.ok
    assert [c.name for c in report.failed if c.group == "constraints"] == [broken]
    assert report.check("constraints", broken).metrics["violations"] >= 1


def test_every_metric_fails_when_another_generator_made_the_data(run, tmp_path) -> None:
    schema, _ = run
    wrong = write(tmp_path, "wrong", **WRONG)
    schema_run.generate_schema(wrong, out=str(tmp_path / "wrong"), format="csv", workers=1)
    report = validate_schema(schema, tmp_path / "wrong")  # CSV read back with the schema's types
    failed = {c.name for c in report.failed}
    assert set(DECLARED) <= failed, [(c.name, c.figure) for c in report.checks if c.name in DECLARED]
    assert {"weights customers.tier", "weights orders.status", "distribution orders.amount", "fanout orders mean",
            "series orders.ordered_at by weekday", "series orders.ordered_at by hour"} <= failed
    assert not any(c.group == "constraints" for c in report.failed)  # the rows still keep the rules
    # ... while its own file's automatic targets hold on it
    own = validate_schema(wrong, tmp_path / "wrong")
    assert [c.name for c in own.checks if c.group == "auto targets" and c.status != "pass"] == []


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_small_runs_do_not_fail_automatic_targets_by_chance(tmp_path, seed) -> None:
    small = write(tmp_path, "small", **dict(GOOD, customers=40))
    text = small.read_text().replace("seed: 11", f"seed: {seed}").split("targets:")[0]  # automatic ones only
    small.write_text(text, encoding="utf-8")
    schema_run.generate_schema(small, out=str(tmp_path / "o"), format="parquet", workers=1)
    report = validate_schema(small, tmp_path / "o")
    assert [c.name for c in report.checks if c.group == "auto targets" and c.status != "pass"] == []
    assert len([c for c in report.checks if c.group == "auto targets"]) >= 8


def test_effect_lift_from_the_data_and_the_effect(tmp_path) -> None:
    """Effects are measured from rows and their definition: data with a rate x2.5 and amounts x0.8 inside
    a window (made here from a plain run) pass; the plain run fails both lifts."""
    plain = write(tmp_path, "plain", **GOOD)
    schema_run.generate_schema(plain, out=str(tmp_path / "plain"), format="parquet", workers=1)
    effects = ("effects:\n"
               "  - {name: sale, table: orders, time: ordered_at, window: {start: 2024-11-01, end: 2024-11-30}, "
               "rate: 2.5}\n"
               "  - {name: discount, table: orders, time: ordered_at, window: {start: 2024-03-01, end: 2024-03-31}, "
               "column: amount, multiply: 0.8}\n"
               "  - {name: keyed, table: orders, time: ordered_at, window: {start: 2024-06-01, end: 2024-06-30}, "
               "where: \"lookup(customer_id, customers.region) == 'south'\", column: basket, add: 25}\n")
    schema = tmp_path / "effects.yaml"
    schema.write_text(plain.read_text().replace("constraints:", effects + "constraints:")
                      + "  - {name: sale lift, metric: effect_lift, effect: sale, between: [2.2, 2.8]}\n",
                      encoding="utf-8")
    before = validate_schema(schema, tmp_path / "plain")
    assert {"sale lift", "effect sale lift", "effect discount lift", "effect keyed lift"} <= {c.name for c in
                                                                                             before.failed}
    folder = copy(tmp_path / "plain", tmp_path)
    customers = pq.read_table(folder / "customers.parquet")
    south = set(np.asarray(customers.column("customer_id"))[np.asarray(customers.column("region")) == "south"])

    def apply(t: pa.Table) -> pa.Table:
        ts = t.column("ordered_at").to_numpy().astype("datetime64[D]")
        sale = (ts >= np.datetime64("2024-11-01")) & (ts <= np.datetime64("2024-11-30"))
        march = (ts >= np.datetime64("2024-03-01")) & (ts <= np.datetime64("2024-03-31"))
        june = (ts >= np.datetime64("2024-06-01")) & (ts <= np.datetime64("2024-06-30")) & np.isin(
            t.column("customer_id").to_numpy(), list(south))
        t = replace(t, "amount", np.where(march, t.column("amount").to_numpy() * 0.8, t.column("amount").to_numpy()))
        t = replace(t, "basket", np.where(june, t.column("basket").to_numpy() + 25, t.column("basket").to_numpy()))
        inside = t.filter(pa.array(sale))
        extra = pa.concat_tables([inside, inside.slice(0, inside.num_rows // 2)])  # 1.5 more copies: x2.5
        extra = replace(extra, "order_id", np.arange(extra.num_rows) + 10**7)
        extra = replace(extra, "line", np.arange(extra.num_rows) + 10**4)
        return pa.concat_tables([t, extra])

    edit(folder, "orders", apply)
    after = validate_schema(schema, folder)
    lifts = {c.name: c for c in after.checks if "lift" in c.name}
    assert all(c.status == "pass" for c in lifts.values()), [(c.name, c.figure, c.threshold) for c in lifts.values()]
    assert 2.2 < lifts["sale lift"].metrics["value"] < 2.8
    assert abs(lifts["effect discount lift"].metrics["value"] - 0.8) < 0.03
    assert abs(lifts["effect keyed lift"].metrics["value"] - 25) < 5


def test_a_fail_constraint_stops_the_run_with_exit_1_and_no_output(tmp_path) -> None:
    schema = tmp_path / "s.yaml"
    schema.write_text(BASE.format(**GOOD).replace("range: {column: orders.amount, min: 0}",
                                                  "range: {column: orders.amount, min: 35}"), encoding="utf-8")
    done = cli("generate", "--schema", str(schema), "--out", str(tmp_path / "out"), "--workers", "2", "-q")
    assert done.returncode == 1, done.stderr
    assert "constraints.3: range orders.amount min 35 is broken by" in done.stderr
    assert not (tmp_path / "out").exists() and [p.name for p in tmp_path.iterdir()] == ["s.yaml"]
    # on_violation: report counts the rows into the manifest instead, and validate warns
    schema.write_text(schema.read_text().replace("min: 35}", "min: 35}\n    on_violation: report"), encoding="utf-8")
    done = cli("generate", "--schema", str(schema), "--out", str(tmp_path / "out"), "-q", "--format", "parquet")
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    amounts = pq.read_table(tmp_path / "out" / "orders.parquet").column("amount").to_numpy()
    assert manifest["constraints"] == [{"constraint": 3, "rule": "range orders.amount min 35",
                                        "violations": int((amounts < 35).sum())}]
    assert manifest["constraints"][0]["violations"] > 100
    check = validate_schema(schema, tmp_path / "out").check("constraints", "range orders.amount min 35")
    assert check.status == "warn" and check.metrics["violations"] == int((amounts < 35).sum())


def test_exit_codes_json_and_html(run, tmp_path) -> None:
    schema, out = run
    js, page = tmp_path / "r.json", tmp_path / "r.html"
    done = cli("validate", str(out), "--schema", str(schema), "--json", str(js), "--html", str(page))
    assert done.returncode == 0, done.stderr
    assert "Quality score 100.0/100" in done.stdout and "rows in 2 tables of schema val" in done.stdout
    data = json.loads(js.read_text())
    assert data["ok"] is True and data["score"] == 100.0 and data["schema"] == "val"
    weekend = next(c for c in data["checks"] if c["name"] == "weekend")
    assert weekend["group"] == "targets" and weekend["weight"] == 1.0
    assert weekend["metrics"]["allowed"] == [0.33, 0.40] and 0.33 <= weekend["metrics"]["value"] <= 0.40
    html = page.read_text()
    assert html.count("<svg") >= 5 and "<img" not in html
    for caption in ("orders.ordered_at: share by weekday vs expected", "orders.ordered_at: share by hour",
                    "orders per customers: children per parent vs fanout", "customers.tier: shares vs declared"):
        assert caption in html
    broken = copy(out, tmp_path)
    edit(broken, "orders", lambda t: replace(t, "amount", np.r_[-1.0, t.column("amount").to_numpy()[1:]]))
    done = cli("validate", str(broken), "--schema", str(schema), "-q", "--json", str(js))
    assert done.returncode == 1 and json.loads(js.read_text())["ok"] is False
    assert cli("validate", str(out), "--schema", str(schema), "-q", "--min-score", "101").returncode == 2
    missing = cli("validate", str(tmp_path / "nothing"), "--schema", str(schema))
    assert missing.returncode == 2 and missing.stderr.startswith("pii_gen: error: ")
    assert cli("validate", str(out), "--schema", str(tmp_path / "none.yaml")).returncode == 2


def test_effect_window_plot(tmp_path) -> None:
    plain = write(tmp_path, "plain", **GOOD)
    with_sale(plain)
    schema_run.generate_schema(plain, out=str(tmp_path / "o"), format="parquet", workers=1)
    from pii_gen.validate.html import render

    report = validate_schema(tmp_path / "e.yaml", tmp_path / "o")
    page = render(report, report.plots["svg"])
    assert "effect sale: rows per day, window shaded" in page and 'class="window"' in page


def test_population_checks_beside_the_schema(tmp_path) -> None:
    text = """\
version: 1
seed: 5
population: {size: 400, pii_mode: PII}
tables:
  people:
    kind: entity
    from: population
    key: id
    columns:
      id: {gen: sequence}
      ssn: {gen: person, field: ssn}
      phone: {gen: person, field: phone}
      email: {gen: person, field: email}
constraints:
  - unique: people.ssn
"""
    for mode in ("strict", "realistic"):
        (tmp_path / f"{mode}.yaml").write_text(text.replace("PII", mode), encoding="utf-8")
        schema_run.generate_schema(tmp_path / f"{mode}.yaml", out=str(tmp_path / mode), format="csv", workers=1)
    report = validate_schema(tmp_path / "strict.yaml", tmp_path / "strict")
    population = {c.name: c.status for c in report.checks if c.group == "population"}
    assert population == {"SSN structure and non-issuability: people.ssn": "pass",
                          "phone structure (NANP): people.phone": "pass",
                          "e-mail domain policy: people.email": "pass"}
    assert report.ok
    # realistic identifiers held to strict rules: every person column fails
    held = validate_schema(tmp_path / "realistic.yaml", tmp_path / "realistic", pii_mode="strict")
    assert {c.name for c in held.failed} == set(population)


def test_validate_db_on_postgresql(run, tmp_path) -> None:
    from pii_gen import api
    from pii_gen.config import build_config
    from pii_gen.db.loaders import connect
    from pii_gen.db.url import parse

    schema, _ = run
    url = server_url("PII_GEN_TEST_POSTGRES_URL")
    ns = f"v_{uuid.uuid4().hex[:10]}"
    try:
        api.generate_schema(schema, build_config({}, db=url, db_schema=ns, workers=1, quiet=True))
        done = cli("validate", "--db", url, "--db-schema", ns, "--schema", str(schema), "--json",
                   str(tmp_path / "r.json"))
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr
        data = json.loads((tmp_path / "r.json").read_text())
        assert data["score"] == 100.0 and data["rows"]["orders"] > 5000
        conn = connect(parse(url), ns)
        conn.execute(f"UPDATE {conn.table('orders')} SET amount = -5 WHERE order_id <= 3")
        conn.commit()
        conn.close()
        report = validate_schema(schema, db=url, db_schema=ns)
        assert [c.name for c in report.failed] == ["range orders.amount min 0"]
        assert report.check("constraints", "range orders.amount min 0").metrics["violations"] == 3
    finally:
        conn = connect(parse(url), ns)
        conn.execute(f"DROP SCHEMA IF EXISTS {conn.dialect.q(ns)} CASCADE")
        conn.commit()
        conn.close()


@pytest.mark.parametrize("seasonal", [False, True])
def test_a_generated_column_effect_gets_an_automatic_lift_unless_its_column_has_modify_steps(tmp_path, seasonal):
    """The engine's own effect, measured by validate: multiply 0.8 in June scores 0.8 within its tolerance; a
    seasonality on the column moves its mean outside the window too, so no lift is claimed for it."""
    text = BASE.format(**GOOD).replace("targets:\n", "effects:\n  - {name: june, table: orders, time: ordered_at, "
                                       "window: {start: 2024-06-01, end: 2024-06-30}, column: amount, "
                                       "multiply: 0.8, label: true}\ntargets:\n", 1)
    if seasonal:
        text = text.replace("mean: 40, sd: 10, min: 0}", "mean: 40, sd: 10, min: 0, modify: [{seasonality: "
                            "{on: ordered_at, month: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1.3, 1.5], mode: multiply}}]}")
        text = text.replace("between: [38, 42]", "between: [38, 46]").replace(
            "metric: ks, table: orders, column: amount, max: 0.02", "metric: ks, table: orders, column: amount, max: 1")
    schema = tmp_path / "fx.yaml"
    schema.write_text(text, encoding="utf-8")
    schema_run.generate_schema(schema, out=str(tmp_path / "out"), format="parquet", workers=1)
    report = validate_schema(schema, tmp_path / "out")
    lifts = [c for c in report.checks if c.name == "effect june lift"]
    if seasonal:
        assert lifts == []
    else:
        assert len(lifts) == 1 and lifts[0].status == "pass", (lifts[0].figure, lifts[0].threshold)
        measured = float(lifts[0].figure.split()[1])  # "lift 0.7994 (expected 0.8)"
        assert abs(measured - 0.8) < 0.02, lifts[0].figure


def test_the_html_report_renders_in_chromium(tmp_path) -> None:
    """The page as a browser draws it: the score, every check's row and every plot visible with a size,
    plots fitted to a narrow window, no console error, and a screenshot that is not blank."""
    sync_playwright, chromium = browser()
    plain = write(tmp_path, "plain", **GOOD)
    schema = with_sale(plain)
    schema_run.generate_schema(schema, out=str(tmp_path / "o"), format="parquet", workers=1)
    page_file, js = tmp_path / "r.html", tmp_path / "r.json"
    done = cli("validate", str(tmp_path / "o"), "--schema", str(schema), "--html", str(page_file), "--json", str(js))
    assert done.returncode in (0, 1), done.stderr
    data = json.loads(js.read_text())
    captions = [cap for cap, _ in validate_schema(schema, tmp_path / "o").plots["svg"]]
    assert "effect sale: rows per day, window shaded" in captions and len(captions) >= 6
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, headless=True)
        try:
            page = b.new_page(viewport={"width": 1200, "height": 900})
            problems: list[str] = []
            page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning")
                    else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
            page.goto(page_file.as_uri())
            page.wait_for_load_state("load")
            score = page.locator(".score")
            assert score.is_visible() and score.inner_text() == f"{data['score']:.1f}/100"
            for check in data["checks"]:
                if check["group"] not in ("targets", "auto targets"):
                    continue
                row = page.locator("tr", has=page.locator("td", has_text=check["name"])).filter(
                    has_text=check["figure"]).last
                assert row.is_visible(), check["name"]
                box = row.bounding_box()
                assert box is not None and box["width"] > 100 and box["height"] > 5, (check["name"], box)
                assert row.locator(".verdict").inner_text() == check["status"]
            figures = page.locator("figure")
            assert figures.count() == len(captions)
            for i, caption in enumerate(captions):
                figure = figures.nth(i)
                assert figure.locator("figcaption").inner_text() == caption
                svg = figure.locator("svg")
                box = svg.bounding_box()
                assert svg.is_visible() and box is not None and box["width"] > 300 and box["height"] > 100, box
                drawn = svg.locator("rect, polyline")
                assert drawn.count() >= 2 and drawn.first.bounding_box()["height"] > 1
            shot = page.screenshot(full_page=True)
            page.set_viewport_size({"width": 420, "height": 800})  # a phone: plots shrink to fit, not cut off
            assert page.evaluate("document.documentElement.scrollWidth") <= 420  # and nothing scrolls sideways
            for i in range(figures.count()):
                svg = figures.nth(i).locator("svg")
                box = svg.bounding_box()
                assert box is not None and 200 < box["width"] <= 420 and box["height"] > 60, box
                right = max(t["x"] + t["width"] for t in svg.locator("text").evaluate_all(
                    "ts => ts.map(t => { const r = t.getBoundingClientRect(); return {x: r.x, width: r.width}; })"))
                assert right <= box["x"] + box["width"] + 1, (captions[i], right, box)  # the legend is inside
            assert problems == []
        finally:
            b.close()
    import matplotlib.image

    pixels = matplotlib.image.imread(io.BytesIO(shot), format="png")[..., :3]
    assert pixels.shape[0] > 900 and pixels.shape[1] == 1200
    assert pixels.std() > 0.05  # not one colour
    blue = (np.abs(pixels - np.array([0x3B, 0x6E, 0xA8]) / 255).max(axis=2) < 0.03).mean()
    orange = (np.abs(pixels - np.array([0xE0, 0x8A, 0x2C]) / 255).max(axis=2) < 0.03).mean()
    assert blue > 0.005 and orange > 0.005, (blue, orange)  # the bars themselves were painted


def effect_schema(tmp: Path, *effects: dict, targets: tuple[dict, ...] = ()) -> Path:
    """The effects tests' orders (a ref to stores, windows per store in ``promos``) with these effects, as a
    file: one window per store here, none overlapping, so a rate's lift is the rate itself."""
    from test_schema_effects import BASE as FX

    data = json.loads(json.dumps(FX))
    data["tables"]["customers"]["rows"] = 9_000
    data["tables"]["promos"]["data"] = [
        {"store_id": 1, "starts_at": "2024-03-01", "ends_at": "2024-03-10", "lift": 1.5},
        {"store_id": 2, "starts_at": "2024-06-01", "ends_at": "2024-06-05", "lift": 2.0},
        {"store_id": 4, "starts_at": "2024-09-01T12:00:00", "ends_at": "2024-09-02T06:00:00", "lift": 0.5}]
    data["effects"] = list(effects)
    data["targets"] = list(targets)
    path = tmp / f"fx_{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


PROMO = {"table": "promos", "start": "starts_at", "end": "ends_at", "on": {"store_id": "store_id"}}


def test_effect_lift_of_windows_from_a_table(tmp_path) -> None:
    """A rate whose windows come from a table (one per store) is measured and scored: its lift pools the
    stores, each inside its own window, and equals the rate within sampling error (and a store's own
    rows per day, counted here in SQL, agree); the plain run fails it.  A column effect multiplying by each
    window's ``value`` is compared with the mean value of the rows inside."""
    rush = {"name": "rush", "table": "orders", "time": "ordered_at", "source": PROMO, "rate": 3.0}
    price = {"name": "price", "table": "orders", "time": "ordered_at", "source": {**PROMO, "value": "lift"},
             "column": "amount", "multiply": "value"}
    target = {"name": "rush lift", "metric": "effect_lift", "effect": "rush", "between": [2.7, 3.3]}
    schema = effect_schema(tmp_path, rush, price, targets=(target,))
    schema_run.generate_schema(schema, out=str(tmp_path / "o"), format="parquet", workers=1)
    report = validate_schema(schema, tmp_path / "o")
    declared, auto = report.check("targets", "rush lift"), report.check("auto targets", "effect rush lift")
    assert declared.status == "pass" and auto.status == "pass", (declared.figure, auto.figure, auto.threshold)
    m = auto.metrics
    assert m["expected"] == pytest.approx(3.0) and m["keys"] == 3
    assert abs(m["value"] - 3.0) < 4 * 3.0 * m["rel_se"] and m["rel_se"] < 0.06, m
    assert declared.metrics["value"] == m["value"]
    orders = pq.read_table(tmp_path / "o" / "orders.parquet")
    ts = orders.column("ordered_at").to_numpy().astype("datetime64[D]")
    store = orders.column("store_id").to_numpy()
    one = store == 1
    inside = one & (ts >= np.datetime64("2024-03-01")) & (ts <= np.datetime64("2024-03-10"))
    by_hand = (inside.sum() / 10) / ((one & ~inside).sum() / 356)
    assert abs(by_hand - 3.0) < 4 * 3.0 * math.sqrt(1 / inside.sum() + 1 / (one & ~inside).sum()), by_hand
    # the ledger-free column effect: amounts x1.5 / x2.0 / x0.5 inside each store's window, pooled
    value = report.check("auto targets", "effect price lift")
    assert value.status == "pass" and 0.5 < value.metrics["expected"] < 2.0, (value.figure, value.threshold)
    assert "effect rush: rows per day, window shaded" in [c for c, _ in report.plots["svg"]]
    page = next(p for c, p in report.plots["svg"] if c == "effect rush: rows per day, window shaded")
    assert page.count('class="window"') == 3
    # the same file over a run without the effects: the rate's lift is 1, both checks fail
    plain = effect_schema(tmp_path)
    schema_run.generate_schema(plain, out=str(tmp_path / "p"), format="parquet", workers=1)
    before = validate_schema(schema, tmp_path / "p")
    assert before.check("targets", "rush lift").status == "fail"
    assert abs(before.check("auto targets", "effect rush lift").metrics["value"] - 1.0) < 0.2
    assert before.check("auto targets", "effect price lift").status == "fail"


def test_fanout_auto_targets_account_for_rate_effects(tmp_path) -> None:
    """A fanout on a table a rate grows is checked against the fanout grown as the engine grows it: a
    global rate's mean is the fanout's times the windows' extra mass (computed here from the weekday
    weights), a rate keyed by the parent mixes grown and plain parents; runs made with the effect pass, the
    plain run (the same file without it) fails the mean."""
    plain = write(tmp_path, "plain", **GOOD)
    schema = with_sale(plain)
    schema_run.generate_schema(schema, out=str(tmp_path / "o"), format="parquet", workers=1)
    schema_run.generate_schema(plain, out=str(tmp_path / "p"), format="parquet", workers=1)
    days = np.arange(np.datetime64("2024-01-01"), np.datetime64("2025-01-01"))
    weights = np.array([1, 1, 1, 1, 1.2, 1.6, 1.5])[(days.astype(np.int64) + 3) % 7]
    november = (days >= np.datetime64("2024-11-01")) & (days < np.datetime64("2024-12-01"))
    growth = (weights * np.where(november, 2.5, 1)).sum() / weights.sum()
    grown = validate_schema(schema, tmp_path / "o")
    mean, dispersion = grown.check("auto targets", "fanout orders mean"), grown.check("auto targets",
                                                                                      "fanout orders dispersion")
    assert mean.status == "pass" and dispersion.status == "pass", (mean.figure, dispersion.figure)
    assert mean.metrics["expected"] == pytest.approx(3 * growth, rel=1e-6)
    # Poisson(3) grown by Poisson(count x (g - 1)): variance 3 g^2 + 3 (g - 1), over the mean 3 g
    assert dispersion.metrics["expected"] == pytest.approx(growth + (growth - 1) / growth, rel=1e-6)
    assert validate_schema(schema, tmp_path / "p").check("auto targets", "fanout orders mean").status == "fail"
    # keyed by the parent: the vip customers' children grow, the others' do not
    vip = {"name": "vip", "table": "orders", "time": "ordered_at", "rate": 4.0,
           "window": {"start": "2024-11-01", "end": "2024-11-30"},
           "where": "lookup(customer_id, customers.segment) == 'vip'"}
    keyed = effect_schema(tmp_path, vip)
    data = json.loads(keyed.read_text())
    data["tables"]["customers"]["columns"]["segment"] = {"gen": "choice", "values": ["vip", "regular"],
                                                         "weights": [0.3, 0.7]}
    keyed.write_text(json.dumps(data), encoding="utf-8")
    schema_run.generate_schema(keyed, out=str(tmp_path / "k"), format="parquet", workers=1)
    report = validate_schema(keyed, tmp_path / "k")
    mean = report.check("auto targets", "fanout orders mean")
    share = pc.mean(pc.equal(pq.read_table(tmp_path / "k" / "customers.parquet").column("segment"), "vip")).as_py()
    g = 1 + 3 * 30 / 366  # a flat year, 30 days x4
    assert mean.status == "pass", (mean.figure, mean.threshold)
    assert mean.metrics["expected"] == pytest.approx(4 * (share * g + 1 - share), rel=1e-6)
    assert report.check("auto targets", "fanout orders dispersion").status == "pass"
    assert report.check("auto targets", "effect vip lift").status == "pass"
    data["effects"] = []
    keyed.write_text(json.dumps(data), encoding="utf-8")
    schema_run.generate_schema(keyed, out=str(tmp_path / "kp"), format="parquet", workers=1)
    data["effects"] = [vip]
    keyed.write_text(json.dumps(data), encoding="utf-8")
    assert validate_schema(keyed, tmp_path / "kp").check("auto targets", "fanout orders mean").status == "fail"
