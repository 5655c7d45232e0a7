"""Database URLs parse into the right path, and a password never survives into text."""

import pytest

from pii_gen.db.url import parse, redact
from pii_gen.errors import ConfigError


@pytest.mark.parametrize(
    "url,dialect,path",
    [
        ("postgresql://u:p@h:5432/db", "postgresql", "native"),
        ("postgresql+pyodbc://u@h/db", "postgresql", "odbc"),
        ("mssql+pyodbc://sa:pw@host:1433/db?driver=ODBC+Driver+18+for+SQL+Server", "tsql", "odbc"),
        ("DRIVER={ODBC Driver 18 for SQL Server};SERVER=h;UID=sa;PWD=pw;", "tsql", "odbc"),
        ("mysql://root@127.0.0.1:3306/test", "mysql", "odbc"),
        ("mariadb://root@127.0.0.1/test", "mysql", "odbc"),
        ("sqlite:///people.db", "sqlite", "native"),
        ("duckdb:///people.duckdb", "duckdb", "native"),
        (None, "duckdb", "native"),
    ],
)
def test_parse(url, dialect, path):
    p = parse(url)
    assert (p.dialect, p.path) == (dialect, path)


def test_file_paths():
    assert parse("sqlite:///rel/a.db").file == "rel/a.db"
    assert parse("sqlite:////abs/a.db").file == "/abs/a.db"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:s3cr%40t!@h/db",
        "mssql+pyodbc://sa:s3cr@t!@host/db",
        "DRIVER={x};SERVER=h;PWD={s3cr@t!;x};",
        "mssql+pyodbc://?odbc_connect=DRIVER%3D%7Bx%7D%3BPWD%3Ds3cr%40t!%3B",
    ],
)
def test_password_never_shown(url):
    p = parse(url)
    assert "s3cr" not in p.redacted() and "s3cr" not in str(p) and "s3cr" not in repr(p)
    if p.path == "odbc":
        assert "s3cr" not in redact(p.odbc_connection_string(), p.password)


def test_redact_free_text():
    assert redact("failed: postgresql://bob:hunter2@h/db PWD=xyz; password=abc") == (
        "failed: postgresql://bob:***@h/db PWD=***; password=***"
    )


@pytest.mark.parametrize("url,needle", [("oracle://x/y", "oracle"), ("postgresql://h:notaport/db", "port"),
                                        ("sqlite://", "needs a file")])  # fmt: skip
def test_bad_urls(url, needle):
    with pytest.raises(ConfigError, match=needle):
        parse(url)
