"""The command line as a user meets it: real processes, real files, real exit codes."""

from __future__ import annotations

import hashlib
import zlib
import json
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from pii_gen import GenerateConfig, PersonGenerator
from pii_gen.packs.person.contract import TABLES

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "pii_gen.py"), *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_output_identical_for_1_and_2_workers(tmp_path, fmt):
    outs = []
    # 25,000 people: tasks of 10,000, 10,000 and 5,000 in one worker; of 20,000 and 5,000 on two (a short last one).
    for workers, batch in ((1, 10_000), (2, 20_000)):
        out = tmp_path / f"w{workers}"
        r = run("generate", "-n", "25000", "--seed", "3", "--workers", str(workers), "--batch-size", str(batch),
                "--format", fmt, "--out", str(out), "--quiet")  # fmt: skip
        assert r.returncode == 0, r.stderr
        outs.append(digests(out))
    assert outs[0] == outs[1]
    assert set(outs[0]) == {f"{t}.{fmt}" for t in TABLES} | {"manifest.json"}


def test_csv_round_trips_to_the_in_memory_tables(tmp_path):
    r = run("generate", "-n", "12000", "--seed", "9", "--out", str(tmp_path), "--quiet", "--workers", "1")
    assert r.returncode == 0, r.stderr
    expected = PersonGenerator(GenerateConfig(seed=9)).generate(12_000)
    for name, spec in TABLES.items():
        opts = pacsv.ConvertOptions(
            column_types=spec.arrow_schema, strings_can_be_null=True, quoted_strings_can_be_null=False
        )
        got = pacsv.read_csv(tmp_path / f"{name}.csv", convert_options=opts)
        want = expected[name]
        assert got.num_rows == want.num_rows
        for c in spec.columns:
            assert got.column(c.name).to_pylist() == want.column(c.name).to_pylist(), (name, c.name)


def test_manifest_records_counts_and_checksums(tmp_path):
    r = run("generate", "-n", "5000", "--seed", "1", "--out", str(tmp_path), "--quiet", "--format", "jsonl")
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp_path / "manifest.json").read_text())
    assert m["seed"] == 1 and m["count"] == 5000 and m["pii_mode"] == "strict"
    for fname, info in m["files"].items():
        data = (tmp_path / fname).read_bytes()
        assert f"{zlib.crc32(data):08x}" == info["crc32"]
        assert data.count(b"\n") == info["rows"]
    assert m["tables"]["persons"]["rows"] == 5000
    first = json.loads((tmp_path / "persons.jsonl").open().readline())
    assert list(first) == TABLES["persons"].column_names


def test_config_file_and_flag_override(tmp_path):
    cfg = tmp_path / "c.yaml"
    r = run("create-config", "--out", str(cfg))
    assert r.returncode == 0, r.stderr
    text = cfg.read_text()
    assert "pii_mode: strict" in text and "# " in text
    cfg.write_text(text.replace("count: 1000", "count: 1200").replace("format: csv", "format: parquet"))
    out = tmp_path / "o"
    r = run("generate", "--config", str(cfg), "--seed", "4", "--out", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    assert pq.read_table(out / "persons.parquet").num_rows == 1200
    assert json.loads((out / "manifest.json").read_text())["seed"] == 4
    again = run("create-config", "--out", str(cfg))
    assert again.returncode == 2 and "--force" in again.stderr


BAD_INPUT = [
    (["generate", "-n", "-5"], "count"),
    (["generate", "-n", "ten"], "ten"),
    (["generate", "--format", "xml"], "xml"),
    (["generate", "--pii-mode", "lax"], "lax"),
    (["generate", "--workers", "0"], "workers"),
    (["generate", "--frobnicate"], "--frobnicate"),
    (["generate", "--config", "missing.yaml"], "missing.yaml"),
]


@pytest.mark.parametrize("args,needle", BAD_INPUT)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, needle):
    out = tmp_path / "out"
    r = (
        run(*args, "--out", str(out), cwd=tmp_path)
        if args[0] == "generate" and "--out" not in args
        else run(*args, cwd=tmp_path)
    )
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert needle in lines[0] and "Traceback" not in r.stderr
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize(
    "content,needle",
    [
        ("count: 10\nfrobs: 3\n", "frobs"),
        ("address:\n  po_box_rate: 2\n", "address.po_box_rate"),
        ("count: [1, 2\n", "not valid YAML"),
        ("demographics:\n  min_age: 50\n  max_age: 20\n", "min_age"),
        ("- 1\n- 2\n", "mapping"),
    ],
)
def test_bad_config_file(tmp_path, content, needle):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(content)
    r = run("generate", "--config", str(cfg), "--out", str(tmp_path / "o"))
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and needle in r.stderr, r.stderr
    assert not (tmp_path / "o").exists()


def test_output_path_that_is_a_file(tmp_path):
    f = tmp_path / "afile"
    f.write_text("keep me")
    r = run("generate", "-n", "10", "--out", str(f))
    assert r.returncode == 2 and "not a folder" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert f.read_text() == "keep me"


def test_unwritable_folder(tmp_path):
    r = run("generate", "-n", "10", "--out", "/proc/pii_gen_cannot_write_here")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "cannot write" in r.stderr


def test_failed_run_leaves_previous_output_untouched(tmp_path):
    out = tmp_path / "o"
    assert run("generate", "-n", "1000", "--out", str(out), "--quiet").returncode == 0
    before = digests(out)
    bad = run("generate", "-n", "1000", "--out", str(out), "--format", "xml")
    assert bad.returncode == 2
    assert digests(out) == before
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_realistic_mode_warns(tmp_path):
    r = run("generate", "-n", "100", "--pii-mode", "realistic", "--out", str(tmp_path), "--quiet")
    assert r.returncode == 0 and "warning" in r.stderr and "real people" in r.stderr


def test_installed_console_script_runs(tmp_path):
    exe = Path(sys.executable).with_name("pii_gen")
    if not exe.exists():
        pytest.skip("pii_gen console script not installed in this environment")
    r = subprocess.run(
        [str(exe), "generate", "-n", "100", "--out", str(tmp_path), "--quiet"], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    assert pa.csv.read_csv(tmp_path / "persons.csv").num_rows == 100


def test_shipped_default_config_matches_the_model():
    from pii_gen.config import build_config, default_config_yaml, read_config_file

    shipped = ROOT / "config" / "default.yaml"
    assert (
        shipped.read_text() == default_config_yaml()
    )  # regenerate with: pii_gen create-config --out config/default.yaml --force
    assert build_config(read_config_file(shipped)) == build_config({})


def test_a_count_past_the_distinct_ssns_is_refused_at_once(tmp_path):
    for count in ("10000000000000", "11068903"):
        r = run("generate", "-n", count, "--out", str(tmp_path / "o"))
        assert r.returncode == 2, r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and "11,068,902" in lines[0] and "SSN" in lines[0], r.stderr
        assert "Traceback" not in r.stderr and not (tmp_path / "o").exists()


def test_the_ssn_limit_follows_the_mode_and_the_first_person_id():
    from pii_gen.config import build_config
    from pii_gen.errors import ConfigError
    from pii_gen.packs.person.identifiers import REALISTIC_SSN_SPACE, STRICT_SSN_SPACE

    assert (STRICT_SSN_SPACE, REALISTIC_SSN_SPACE) == (11_068_902, 888_931_098)
    build_config({"count": STRICT_SSN_SPACE})
    build_config({"count": STRICT_SSN_SPACE + 1, "pii_mode": "realistic"})
    build_config({"count": REALISTIC_SSN_SPACE, "pii_mode": "realistic"})
    with pytest.raises(ConfigError, match="888,931,098"):
        build_config({"count": REALISTIC_SSN_SPACE + 1, "pii_mode": "realistic"})
    # Appended people continue the ids, and so the SSN sequence: the room left shrinks.
    build_config({"count": STRICT_SSN_SPACE - 10_000, "first_person_id": 10_001})
    with pytest.raises(ConfigError, match="at most 11,058,902 people after person_id 10,000"):
        build_config({"count": STRICT_SSN_SPACE - 9_999, "first_person_id": 10_001})


def test_appending_past_the_distinct_ssns_is_refused_before_loading(tmp_path):
    import sqlite3

    url = f"sqlite:///{tmp_path / 'p.db'}"
    cfg = tmp_path / "late.yaml"
    cfg.write_text("first_person_id: 11050001\n")  # people already loaded up to id 11,050,010
    assert run("generate", "-n", "10", "--config", str(cfg), "--db", url, "--quiet").returncode == 0
    r = run("generate", "-n", "20000", "--db", url, "--if-exists", "append")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "at most 8,902 people after person_id 11,060,000" in r.stderr
    with sqlite3.connect(tmp_path / "p.db") as c:
        assert c.execute("SELECT COUNT(*) FROM persons").fetchone()[0] == 10
        assert c.execute("SELECT COUNT(*) FROM pii_gen_runs").fetchone()[0] == 1
    assert run("generate", "-n", "8902", "--db", url, "--if-exists", "append", "--quiet").returncode == 0
    with sqlite3.connect(tmp_path / "p.db") as c:
        assert c.execute("SELECT COUNT(DISTINCT ssn), MAX(person_id) FROM persons").fetchone() == (8912, 11_068_902)


def test_planning_a_huge_run_holds_nothing_per_task():
    import tracemalloc

    from pii_gen.config import build_config
    from pii_gen.backends import PerformanceOptimizer
    from pii_gen.planning import build_plan

    config = build_config({"count": 888_931_098, "pii_mode": "realistic", "batch_size": 10_000})
    tracemalloc.start()
    optimizer = PerformanceOptimizer(build_plan(config))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 100_000  # bytes: a list of its 88,894 tasks alone took megabytes
    assert optimizer.task_count == 88_894
    tasks = optimizer.tasks()
    assert next(tasks) == (0, 0, 1)
    assert list(PerformanceOptimizer(build_plan(config, first_task=88_893)).tasks()) == [(88_893, 88_893, 88_894)]


@pytest.mark.parametrize("content,needle", [(b"\xff\xfe\x00c\x00o\x00u\x00n\x00t", "UTF-8"),
                                            (b"count: \x00\x01\x02", "not valid YAML")])  # fmt: skip
def test_binary_config_file_is_one_line(tmp_path, content, needle):
    cfg = tmp_path / "bin.yaml"
    cfg.write_bytes(content)
    r = run("generate", "--config", str(cfg), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and needle in r.stderr and "bin.yaml" in r.stderr


@pytest.mark.parametrize("field", ["count", "seed", "workers", "batch_size", "address.unit_rate",
                                   "demographics.max_age"])  # fmt: skip
def test_a_boolean_is_not_a_number(tmp_path, field):
    cfg = tmp_path / "c.yaml"
    section, _, name = field.rpartition(".")
    cfg.write_text(f"{section}:\n  {name}: true\n" if section else f"{name}: true\n")
    r = run("generate", "--config", str(cfg), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert f"'{field}'" in r.stderr and "True" in r.stderr
    assert not (tmp_path / "o").exists()


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MiB tmpfs: a real full disk (mounting needs root; without it the test skips)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({r.stderr.strip() or 'mount failed'})")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.mark.parametrize("fmt,workers", [("csv", "2"), ("parquet", "1")])
def test_full_disk_is_one_line_and_leaves_nothing(small_disk, fmt, workers):
    out = small_disk / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    r = run("generate", "-n", "40000", "--batch-size", "10000", "--workers", workers, "--format", fmt,
            "--out", str(out), "--quiet")  # fmt: skip
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "No space left on device" in lines[0] and str(out) in lines[0], r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_file_size_limit_is_one_line_and_leaves_nothing(tmp_path):
    import resource

    def limit() -> None:  # ulimit -f 1024 (1 MiB), for the run and its workers
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))

    out = tmp_path / "out"
    r = subprocess.run(
        [sys.executable, str(ROOT / "pii_gen.py"), "generate", "-n", "40000", "--batch-size", "10000",
         "--workers", "2", "--out", str(out), "--quiet"],
        capture_output=True, text=True, timeout=600, preexec_fn=limit,
    )  # fmt: skip
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "File too large" in lines[0], r.stderr
    assert not out.exists()


def _staging(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.startswith(".pii_gen-partial-")]


def test_a_later_run_removes_the_staging_of_a_killed_run_only(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    command = [sys.executable, str(ROOT / "pii_gen.py"), "generate", "-n", "3000000", "--workers", "1",
               "--out", str(out), "--quiet"]  # fmt: skip
    procs, folders = [], []
    try:
        for _ in range(2):  # one after the other, so each one's staging folder is known
            procs.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(_staging(out)) == len(folders):
                time.sleep(0.05)
            folders += [p for p in _staging(out) if p not in folders]
        live, killed = procs
        assert len(folders) == 2
        killed.kill()  # kill -9: no chance to clean up
        killed.wait()
        assert folders[1].exists()  # left behind, as any kill -9 leaves it
        r = run("generate", "-n", "100", "--out", str(out), "--quiet")
        assert r.returncode == 0, r.stderr
        assert _staging(out) == [folders[0]]  # the killed run's folder is gone, the live run's stays
        assert live.poll() is None
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_a_run_replaces_the_previous_runs_files_as_a_whole(tmp_path):
    out = tmp_path / "out"
    assert run("generate", "-n", "500", "--noise", "light", "--out", str(out), "--quiet").returncode == 0
    (out / "notes.txt").write_text("not pii_gen's")
    assert (out / "noise_log.csv").exists()
    r = run("generate", "-n", "500", "--format", "parquet", "--out", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    want = {f"{t}.parquet" for t in TABLES} | {"manifest.json", "notes.txt"}
    assert {p.name for p in out.iterdir()} == want  # no CSV, no noise log of the earlier run
    assert (out / "notes.txt").read_text() == "not pii_gen's"


def test_help_shows_defaults_and_whole_command_descriptions():
    top = run("--help")
    assert top.returncode == 0
    commands = top.stdout.split("Commands:")[1].strip().splitlines()
    assert len(commands) == 10 and not any(line.rstrip().endswith("...") for line in commands), top.stdout
    gen = " ".join(run("generate", "--help").stdout.split())
    for default in ("1000", "30000", "csv", "people", "strict", "fail", "all cores"):
        assert f"[default: ({default})]" in gen, default
