"""Current home, previous homes with date ranges, and PO box, military and shipping addresses."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ....core import portable
from ....core.text import assemble, join, number_strings, take
from ....core.dates import DAYS_PER_YEAR, as_of_days, date_array
from .base import Column, Context, SubGenerator, child_ids
from .household import CHILD, PARTNER, SPOUSE

TYPE_VOCAB = pa.array(["home", "previous", "mailing", "shipping"])
HOME, PREVIOUS, MAILING, SHIPPING = 0, 1, 2, 3
DIRECTIONS = pa.array(["N", "S", "E", "W", "NE", "NW", "SE", "SW"])
DIRECTION_RATE = 0.08
MEAN_PREVIOUS_STAY_YEARS = 6.0
SAME_STATE_MOVE = 0.65  # ACS: most movers stay within their state
REGULAR, PO_BOX, MILITARY = 0, 1, 2
SEQ_MAILING, SEQ_SHIPPING = 8, 9
EIGHTEEN_YEARS = 6575  # days, to within one
OPEN = np.iinfo(np.int64).min  # valid_to of an address still in use (day numbers go negative before 1970)


class Address(SubGenerator):
    """One home per household, its ZIP drawn by the population of the householder's race/ethnicity in each
    ZIP (Census 2020), so city, county, state and coordinates all come from that one ZIP and agree; earlier
    homes chained back in time to the householder's 18th birthday and shared by the spouse or partner (from
    their 18th birthday) and the children (from birth); other members have their own earlier homes; some
    adults have a PO box, military mail or a shipping address."""

    name = "address"
    stream = 4
    table = "addresses"
    columns = (
        "address_id", "person_id", "address_type", "street", "unit", "city", "state", "zip_code",
        "county", "latitude", "longitude", "valid_from", "valid_to",
    )  # fmt: skip
    requires = ("race", "age", "birth_days", "hh_role", "hh_head")
    provides = ("home_zip", "home_state", "home_since")

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> dict[str, Column]:
        cfg = ctx.config.address
        places = ctx.ref.places
        v = ctx.values
        today = as_of_days(ctx.config.as_of)
        age = v["age"].astype(np.int64)
        birth = v["birth_days"].astype(np.int64)
        # Independent living starts at 18 (minors have lived at home since birth).
        adult_from = np.where(age >= 18, birth + EIGHTEEN_YEARS, birth)

        role, head = v["hh_role"], v["hh_head"]
        # Spouses, partners and children moved with the householder: they share the householder's
        # previous homes (from their 18th birthday, children from birth); other members have their own.
        sharer = np.isin(role, (SPOUSE, PARTNER, CHILD))
        owner = np.where(sharer, head, np.arange(n))
        joined = np.where(role == CHILD, birth, adult_from)  # earliest day a sharer lived with the household

        # One current home per household, drawn for the householder's race/ethnicity.
        home_zip = places.home_by_race.sample(rng, v["race"])[head]
        home_state = places.zip_state[home_zip]
        mean_stay = np.clip(2.0 + 0.18 * (age - 18), 2.0, 14.0)
        stay = np.floor(rng.exponential(mean_stay) * DAYS_PER_YEAR).astype(np.int64)
        own_from = np.maximum(today - stay, adult_from)
        head_from = own_from[head]
        home_from = np.where(sharer, np.maximum(head_from, joined), np.maximum(head_from, own_from))

        # Previous homes: up to max_previous stays chained backwards from the owner's current one.
        k = cfg.max_previous
        plan = [(np.arange(n), np.zeros(n, np.int64), home_zip, np.full(n, HOME), home_from, np.full(n, OPEN))]
        if k:
            chain_from, chain_adult = home_from[owner], adult_from[owner]
            years_before_home = np.maximum(home_from - adult_from, 0) / DAYS_PER_YEAR  # sharers use the owner's
            count = np.minimum(rng.poisson(years_before_home / MEAN_PREVIOUS_STAY_YEARS), k)[owner]
            dur = np.floor(rng.exponential(MEAN_PREVIOUS_STAY_YEARS, (n, k)) * DAYS_PER_YEAR).astype(np.int64) + 30
            dur = dur[owner]
            ends = (
                chain_from[:, None]
                - 1
                - np.concatenate([np.zeros((n, 1), np.int64), np.cumsum(dur + 1, axis=1)[:, :-1]], axis=1)
            )
            starts = ends - dur
            use = (np.arange(k)[None, :] < count[:, None]) & (ends > chain_adult[:, None])
            reached_18 = starts <= chain_adult[:, None]  # this stay is cut at the 18th birthday
            use &= (np.cumsum(reached_18, axis=1) - reached_18) == 0  # nothing before that
            own_chain = use & ~sharer[:, None]
            use &= ends > np.where(sharer, joined, chain_adult)[:, None]
            who, j = np.nonzero(own_chain)
            local = rng.random(len(who)) < SAME_STATE_MOVE
            zip_of = np.zeros((n, k), np.int64)
            zip_of[who, j] = np.where(
                local,
                places.home_by_state.sample(rng, home_state[who]),
                places.home_by_race.sample(rng, v["race"][who]),
            )
            who, j = np.nonzero(use)
            plan.append(
                (
                    who,
                    j + 1,
                    zip_of[owner[who], j],
                    np.full(len(who), PREVIOUS),
                    np.maximum(starts[who, j], np.where(sharer, joined, chain_adult)[who]),
                    ends[who, j],
                )
            )

        # Mailing addresses: a PO box in the home state, or military mail for some adults.
        r = rng.random(n)
        military = (r < cfg.military_rate) & (age >= 18) & (age < 60)
        po_box = (
            (age >= 18)
            & (r >= cfg.military_rate)
            & (r < cfg.military_rate + cfg.po_box_rate)
            & places.po_box_by_state.has_group(home_state)
        )
        who = np.flatnonzero(po_box)
        box_zip = places.po_box_by_state.sample(rng, home_state[who])
        who_m = np.flatnonzero(military)
        mil_zip = places.military_zips[places.military.sample(rng, len(who_m))]
        mail_who = np.concatenate([who, who_m])
        mail_zip = np.concatenate([box_zip, mil_zip])
        plan.append(
            (
                mail_who,
                np.full(len(mail_who), SEQ_MAILING),
                mail_zip,
                np.full(len(mail_who), MAILING),
                home_from[mail_who],
                np.full(len(mail_who), OPEN),
            )
        )

        ship = np.flatnonzero((rng.random(n) < cfg.shipping_rate) & (age >= 18))
        ship_zip = places.home_by_state.sample(rng, home_state[ship])
        ship_from = home_from[ship] + np.floor(rng.random(len(ship)) * (today - home_from[ship])).astype(np.int64)
        plan.append(
            (
                ship,
                np.full(len(ship), SEQ_SHIPPING),
                ship_zip,
                np.full(len(ship), SHIPPING),
                ship_from,
                np.full(len(ship), OPEN),
            )
        )

        who, seq, zips, kind, valid_from, valid_to = (np.concatenate(c) for c in zip(*plan))
        address_id = child_ids(ctx.person_id[who], seq, 10)
        order = np.argsort(address_id, kind="stable")
        who, seq, zips, kind, valid_from, valid_to, address_id = (
            a[order] for a in (who, seq, zips, kind, valid_from, valid_to, address_id)
        )
        m = len(who)
        style = np.where(kind == MAILING, np.where(np.isin(zips, places.military_zips), MILITARY, PO_BOX), REGULAR)
        street = assemble(
            style,
            {
                REGULAR: lambda rows: _street(rng, places, len(rows)),
                PO_BOX: lambda rows: join(["PO Box", number_strings(rng.integers(1, 20_000, len(rows)))], " "),
                MILITARY: lambda rows: join(
                    [
                        pa.array(np.where(rng.random(len(rows)) < 0.5, "PSC", "Unit")),
                        number_strings(rng.integers(1000, 10_000, len(rows))),
                        pc.binary_join_element_wise("Box", number_strings(rng.integers(1, 10_000, len(rows))), " "),
                    ],
                    " ",
                ),
            },
        )
        has_unit = (style == REGULAR) & (rng.random(m) < cfg.unit_rate)
        k = int(has_unit.sum())
        units = join([take(places.unit_vocab, places.unit.sample(rng, k)), _unit_numbers(rng, k)], " ")
        unit = take(units, np.cumsum(has_unit) - 1, null_mask=~has_unit)

        # Homes scatter around the ZIP's centre; PO boxes sit at it; some mail ZIPs have no location.
        coords_missing = places.zip_lat[zips] == 0
        jitter = np.where(style == REGULAR, 0.012, 0.0)
        lat = places.zip_lat[zips] + rng.normal(0, 1, m) * jitter
        lon = places.zip_lon[zips] + rng.normal(0, 1, m) * jitter
        # Shared homes are the owner's rows: the same street, unit and coordinates.
        owner_of_row = np.where(kind == HOME, head[who], np.where(kind == PREVIOUS, owner[who], who))
        if (owner_of_row != who).any():
            src = np.searchsorted(address_id, child_ids(ctx.person_id[owner_of_row], seq, 10))
            taker = pa.array(src.astype(np.int32))
            street, unit = street.take(taker), unit.take(taker)
            lat, lon = lat[src], lon[src]
        v.update(home_zip=home_zip, home_state=home_state, home_since=home_from)
        return {
            "address_id": address_id,
            "person_id": ctx.person_id[who],
            "address_type": TYPE_VOCAB.take(pa.array(kind)),
            "street": street,
            "unit": unit,
            "city": take(places.zip_city, zips),
            "state": take(places.zip_state_code, zips),
            "zip_code": take(places.zip_code, zips),
            "county": take(places.zip_county, zips),
            "latitude": pa.array(np.round(lat, 5), mask=coords_missing),
            "longitude": pa.array(np.round(lon, 5), mask=coords_missing),
            "valid_from": date_array(valid_from),
            "valid_to": date_array(np.where(valid_to == OPEN, 0, valid_to), null_mask=valid_to == OPEN),
        }


def _street(rng: np.random.Generator, places, n: int) -> pa.Array:
    """House number, an occasional direction, a street name and its USPS suffix abbreviation."""
    number = np.floor(portable.power(10.0, rng.random(n) * 4.1)).astype(np.int64) + 1
    direction = take(DIRECTIONS, rng.integers(0, len(DIRECTIONS), n), null_mask=rng.random(n) >= DIRECTION_RATE)
    name_suffix = places.street.sample(rng, n) * len(places.suffix_vocab) + places.suffix.sample(rng, n)
    return join([number_strings(number), direction, take(places.street_and_suffix, name_suffix)], " ")


UNIT_LETTERS = pa.array(list("ABCDEF"))


def _unit_numbers(rng: np.random.Generator, n: int) -> pa.Array:
    """Unit numbers such as 12, 304 or 4B."""
    lettered = rng.random(n) < 0.25
    plain = number_strings(np.where(rng.random(n) < 0.6, rng.integers(1, 40, n), rng.integers(100, 1000, n)))
    letter = take(UNIT_LETTERS, rng.integers(0, len(UNIT_LETTERS), n), null_mask=~lettered)
    return join([plain, letter])
