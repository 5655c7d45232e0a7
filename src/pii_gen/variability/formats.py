"""Format drift: the same value written the way another system or clerk writes it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..packs.person.reference import _read
from ..core.contract import Column
from ..core.text import assemble, fixed_width, join
from .base import Cells, Change, NoiseType

DATE_TEXT_LENGTH = 12  # "Mar 07, 1980"
DATES = ("birth_date", "reported_date", "date")  # kinds written as dates
TEXT = ("given_name", "middle_name", "family_name", "city", "county", "organization", "job_title", "email")
DATE_FORMATS = ("%m/%d/%Y", "%d/%m/%Y", "%m/%d/%y", "%Y%m%d", "%b %d, %Y")  # as written by _date_form
MONTHS = pa.array(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"])


def _abbreviations(table: str, full: str) -> tuple[pa.Array, pa.Array]:
    t = _read(table)
    return t.column("abbreviation").combine_chunks(), t.column(full).combine_chunks()


class FormatDrift(NoiseType):
    """Phones as (212) 555-0123, 212.555.0123, +1 212 555 0123 or with an extension; dates in US,
    day-first, two-digit-year and other formats; SSNs and card numbers without or with other
    separators; street suffixes and unit designators spelt out, abbreviated with a period or written as "#"; upper,
    lower or title case; stray whitespace."""

    name = "format"
    variants = (
        "upper", "lower", "title", "whitespace", "spelt_out", "abbreviation_period",
        "phone_parentheses", "phone_dots", "phone_international", "phone_digits", "phone_extension",
        "date_us", "date_day_first", "date_two_digit_year", "date_compact", "date_month_name",
        "ssn_digits", "ssn_spaces", "card_spaces", "card_dashes", "number_sign",
    )  # fmt: skip
    position = 4
    kinds = frozenset({*DATES, *TEXT, "phone", "ssn", "card", "street", "unit"})  # TEXT: case and whitespace
    description = "other phone, date, SSN, card and address formats; case; stray whitespace"

    def __init__(self) -> None:
        self._suffixes = _abbreviations("street_suffixes", "suffix")
        self._units = _abbreviations("unit_designators", "designator")

    @classmethod
    def contract_column(cls, col: Column) -> Column:
        """A date column becomes text: drifted dates are written in other formats."""
        return replace(col, type=pa.string(), max_length=DATE_TEXT_LENGTH) if pa.types.is_date(col.type) else col

    def apply(self, cells: Cells) -> Change:
        n, v = len(cells), cells.values
        kind = cells.kind
        if kind in DATES:
            code = cells.choose((0.4, 0.2, 0.2, 0.1, 0.1))
            days = np.asarray(v.cast(pa.int32()), dtype=np.int64).astype("datetime64[D]")
            month_start = days.astype("datetime64[M]")
            ymd = (
                days.astype("datetime64[Y]").astype(np.int64) + 1970,
                month_start.astype(np.int64) % 12 + 1,
                (days - month_start).astype(np.int64) + 1,
            )
            forms = {k: _date_form(ymd, k) for k in range(len(DATE_FORMATS))}
            return Change(assemble(code, forms), np.ones(n, dtype=bool), 11 + code)
        if kind == "phone":
            code = cells.choose((0.3, 0.2, 0.2, 0.2, 0.1))
            ext = pc.cast(pa.array(cells.integers(1, 10_000)), pa.string())
            ext_word = pc.if_else(pa.array(cells.uniform() < 0.5), " x", " ext. ")
            forms = {
                0: _phone(v, lambda a, b, c: ("(", a, ") ", b, "-", c, "")),
                1: _phone(v, lambda a, b, c: (a, b, c, ".")),
                2: _phone(v, lambda a, b, c: ("+1", a, b, c, " ")),
                3: _phone(v, lambda a, b, c: (a, b, c, "")),
                4: lambda r: pc.binary_join_element_wise(v.take(r), ext_word.take(r), ext.take(r), ""),
            }
            return Change(assemble(code, forms), np.ones(n, dtype=bool), 6 + code)
        if kind == "ssn":
            spaced = cells.uniform() < 0.3
            values = pc.if_else(pa.array(spaced), pc.replace_substring(v, "-", " "), pc.replace_substring(v, "-", ""))
            return Change(values, np.ones(n, dtype=bool), np.where(spaced, 17, 16))
        if kind == "card":
            groups = [pc.utf8_slice_codeunits(v, a, a + 4) for a in (0, 4, 8)] + [pc.utf8_slice_codeunits(v, 12, 19)]
            dashed = cells.uniform() < 0.3
            values = pc.if_else(
                pa.array(dashed), pc.binary_join_element_wise(*groups, "-"), pc.binary_join_element_wise(*groups, " ")
            )
            return Change(values, np.ones(n, dtype=bool), np.where(dashed, 19, 18))
        code = cells.choose((0.35, 0.25, 0.15, 0.25))  # upper, lower, title, whitespace
        spaces = cells.choose((0.4, 0.3, 0.3))
        if kind in ("street", "unit"):
            # Most street and unit drift is in the suffix or designator: Ln -> Lane or Ln., Apt -> Apartment,
            # Apt. or #.
            abbr, full = self._suffixes if kind == "street" else self._units
            style = cells.choose((0.6, 0.4) if kind == "street" else (0.45, 0.35, 0.2))
            word = np.flatnonzero(cells.uniform() < 0.7)
            spelt, respelt_code, ok = _respell(v.take(pa.array(word)), abbr, full, kind == "street", style[word])
            code[word[ok]] = respelt_code[ok]
        forms = {
            0: lambda r: pc.utf8_upper(v.take(r)),
            1: lambda r: pc.utf8_lower(v.take(r)),
            2: lambda r: pc.utf8_title(v.take(r)),
            3: lambda r: _whitespace(v.take(r), spaces[r]),
        }
        if kind in ("street", "unit"):
            at = np.full(n, -1)
            at[word[ok]] = np.arange(ok.sum())
            respelt = spelt.filter(pa.array(ok))
            forms[4] = forms[5] = forms[20] = lambda r: respelt.take(pa.array(at[r]))
        values = assemble(code, forms)
        # A form that equals the original (upper case of "NW") is no change: stray whitespace instead.
        same = np.flatnonzero(np.asarray(pc.fill_null(pc.equal(values, v), False), dtype=bool))
        if len(same):
            code[same] = 3
            mask = np.zeros(n, dtype=bool)
            mask[same] = True
            trailing = pc.binary_join_element_wise(v.take(pa.array(same)), " ", "")
            values = pc.replace_with_mask(values, pa.array(mask), trailing)
        return Change(values, np.ones(n, dtype=bool), code)


def _date_form(ymd: tuple[np.ndarray, np.ndarray, np.ndarray], form: int):
    """A builder writing dates (given as year, month, day) in ``DATE_FORMATS[form]``, digit by digit
    (strftime is far slower)."""

    def build(rows: np.ndarray) -> pa.Array:
        y, m, d = (part[rows] for part in ymd)
        k = len(rows)
        if form == 4:
            return join([MONTHS.take(pa.array(m - 1)), fixed_width(k, [" ", (d, 2), ", ", (y, 4)])])
        parts = {
            0: [(m, 2), "/", (d, 2), "/", (y, 4)],
            1: [(d, 2), "/", (m, 2), "/", (y, 4)],
            2: [(m, 2), "/", (d, 2), "/", (y % 100, 2)],
            3: [(y, 4), (m, 2), (d, 2)],
        }[form]
        return fixed_width(k, parts)

    return build


def _phone(v: pa.Array, layout):
    """A builder joining a phone's area code, exchange and line the way ``layout`` orders them."""

    def build(rows: np.ndarray) -> pa.Array:
        part = v.take(pa.array(rows))
        npa, nxx, line = (pc.utf8_slice_codeunits(part, a, b) for a, b in ((0, 3), (4, 7), (8, 12)))
        return pc.binary_join_element_wise(*layout(npa, nxx, line))

    return build


def _whitespace(v: pa.Array, where: np.ndarray) -> pa.Array:
    """A trailing (``where`` 0) or leading (1) space, or a doubled inner one (2)."""
    double = pc.replace_substring(v, " ", "  ", max_replacements=1)
    has_space = pc.fill_null(pc.match_substring(v, " "), False)
    inner = pc.if_else(has_space, double, pc.binary_join_element_wise(v, "  ", ""))
    trailing = pc.binary_join_element_wise(v, " ", "")
    leading = pc.binary_join_element_wise(" ", v, "")
    return pc.if_else(pa.array(where == 0), trailing, pc.if_else(pa.array(where == 1), leading, inner))


def _respell(v: pa.Array, abbr: pa.Array, full: pa.Array, last_word: bool, style: np.ndarray):
    """Spell the street suffix (last word) or unit designator (first word) out (``style`` 0), add a
    period (1), or write a unit's designator as "#" (2).

    Returns the new values, their variant codes and where a known abbreviation was found.
    """
    parts = pc.split_pattern(v, " ", max_splits=1, reverse=last_word)
    two = pc.equal(pc.list_value_length(parts), 2)
    first, second = (pc.if_else(two, pc.list_element(parts, i), pa.nulls(len(v), pa.string())) for i in (0, 1))
    word, head = (second, first) if last_word else (first, second)
    idx = pc.index_in(word, abbr)
    spelt = full.take(pc.fill_null(idx, 0))
    # Spelling out needs a longer form ("Unit" has none); a period or "#" only a known abbreviation.
    changes = pc.or_(pc.not_equal(spelt, word), pa.array(style != 0))
    known = np.asarray(pc.fill_null(pc.and_(pc.is_valid(idx), changes), False), dtype=bool)
    new_word = pc.if_else(pa.array(style == 1), pc.binary_join_element_wise(word, ".", ""), spelt)
    if last_word:
        joined = pc.binary_join_element_wise(head, new_word, " ")
    else:
        joined = pc.if_else(
            pa.array(style == 2),
            pc.binary_join_element_wise("#", head, ""),
            pc.binary_join_element_wise(new_word, head, " "),
        )
    return joined, np.array([4, 5, 20])[style], known
