"""Phone numbers with the home state's area codes and e-mail addresses built from the name."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import identifiers as ids
from ....core.text import assemble, join, number_strings, take
from .base import Column, Context, SubGenerator, child_ids

PHONE_TYPES = pa.array(["mobile", "home", "work"])
EMAIL_TYPES = pa.array(["personal", "work"])
MOBILE_RATE = 0.96
PERSONAL_EMAIL_RATE = 0.92
# Personal e-mail local-part patterns and their shares.
PERSONAL_PATTERNS = np.array([0.25, 0.12, 0.10, 0.12, 0.08, 0.06, 0.04, 0.08, 0.15])
WORK_PATTERNS = np.array([0.6, 0.3, 0.1])


class Contact(SubGenerator):
    """Mobile, home and work phones whose area codes serve the person's home ZIP (always within the
    home state); personal e-mails from name patterns at consumer domains (reserved domains in strict
    mode) and work e-mails at the current employer's domain."""

    name = "contact"
    stream = 6
    table = "phone_numbers"
    columns = ("phone_id", "person_id", "phone_type", "phone_number", "is_primary")
    requires = ("age", "home_zip", "employed", "hh_head")

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> dict[str, Column]:
        cfg = ctx.config.contact
        places = ctx.ref.places
        v = ctx.values
        age = v["age"]
        head = v["hh_head"]
        # A landline belongs to the household (likelier the older its householder): every member lists it.
        home_factor = np.where(age < 35, 0.5, np.where(age < 65, 1.0, 2.2))
        has = np.column_stack(
            [
                (age >= 13) & (rng.random(n) < MOBILE_RATE),
                (rng.random(n) < np.minimum(cfg.home_phone_rate * home_factor, 0.9))[head],
                v["employed"] & (rng.random(n) < cfg.work_phone_rate),
            ]
        )
        who, kind = np.nonzero(has)
        zips = v["home_zip"][who]
        pick = places.zip_npa_start[zips] + np.floor(rng.random(len(who)) * places.zip_npa_count[zips]).astype(np.int64)
        npa = places.zip_npa[pick]
        fmt = ids.format_phone_strict if ctx.strict else ids.format_phone_realistic
        number = fmt(npa, rng)
        phone_id = child_ids(ctx.person_id[who], kind + 1, 10)
        shared = (kind == 1) & (head[who] != who)
        if shared.any():  # members' home lines are the householder's row
            src = np.arange(len(who))
            src[shared] = np.searchsorted(phone_id, child_ids(ctx.person_id[head[who[shared]]], 2, 10))
            number = number.take(pa.array(src.astype(np.int32)))
        first_kind = np.argmax(has, axis=1)
        return {
            "phone_id": phone_id,
            "person_id": ctx.person_id[who],
            "phone_type": PHONE_TYPES.take(pa.array(kind)),
            "phone_number": number,
            "is_primary": kind == first_kind[who],
        }


class Email(SubGenerator):
    """E-mail addresses (see :class:`Contact`)."""

    name = "email"
    stream = 7
    table = "email_addresses"
    columns = ("email_id", "person_id", "email_type", "email", "is_primary")
    requires = ("age", "employed", "first_idx", "last_idx", "birth_year", "current_employer")

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> dict[str, Column]:
        cfg = ctx.config.contact
        v = ctx.values
        has = np.column_stack(
            [
                (v["age"] >= 13) & (rng.random(n) < PERSONAL_EMAIL_RATE),
                v["employed"] & (rng.random(n) < cfg.work_email_rate),
            ]
        )
        who, kind = np.nonzero(has)
        m = len(who)
        names = ctx.ref.names
        first = take(names.first_slug, v["first_idx"][who])
        last = take(names.surname_slug, v["last_idx"][who])
        yy = v["birth_year"][who]

        domains, domain_sampler = ctx.ref.people.email_domains[ctx.config.pii_mode]
        personal_domain = take(domains, domain_sampler.sample(rng, m))
        employer = v["current_employer"][who]
        tld = ".example" if ctx.strict else ".com"
        employer_domain = take(ctx.ref.work.employer_domains, np.maximum(employer, 0), null_mask=employer < 0)
        work_domain = pc.binary_join_element_wise(employer_domain, tld, "")

        initial = pc.utf8_slice_codeunits(first, 0, 1)
        last_initial = pc.utf8_slice_codeunits(last, 0, 1)
        two_digit = number_strings(yy % 100)
        code = np.where(
            kind == 0,
            np.searchsorted(np.cumsum(PERSONAL_PATTERNS), rng.random(m) * PERSONAL_PATTERNS.sum(), side="right"),
            100 + np.searchsorted(np.cumsum(WORK_PATTERNS), rng.random(m) * WORK_PATTERNS.sum(), side="right"),
        )
        rnd = number_strings(rng.integers(1, 1000, m))

        def at(rows: np.ndarray, parts: list, sep: str = "") -> pa.Array:
            r = pa.array(rows)
            return join([p.take(r) if isinstance(p, (pa.Array, pa.ChunkedArray)) else p for p in parts], sep)

        patterns = {
            0: lambda r: at(r, [first, ".", last]),
            1: lambda r: at(r, [first, last]),
            2: lambda r: at(r, [initial, last]),
            3: lambda r: at(r, [first, ".", last, two_digit]),
            4: lambda r: at(r, [first, rnd]),
            5: lambda r: at(r, [first, "_", last]),
            6: lambda r: at(r, [last, first]),
            7: lambda r: at(r, [first, last_initial, rnd]),
            8: lambda r: at(r, [first, ".", last, number_strings(yy)]),
            100: lambda r: at(r, [first, ".", last]),
            101: lambda r: at(r, [initial, last]),
            102: lambda r: at(r, [first, last_initial]),
        }
        local = assemble(code, patterns)
        if cfg.unique_emails:
            local = join([local, ".", number_strings(ctx.person_id[who])])
        domain = pc.if_else(pa.array(kind == 0), personal_domain, work_domain)
        first_kind = np.argmax(has, axis=1)
        return {
            "email_id": child_ids(ctx.person_id[who], kind + 1, 10),
            "person_id": ctx.person_id[who],
            "email_type": EMAIL_TYPES.take(pa.array(kind)),
            "email": join([local, "@", domain]),
            "is_primary": kind == first_kind[who],
        }
