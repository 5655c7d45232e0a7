"""The driver's side of the Spark engine's direct write (:func:`pii_gen.spark.write_direct`): where the executors
put each table's parts, and publishing them once the job has returned their list.

Parquet parts go to a hidden staging folder of the output (``.pii_gen-spark-<token>/<table>/``) and are moved
into ``OUT/<table>/`` when every block is written; Delta parts go straight into the table's folder, where no
reader sees them before the one commit per table.  Either way a failed or cancelled job publishes nothing, and
only the parts the job returned (one per table and block, named by block) are published, so a file a failed
or speculative task attempt wrote is never counted twice.  Then manifest.json, as a local run writes it.
Imports no pyspark: pyarrow's file systems only.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Callable

import pyarrow as pa
from pyarrow import fs

from ..core.plan import RunPlan
from ..errors import OutputError
from ..sinks.delta import MODES, Part, check_table, commit_parts, part_name, write_part
from ..sinks.files import MANIFEST

STAGING_PREFIX = ".pii_gen-spark-"


class DirectRun:
    """One direct write of ``plan`` into ``out`` (a folder or URI) as ``format``, ``if_exists`` per table."""

    def __init__(self, plan: RunPlan, out: str, format: str, if_exists: str, where: tuple[Any, str]) -> None:
        self.plan, self.out, self.format, self.if_exists = plan, out, format, if_exists
        self.fs, self.root = where
        self.root = self.root.rstrip("/")
        self.local = isinstance(self.fs, fs.LocalFileSystem)
        self.uri = self.root if self.local else out  # what the executors resolve again
        self.token = uuid.uuid4().hex[:12]
        self.staging = f"{self.root}/{STAGING_PREFIX}{self.token}"
        self.committed: list[str] = []
        self.versions: dict[str, int] = {}

    def table_uri(self, name: str) -> str:
        """Where deltalake finds table ``name`` (an s3a:// URI is s3:// to it)."""
        if self.local:
            return f"{self.root}/{name}"
        base = self.out.rstrip("/")
        return "s3://" + base.split("://", 1)[1] + f"/{name}" if base.startswith(("s3a://", "s3n://")) else \
            f"{base}/{name}"

    def folders(self) -> dict[str, str]:
        """Each table's folder for the executors' parts (made here, so no executor races to make it)."""
        base = self.staging if self.format == "parquet" else self.root
        out = {name: f"{base}/{name}" for name in self.plan.tables}
        try:
            for folder in out.values():
                self.fs.create_dir(folder, recursive=True)
        except OSError as err:
            raise OutputError(f"cannot write to '{self.out}': {' '.join(str(err).split())[:200]}") from None
        return out

    def _files(self, folder: str) -> list[fs.FileInfo]:
        info = self.fs.get_file_info(folder)
        if info.type == fs.FileType.NotFound:
            return []
        if info.type != fs.FileType.Directory:
            raise OutputError(f"'{folder}' exists and is not a folder: move it away or write elsewhere")
        return [f for f in self.fs.get_file_info(fs.FileSelector(folder)) if not f.base_name.startswith((".", "_"))]

    def check(self) -> None:
        """Refuse, before any job runs, what cannot be written: a table there with ``fail``, an append of other
        columns to a Delta table, a file where a folder goes."""
        for name, table in self.plan.tables.items():
            if self.format == "delta":
                check_table(self.table_uri(name), table.arrow_schema, MODES[self.if_exists])
            elif self.if_exists == "fail" and self._files(f"{self.root}/{name}"):
                raise OutputError(f"'{self.out.rstrip('/')}/{name}' already holds files: pass --if-exists append "
                                  "to add to them or --if-exists replace to overwrite them")  # fmt: skip

    def publish(self, parts: dict[str, list[Part]], record: Callable[[dict[str, dict[str, object]]],
                                                                      dict[str, object]]) -> dict[str, str]:
        """Move (Parquet) or commit (Delta) every table's ``parts``, then write manifest.json; where each went."""
        from .. import __version__

        outputs = {}
        for name, table in self.plan.tables.items():
            target = f"{self.root}/{name}"
            if self.format == "delta":
                rows = sum(p.rows for p in parts[name])
                self.versions[name] = commit_parts(self.table_uri(name), table.arrow_schema, parts[name],
                                                   MODES[self.if_exists], {"pii_gen": __version__, "rows": rows})
                self.committed.append(name)
            else:
                if not parts[name]:  # no rows: one empty part, so readers still see the table's columns
                    parts[name].append(write_part(f"{self.staging}/{name}", part_name(0, self.token), name,
                                                  table.arrow_schema.empty_table(), self.fs))
                old = self._files(target) if self.if_exists == "replace" else []
                self.fs.create_dir(target, recursive=True)
                for part in parts[name]:
                    self.fs.move(f"{self.staging}/{name}/{part.path}", f"{target}/{part.path}")
                new = {p.path for p in parts[name]}
                for info in old:
                    if info.base_name not in new:
                        self._delete(info)
            outputs[name] = f"{self.out.rstrip('/')}/{name}"
        if self.format == "parquet":
            self.fs.delete_dir(self.staging)
        files = self.checksums(parts)
        with self.fs.open_output_stream(f"{self.root}/{MANIFEST}") as f:
            f.write((json.dumps(record(files), indent=2, sort_keys=False) + "\n").encode())
        return outputs

    def _delete(self, info: fs.FileInfo) -> None:
        if info.type == fs.FileType.Directory:
            self.fs.delete_dir(info.path)
        else:
            self.fs.delete_file(info.path)

    def checksums(self, parts: dict[str, list[Part]]) -> dict[str, dict[str, object]]:
        """The manifest's ``files``: each table's folder with its rows, bytes and parts (as a local Delta run's)."""
        out: dict[str, dict[str, object]] = {}
        for name, ps in parts.items():
            entry: dict[str, object] = {"table": name, "rows": sum(p.rows for p in ps),
                                        "bytes": sum(p.size for p in ps)}
            if self.format == "delta":
                entry |= {"delta_version": self.versions.get(name), "mode": MODES[self.if_exists]}
            entry["parts"] = [{"path": p.path, "rows": p.rows, "bytes": p.size, "crc32": f"{p.crc32 & 0xFFFFFFFF:08x}"}
                              for p in ps]  # fmt: skip
            out[name] = entry
        return out

    def abort(self) -> None:
        """Remove what a failed or cancelled run wrote and did not publish (best effort: never raises)."""
        try:
            if self.format == "parquet":
                if self.fs.get_file_info(self.staging).type != fs.FileType.NotFound:
                    self.fs.delete_dir(self.staging)
                return
            for name in self.plan.tables:
                if name in self.committed:
                    continue
                folder = f"{self.root}/{name}"
                if self.fs.get_file_info(folder).type != fs.FileType.Directory:
                    continue
                for info in self.fs.get_file_info(fs.FileSelector(folder)):
                    if self.token in info.base_name:  # this run's parts (and temporaries), in no commit
                        self.fs.delete_file(info.path)
                if not self.fs.get_file_info(fs.FileSelector(folder)):
                    self.fs.delete_dir(folder)
        except (OSError, pa.ArrowException):
            pass
