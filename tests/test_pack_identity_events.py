"""The identity-graph pack's engagement and campaign tables: engagement counts, hour and weekday shapes against
the pack's own weights (tolerances from the sample size), durations for views only, aggregates equal to SQL over
the events, exposure/holdout/visit/conversion rates, frequency caps, the measured uplift against the true one,
referential integrity in SQL, and byte-identical output at one and two workers."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from pathlib import Path

import duckdb
import numpy as np
import pytest
import yaml

from pii_gen import dsl, schema_run
from pii_gen.dsl import packs
from pii_gen.errors import PiiGenError

PACK = Path(dsl.__file__).parent / "packs" / "identity-graph.yaml"
PEOPLE = 12_000
MINE = ("content_engagements", "viewership_patterns", "household_viewership", "audience_attributes", "campaigns",
        "outcome_metrics", "campaign_exposures", "response_events")


def pack_data(people: int) -> dict:
    """The pack file as written (settings at their defaults are the literals at their places)."""
    data = yaml.safe_load(PACK.read_text())
    data["population"]["size"] = people
    return data


def run(folder: Path, workers: int = 1, people: int = PEOPLE, settings: dict[str, str] | None = None) -> Path:
    schema = packs.load("identity-graph", settings=settings, people=people)
    schema_run.generate_schema(schema, out=str(folder), format="parquet", workers=workers)
    return folder


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run(tmp_path_factory.mktemp("idg") / "out")


@pytest.fixture(scope="module")
def con(out: Path) -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    for p in out.glob("*.parquet"):
        c.execute(f"CREATE VIEW {p.stem} AS SELECT * FROM read_parquet('{p}')")
    return c


def one(con: duckdb.DuckDBPyConnection, query: str) -> tuple:
    return con.execute(query).fetchone()


def within(measured: float, expected: float, n: int, p: float | None = None, sigmas: float = 4.5) -> bool:
    """Whether a share measured over ``n`` rows is within ``sigmas`` binomial standard errors of ``expected``."""
    q = expected if p is None else p
    return abs(measured - expected) <= sigmas * math.sqrt(max(q * (1 - q), 1e-12) / n)


def spec(table: str) -> dict:
    return pack_data(1)["tables"][table]


def test_engagement_counts_follow_the_power_law(con: duckdb.DuckDBPyConnection) -> None:
    fanout = spec("content_engagements")["fanout"]
    s, cap = fanout["s"], fanout["max"]
    people, ones, top = one(con, "SELECT count(*), count(*) FILTER (WHERE c = 1), max(c) FROM "
                                 "(SELECT person_id, count(*) c FROM content_engagements GROUP BY 1)")
    assert people == PEOPLE and top <= cap
    zeta = sum(k ** -s for k in range(1, 200_000)) + 200_000 ** (1 - s) / (s - 1)
    assert within(ones / people, 1 / zeta, people)  # P(1) of a Zipf law is 1 / zeta(s)
    assert one(con, "SELECT count(*) FROM individuals i LEFT JOIN content_engagements e USING (person_id) "
                    "WHERE e.person_id IS NULL") == (0,)


def test_hour_and_weekday_shapes_follow_the_weights(con: duckdb.DuckDBPyConnection) -> None:
    series = spec("content_engagements")["columns"]["engaged_at"]
    hours = np.asarray(series["hour"], float)
    hours /= hours.sum()
    counts = dict(con.execute("SELECT hour(engaged_at), count(*) FROM content_engagements GROUP BY 1").fetchall())
    n = sum(counts.values())
    assert all(within(counts.get(h, 0) / n, hours[h], n) for h in range(24))
    ranked = sorted(counts, key=counts.get)
    assert set(ranked[:2]) == {3, 4} and set(ranked[-2:]) == {20, 21}  # 8-10 pm peak, 3-5 am trough
    # Weekday shares: each day's weight over the calendar window (Mon..Sun).
    cal = pack_data(1)["calendar"]
    start, end = cal["start"], cal["end"]
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    w = np.asarray(series["weekday"], float)
    expected = np.zeros(7)
    for d in days:
        expected[d.weekday()] += w[d.weekday()]
    expected /= expected.sum()
    found = dict(con.execute("SELECT isodow(engaged_at) - 1, count(*) FROM content_engagements GROUP BY 1").fetchall())
    assert all(within(found[k] / n, expected[k], n) for k in range(7))
    weekend = (found[5] + found[6]) / n
    assert weekend > 2 / 7 + 0.02  # weekends are busier than a flat week


def test_durations_for_views_only_and_devices_of_the_person(con: duckdb.DuckDBPyConnection) -> None:
    assert con.execute("SELECT event_type = 'view', count(*) FILTER (WHERE duration_seconds IS NULL) = 0, "
                       "count(*) FILTER (WHERE duration_seconds IS NOT NULL) = 0 FROM content_engagements "
                       "GROUP BY 1 ORDER BY 1").fetchall() == [(False, False, True), (True, True, False)]
    # Every engagement and exposure is on a screen of the person's home, the person's own or a shared one.
    for table in ("content_engagements", "campaign_exposures"):
        assert one(con, f"""SELECT count(*) FROM {table} e JOIN individuals i USING (person_id)
                            JOIN devices d USING (device_id)
                            WHERE d.household_id <> i.household_id OR d.person_id <> e.person_id
                               OR d.device_type IN ('smart_home', 'smart_speaker', 'wearable')
                               OR d.device_type <> e.device_type""") == (0,)
        missing, total = one(con, f"SELECT count(*) FILTER (WHERE device_id IS NULL), count(*) FROM {table}")
        assert missing < 0.1 * total  # only people whose home has no screen they may use


def test_aggregates_equal_sql_over_the_events(con: duckdb.DuckDBPyConnection) -> None:
    assert one(con, """WITH g AS (SELECT person_id, count(*) n, count(*) FILTER (WHERE event_type = 'view') v,
                                  count(*) FILTER (WHERE content_category = 'sports') s,
                                  count(DISTINCT content_category) k FROM content_engagements GROUP BY 1)
                       SELECT count(*) FROM viewership_patterns p JOIN g USING (person_id)
                       JOIN audience_attributes a USING (person_id)
                       WHERE p.engagements <> g.n OR p.views <> g.v OR p.categories <> g.k
                          OR abs(a.affinity_sports - g.s / g.n) > 1e-12 OR a.engagements <> g.n""") == (0,)
    assert one(con, "SELECT count(*) FROM viewership_patterns") == (PEOPLE,)
    assert one(con, """SELECT count(*) FROM household_viewership h JOIN (SELECT household_id, count(*) n,
                         count(DISTINCT device_id) d FROM content_engagements GROUP BY 1) g USING (household_id)
                       WHERE h.engagements <> g.n OR h.devices_used <> g.d""") == (0,)
    assert one(con, "SELECT sum(engagements) FROM household_viewership") == \
        one(con, "SELECT count(*) FROM content_engagements")


def test_rates_holdout_and_frequency_caps(con: duckdb.DuckDBPyConnection) -> None:
    camp = spec("campaigns")["columns"]
    reach, holdout_share, per_visit = camp["reach"], camp["holdout_share"], camp["conversion_per_visit"]
    n, holdout, exposed, visited, converted, p_visit = one(con, """SELECT count(*), avg(holdout::int),
        avg(exposed::int), avg(visited::int), avg(converted::int), avg(p_visit) FROM outcome_metrics""")
    assert n == PEOPLE
    assert within(holdout, holdout_share, n)
    assert within(exposed, (1 - holdout_share) * reach, n)
    assert within(visited, p_visit, n) and 0.035 < visited < 0.06  # public reference: about 4.7%
    assert within(converted, p_visit * per_visit, n)
    assert one(con, "SELECT count(*) FROM outcome_metrics WHERE holdout AND exposed") == (0,)
    # Exposures: exactly `impressions` per person, under the campaign's cap, inside its flight, exposed only.
    assert one(con, """SELECT count(*) FROM outcome_metrics o LEFT JOIN (SELECT person_id, count(*) c,
                         min(exposed_at) lo, max(exposed_at) hi FROM campaign_exposures GROUP BY 1) e USING (person_id)
                       WHERE coalesce(e.c, 0) <> o.impressions OR o.impressions > o.frequency_cap
                          OR (o.impressions > 0 AND NOT o.exposed) OR (o.exposed AND o.impressions = 0)
                          OR e.lo < o.flight_start OR e.hi >= o.flight_end + 1""") == (0,)
    # Responses: one visit per visitor, a conversion only after a visit, revenue on conversions only.
    assert one(con, """SELECT count(*) FROM outcome_metrics o LEFT JOIN (SELECT person_id,
                         count(*) FILTER (WHERE event_type = 'visit') v, count(*) FILTER (WHERE event_type =
                         'conversion') c FROM response_events GROUP BY 1) r USING (person_id)
                       WHERE coalesce(r.v, 0) <> o.visited::int OR coalesce(r.c, 0) <> o.converted::int""") == (0,)
    assert one(con, "SELECT count(*) FROM response_events WHERE (revenue_usd IS NULL) <> (event_type = 'visit')") \
        == (0,)


def test_measured_uplift_is_the_true_one(tmp_path: Path) -> None:
    folder = run(tmp_path / "big", workers=2, people=40_000)
    c = duckdb.connect()
    c.execute(f"CREATE VIEW o AS SELECT * FROM read_parquet('{folder / 'outcome_metrics.parquet'}')")
    (p1, n1, true), = c.execute("SELECT avg(visited::int), count(*), avg(exposed::int * true_uplift) FROM o "
                                "WHERE treatment").fetchall()
    (p0, n0), = c.execute("SELECT avg(visited::int), count(*) FROM o WHERE holdout").fetchall()
    se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    assert abs((p1 - p0) - true) < 4 * se
    assert true > 2 * se  # the effect is large enough to be found at this size


def test_referential_integrity(con: duckdb.DuckDBPyConnection) -> None:
    links = [("content_engagements", "person_id", "individuals", "person_id"),
             ("content_engagements", "device_id", "devices", "device_id"),
             ("viewership_patterns", "person_id", "individuals", "person_id"),
             ("household_viewership", "household_id", "households", "household_id"),
             ("audience_attributes", "person_id", "individuals", "person_id"),
             ("outcome_metrics", "campaign_id", "campaigns", "campaign_id"),
             ("campaign_exposures", "person_id", "outcome_metrics", "person_id"),
             ("campaign_exposures", "device_id", "devices", "device_id"),
             ("response_events", "person_id", "outcome_metrics", "person_id")]
    for child, column, parent, key in links:
        assert one(con, f"SELECT count(*) FROM {child} c LEFT JOIN {parent} p ON c.{column} = p.{key} "
                        f"WHERE c.{column} IS NOT NULL AND p.{key} IS NULL") == (0,), (child, column)
    assert one(con, "SELECT count(*) FROM campaign_exposures x JOIN outcome_metrics o USING (person_id) "
                    "WHERE x.campaign_id <> o.campaign_id") == (0,)


def test_no_personal_data_in_the_event_tables(con: duckdb.DuckDBPyConnection) -> None:
    for table in MINE:
        for name, kind in con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {table})").fetchall():
            if kind == "VARCHAR":
                assert one(con, f"SELECT count(*) FROM {table} WHERE {name} LIKE '%@%' OR "
                                f"regexp_matches({name}, '\\d{{3}}-\\d{{3}}-\\d{{4}}')") == (0,), (table, name)


def test_same_bytes_at_one_and_two_workers(tmp_path: Path, out: Path) -> None:
    """Every table of the pack (the identity tables too), in two blocks of people, byte for byte."""
    two = run(tmp_path / "two", workers=2)
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    tables = sorted(p.name for p in out.glob("*.parquet"))
    assert len(tables) == 14 and tables == sorted(p.name for p in two.glob("*.parquet"))
    for table in tables:
        assert digest(out / table) == digest(two / table), table


def test_settings_change_the_campaign_shares_and_bad_values_are_refused(tmp_path: Path) -> None:
    folder = run(tmp_path / "set", people=4_000, settings={"holdout_share": "0.4", "campaigns": "3"})
    c = duckdb.connect()
    (holdout, n), = c.execute(f"SELECT avg(holdout::int), count(*) FROM "
                              f"read_parquet('{folder / 'outcome_metrics.parquet'}')").fetchall()
    assert within(holdout, 0.4, n)
    assert c.execute(f"SELECT count(*) FROM read_parquet('{folder / 'campaigns.parquet'}')").fetchall() == [(3,)]
    with pytest.raises(PiiGenError) as err:
        packs.load("identity-graph", settings={"holdout_share": "1.5"}, people=100)
    assert "holdout_share" in str(err.value) and "\n" not in str(err.value)


def test_validate_pack_scores_the_engagement_and_campaign_targets(out: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    report = tmp_path / "report.json"
    done = subprocess.run([sys.executable, "-m", "pii_gen", "validate", "--pack", "identity-graph", str(out),
                           "--json", str(report)], capture_output=True, text=True)
    checks = {c["name"]: c for c in json.loads(report.read_text())["checks"] if c["group"] == "targets"}
    for name in ("exposed share", "holdout share", "visit rate", "conversion rate", "holdout never exposed",
                 "frequency cap", "engagement weekend share", "prime-time share", "durations for views only"):
        assert checks[name]["status"] == "pass", checks[name]
    auto = {c["name"]: c for c in json.loads(report.read_text())["checks"]}
    assert auto["fanout content_engagements mean"]["status"] == "pass"  # engagements per person
    assert done.returncode == 0, done.stdout[-2000:]
