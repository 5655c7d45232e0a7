"""`pii_gen serve`: jobs over HTTP against a real server process, each job in its own process: states,
progress and events (with Last-Event-ID replay), the same rows as the CLI, previews, downloads, reports,
cancel with no process left, crashes, restarts, faults, limits, the token, cleanup, the switch."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import psutil
import pyarrow.parquet as pq
import pytest

from serving import ROOT, Server, events, finished, wait
from servers import server_url

SMALL = {"count": 20_000, "format": "parquet", "seed": 3}
ERP_WINDOW = {"pack": "erp", "scenario": "peak-season", "from": "2024-11-01", "to": "2024-11-20", "seed": 5}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Server:
    with Server(tmp_path_factory.mktemp("serve") / "data", "--max-rows", "5000000", "--grace", "5",
                "--heartbeat", "0.5") as running:
        yield running


def test_a_population_job_runs_in_its_own_process_with_live_progress_and_a_report(server: Server) -> None:
    with server.client() as c:
        created = c.post("/jobs", json=SMALL)
        assert created.status_code == 201, created.text
        job = created.json()
        assert job["state"] in ("queued", "running") and job["request"] == SMALL
        seen = list(events(c, job["id"]))
        kinds = [kind for _, kind, _ in seen]
        assert kinds[:3] == ["queued", "running", "started"] and kinds[-2:] == ["progress", "succeeded"]
        assert "validating" in kinds and kinds.count("progress") >= 2
        assert [seq for seq, _, _ in seen] == list(range(1, len(seen) + 1))  # none lost, none twice
        worker = seen[1][2]["pid"]
        assert worker != server.process.pid and gone([worker])
        done = c.get(f"/jobs/{job['id']}").json()
        assert done["state"] == "succeeded" and done["progress"]["percent"] == 100.0
        assert done["events"] == len(seen)
        manifest = c.get(f"/jobs/{job['id']}/files/manifest.json").json()
        rows = {name: t["rows"] for name, t in manifest["tables"].items()}
        assert done["result"]["rows"] == rows == seen[-2][2]["rows"]
        assert done["result"]["people"] == 20_000 and rows["persons"] == 20_000
        report = c.get(f"/jobs/{job['id']}/report").json()
        assert report["score"] == done["result"]["report"]["score"] >= 90
        page = c.get(f"/jobs/{job['id']}/report.html")
        assert page.status_code == 200 and "<svg" in page.text or "<img" in page.text
        # a dropped stream resumes after the last id it saw: exactly the rest
        assert list(events(c, job["id"], last=3)) == seen[3:]
        listed = {f["name"] for f in c.get(f"/jobs/{job['id']}/files").json()}
        archive = zipfile.ZipFile(io.BytesIO(c.get(f"/jobs/{job['id']}/download").content))
        assert set(archive.namelist()) == listed == set(done["result"]["files"])
        persons = pq.read_table(io.BytesIO(archive.read("persons.parquet")))
        assert persons.num_rows == 20_000


def test_a_pack_job_writes_the_rows_the_cli_writes(server: Server, tmp_path: Path) -> None:
    with server.client() as c:
        job = c.post("/jobs", json={**ERP_WINDOW, "format": "parquet"}).json()
        assert _replay(c, job["id"])[-1][1] == "running"  # a listener that drops its stream at once
        done = wait(c, job["id"], finished)  # changes nothing: the job goes on to its end
        assert done["state"] == "succeeded", done
        cli = subprocess.run([sys.executable, "-m", "pii_gen", "generate", "--pack", "erp", "--scenario", "peak-season",
                              "--from", "2024-11-01", "--to", "2024-11-20", "--seed", "5", "--format", "parquet",
                              "--out", str(tmp_path / "cli"), "-q"], capture_output=True, text=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
        assert cli.returncode == 0, cli.stderr
        for table in ("orders", "order_items", "payments", "_effects"):
            served = pq.read_table(io.BytesIO(c.get(f"/jobs/{job['id']}/files/{table}.parquet").content))
            assert served.equals(pq.read_table(tmp_path / "cli" / f"{table}.parquet")), table
        progress = done["progress"]
        assert set(progress["expected"]) >= {"orders", "order_items"} and progress["rows"]["orders"] > 0


def test_preview_shows_the_first_rows_the_job_makes(server: Server) -> None:
    with server.client() as c:
        shown = c.post("/preview", json=ERP_WINDOW)
        assert shown.status_code == 200, shown.text
        tables = shown.json()["tables"]
        assert 0 < len(tables["orders"]) <= 10 and {"order_id", "ordered_at", "late"} <= set(tables["orders"][0])
        people = c.post("/preview", json={"count": 500, "seed": 3}).json()["tables"]
        assert len(people["persons"]) == 10 and people["persons"][0]["person_id"] is not None


@pytest.mark.parametrize(("body", "message"), [
    ({"count": 10, "colour": "red"}, "colour: Extra inputs are not permitted"),
    ({"pack": "erp", "scenario": "nope"}, "pack erp has no such scenario"),
    ({"pack": "erp", "multiplier": -2}, "multiplier: Input should be greater than 0"),
    ({"pack": "erp", "config": {"count": 5}}, "pack and config are sources of tables: give one of them"),
    ({"schema": "../etc/passwd"}, "schema: must be a name"),
    ({"schema": "missing"}, "no schema named 'missing' on this server"),
    ({"count": 10, "db": "sqlite:///../../outside.db"}, "a sqlite file is a name inside the server's databases folder"),
    ({"count": 1_000_000}, "above this server's limit of 5,000,000 per job"),
    ({"pack": "nope"}, "nope"),
    ({"count": 0}, "count: Input should be greater than or equal to 1"),
    ({"scenario": "peak-season"}, "scenario needs pack"),
])
def test_a_bad_request_is_one_line_422_and_no_job(server: Server, body: dict, message: str) -> None:
    with server.client() as c:
        before = len(c.get("/jobs").json()["jobs"])
        answer = c.post("/jobs", json=body)
        assert answer.status_code == 422, answer.text
        detail = answer.json()["detail"]
        assert message in detail and "\n" not in detail and "Traceback" not in detail
        assert len(c.get("/jobs").json()["jobs"]) == before


def test_unknown_jobs_and_files_are_404_and_a_finished_job_cannot_be_cancelled(server: Server) -> None:
    with server.client() as c:
        assert c.get("/jobs/nope").status_code == 404
        assert "no job 'nope'" in c.get("/jobs/nope/events").json()["detail"]
        job = c.post("/jobs", json={"count": 1000, "seed": 1}).json()
        wait(c, job["id"], finished)
        assert c.post(f"/jobs/{job['id']}/cancel").status_code == 409
        assert c.get(f"/jobs/{job['id']}/files/..%2F..%2Fjobs.sqlite").status_code == 404
        assert c.get(f"/jobs/{job['id']}/files/persons.csv").status_code == 200


def test_cancel_stops_the_job_and_leaves_no_process(server: Server) -> None:
    with server.client() as c:
        job = c.post("/jobs", json={"count": 300_000, "format": "csv", "workers": 2, "seed": 2}).json()
        running = wait(c, job["id"], lambda j: j["progress"]["rows_total"] > 0 or finished(j))
        assert running["state"] == "running", running
        worker = next(d["pid"] for _, k, d in _replay(c, job["id"]) if k == "running")
        tree = [worker] + [p.pid for p in psutil.Process(worker).children(recursive=True)]
        assert c.post(f"/jobs/{job['id']}/cancel").json()["state"] == "cancelling"
        done = wait(c, job["id"], finished, timeout=60)
        assert done["state"] == "cancelled"
        assert gone(tree)
        out = server.data / "jobs" / job["id"] / "out"
        assert not out.exists() or not any(out.iterdir())  # nothing half-written
        assert c.get(f"/jobs/{job['id']}/files").status_code == 404


def gone(pids: list[int], timeout: float = 10.0) -> bool:
    """Whether every process of ``pids`` has ended (a zombie has) within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = []
        for pid in pids:
            try:
                alive += [pid] if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE else []
            except psutil.NoSuchProcess:
                pass
        if not alive:
            return True
        time.sleep(0.1)
    return False


def _replay(c, job_id: str) -> list:  # noqa: ANN001 - an httpx client
    """The job's events up to its ``running`` one, read from its stream, which is then dropped."""
    out = []
    stream = events(c, job_id)
    for event in stream:
        out.append(event)
        if event[1] == "running":
            break
    stream.close()  # the connection goes with it
    return out


def test_killing_a_jobs_process_marks_it_crashed_and_the_server_goes_on(server: Server) -> None:
    with server.client() as c:
        job = c.post("/jobs", json={"count": 350_000, "format": "csv", "seed": 4}).json()
        wait(c, job["id"], lambda j: j["state"] == "running")
        worker = next(d["pid"] for _, k, d in _replay(c, job["id"]) if k == "running")
        os.killpg(worker, signal.SIGKILL)
        done = wait(c, job["id"], finished, timeout=60)
        assert done["state"] == "crashed" and "signal SIGKILL" in done["error"]
        assert c.get("/health").json()["ok"] is True
        after = c.post("/jobs", json={"count": 500}).json()
        assert wait(c, after["id"], finished)["state"] == "succeeded"


def test_an_unreachable_database_fails_the_job_with_one_line_and_no_password(server: Server) -> None:
    with server.client() as c:
        body = {"count": 1000, "db": "postgresql://postgres:s3cr3t-pw@127.0.0.1:1/test"}
        job = c.post("/jobs", json=body).json()
        assert job["request"]["db"] == "postgresql://postgres:***@127.0.0.1:1/test"
        done = wait(c, job["id"], finished)
        assert done["state"] == "failed" and "127.0.0.1" in done["error"] and "\n" not in done["error"]
        stream = c.get(f"/jobs/{job['id']}/events").text
        everything = stream + json.dumps(c.get("/jobs").json()) + server.log.read_text()
        everything += (server.data / "jobs" / job["id"] / "worker.log").read_text()
        assert "s3cr3t-pw" not in everything
        assert c.get("/health").status_code == 200


def test_a_full_disk_fails_the_job_not_the_server(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "jobs").mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(data / "jobs")],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.fail(f"a small file system for the full disk needs mount (root): {mounted.stderr.strip()}")
    try:
        with Server(data) as server, server.client() as c:
            job = c.post("/jobs", json={"count": 100_000, "format": "csv"}).json()
            done = wait(c, job["id"], finished)
            assert done["state"] == "failed" and "No space left on device" in done["error"], done
            assert c.get("/health").json()["ok"] is True and c.get(f"/jobs/{job['id']}").status_code == 200
    finally:
        subprocess.run(["umount", "-l", str(data / "jobs")], check=False)


def test_a_restart_keeps_finished_jobs_and_their_files_and_marks_running_ones_crashed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Server(data) as first, first.client() as c:
        done = wait(c, c.post("/jobs", json=SMALL).json()["id"], finished)
        long = c.post("/jobs", json={"count": 2_000_000, "format": "csv"}).json()
        wait(c, long["id"], lambda j: j["state"] == "running")
        worker = next(d["pid"] for _, k, d in _replay(c, long["id"]) if k == "running")
        first.stop(signal.SIGKILL)  # no goodbye: the store says running
    with Server(data) as second, second.client() as c:
        again = c.get(f"/jobs/{done['id']}").json()
        assert again["state"] == "succeeded" and again["result"] == done["result"]
        assert c.get(f"/jobs/{done['id']}/files/persons.parquet").status_code == 200
        crashed = c.get(f"/jobs/{long['id']}").json()
        assert crashed["state"] == "crashed" and "server stopped" in crashed["error"]
        assert [k for _, k, _ in events(c, long["id"])][-1] == "crashed"
        assert gone([worker])


def test_jobs_kept_in_postgresql_outlive_the_server(tmp_path: Path) -> None:
    import psycopg

    base = server_url("PII_GEN_TEST_POSTGRES_URL")
    name = base.rsplit("/", 1)[1] + "_jobs"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    store = base.rsplit("/", 1)[0] + "/" + name
    with Server(tmp_path / "data", "--store", store) as s, s.client() as c:
        job = wait(c, c.post("/jobs", json={"count": 1000}).json()["id"], finished)
    with psycopg.connect(store) as conn:
        assert conn.execute("SELECT state FROM pii_gen_jobs WHERE id = %s", (job["id"],)).fetchone() == ("succeeded",)
    with Server(tmp_path / "data", "--store", store) as s, s.client() as c:
        assert c.get(f"/jobs/{job['id']}").json()["state"] == "succeeded"


def test_beyond_loopback_a_token_is_required_and_never_shown(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PII_GEN_API_TOKEN"}
    refused = subprocess.run([sys.executable, "-m", "pii_gen", "serve", "--host", "0.0.0.0", "--data", str(tmp_path)],
                             capture_output=True, text=True, env={**env, "PYTHONPATH": str(ROOT / "src")}, timeout=60)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert "PII_GEN_API_TOKEN" in refused.stderr and "Traceback" not in refused.stderr
    secret = "tok-0123456789abcdef"
    with Server(tmp_path / "data", env={"PII_GEN_API_TOKEN": secret}) as s:
        with s.client() as anonymous:
            assert anonymous.get("/jobs").status_code == 401
            assert "Authorization: Bearer" in anonymous.get("/health").json()["detail"]
            assert anonymous.get("/").status_code == 200  # the page asks for the token itself
        with s.client(token="wrong") as wrong:
            assert wrong.post("/jobs", json={"count": 10}).status_code == 401
        with s.client(token=secret) as c:
            job = wait(c, c.post("/jobs", json={"count": 500}).json()["id"], finished)
            assert job["state"] == "succeeded"
            assert secret not in json.dumps(c.get("/jobs").json()) + c.get(f"/jobs/{job['id']}/events").text
    assert secret not in s.log.read_text()


def test_the_switch_turns_generation_off_and_on(server: Server) -> None:
    with server.client() as c:
        assert c.post("/toggle", json={"enabled": False}).json() == {"enabled": False}
        refused = c.post("/jobs", json={"count": 10})
        assert refused.status_code == 409 and "switched off" in refused.json()["detail"]
        assert c.get("/toggle").json() == {"enabled": False}
        assert c.post("/toggle", json={"enabled": True}).json() == {"enabled": True}
        assert c.post("/jobs", json={"count": 10}).status_code == 201


def test_cleanup_lists_then_drops_with_a_single_use_token(server: Server) -> None:
    with server.client() as c:
        job = wait(c, c.post("/jobs", json={"count": 300, "db": "duckdb:///people.duckdb"}).json()["id"], finished)
        assert job["state"] == "succeeded", job
        body = {"db": "duckdb:///people.duckdb"}
        listed = c.post("/cleanup", json={**body, "dry_run": True}).json()
        assert listed["token"] is None and {t["name"] for t in listed["tables"]} >= {"persons", "households"}
        first = c.post("/cleanup", json=body).json()
        assert first["token"] and not first["dropped"] and first["expires_in"] == 300
        wrong = c.post("/cleanup", json={**body, "confirm": "not-it"})
        assert wrong.status_code == 422 and "\n" not in wrong.json()["detail"]
        assert c.post("/cleanup", json={**body, "confirm": first["token"]}).json()["dropped"] is True
        assert c.post("/cleanup", json={**body, "confirm": first["token"]}).status_code == 422  # used
        outside = c.post("/cleanup", json={"db": "duckdb:////etc/x.duckdb"})
        assert outside.status_code == 422 and "databases folder" in outside.json()["detail"]


def test_an_uploaded_schema_is_checked_like_a_file_then_runs(server: Server) -> None:
    good = (ROOT / "examples" / "shop.yaml").read_text()
    with server.client() as c:
        broken = c.post("/schemas", json={"name": "broken", "text": "version: 1\ntables: {a: {rows: -1}}\n"})
        assert broken.status_code == 422 and "\n" not in broken.json()["detail"]
        assert c.post("/schemas", json={"name": "../x", "text": good}).status_code == 422
        made = c.post("/schemas", json={"name": "shop", "text": good})
        assert made.status_code == 201 and "orders" in made.json()["tables"]
        assert "shop" in {s["name"] for s in c.get("/schemas").json()}
        job = wait(c, c.post("/jobs", json={"schema": "shop", "scale": 0.2, "seed": 1}).json()["id"], finished)
        assert job["state"] == "succeeded" and job["result"]["rows"]["orders"] > 0
        assert c.get("/schema.json").json()["type"] == "object"
        packs = {p["name"]: p for p in c.get("/packs").json()}
        assert {"erp", "identity-graph"} <= set(packs)
        assert "peak-season" in {s["name"] for s in packs["erp"]["scenarios"]}
        assert packs["identity-graph"]["people"] == 10000


def test_an_identity_graph_job_takes_its_populations_demographics_and_jobs_wait_their_turn(tmp_path: Path) -> None:
    body = {"pack": "identity-graph", "count": 3000, "seed": 2, "validate": False, "format": "parquet",
            "population": {"demographics": {"min_age": 25, "max_age": 60}, "households": {"enabled": False}}}
    with Server(tmp_path / "data", "--max-jobs", "1") as s, s.client() as c:
        first = c.post("/jobs", json=body).json()
        second = c.post("/jobs", json={"count": 1000}).json()
        assert second["state"] == "queued"  # one at a time here
        assert wait(c, first["id"], lambda j: finished(j) or j["state"] == "running")["state"] == "running"
        assert c.get(f"/jobs/{second['id']}").json()["state"] == "queued"
        done = wait(c, first["id"], finished)
        assert done["state"] == "succeeded", done
        people = pq.read_table(io.BytesIO(c.get(f"/jobs/{first['id']}/files/individuals.parquet").content))
        ages = people.column("age").to_pylist()
        assert people.num_rows == 3000 and min(ages) >= 25 and max(ages) <= 60
        assert wait(c, second["id"], finished)["state"] == "succeeded"
        wrong = c.post("/jobs", json={**body, "population": {"demographics": {"min_age": 30, "max_age": 40}}})
        assert wrong.status_code == 422 and "households.enabled: false" in wrong.json()["detail"]


def test_the_spec_served_is_the_one_checked_in(server: Server) -> None:
    checked_in = json.loads((ROOT / "src" / "pii_gen" / "server" / "openapi.json").read_text())
    with server.client() as c:
        assert c.get("/openapi.json").json() == checked_in, "regenerate: python -m pii_gen.server.spec"
