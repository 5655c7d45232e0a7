"""The job server's settings (``pii_gen serve``'s options), checked before it binds: a server reachable from
elsewhere than this machine must have an API token."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError

#: The variable holding the API token (``--token-file`` names a file holding it instead).
TOKEN_VAR = "PII_GEN_API_TOKEN"


@dataclass
class ServerSettings:
    """Where the server listens and keeps its jobs, its token and its limits."""

    host: str = "127.0.0.1"
    port: int = 8000
    data: Path = Path("pii_gen_server")
    token: str | None = None
    store: str | None = None  # a postgresql:// URL; none: SQLite in the data folder
    max_jobs: int = 2  # jobs running at once; more wait in the queue
    max_rows: int = 200_000_000  # rows one job may write (a population job: people x 13)
    grace: float = 10.0  # seconds a cancelled job has to stop before its processes are killed
    heartbeat: float = 15.0  # seconds between the comments that keep an idle event stream open

    def __repr__(self) -> str:  # never the token
        return f"ServerSettings(host={self.host!r}, port={self.port}, data={str(self.data)!r})"

    def check(self) -> "ServerSettings":
        """Refuse a server bound beyond loopback without a token, and limits that make no sense."""
        if not loopback(self.host) and not self.token:
            raise ConfigError(f"--host {self.host} is reachable from other machines: set {TOKEN_VAR} or "
                              "--token-file so requests need a token (or bind 127.0.0.1)")
        if self.max_jobs < 1:
            raise ConfigError(f"--max-jobs must be at least 1 (got {self.max_jobs})")
        if self.max_rows < 1:
            raise ConfigError(f"--max-rows must be at least 1 (got {self.max_rows})")
        if self.store is not None and not self.store.startswith(("postgresql://", "postgres://")):
            raise ConfigError("--store is a postgresql:// URL (without it, jobs are kept in SQLite in --data)")
        return self


def loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_token(token_file: Path | None) -> str | None:
    """The API token: from ``token_file`` (its first line) or the environment; None when neither is set."""
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip().splitlines()
        except OSError as err:
            raise ConfigError(f"--token-file {token_file}: {os.strerror(err.errno or 0)}") from None
        if not token or not token[0].strip():
            raise ConfigError(f"--token-file {token_file} is empty")
        return token[0].strip()
    return os.environ.get(TOKEN_VAR) or None
