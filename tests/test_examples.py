"""The example schema files in ``examples/``: each is generated at a small scale and checked in DuckDB SQL —
every primary key unique and not null, every foreign key (ref and parent link) resolving, and the invariants
the example's comments promise (fanout by income, Zipf popularity, weekly rhythm, self-referencing managers,
lognormal amounts, ...)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import duckdb
import numpy as np
import pytest

from pii_gen import dsl, schema_run
from pii_gen.packs.schema.pack import SchemaPack

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


class Run:
    """One example generated into Parquet files, with its output contract and a DuckDB view per table."""

    def __init__(self, name: str, out: Path, scale: float) -> None:
        path = EXAMPLES / f"{name}.yaml"
        self.result = schema_run.generate_schema(path, out=str(out), format="parquet", workers=1, scale=scale)
        self.tables = SchemaPack().plan(dsl.load(path), scale=scale, base=path.parent).tables
        self.con = duckdb.connect()
        for table in self.tables:
            self.con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{out / f'{table}.parquet'}')")

    def one(self, query: str) -> tuple:
        """The first row of ``query``."""
        return self.con.execute(query).fetchone()

    def value(self, query: str) -> Any:
        """The first value of ``query``."""
        return self.one(query)[0]


def generated(name: str, scale: float = 1.0) -> Callable[..., Run]:
    """A module fixture generating example ``name`` once at ``scale``."""
    @pytest.fixture(scope="module")
    def fixture(tmp_path_factory: pytest.TempPathFactory) -> Run:
        return Run(name, tmp_path_factory.mktemp(name) / "out", scale)
    return fixture


def within(measured: float, expected: float, se: float, k: float = 4.0) -> bool:
    """Whether ``measured`` is within ``k`` standard errors of ``expected``."""
    return abs(measured - expected) <= k * se


def share_se(p: float, n: int) -> float:
    """The standard error of a share ``p`` measured over ``n`` rows."""
    return float(np.sqrt(p * (1 - p) / n))


def check_keys(run: Run) -> None:
    """Every primary key unique and not null; every foreign key's non-null values exist in its target."""
    assert run.tables, "no tables"
    for name, table in run.tables.items():
        rows = run.result.rows[name]
        assert rows > 0, name
        keys = table.primary_key
        assert run.one(f"SELECT count(*), count(DISTINCT ({keys})) FROM {name} WHERE ({keys}) IS NOT NULL") \
            == (rows, rows), f"{name}.{keys}"
        for column, target, target_col in table.foreign_keys:
            dangling = run.value(f"SELECT count(*) FROM {name} c LEFT JOIN {target} t ON c.{column} = t.{target_col} "
                                 f"WHERE c.{column} IS NOT NULL AND t.{target_col} IS NULL")
            assert dangling == 0, f"{name}.{column} -> {target}.{target_col}"


shop = generated("shop")


def test_shop_keys(shop: Run) -> None:
    check_keys(shop)
    assert {c for c, _, _ in shop.tables["order_items"].foreign_keys} == {"order_id", "product_id"}


def test_shop_orders_follow_income_and_the_weekly_rhythm(shop: Run) -> None:
    n = shop.result.rows["orders"]
    weekend = shop.value("SELECT avg(CASE WHEN isodow(ordered_at) >= 6 THEN 1 ELSE 0 END) FROM orders")
    expected = (1.6 + 1.5) / (1.0 + 0.9 + 0.9 + 1.0 + 1.2 + 1.6 + 1.5)
    assert within(weekend, expected, share_se(expected, n)), weekend
    evening = shop.value("SELECT avg(CASE WHEN hour(ordered_at) BETWEEN 17 AND 21 THEN 1 ELSE 0 END) FROM orders")
    night = shop.value("SELECT avg(CASE WHEN hour(ordered_at) BETWEEN 1 AND 5 THEN 1 ELSE 0 END) FROM orders")
    assert evening > 5 * night
    # Per-customer order counts: the mean rises with income as the fanout's mean says.
    low, high = shop.one(
        "SELECT avg(n) FILTER (WHERE annual_income < 30000), avg(n) FILTER (WHERE annual_income > 90000) FROM "
        "(SELECT c.customer_id, c.annual_income, count(o.order_id) AS n FROM customers c "
        "LEFT JOIN orders o USING (customer_id) GROUP BY ALL)")
    assert high > low + 1.0, (low, high)
    assert shop.value("SELECT count(*) FROM orders WHERE year(ordered_at) <> 2024") == 0
    # The shipping fee's month factor: uniform 3-7 (mean 5) times 1.3 in November and 1.5 in December.
    for month, factor in ((5, 1.0), (11, 1.3), (12, 1.5)):
        low, high, mean, m = shop.one(f"SELECT min(shipping_fee), max(shipping_fee), avg(shipping_fee), count(*) "
                                      f"FROM orders WHERE month(ordered_at) = {month}")
        assert low >= 3.0 * factor - 0.01 and high <= 7.0 * factor + 0.01, month
        assert within(mean, 5.0 * factor, 4.0 * factor / np.sqrt(12 * m)), (month, mean)


def test_shop_items_and_product_popularity(shop: Run) -> None:
    assert shop.one("SELECT min(quantity) >= 1, min(unit_price) > 0, min(line_total) > 0, "
                    "max(abs(line_total - round(quantity * unit_price, 2))) < 1e-9 FROM order_items") \
        == (True, True, True, True)
    assert shop.one("SELECT min(n) >= 1, max(n) <= 5 FROM (SELECT count(*) AS n FROM order_items GROUP BY order_id)") \
        == (True, True)
    assert shop.value("SELECT count(*) FROM orders o LEFT JOIN order_items i USING (order_id) "
                      "WHERE i.item_id IS NULL") == 0
    top = shop.con.execute("SELECT product_id FROM order_items GROUP BY 1 ORDER BY count(*) DESC LIMIT 3").fetchall()
    assert [r[0] for r in top] == [1, 2, 3]  # Zipf popularity follows the product order
    # Uniform jitter of pct 0.3 spreads prices over the category's level ±0.3·√3 (about ±52%).
    assert shop.one("SELECT min(p.price / c.base_price) > 0.47, max(p.price / c.base_price) < 1.53, "
                    "max(p.price / c.base_price) > 1.4 FROM products p JOIN categories c USING (category)") \
        == (True, True, True)


bank = generated("bank")


def test_bank_keys(bank: Run) -> None:
    check_keys(bank)
    assert bank.one("SELECT count(*) = count(DISTINCT iban) FROM accounts") == (True,)


def test_bank_accounts_open_after_the_customer_joined(bank: Run) -> None:
    assert bank.value("SELECT count(*) FROM accounts a JOIN customers c USING (customer_id) "
                      "WHERE a.opened_on < c.customer_since OR a.opened_on > DATE '2024-01-01'") == 0
    counts = dict(bank.con.execute("SELECT n, count(*) FROM (SELECT count(*) AS n FROM accounts "
                                   "GROUP BY customer_id) GROUP BY n").fetchall())
    customers = bank.result.rows["customers"]
    assert sum(counts.values()) == customers and set(counts) == {1, 2, 3}  # every customer has 1-3 accounts
    for n, p in ((1, 0.5), (2, 0.35), (3, 0.15)):
        assert within(counts[n] / customers, p, share_se(p, customers)), (n, counts[n])
    share = bank.value("SELECT avg(CASE WHEN overdraft_limit IS NULL THEN 1 ELSE 0 END) FROM accounts")
    assert within(share, 0.6, share_se(0.6, bank.result.rows["accounts"])), share


def test_bank_amounts_are_lognormal(bank: Run) -> None:
    n = bank.result.rows["transactions"]
    median, mean_log, sd_log, low, high = bank.one(
        "SELECT median(amount), avg(ln(amount)), stddev(ln(amount)), min(amount), max(amount) FROM transactions")
    assert low >= 0.01 and high <= 50_000
    assert within(mean_log, 3.4, 1.1 / np.sqrt(n)) and abs(sd_log - 1.1) < 0.03, (mean_log, sd_log)
    assert abs(np.log(median) - 3.4) < 0.05, median  # median exp(mu) ~ 30
    # Negative binomial fanout: over-dispersed per-account counts (variance well above the mean).
    mean, var = bank.one("SELECT avg(n), var_samp(n) FROM (SELECT a.account_id, count(t.txn_id) AS n FROM accounts a "
                         "LEFT JOIN transactions t USING (account_id) GROUP BY ALL)")
    assert abs(mean - 12) < 1.0 and var > 3 * mean, (mean, var)


hr = generated("hr")


def test_hr_keys(hr: Run) -> None:
    check_keys(hr)
    assert ("manager_id", "employees", "employee_id") in hr.tables["employees"].foreign_keys


def test_hr_managers_are_earlier_employees(hr: Run) -> None:
    n = hr.result.rows["employees"]
    assert hr.value("SELECT count(*) FROM employees e JOIN employees m ON e.manager_id = m.employee_id "
                    "WHERE m.employee_id >= e.employee_id") == 0
    assert hr.value("SELECT manager_id FROM employees WHERE employee_id = 1") is None
    roots = hr.value("SELECT count(*) FROM employees WHERE manager_id IS NULL")
    assert within(roots, 0.05 * n, np.sqrt(n * 0.05 * 0.95)), roots
    assert hr.value("SELECT count(*) FROM employees e JOIN teams t USING (team_id) "
                    "WHERE e.dept_code <> t.dept_code") == 0


def test_hr_compensation_history(hr: Run) -> None:
    assert hr.value("SELECT count(*) FROM compensation c JOIN employees e USING (employee_id) "
                    "WHERE c.effective_on <> e.hired_on + to_years(CAST(c.review_no - 1 AS INTEGER)) "
                    "OR c.effective_on > DATE '2024-12-31'") == 0
    assert hr.one("SELECT min(n) >= 1, max(n) <= 6, bool_and(reviews = n) FROM (SELECT count(*) AS n, "
                  "max(review_no) AS reviews FROM compensation GROUP BY employee_id)") == (True, True, True)
    # Department pay factors: the median first-year salary ratio ENG / OPS is about 1.25 / 0.85.
    eng, ops = hr.one("SELECT median(base_salary) FILTER (WHERE d.dept_code = 'ENG'), "
                      "median(base_salary) FILTER (WHERE d.dept_code = 'OPS') FROM compensation c "
                      "JOIN employees e USING (employee_id) JOIN departments d ON d.dept_code = e.dept_code "
                      "WHERE c.review_no = 1")
    assert abs(eng / ops - 1.25 / 0.85) < 0.15, eng / ops
    assert hr.one("SELECT min(bonus_pct) >= 0, max(bonus_pct) <= 1 FROM compensation") == (True, True)


saas = generated("saas")


def test_saas_keys(saas: Run) -> None:
    check_keys(saas)
    assert saas.value("SELECT count(*) FROM sessions s JOIN users u USING (user_id) "
                      "WHERE s.account_id <> u.account_id") == 0
    assert saas.value("SELECT count(*) FROM users u JOIN accounts a USING (account_id) "
                      "WHERE u.invited_at < a.created_at") == 0


def test_saas_sessions_follow_office_hours(saas: Run) -> None:
    n = saas.result.rows["sessions"]
    weights = [1.2, 1.3, 1.3, 1.25, 1.0, 0.25, 0.2]
    expected = sum(weights[5:]) / sum(weights)
    weekend = saas.value("SELECT avg(CASE WHEN isodow(started_at) >= 6 THEN 1 ELSE 0 END) FROM sessions")
    assert within(weekend, expected, share_se(expected, n)), weekend
    assert saas.value("SELECT count(*) FROM sessions WHERE started_at < TIMESTAMP '2024-01-01' "
                      "OR started_at >= TIMESTAMP '2024-07-01'") == 0
    top = saas.value("SELECT plan FROM accounts GROUP BY plan ORDER BY count(*) DESC LIMIT 1")
    assert top == "free"


def test_saas_events_stay_inside_their_session(saas: Run) -> None:
    assert saas.value("SELECT count(*) FROM events e JOIN sessions s USING (session_id) WHERE e.occurred_at < "
                      "s.started_at OR e.occurred_at > s.started_at + to_seconds(s.duration_s)") == 0
    assert saas.one("SELECT bool_and(event_type = 'login') FROM events WHERE seq_in_session = 1") == (True,)
    assert saas.value("SELECT count(*) FROM events WHERE seq_in_session > 1 AND event_type = 'login'") == 0
    assert saas.one("SELECT min(n) >= 1, bool_and(last = n) FROM (SELECT count(*) AS n, max(seq_in_session) AS last "
                    "FROM events GROUP BY session_id)") == (True, True)
    assert saas.value("SELECT count(*) FROM sessions s LEFT JOIN events e USING (session_id) "
                      "WHERE e.event_id IS NULL") == 0


gov = generated("gov_cases")


def test_gov_cases_keys(gov: Run) -> None:
    check_keys(gov)
    assert {c for c, _, _ in gov.tables["cases"].foreign_keys} == {"citizen_id", "service_code", "caseworker_id"}


def test_gov_cases_decisions_follow_the_service(gov: Run) -> None:
    assert gov.value("SELECT count(*) FROM cases WHERE decided_at <= opened_at "
                     "OR decided_at <> opened_at + to_days(CAST(days_to_decision AS INTEGER))") == 0
    # Gamma(shape 4, scale target/4): the mean days to a decision is the service's target.
    for code, target, n, mean in gov.con.execute(
            "SELECT service_code, any_value(s.target_days), count(*), avg(days_to_decision) FROM cases "
            "JOIN services s USING (service_code) GROUP BY 1").fetchall():
        assert within(mean, target, target / 2 / np.sqrt(n), k=5), (code, mean)
    n = gov.result.rows["cases"]
    weekend = gov.value("SELECT avg(CASE WHEN isodow(opened_at) >= 6 THEN 1 ELSE 0 END) FROM cases")
    expected = 0.15 / 5.65
    assert within(weekend, expected, share_se(expected, n)), weekend
    assert gov.value("SELECT count(*) FROM case_events e JOIN cases c USING (case_id) "
                     "WHERE e.at < c.opened_at OR e.at >= c.decided_at") == 0
    assert gov.one("SELECT bool_and(status = 'received') FROM case_events WHERE step = 1") == (True,)


def test_gov_cases_payments_add_up_to_the_award(gov: Run) -> None:
    approved = gov.value("SELECT count(*) FROM cases WHERE outcome = 'approved'")
    assert gov.result.rows["payments"] == 3 * approved
    assert gov.value("SELECT count(*) FROM payments p JOIN cases c USING (case_id) WHERE c.outcome <> 'approved'") == 0
    assert gov.value("SELECT max(abs(c.awarded_amount - p.total)) FROM cases c JOIN (SELECT case_id, sum(amount) "
                     "AS total FROM payments GROUP BY 1) p USING (case_id)") < 0.005
    assert gov.value("SELECT min(amount) FROM payments") >= 0
    assert gov.value("SELECT count(*) FROM payments p JOIN cases c USING (case_id) WHERE p.due_on <= c.decided_at") == 0


@pytest.mark.parametrize("name", ["shop", "bank", "hr", "saas", "gov_cases"])
def test_examples_scale_and_are_deterministic(tmp_path: Path, name: str) -> None:
    """At ``scale`` 0.5 entity rows halve (vocab tables stay), and two workers write the same bytes as one."""
    path = EXAMPLES / f"{name}.yaml"
    schema = dsl.load(path)
    runs = []
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        result = schema_run.generate_schema(path, out=str(out), format="csv", workers=workers, scale=0.5)
        runs.append({p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.name != "manifest.json"})
    assert runs[0] == runs[1]
    for table, spec in schema.tables.items():
        if spec.kind == "vocab":
            assert result.rows[table] == len(spec.data), table
        elif spec.kind == "entity":
            full = spec.rows if spec.rows is not None else schema.population.size
            assert result.rows[table] == round(full * 0.5), table
