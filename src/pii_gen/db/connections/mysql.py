"""MySQL/MariaDB through PyMySQL (pure Python): ``LOAD DATA LOCAL INFILE`` fed a tab-separated encoding of
the batch made with Arrow kernels, where the server allows it; batched multi-row INSERTs otherwise."""

from __future__ import annotations

import os
import re
import tempfile
from typing import Any, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from ...errors import OutputError
from ...core.contract import Table
from ...sinks.codecs import string_bytes
from ..url import DatabaseURL
from .base import Connection, rows

MYSQL_ROWS_PER_INSERT = 2_000

#: MySQL error codes of a dropped connection, deadlock or lock wait timeout: retried.
MYSQL_TRANSIENT = {1205, 1213, 2003, 2006, 2013, 2055}


class MysqlConnection(Connection):
    """MySQL/MariaDB through PyMySQL: ``LOAD DATA LOCAL INFILE`` where the server allows it, else INSERTs."""

    name = "mysql"
    claims = (("mysql", "native"),)
    extras = {"pymysql": "mysql"}
    paramstyle = "%s"

    def __init__(self, url: DatabaseURL, schema: str | None) -> None:
        super().__init__(url, schema)
        import pymysql

        self._pymysql = pymysql
        timeout = int(url.option("connect_timeout", "10"))
        self.raw = pymysql.connect(
            host=url.host or "127.0.0.1", port=url.port or 3306, user=url.user or None, password=url.password,
            database=url.database or None, charset="utf8mb4", autocommit=False, local_infile=True,
            connect_timeout=timeout,
        )  # fmt: skip
        # PyMySQL sends whatever file the server names: allow that only during our own LOAD DATA statement.
        self.raw._local_infile = False
        # ?local_infile=0 asks for INSERTs even where the server would take LOAD DATA LOCAL.
        wanted = url.option("local_infile", "1").lower() not in ("0", "false", "no", "off")
        self.local_infile = wanted and self._server_allows_local_infile()

    def execute(self, text: str, params: Sequence[Any] = ()) -> list[tuple]:
        cur = self.raw.cursor()
        cur.execute(self.sql(text), tuple(params) if params else None)  # None: a literal % stays as it is
        rows = cur.fetchall() if cur.description else []
        cur.close()
        return [tuple(r) for r in rows]

    def _server_allows_local_infile(self) -> bool:
        try:
            return bool(int(self.execute("SELECT @@local_infile")[0][0]))
        except Exception:  # noqa: BLE001 - a server without the variable does not allow it
            self.rollback()
            return False

    def stream_cursor(self) -> Any:
        return self.raw.cursor(self._pymysql.cursors.SSCursor)

    def load(self, table: Table, data: pa.Table, csv: bytes | None = None) -> None:
        if data.num_rows == 0:
            return
        if self.local_infile:
            self._load_data(table, data)
        else:
            self._insert(table, data)

    def _load_data(self, table: Table, data: pa.Table) -> None:
        """One LOAD DATA statement per table and batch, from a temporary file of the batch."""
        fd, path = tempfile.mkstemp(prefix="pii_gen_", suffix=".tsv")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(mysql_text(data, table))
            cur = self.raw.cursor()
            self.raw._local_infile = True
            try:
                cur.execute(
                    f"LOAD DATA LOCAL INFILE %s INTO TABLE {self.table(table.name)} CHARACTER SET utf8mb4 "
                    f"FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' "
                    f"({self.columns(table)})",
                    (path,),
                )
            finally:
                self.raw._local_infile = False
            # LOCAL makes the server skip rows it cannot take (a duplicate key) with a warning, not an error.
            if cur.rowcount != data.num_rows or cur.warning_count:
                warning = self.execute("SHOW WARNINGS LIMIT 1")
                cur.close()
                detail = f": {warning[0][2]}" if warning else ""
                raise OutputError(f"{table.name}: the server took {cur.rowcount} of {data.num_rows} rows{detail}")
            cur.close()
        finally:
            os.unlink(path)

    def _insert(self, table: Table, data: pa.Table) -> None:
        """Batched multi-row INSERTs (PyMySQL rewrites executemany into statements of up to 1 MB)."""
        marks = ", ".join("%s" for _ in table.columns)
        cur = self.raw.cursor()
        statement = f"INSERT INTO {self.table(table.name)} ({self.columns(table)}) VALUES ({marks})"
        for start in range(0, data.num_rows, MYSQL_ROWS_PER_INSERT):
            cur.executemany(statement, rows(data.slice(start, MYSQL_ROWS_PER_INSERT), table))
        cur.close()

    @staticmethod
    def is_transient(exc: BaseException) -> bool:
        import pymysql

        if isinstance(exc, pymysql.err.InterfaceError):  # the connection is closed
            return True
        code = exc.args[0] if isinstance(exc, pymysql.err.MySQLError) and exc.args else None
        return isinstance(code, int) and code in MYSQL_TRANSIENT


def mysql_text(data: pa.Table, table: Table) -> bytes:
    """The rows as LOAD DATA's default text format, built with Arrow kernels: tab-separated, ``\\N`` for
    null, backslash escapes for backslash, tab, newline and carriage return; booleans as 1/0."""
    columns = []
    for spec in table.columns:
        col = data.column(spec.name)
        if pa.types.is_boolean(col.type):
            col = pc.cast(col, pa.int8())
        scale = re.fullmatch(r"decimal\(\d+,\s*(\d+)\)", spec.declared)
        if scale and pa.types.is_floating(col.type):
            # A DECIMAL(p,s) column warns of a float's binary tail (124.71000000000001): its s decimals, exactly.
            digits = int(scale.group(1))
            col = pc.cast(pc.round(col, digits), pa.decimal128(38, digits), safe=False)
        if pa.types.is_string(col.type):
            for raw, escaped in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
                col = pc.replace_substring(col, raw, escaped)
        else:
            col = pc.cast(col, pa.string())
        columns.append(pc.fill_null(col, "\\N"))
    lines = pc.binary_join_element_wise(pc.binary_join_element_wise(*columns, "\t"), "\n", "")
    return string_bytes(lines.combine_chunks() if isinstance(lines, pa.ChunkedArray) else lines)
