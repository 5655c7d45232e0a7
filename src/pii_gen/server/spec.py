"""The job API's OpenAPI spec as the server serves it; ``python -m pii_gen.server.spec`` rewrites the copy
checked in beside this module (``openapi.json``), which a test compares with the served one."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from .app import create_app
from .settings import ServerSettings

CHECKED_IN = Path(__file__).parent / "openapi.json"


def spec() -> dict[str, Any]:
    """The spec of an app like every server's (its routes do not depend on the settings)."""
    with tempfile.TemporaryDirectory() as data:
        return create_app(ServerSettings(data=Path(data))).openapi()


def main() -> None:
    CHECKED_IN.write_text(json.dumps(spec(), indent=2) + "\n", encoding="utf-8")
    print(f"wrote {CHECKED_IN}")


if __name__ == "__main__":
    main()
