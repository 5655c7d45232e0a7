"""The prepared reference data kept on disk: read back when it is this user's and current, else prepared again,
and the output the same either way."""

from __future__ import annotations

import os
import shutil
import stat

import pyarrow as pa
import pytest

from pii_gen import GenerateConfig, PersonGenerator
from pii_gen.packs.person.reference import cache, prepare


@pytest.fixture
def folder(tmp_path, monkeypatch):
    where = tmp_path / "cache"
    monkeypatch.setenv(cache.CACHE_VAR, str(where))
    return where


def _counting() -> tuple[list[int], object]:
    calls: list[int] = []

    def build() -> dict[str, int]:
        calls.append(1)
        return {"built": len(calls)}

    return calls, build


def test_a_second_process_reads_what_the_first_prepared(folder):
    calls, build = _counting()
    assert cache.cached(build) == {"built": 1}
    files = list(folder.glob("reference-*.pickle"))
    assert [f.name for f in files] == [f"reference-{cache.digest()}.pickle"]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert cache.cached(build) == {"built": 1}  # read back: not built again
    assert len(calls) == 1


def test_a_damaged_or_foreign_writable_file_is_prepared_again_and_replaced(folder):
    calls, build = _counting()
    cache.cached(build)
    path = folder / f"reference-{cache.digest()}.pickle"
    path.write_bytes(b"not a pickle")
    assert cache.cached(build) == {"built": 2}
    assert path.read_bytes() != b"not a pickle"
    os.chmod(path, 0o666)  # anyone could have written it: never unpickled
    assert cache.cached(build) == {"built": 3}
    os.chmod(folder, 0o777)  # nor from a folder anyone can write to, where nothing is stored either
    os.unlink(path)
    assert cache.cached(build) == {"built": 4}
    assert not path.exists()


def test_off_keeps_nothing_and_an_unwritable_folder_is_no_error(tmp_path, monkeypatch):
    calls, build = _counting()
    monkeypatch.setenv(cache.CACHE_VAR, "off")
    assert cache.cache_dir() is None
    cache.cached(build), cache.cached(build)
    assert len(calls) == 2
    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.setenv(cache.CACHE_VAR, str(blocked / "cache"))  # below a file: cannot be made
    assert cache.cached(build) == {"built": 3}


def test_the_digest_follows_the_reference_tables(tmp_path, monkeypatch):
    copy = tmp_path / "data"
    shutil.copytree(cache.data_dir(), copy)
    monkeypatch.setattr(cache, "data_dir", lambda: copy)
    before = cache.digest()
    assert cache.digest() == before
    with open(copy / "states.parquet", "ab") as f:
        f.write(b"\0")
    assert cache.digest() != before


def test_prepared_and_read_back_data_make_the_same_people(folder, monkeypatch):
    reference = cache.cached(prepare)  # prepared and stored
    again = cache.cached(lambda: pytest.fail("the stored data was not read"))
    assert again is not reference
    tables = {}
    for name, ref in (("prepared", reference), ("read back", again)):
        monkeypatch.setattr("pii_gen.packs.person.pack.load", lambda ref=ref: ref)
        tables[name] = PersonGenerator(GenerateConfig(seed=4)).generate(12_000)
    for table, prepared in tables["prepared"].items():
        assert isinstance(prepared, pa.Table)
        assert tables["read back"][table].equals(prepared), table
