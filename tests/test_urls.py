"""Database URLs parse into the right path, and a password never survives into text: one redaction for every
URL of every kind, checked over every scheme and credential form through the code paths that print them."""

import contextlib
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest
from servers import SKIP_PREFIX, server_url

from pii_gen.db.loaders import connect
from pii_gen.db.url import parse, redact
from pii_gen.errors import ConfigError
from pii_gen.redact import redact_url, secrets_of

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "url,dialect,path",
    [
        ("postgresql://u:p@h:5432/db", "postgresql", "native"),
        ("postgresql+pyodbc://u@h/db", "postgresql", "odbc"),
        ("mssql+pyodbc://sa:pw@host:1433/db?driver=ODBC+Driver+18+for+SQL+Server", "tsql", "odbc"),
        ("DRIVER={ODBC Driver 18 for SQL Server};SERVER=h;UID=sa;PWD=pw;", "tsql", "odbc"),
        ("mysql://root@127.0.0.1:3306/test", "mysql", "native"),
        ("mariadb://root@127.0.0.1/test", "mysql", "native"),
        ("mysql+pyodbc://root@127.0.0.1/test", "mysql", "odbc"),
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


# -- one redaction for every scheme and credential form ------------------------------------------

SECRET = "Zq9sEcr3tT0k"
ODBC = f"DRIVER={{ODBC Driver 18 for SQL Server}};SERVER=127.0.0.1,1;UID=sa;PWD={SECRET};"
CREDENTIALS = {  # scheme: URLs to an unreachable port, one per way of carrying a secret
    "postgresql": ["postgresql://u:{s}@127.0.0.1:1/db", "postgresql://:{s}@127.0.0.1:1/db",
                   "postgresql://u@127.0.0.1:1/db?password={s}"],
    "mysql": ["mysql://u:{s}@127.0.0.1:1/db", "mysql://u@127.0.0.1:1/db?password={s}"],
    "mariadb": ["mariadb://u:{s}@127.0.0.1:1/db", "mariadb://:{s}@127.0.0.1:1/db"],
    "mssql+pyodbc": ["mssql+pyodbc://sa:{s}@127.0.0.1:1/db", "mssql+pyodbc://sa:{s}@x!@127.0.0.1:1/db"],
    "odbc_connect": ["mssql+pyodbc://?odbc_connect=" + quote(ODBC, safe=""), ODBC,
                     ODBC.replace("PWD=", "Password=").replace(SECRET, "{" + SECRET + ";x}")],
    "sqlite": ["sqlite:///never/there/x.db?password={s}"],
    "duckdb": ["duckdb:///never/there/x.duckdb?token={s}"],
    "http": ["http://u:{s}@127.0.0.1:1/p", "http://:{s}@127.0.0.1:1/p", "http://{s}@127.0.0.1:1/p",
             "http://127.0.0.1:1/p?token={s}"],
    "https": ["https://u:{s}@127.0.0.1:1/p", "https://{s}@127.0.0.1:1/p", "https://127.0.0.1:1/p?access_token={s}"],
    "redis": ["redis://:{s}@127.0.0.1:1/0", "redis://default:{s}@127.0.0.1:1/0", "redis://127.0.0.1:1/0?password={s}"],
    "rediss": ["rediss://:{s}@127.0.0.1:1/0", "rediss://u:{s}@127.0.0.1:1/0"],
    "nats": ["nats://{s}@127.0.0.1:1/people", "nats://u:{s}@127.0.0.1:1/people"],
    "tls": ["tls://{s}@127.0.0.1:1/people", "tls://u:{s}@127.0.0.1:1/people"],
    "file": ["file://u:{s}@localhost/never/there/people.jsonl"],
}  # fmt: skip
# A raw "/", "?" or "#" in a password ends the host for a URL parser: still never shown.
RAW = {"redis": "redis://:{s}/x=?@127.0.0.1:1/0", "http": "http://u:{s}#/x@127.0.0.1:1/p",
       "postgresql": "postgresql://u:{s}/x@127.0.0.1:1/db", "nats": "nats://u:{s}?x@127.0.0.1:1/people",
       "mysql": "mysql://u:{s}@[::1/db", "https": "https://u:{s}@[::1/p"}  # fmt: skip
ALL = [(scheme, url.replace("{s}", SECRET)) for scheme, urls in CREDENTIALS.items() for url in urls]
ALL += [(scheme, url.replace("{s}", SECRET)) for scheme, url in RAW.items()]
DATABASES = ("postgresql", "mysql", "mariadb", "mssql+pyodbc", "odbc_connect", "sqlite", "duckdb")


@pytest.mark.parametrize("scheme,url", ALL)
def test_every_credential_form_is_redacted(scheme, url):
    assert SECRET in "".join(secrets_of(url)), "the secret is known, so it can be removed from driver errors"
    assert SECRET not in redact_url(url)
    # Without knowing the secret too: any text that merely quotes the URL.
    assert SECRET not in redact(f"error: cannot reach {url} (refused)")


def test_redact_keeps_what_is_not_secret():
    assert redact_url("postgresql://postgres@127.0.0.1:5432/test") == "postgresql://postgres@127.0.0.1:5432/test"
    assert redact_url("redis://:pw12@h:6379/0?stream=people") == "redis://:***@h:6379/0?stream=people"
    assert redact_url("nats://tok3n@h:4222/people.new") == "nats://***@h:4222/people.new"
    assert redact_url("http://h:8080/users/a@b.example?x=1") == "http://h:***@b.example?x=1"  # rather too much
    assert redact_url("http://h/users/a@b.example") == "http://h/users/a@b.example"
    assert redact("driver said: password authentication failed for user 'x', hunter22", "hunter22") == (
        "driver said: password authentication failed for user 'x', ***"
    )


def _run(capsys, args: list[str]) -> tuple[int, str]:
    from pii_gen.cli import main

    code = 0
    try:
        main(args)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.mark.parametrize("scheme,url", [(s, u) for s, u in ALL if s != "file"])
def test_unreachable_destination_errors_never_show_the_secret(capsys, scheme, url):
    code, text = _run(capsys, ["stream", "--count", "1", "--to", url])
    assert code == 2 and text.startswith("pii_gen: error: ") and text.count("\n") == 1, text
    assert SECRET not in text
    if scheme in DATABASES:
        for args in (["generate", "-n", "10", "--db", url, "-q"], ["validate", "--db", url, "-q"]):
            code, text = _run(capsys, args)
            assert code == 2 and text.count("\n") == 1 and "Traceback" not in text, text
            assert SECRET not in text


class _Accept(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 - the http.server convention
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize("form", CREDENTIALS["http"])
def test_stream_summary_never_shows_the_secret_http(capsys, form):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Accept)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = form.format(s=SECRET).replace("127.0.0.1:1", f"127.0.0.1:{server.server_address[1]}")
        code, text = _run(capsys, ["stream", "--rate", "0", "--count", "5", "--to", url])
    finally:
        server.shutdown()
    assert code == 0 and "sent 5, failed 0" in text, text
    assert SECRET not in text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _server(*command: str, port: int):
    """A real server process of our own (with a password) on ``port``, stopped afterwards."""
    if shutil.which(command[0]) is None:
        pytest.skip(f"{SKIP_PREFIX} {command[0]} is not installed")
    proc = subprocess.Popen(list(command), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize("form", ["redis://:{s}@127.0.0.1:{p}/0", "redis://default:{s}@127.0.0.1:{p}/0",
                                  "redis://127.0.0.1:{p}/0?password={s}"])  # fmt: skip
def test_stream_summary_never_shows_the_secret_redis(capsys, form):
    pytest.importorskip("redis")
    port = _free_port()
    with _server("redis-server", "--port", str(port), "--bind", "127.0.0.1", "--requirepass", SECRET,
                 "--save", "", "--appendonly", "no", port=port):  # fmt: skip
        code, text = _run(capsys, ["stream", "--rate", "0", "--count", "5", "--to", form.format(s=SECRET, p=port)])
    assert code == 0 and "sent 5, failed 0" in text, text
    assert SECRET not in text


def test_stream_summary_never_shows_the_secret_nats(capsys):
    pytest.importorskip("nats")
    port = _free_port()
    with _server("nats-server", "-a", "127.0.0.1", "-p", str(port), "--auth", SECRET, port=port):
        code, text = _run(capsys, ["stream", "--rate", "0", "--count", "5", "--to",
                                   f"nats://{SECRET}@127.0.0.1:{port}/people"])  # fmt: skip
    assert code == 0 and "sent 5, failed 0" in text, text
    assert SECRET not in text


def _with_password(url: str) -> str:
    """The test server's URL with a password added (the local servers trust 127.0.0.1, so it connects)."""
    scheme, rest = url.split("://", 1)
    user, _, host = rest.rpartition("@")
    return f"{scheme}://{user or 'postgres'}:{SECRET}@{host}"


def test_stream_summary_and_continue_line_never_show_the_secret_postgres(capsys):
    url = _with_password(server_url("PII_GEN_TEST_POSTGRES_URL"))
    streamed, loaded = (f"r_{uuid.uuid4().hex[:10]}" for _ in range(2))
    try:
        code, text = _run(capsys, ["stream", "--rate", "0", "--count", "5", "--to", url, "--db-schema", streamed])
        assert code == 0 and "sent " in text and "postgres:***@" in text, text
        assert SECRET not in text
        # Ctrl-C during a load: the line that says how to continue names the URL without its password.
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "pii_gen.py"), "generate", "-n", "60000", "--db", url, "--db-schema", loaded,
             "--batch-size", "10000", "--workers", "1"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        conn = connect(parse(url), loaded)
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and proc.poll() is None:
                if conn.table_exists("pii_gen_load_log"):
                    if conn.execute(f"SELECT COUNT(*) FROM {conn.table('pii_gen_load_log')}")[0][0]:
                        break
                    conn.rollback()
                time.sleep(0.1)
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=120)
        finally:
            conn.close()
        assert proc.returncode == 130, err
        assert "continue with: pii_gen generate --db 'postgresql://postgres:***@" in err
        assert SECRET not in out + err
    finally:
        conn = connect(parse(url))
        for schema in (streamed, loaded):
            conn.execute(f"DROP SCHEMA IF EXISTS {conn.dialect.q(schema)} CASCADE")
        conn.commit()
        conn.close()
