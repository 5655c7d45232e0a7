"""``pii_gen import``: templates, JSON samples and a paged REST API become schema files that load and generate,
with foreign keys that resolve, PII bound to strict-mode population people, and nothing row-level copied."""

from __future__ import annotations

import copy
import csv
import json
import re
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from pii_gen import dsl, schema_run
from pii_gen.errors import ConfigError
from pii_gen.importers.build import break_cycles, build_schema
from pii_gen.importers.infer import column_from_values, fit_fanout
from pii_gen.importers.pii import classify
from pii_gen.importers.run import import_template
from pii_gen.importers.samples import tables_from_records
from pii_gen.importers.source import ColumnStats, ForeignKey, SourceColumn, SourceTable
from pii_gen.packs.person.identifiers import ssn_is_issuable

HR = {
    "name": "hr", "source_type": "rest_api", "base_url": "https://api.example.com/v1",
    "entities": [
        {"name": "teams", "table_name": "bronze_hr_teams", "row_count": 6, "endpoint": "/team", "fields": [
            {"name": "id", "type": "string", "is_primary_key": True},
            {"name": "name", "type": "string", "faker_method": "random_element",
             "faker_args": {"elements": ["Ops", "Data", "Web"]}},
            {"name": "budget", "type": "number", "faker_method": "pyfloat",
             "faker_args": {"min_value": 1000, "max_value": 5000, "right_digits": 2}},
        ]},
        {"name": "employees", "table_name": "bronze_hr_employees", "row_count": 150, "endpoint": "/employee",
         "fields": [
             {"name": "id", "type": "integer", "is_primary_key": True},
             {"name": "firstName", "type": "string", "is_pii": True, "faker_method": "first_name"},
             {"name": "lastName", "type": "string", "is_pii": True, "faker_method": "last_name"},
             {"name": "email", "type": "string", "is_pii": True, "faker_method": "email"},
             {"name": "phone", "type": "string", "is_pii": True, "faker_method": "phone_number"},
             {"name": "born", "type": "date", "faker_method": "date_of_birth"},
             {"name": "badge", "type": "string", "faker_method": "bothify", "faker_args": {"text": "B-##-??"}},
             {"name": "age", "type": "integer", "faker_method": "random_int", "faker_args": {"min": 18, "max": 65}},
             {"name": "hired", "type": "date", "faker_method": "date_between",
              "faker_args": {"start_date": "-5y", "end_date": "today"}},
             {"name": "token", "type": "string", "faker_method": "uuid4"},
             {"name": "teamId", "type": "string", "foreign_key": "teams.id"},
             {"name": "level", "type": "string", "faker_method": "random_element",
              "faker_args": {"elements": ["junior", "senior"]}},
         ]},
    ],
    "relationships": [{"from": "employees.teamId", "to": "teams.id"}],
}

STRICT_EMAIL = re.compile(r"@([\w-]+\.)*(example|test|invalid)(\.(com|net|org))?$")
STRICT_PHONE = re.compile(r"^\d{3}-555-01\d\d$")


def _write(tmp_path: Path, data: Any, name: str = "hr.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _strict(emails: list[str] = (), phones: list[str] = (), ssns: list[str] = ()) -> None:  # type: ignore[assignment]
    """Every e-mail on a reserved domain, every phone a fictional 555-01XX line, no SSN the SSA could issue."""
    assert all(STRICT_EMAIL.search(e) for e in emails), emails[:5]
    assert all(STRICT_PHONE.match(p) for p in phones), phones[:5]
    if ssns:
        parts = np.array([[int(x) for x in s.split("-")] for s in ssns])
        assert not ssn_is_issuable(parts[:, 0], parts[:, 1], parts[:, 2]).any()


def test_a_template_with_faker_methods_becomes_a_schema_that_generates_with_resolving_keys(tmp_path):
    result = import_template(_write(tmp_path, HR))
    tables = result.schema["tables"]
    assert list(tables) == ["teams", "employees"]
    emp = tables["employees"]
    assert emp["from"] == "population" and emp["rows"] == 150
    cols = emp["columns"]
    assert cols["firstName"] == {"gen": "person", "field": "first_name"}
    assert cols["email"] == {"gen": "person", "field": "email"}
    assert cols["born"] == {"gen": "person", "field": "date_of_birth"}
    assert cols["id"]["gen"] == "sequence" and tables["teams"]["columns"]["id"]["gen"] == "uuid"
    assert cols["badge"] == {"gen": "pattern", "template": "B-##-??", "type": "string"}
    assert cols["age"] == {"gen": "distribution", "dist": "uniform", "min": 18, "max": 65, "integer": True,
                           "type": "int"}
    assert cols["hired"]["start"] == "date_add(calendar.end, -5, 'year')"
    assert cols["teamId"] == {"gen": "ref", "to": "teams"}
    assert "# PII: email (Faker method email)" in result.text

    out = tmp_path / "out"
    schema_run.generate_schema(dsl.loads(result.text), out=str(out), seed=5)
    teams, emps = _csv(out / "teams.csv"), _csv(out / "employees.csv")
    assert len(teams) == 6 and len(emps) == 150
    assert {e["teamId"] for e in emps} <= {t["id"] for t in teams}
    assert len({e["teamId"] for e in emps}) > 3
    assert {t["name"] for t in teams} <= {"Ops", "Data", "Web"}
    assert all(1000 <= float(t["budget"]) <= 5000 for t in teams)
    assert {e["level"] for e in emps} == {"junior", "senior"}
    assert all(re.fullmatch(r"B-\d\d-[A-Z]{2}", e["badge"]) for e in emps)
    assert all(18 <= int(e["age"]) <= 65 for e in emps)
    assert [int(e["id"]) for e in emps] == list(range(1, 151))
    emails, phones = [e["email"] for e in emps if e["email"]], [e["phone"] for e in emps if e["phone"]]
    assert len(emails) > 50 and len(phones) > 50
    _strict(emails, phones)


def test_a_template_cycle_is_one_line_naming_the_edge(tmp_path, cli):
    hr = copy.deepcopy(HR)
    hr["entities"][0]["fields"].append({"name": "leadId", "type": "integer", "foreign_key": "employees.id"})
    code, out, err = cli("import", "--template", str(_write(tmp_path, hr)), "--out", "-")
    assert code == 2 and out == ""
    assert err == ("pii_gen: error: entities teams <-> employees reference each other: make employees.teamId "
                   "nullable or drop one edge\n")
    # a nullable edge breaks the cycle there, and the file loads and generates
    hr["entities"][0]["fields"][-1]["nullable"] = True
    result = import_template(_write(tmp_path, hr))
    lead = result.schema["tables"]["teams"]["columns"]["leadId"]
    assert lead == {"gen": "ref", "to": "employees", "null_rate": 0.1}  # generated before its target
    assert "closes a reference cycle" in result.text
    schema_run.generate_schema(dsl.loads(result.text), out=str(tmp_path / "out"), seed=3, format="parquet")
    teams, employees = (pq.read_table(tmp_path / "out" / f"{t}.parquet") for t in ("teams", "employees"))
    leads = {v for v in teams.column("leadId").to_pylist() if v is not None}
    assert leads and leads <= set(employees.column("id").to_pylist())


def test_a_three_table_cycle_without_a_nullable_edge_is_refused():
    def table(name: str, target: str) -> SourceTable:
        return SourceTable(name, [SourceColumn("id", "int", nullable=False), SourceColumn("x", "int", nullable=False)],
                           key=["id"], foreign_keys=[ForeignKey(["x"], target, ["id"])])

    with pytest.raises(ConfigError, match=r"^tables a -> b -> c -> a reference each other in a cycle: make c.x "):
        break_cycles([table("a", "b"), table("b", "c"), table("c", "a")])


@pytest.mark.parametrize("field, error", [
    ({"name": "x", "type": "text"}, "hr.json: entities[0].fields[3].type: Input should be 'string', 'integer'"),
    ({"name": "x", "colour": "red"}, "hr.json: entities[0].fields[3].colour: unknown key"),
    ({"name": "x", "foreign_key": "nowhere.id"}, "hr.json: entities[0].fields[3].foreign_key: no entity named "
                                                 "'nowhere'"),
])
def test_a_wrong_template_field_is_one_line(tmp_path, cli, field, error):
    hr = copy.deepcopy(HR)
    hr["entities"][0]["fields"].append(field)
    code, out, err = cli("import", "--template", str(_write(tmp_path, hr)), "--out", "-")
    assert code == 2 and err.startswith(f"pii_gen: error: {error}") and err.count("\n") == 1


def test_unreadable_json_and_a_file_in_the_way_are_one_line(tmp_path, cli):
    bad = tmp_path / "bad.json"
    bad.write_text("{nope", encoding="utf-8")
    code, _, err = cli("import", "--json", str(bad), "--out", "-")
    assert code == 2 and err.startswith("pii_gen: error: 'bad.json' is not valid JSON") and err.count("\n") == 1
    there = tmp_path / "schema.yaml"
    there.write_text("keep", encoding="utf-8")
    code, _, err = cli("import", "--template", str(_write(tmp_path, HR)), "--out", str(there))
    assert code == 2 and "already exists; pass --force" in err and there.read_text() == "keep"
    code, _, err = cli("import", "--template", str(_write(tmp_path, HR)), "--out", str(there), "--force",
                        "-q")
    assert code == 0 and dsl.load(there).tables["employees"].from_ == "population"


def test_generate_template_runs_end_to_end(tmp_path, cli):
    out = tmp_path / "out"
    code, _, err = cli("generate", "--template", str(_write(tmp_path, HR)), "--out", str(out), "--seed", "3",
                        "--scale", "2", "--format", "jsonl")
    assert code == 0, err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tables"]["teams"]["rows"] == 12 and manifest["tables"]["employees"]["rows"] == 300
    rows = [json.loads(line) for line in (out / "employees.jsonl").read_text().splitlines()]
    teams = {json.loads(line)["id"] for line in (out / "teams.jsonl").read_text().splitlines()}
    assert len(rows) == 300 and {r["teamId"] for r in rows} <= teams
    code, _, err = cli("generate", "--template", str(_write(tmp_path, HR)), "-n", "5")
    assert code == 2 and "-n/--count does not apply to --template FILE" in err


# --- PII detection ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, values, field", [
    ("firstName", [], "first_name"), ("LAST_NAME", [], "last_name"), ("surname", [], "last_name"),
    ("customer_name", [], "full_name"), ("emailAddress", [], "email"), ("contact", ["a.b@x.org"] * 5, "email"),
    ("mobile", [], "phone"), ("home_phone", [], "phone"), ("ref", ["(212) 555-7788", "212-555-1234"], "phone"),
    ("ssn", [], "ssn"), ("tax_ref", ["123-45-6789"] * 5, "ssn"), ("dob", [], "date_of_birth"),
    ("billing_address_city", [], "city"), ("postalCode", [], "zip_code"), ("zip", ["10001"] * 5, "zip_code"),
    ("cardNumber", [], "card_number"), ("pan_ref", ["4111 1111 1111 1111"] * 4, "card_number"),
    ("iban", [], "account_number"), ("passport_no", [], "national_id"), ("national_id", [], "national_id"),
])
def test_pii_is_detected_by_name_and_by_value_shape(name, values, field):
    col = SourceColumn(name, "date" if field == "date_of_birth" else "string", examples=values)
    assert classify(col)[0] == field


@pytest.mark.parametrize("name, values", [
    ("status", ["open", "paid"]), ("amount", ["12.50"]), ("pan_ref", ["4111 1111 1111 1112"] * 4),
    ("code", ["123-45-678"]), ("title", ["Dr"]), ("state", ["active", "closed"]), ("zip", ["n/a"]),
])
def test_ordinary_columns_are_not_pii(name, values):
    assert classify(SourceColumn(name, "string", examples=values)) is None


def test_lone_card_and_email_columns_get_safe_patterns_and_say_so():
    t = SourceTable("payments", [SourceColumn("id", "int"), SourceColumn("card_number", "string"),
                                 SourceColumn("receipt_email", "string"), SourceColumn("amount", "float")],
                    key=["id"], rows=30)
    schema, found = build_schema([t])
    cols = schema["tables"]["payments"]["columns"]
    assert "from" not in schema["tables"]["payments"]
    assert cols["card_number"] == {"gen": "pattern", "template": "0###############"}
    assert cols["receipt_email"] == {"gen": "pattern", "template": "user########@example.com"}
    why = {d.column: d.comment for d in found}
    assert why["card_number"].startswith("PII: card_number (name 'card_number'; pattern 0###") \
        and "MII 0" in why["card_number"]


# --- a database-like source: composite and self references, stats ---------------------------------------------

def test_composite_and_self_references_and_stats_become_lookups_refs_and_fitted_generators():
    stats = ColumnStats(count=200, nulls=20, categories={"new": 120, "done": 60})
    lines = SourceTable("order_lines", [SourceColumn("order_no", "int", nullable=False),
                                        SourceColumn("line_no", "int", nullable=False),
                                        SourceColumn("qty", "int", stats=ColumnStats(
                                            count=50, distribution={"dist": "poisson", "mean": 2.0}))],
                        key=["order_no", "line_no"], rows=40)
    staff = SourceTable("staff", [SourceColumn("id", "string", nullable=False),
                                  SourceColumn("boss", "int", stats=ColumnStats(count=100, nulls=25)),
                                  SourceColumn("state", "string", stats=stats),
                                  SourceColumn("seen", "timestamp", stats=ColumnStats(
                                      count=100, start="2024-01-01", end="2024-06-30",
                                      weekday=[2, 2, 2, 2, 2, 1, 1], hour=[0] * 8 + [1] * 10 + [0] * 6))],
                        key=["id"], foreign_keys=[ForeignKey(["boss"], "staff", ["id"])], rows=50)
    ships = SourceTable("shipments", [SourceColumn("id", "int", nullable=False),
                                      SourceColumn("order_no", "int"), SourceColumn("line_no", "int")],
                        key=["id"], foreign_keys=[ForeignKey(["order_no", "line_no"], "order_lines",
                                                             ["order_no", "line_no"])], rows=60)
    schema, _ = build_schema([ships, lines, staff], "erp")
    assert list(schema["tables"]) == ["order_lines", "shipments", "staff"]  # parents first
    s = schema["tables"]["shipments"]["columns"]
    assert s["order_no"] == {"gen": "ref", "to": "order_lines", "with": ["line_no"]}  # one composite foreign key
    assert s["line_no"] == {"gen": "lookup", "via": "order_no", "column": "line_no"}
    st = schema["tables"]["staff"]["columns"]
    assert st["boss"] == {"gen": "ref", "to": "self", "root_share": 0.25}
    assert st["id"] == {"gen": "sequence", "format": "{:08d}", "type": "string"}  # a self reference needs one
    assert st["state"] == {"gen": "choice", "values": ["new", "done"], "weights": [120, 60], "type": "string",
                           "null_rate": 0.1}
    assert st["seen"]["gen"] == "datetime_series" and st["seen"]["within"] == ["2024-01-01", "2024-06-30"]
    made = schema_run.preview(dsl.loads(json.dumps(schema), json_text=True), rows=60)
    pairs = set(zip(made["order_lines"]["order_no"].to_pylist(), made["order_lines"]["line_no"].to_pylist()))
    shipped = set(zip(made["shipments"]["order_no"].to_pylist(), made["shipments"]["line_no"].to_pylist()))
    assert shipped <= pairs and len(shipped) > 5
    bosses = made["staff"]["boss"].to_pylist()
    assert 0 < bosses.count(None) < len(bosses) and set(bosses) - {None} <= set(made["staff"]["id"].to_pylist())


def test_fanout_is_fitted_from_per_parent_counts():
    assert fit_fanout([2, 2, 2]) == {"dist": "fixed", "n": 2}
    rng = np.random.default_rng(1)
    poisson = fit_fanout(rng.poisson(3.0, 2000).tolist())
    assert poisson["dist"] == "poisson" and abs(poisson["mean"] - 3.0) < 0.15
    spread = fit_fanout(rng.negative_binomial(2, 0.4, 2000).tolist())  # mean 3, variance 7.5: dispersion 2
    assert spread["dist"] == "negbin" and abs(spread["mean"] - 3.0) < 0.2 and 1.5 < spread["dispersion"] < 2.6


def test_categories_need_ten_occurrences():
    col = column_from_values("tier", ["gold"] * 30 + ["silver"] * 12 + ["rare"] * 2)
    assert col.stats.categories == {"gold": 30, "silver": 12}


# --- a paged REST API with a bearer token ----------------------------------------------------------------------

TOKEN = "s3cr3t-T0ken-xyz"


def _customers(n: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(7)
    tiers = ["gold", "silver", "bronze"]
    out = []
    for i in range(1, n + 1):
        orders = [{"id": i * 100 + j,
                   "placedAt": f"2024-{1 + j % 9:02d}-{10 + i % 18:02d}T{8 + (i * j) % 12:02d}:15:00Z",
                   "amount": round(float(rng.lognormal(3, 0.5)), 2), "status": ["paid", "open"][j % 2],
                   "items": [{"sku": f"SKU-{int(rng.integers(1000, 9999))}", "qty": int(rng.integers(1, 4))}
                             for _ in range(int(rng.integers(1, 4)))]}
                  for j in range(int(rng.poisson(2.0)))]
        out.append({"id": i, "firstName": f"Zed{i:03d}x", "lastName": f"Quill{i:03d}y", "email": f"zq{i}@mailbox.com",
                    "phone": f"212-{300 + i}-{4000 + i}", "ssn": f"{100 + i}-{10 + i % 80}-{2000 + i}",
                    "tier": tiers[i % 3], "teamId": 1 + i % 4, "note": f"unique note {i}",
                    "address": {"street": f"{i} Elm Street", "city": ["Dayton", "Akron"][i % 2], "zip": f"4{i:04d}"},
                    "orders": orders})
    return out


class _Api(BaseHTTPRequestHandler):
    records = _customers(90)

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self.send_response(401)
            self.end_headers()
            return
        page = int(self.path.rpartition("page=")[2] or 1) if "page=" in self.path else 1
        chunk = self.records[(page - 1) * 30: page * 30]
        body: dict[str, Any] = {"data": chunk}
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if page == 1:
            body["links"] = {"next": "/v1/customers?page=2"}  # a relative link in the body
        elif page == 2:
            self.send_header("Link", f'<http://{self.headers["Host"]}/v1/customers?page=3>; rel="next"')
        self.end_headers()
        self.wfile.write(json.dumps(body).encode())


@pytest.fixture()
def api_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/customers"
    server.shutdown()
    server.server_close()


def test_a_paged_api_with_a_token_becomes_child_tables_with_fanout_keys_and_bound_pii(tmp_path, cli, api_url):
    code, out, err = cli("import", "--url", api_url, "--out", "-")
    assert code == 2 and err == f"pii_gen: error: HTTP 401 Unauthorized from GET {api_url} (check --header)\n"

    target = tmp_path / "shop.yaml"
    code, out, err = cli("import", "--url", f"{api_url}?token={TOKEN}", "--header",
                          f"Authorization: Bearer {TOKEN}", "--out", str(target), "--name", "shop")
    assert code == 0, err
    text = target.read_text()
    assert TOKEN not in out + err + text and "90 records in 3 pages" in err
    schema = dsl.load(target)
    assert list(schema.tables) == ["customers", "orders", "items"]
    customers, orders, items = (schema.tables[n] for n in ("customers", "orders", "items"))
    assert customers.from_ == "population" and customers.rows == 90
    assert {c: customers.columns[c].field for c in ("firstName", "email", "phone", "ssn", "address_street",
                                                    "address_city", "address_zip")} == {
        "firstName": "first_name", "email": "email", "phone": "phone", "ssn": "ssn", "address_street": "street",
        "address_city": "city", "address_zip": "zip_code"}
    assert "# PII: email (name 'email', values look like e-mail)" in text
    assert orders.kind == "fact" and orders.parent == "customers" and orders.parent_column == "customer_id"
    assert orders.fanout.dist in ("poisson", "negbin") and 1.5 < orders.fanout.mean < 2.5
    assert items.parent == "orders" and items.parent_column == "order_id" and 1.6 < items.fanout.mean < 2.4
    assert customers.columns["tier"].gen == "choice" and orders.columns["status"].gen == "choice"
    assert orders.columns["placedAt"].gen == "datetime_series"
    assert items.columns["sku"].template == "SKU-####"

    # nothing row-level: no value seen fewer than 10 times in the sample is in the file
    seen: Counter[str] = Counter()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, (str, float)) and len(str(value)) >= 4:
            seen[str(value)] += 1

    walk(_Api.records)
    rare = [v for v, n in seen.items() if n < 10]
    # as whole values: a rare "40081" may be the digits of a fitted 1.940081 by chance, which leaks nothing
    leaked = [v for v in rare if re.search(rf"(?<![\w.]){re.escape(v)}(?![\w.])", text)]
    assert len(rare) > 500 and not leaked

    out_dir = tmp_path / "gen"
    schema_run.generate_schema(target, out=str(out_dir), seed=2)
    people = _csv(out_dir / "customers.csv")
    emails, phones = [p["email"] for p in people if p["email"]], [p["phone"] for p in people if p["phone"]]
    ssns = [p["ssn"] for p in people if p["ssn"]]
    assert len(emails) > 30 and len(phones) > 30 and len(ssns) > 30
    _strict(emails, phones, ssns)
    ids = {p["id"] for p in people}
    made_orders = _csv(out_dir / "orders.csv")
    assert made_orders and {o["customer_id"] for o in made_orders} <= ids
    assert {i["order_id"] for i in _csv(out_dir / "items.csv")} <= {o["id"] for o in made_orders}


def test_json_samples_link_id_fields_and_nested_objects():
    people = [{"id": i, "office": {"id": 1 + i % 3, "floor": i % 3}} for i in range(40)]
    tables = {t.name: t for t in tables_from_records(people, "staff")}
    assert [(fk.columns, fk.table, fk.fanout) for fk in tables["staff"].foreign_keys] == [(["office_id"], "office",
                                                                                          None)]
    assert tables["office"].rows == 3 and tables["office"].key == ["id"]
    orgs = [{"id": o, "team_id": o * 10, "teams": [{"id": o * 10 + k} for k in range(2)]} for o in range(1, 21)]
    found = {t.name: t for t in tables_from_records(orgs, "orgs")}
    assert {(fk.columns[0], fk.table) for fk in found["orgs"].foreign_keys} == {("team_id", "teams")}
    assert found["teams"].foreign_keys[0].fanout == {"dist": "fixed", "n": 2}


def test_db_import_goes_to_the_database_reader_or_says_it_is_missing(tmp_path, cli, monkeypatch):
    import importlib.util

    from pii_gen.importers import run

    if importlib.util.find_spec(run.DATABASE_MODULE) is None:
        code, _, err = cli("import", "--db", "postgresql://u:pw123456@127.0.0.1/x", "--out", "-")
        assert code == 2 and err == "pii_gen: error: --db import is not available in this version yet " \
                                    "(no database reader)\n"
    # whatever reads the database, its tables are built and written like any other source's
    seen: dict[str, Any] = {}

    class Reader:
        @staticmethod
        def reflect(url: str, db_schema: str | None = None, tables: list[str] | None = None,
                    sample: int | None = None) -> list[SourceTable]:
            seen.update(url=url, db_schema=db_schema, tables=tables, sample=sample)
            return [SourceTable("accounts", [SourceColumn("id", "bigint", nullable=False, identity=True),
                                             SourceColumn("iban", "string(34)")], key=["id"], rows=20)]

    monkeypatch.setattr(run.importlib, "import_module", lambda name: Reader)
    code, out, err = cli("import", "--db", "postgresql://u:pw123456@127.0.0.1/bank", "--db-schema", "s",
                          "--tables", "accounts, cards", "--sample", "50", "--out", "-")
    assert code == 0, err
    assert seen == {"url": "postgresql://u:pw123456@127.0.0.1/bank", "db_schema": "s", "tables": ["accounts", "cards"],
                    "sample": 50}
    assert "pw123456" not in out + err and "database postgresql://u:***@127.0.0.1/bank" in out
    assert dsl.loads(out).tables["accounts"].columns["iban"].template == "0000########"


def test_each_table_of_people_takes_its_own_people(tmp_path):
    def people(name: str, rows: int) -> dict[str, Any]:
        return {"name": name, "row_count": rows, "fields": [
            {"name": "id", "type": "integer", "is_primary_key": True},
            {"name": "full_name", "type": "string"}, {"name": "ssn", "type": "string"}]}

    result = import_template(_write(tmp_path, {"name": "two", "entities": [people("customers", 120),
                                                                          people("staff", 80)]}))
    tables = result.schema["tables"]
    assert "start" not in tables["customers"] and tables["staff"]["start"] == 120
    assert result.schema["population"]["size"] == 200
    out = tmp_path / "out"
    schema_run.generate_schema(result.model, out=str(out), seed=1)
    customers, staff = _csv(out / "customers.csv"), _csv(out / "staff.csv")
    assert len(customers) == 120 and len(staff) == 80
    assert not {c["ssn"] for c in customers} & {s["ssn"] for s in staff}
    _strict(ssns=[c["ssn"] for c in customers + staff])
    # At a larger scale the people ranges scale with the rows: 1..300 and 301..500 of 500, still disjoint.
    schema_run.generate_schema(result.model, out=str(tmp_path / "big"), seed=1, scale=2.5)
    customers, staff = _csv(tmp_path / "big" / "customers.csv"), _csv(tmp_path / "big" / "staff.csv")
    assert len(customers) == 300 and len(staff) == 200
    assert not {c["ssn"] for c in customers} & {s["ssn"] for s in staff}
    assert len({c["ssn"] for c in customers + staff}) == 500


def test_a_text_key_fits_its_declared_length():
    """No 36-character uuid in a VARCHAR(8) key: a zero-padded number of the column's width (8 digits at most),
    a numbered source value's own shape kept; a wide or unbounded text key stays a uuid."""
    def keyed(name: str, declared: str, examples: list[str], self_ref: bool = False) -> SourceTable:
        cols = [SourceColumn("code", declared, nullable=False, examples=examples)]
        fks = []
        if self_ref:
            cols.append(SourceColumn("up", declared))
            fks = [ForeignKey(["up"], name, ["code"])]
        return SourceTable(name, cols, key=["code"], foreign_keys=fks, rows=50)

    schema, found = build_schema([keyed("a", "string(8)", ["north", "south"]), keyed("b", "string(4)", []),
                                  keyed("c", "string(6)", ["x"], self_ref=True), keyed("d", "string(8)", ["E0042"]),
                                  keyed("e", "string(40)", []), keyed("f", "string", [])])  # fmt: skip
    code = {name: t["columns"]["code"] for name, t in schema["tables"].items()}
    assert code["a"] == {"gen": "sequence", "format": "{:08d}", "type": "string(8)"}
    assert code["b"] == {"gen": "sequence", "format": "{:04d}", "type": "string(4)"}
    assert code["c"] == {"gen": "sequence", "format": "{:06d}", "type": "string(6)"}  # the self reference's too
    assert code["d"] == {"gen": "sequence", "format": "E{:04d}", "type": "string(8)"}
    assert code["e"]["gen"] == code["f"]["gen"] == "uuid"
    assert schema["tables"]["c"]["columns"]["up"] == {"gen": "ref", "to": "self", "root_share": 0.1}
    note = build_schema([SourceTable("n", [SourceColumn("note", "string(5)")], rows=5)])[0]["tables"]["n"]
    assert note["columns"]["note"] == {"gen": "pattern", "template": "?????", "type": "string(5)"}  # not 8 wide
    assert "a uuid would not fit string(4)" in next(d.comment for d in found if d.table == "b")
    made = schema_run.preview(dsl.loads(json.dumps(schema), json_text=True), rows=50)
    for name, width in (("a", 8), ("b", 4), ("c", 6)):
        values = made[name]["code"].to_pylist()
        assert len(set(values)) == 50 and {len(v) for v in values} == {width}


def test_a_composite_foreign_key_takes_the_ref_on_its_column_first_in_the_table():
    """(region, store_no) -> stores with store_no listed first: the ref is on store_no (to the key's second
    column, with region as its lookup), so the lookup follows its ref; the DDL declares one foreign key."""
    from pii_gen import api

    stores = SourceTable("stores", [SourceColumn("region", "string(8)", nullable=False),
                                    SourceColumn("store_no", "int", nullable=False)],
                         key=["region", "store_no"], rows=6)
    sales = SourceTable("sales", [SourceColumn("id", "int", nullable=False), SourceColumn("store_no", "int"),
                                  SourceColumn("region", "string(8)")], key=["id"], rows=40,
                        foreign_keys=[ForeignKey(["region", "store_no"], "stores", ["region", "store_no"])])
    schema, _ = build_schema([sales, stores])
    cols = schema["tables"]["sales"]["columns"]
    assert cols["store_no"] == {"gen": "ref", "to": "stores.store_no", "with": ["region"]}
    assert cols["region"] == {"gen": "lookup", "via": "store_no", "column": "region"}
    model = dsl.loads(json.dumps(schema), json_text=True)
    assert api.schema_tables(model)["sales"].foreign_keys == (("region, store_no", "stores", "region, store_no"),)
    made = schema_run.preview(model, rows=40)
    stores_rows = set(zip(made["stores"]["region"].to_pylist(), made["stores"]["store_no"].to_pylist()))
    picked = set(zip(made["sales"]["region"].to_pylist(), made["sales"]["store_no"].to_pylist()))
    assert picked <= stores_rows and len(picked) > 3
