"""README's generated parts match what they are generated from."""

from __future__ import annotations

import re
from pathlib import Path

from pii_gen.dsl import reference_markdown

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_schema_reference_in_the_readme_is_the_registry_s():
    text = README.read_text(encoding="utf-8")
    found = re.search(r"<!-- reference:start -->\n(.*?)<!-- reference:end -->", text, re.S)
    assert found, "README lost its generated schema reference"
    assert found.group(1).rstrip("\n") == reference_markdown().rstrip("\n"), (
        "README's generator/modifier reference is stale: paste pii_gen.dsl.reference_markdown() between its markers"
    )
