"""Golden output: the exact rows of a few fixed runs, frozen so a refactor cannot change a byte unnoticed.

Each run's tables are digested (SHA-256) from their content: CSV and JSON Lines files as written, Parquet
files through their decoded rows (so a new pyarrow's footer does not count as a change of output). The
digests live in ``digests.json``; ``python3 tests/golden/test_golden.py --freeze`` rewrites it, which is
only right when a change of output is the point of a commit (say so in its message).
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[2]
DIGESTS = Path(__file__).with_name("digests.json")
PEOPLE = 30_000
STREAMED = 2_000

# (format, seed, noise, workers): every format and noise profile is run at both worker counts.
RUNS = [
    (fmt, seed, noise, 1 if (seed == 1) == (noise == "none") else 2)
    for fmt in ("csv", "parquet")
    for seed in (1, 42)
    for noise in ("none", "realistic")
]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "pii_gen.py"), *args], capture_output=True, timeout=600)


def _digest_file(path: Path) -> str:
    if path.suffix != ".parquet":
        return hashlib.sha256(path.read_bytes()).hexdigest()
    table = pq.read_table(path)
    buf = io.BytesIO()
    pacsv.write_csv(table, buf)
    return hashlib.sha256(str(table.schema).encode() + b"\n" + buf.getvalue()).hexdigest()


def run_digests(out: Path, fmt: str, seed: int, noise: str, workers: int) -> dict[str, str]:
    """Generate one run into ``out`` and digest each table file (the manifest is not output data)."""
    r = _cli("generate", "-n", str(PEOPLE), "--seed", str(seed), "--format", fmt, "--noise", noise,
             "--workers", str(workers), "--out", str(out), "--quiet")  # fmt: skip
    assert r.returncode == 0, r.stderr.decode()
    return {p.name: _digest_file(p) for p in sorted(out.iterdir()) if p.name != "manifest.json"}


def stream_digest() -> str:
    r = _cli("stream", "--rate", "0", "--count", str(STREAMED), "--seed", "1", "--quiet")
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout.count(b"\n") == STREAMED
    return hashlib.sha256(r.stdout).hexdigest()


def _key(fmt: str, seed: int, noise: str) -> str:
    return f"{fmt}-seed{seed}-{noise}"


@pytest.fixture(scope="module")
def frozen() -> dict:
    return json.loads(DIGESTS.read_text())


@pytest.mark.parametrize("fmt,seed,noise,workers", RUNS, ids=[_key(*r[:3]) + f"-w{r[3]}" for r in RUNS])
def test_generate_output_is_unchanged(tmp_path, frozen, fmt, seed, noise, workers):
    assert run_digests(tmp_path, fmt, seed, noise, workers) == frozen["generate"][_key(fmt, seed, noise)]


def test_stream_output_is_unchanged(frozen):
    assert stream_digest() == frozen["stream"]


def freeze() -> None:
    import tempfile

    result: dict = {"generate": {}, "stream": stream_digest()}
    for fmt, seed, noise, workers in RUNS:
        with tempfile.TemporaryDirectory() as tmp:
            result["generate"][_key(fmt, seed, noise)] = run_digests(Path(tmp) / "out", fmt, seed, noise, workers)
    DIGESTS.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print(f"froze {len(RUNS)} runs and a stream into {DIGESTS.name}")


if __name__ == "__main__":
    if sys.argv[1:] != ["--freeze"]:
        sys.exit("usage: python3 tests/golden/test_golden.py --freeze")
    freeze()
