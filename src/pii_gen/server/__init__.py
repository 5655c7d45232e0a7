"""``pii_gen serve``: a job API over the Python API and the backend's events, and a web wizard on top of it.

:mod:`.app` (the routes), :mod:`.jobs` (queue, worker processes, cancel, recovery), :mod:`.worker` (the process a
job runs in), :mod:`.resolve` (a request's meaning), :mod:`.store` (SQLite or PostgreSQL), :mod:`.models` (the
bodies), :mod:`.settings` (the options).  Needs the ``server`` extra (FastAPI, uvicorn).
"""

from __future__ import annotations

from ..errors import ConfigError
from .settings import ServerSettings

__all__ = ["ServerSettings", "serve"]


def serve(settings: ServerSettings) -> None:
    """Run the server until interrupted (uvicorn; its access log shows paths, never a token)."""
    try:
        import uvicorn

        from .app import create_app
    except ImportError as err:
        if (err.name or "").split(".")[0] not in ("fastapi", "uvicorn", "starlette", "pydantic_core"):
            raise
        raise ConfigError(f'pii_gen serve needs the server extra ({err.name} is missing): '
                          'pip install "pii-gen[server]"') from None

    uvicorn.run(create_app(settings.check()), host=settings.host, port=settings.port, log_level="info")
