"""Domain generators of identity graphs: values keyed by another value (the same key gives the same value in
every table that computes it, so a child table can name a parent's device without a join), and digests of
identifiers as ad-tech matching uses them (SHA-256 hex, UID2-style Base64, hashed E.164 phones).

Digests run in DuckDB over the whole block (a core dependency with a vectorized ``sha256``), never per row
in Python.
"""

from __future__ import annotations

import zlib
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, model_validator

from ...variability.base import choose
from ...variability.identity import DEVICE_SLOTS, doc_ips, uuid_text
from ..base import Context, Generator, Params, fail, stream
from ..expr import evaluate
from .keys import _mix


def _salt(seed: int, salt: str) -> np.uint64:
    """The 64-bit key of a keyed draw: (seed, salt) as one number."""
    return np.uint64(zlib.crc32(f"{seed}/{salt}".encode()))


def keyed_unit(keys: np.ndarray, seed: int, salt: str) -> np.ndarray:
    """A uniform in [0, 1) per key: a pure function of (seed, salt, key), so any table can recompute it."""
    return (_mix(keys.astype(np.uint64), _salt(seed, salt)) >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _flag(values: pa.Array) -> np.ndarray:
    """A boolean column as a numpy mask, nulls false."""
    return np.asarray(pc.fill_null(values, False), dtype=bool)


def _ints(ctx: Context, text: str, n: int) -> np.ndarray:
    """An expression over the block as int64 (nulls 0)."""
    return np.asarray(evaluate(text, ctx, n).fill_null(0).to_numpy(zero_copy_only=False), np.int64)


class _Valued(Generator, register=False):
    """A generator whose values are always of one kind (``values_kind``)."""

    values_kind: str = "int"

    @classmethod
    def kind(cls, params: Any, type_: str | None) -> str:
        return cls.values_kind


def negbin_cdf(mean: float, dispersion: float, lo: int, hi: int) -> np.ndarray:
    """The CDF over lo..hi of a negative binomial (mean, dispersion r; variance mean + mean²/r), clamped."""
    r = dispersion
    pmf = np.empty(hi + 1)
    pmf[0] = (r / (r + mean)) ** r
    for k in range(hi):  # hi is a small literal: the recursion is O(max), not per row
        pmf[k + 1] = pmf[k] * (k + r) / (k + 1) * mean / (r + mean)
    pmf[hi] += max(0.0, 1.0 - pmf.sum())  # the tail above max lands on max (a clamp)
    pmf[lo] += pmf[:lo].sum()
    pmf[:lo] = 0
    return np.cumsum(pmf) / pmf.sum()


class KeyedParams(Params):
    key: str
    salt: str
    values: list[Any] | None = None
    weights: list[float] | None = None
    mean: float | None = Field(None, gt=0)
    dispersion: float = Field(2.0, gt=0)
    min: int = Field(0, ge=0)
    max: int = Field(50, ge=0, le=10000)
    below: str | None = None

    @model_validator(mode="after")
    def _mode(self) -> "KeyedParams":
        modes = [self.values is not None, self.mean is not None, self.below is not None]
        if sum(modes) != 1:
            raise fail("takes one of values (a choice), mean (a count) or below (an index)", "values")
        if self.weights is not None and (self.values is None or len(self.weights) != len(self.values)):
            raise fail("needs one weight per value", "weights")
        if self.weights is not None and (min(self.weights) < 0 or not sum(self.weights) > 0):
            raise fail("must be >= 0 with a positive sum", "weights")
        if self.min > self.max:
            raise fail(f"must be >= min ({self.min})", "max")
        return self


class Keyed(Generator):
    """A value drawn from a uniform that is a pure function of (seed, ``salt``, ``key``): a choice of
    ``values`` (``weights``), a negative-binomial count (``mean``, ``dispersion``, ``min``, ``max``) or an index
    ``0 <= i < below``. Two tables with the same key expression and salt agree on it without a join."""

    name = "keyed"
    Params = KeyedParams
    summary = "a choice, count or index that is a pure function of (seed, salt, key): tables agree without a join"

    @classmethod
    def kind(cls, params: Any, type_: str | None) -> str:
        if params.values is None:
            return "int"
        first = params.values[0]
        return "bool" if isinstance(first, bool) else "int" if isinstance(first, int) else \
            "float" if isinstance(first, float) else "string"

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> pa.Array:
        p = self.params
        keys = evaluate(p.key, ctx, n)
        if not pa.types.is_integer(keys.type):
            keys = evaluate(f"hash({p.key})", ctx, n)
        u = keyed_unit(np.asarray(keys.fill_null(0).to_numpy(zero_copy_only=False), np.int64), ctx.seed, p.salt)
        if p.values is not None:
            return pa.array(p.values).take(pa.array(choose(u, tuple(p.weights or [1.0] * len(p.values)))))
        if p.mean is not None:
            cdf = negbin_cdf(p.mean, p.dispersion, p.min, p.max)
            return pa.array(np.minimum(np.searchsorted(cdf, u, side="right"), p.max), pa.int64())
        below = np.asarray(evaluate(str(p.below), ctx, n).fill_null(1).to_numpy(zero_copy_only=False), np.float64)
        return pa.array(np.floor(u * np.maximum(below, 1)).astype(np.int64), pa.int64())


class DigestParams(Params):
    of: str
    normalize: Literal["email", "uid2_email", "phone", "none"] = "email"
    encoding: Literal["hex", "base64"] = "hex"
    country_code: str = Field("1", pattern=r"^[0-9]{1,3}$")


def normalize_email(values: pa.Array, uid2: bool) -> pa.Array:
    """Trimmed and lower-cased; UID2 also drops dots and a ``+tag`` from gmail.com local parts."""
    out = pc.utf8_lower(pc.utf8_trim_whitespace(values))
    if uid2:
        gmail = pc.match_substring_regex(out, r"@gmail\.com$")
        parts = pc.split_pattern(pc.replace_substring_regex(out, r"\+[^@]*@", "@"), "@", max_splits=1)
        name, domain = pc.list_element(parts, 0), pc.list_element(parts, 1)
        local = pc.binary_join_element_wise(pc.replace_substring(name, ".", ""), domain, "@")
        out = pc.if_else(gmail, local, out)
    return out


def normalize_phone(values: pa.Array, country_code: str) -> pa.Array:
    """E.164: digits only, with ``+`` and the country code (a national number gets ``country_code``)."""
    digits = pc.replace_substring_regex(values, r"[^0-9]", "")
    national = pc.equal(pc.utf8_length(digits), 10)
    return pc.binary_join_element_wise("+", pc.if_else(national, pc.binary_join_element_wise(
        country_code, digits, ""), digits), "")


def sha256(values: pa.Array, encoding: str) -> pa.Array:
    """SHA-256 of each UTF-8 string as lower-case hex or standard Base64 of the 32 raw bytes (nulls stay)."""
    import duckdb

    sql = "sha256(v)" if encoding == "hex" else "to_base64(unhex(sha256(v)))"
    with duckdb.connect() as con:
        con.register("t", pa.table({"v": values.cast(pa.string())}))
        rel = con.sql(f"select {sql} as d from t")
        table = rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()  # newer / older DuckDB
        return table.column("d").combine_chunks()


class Digest(_Valued):
    """The SHA-256 of a normalised identifier (``of``, an expression): e-mails trimmed and lower-cased (UID2:
    gmail dots and +tags dropped), phones in E.164; hex or Base64."""

    name = "digest"
    Params = DigestParams
    summary = "SHA-256 (hex or Base64) of a normalised e-mail (plain or UID2 rules) or E.164 phone"
    values_kind = "string"

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> pa.Array:
        p = self.params
        values = evaluate(p.of, ctx, n).cast(pa.string())
        if p.normalize in ("email", "uid2_email"):
            values = normalize_email(values, p.normalize == "uid2_email")
        elif p.normalize == "phone":
            values = normalize_phone(values, p.country_code)
        return sha256(values, p.encoding)


class DeviceModel(Params):
    """How a household's devices are drawn: type shares, the chance each type is shared by the household."""

    types: dict[str, float] = Field(min_length=1)
    shared: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _shares(self) -> "DeviceModel":
        if min(self.types.values()) < 0 or not sum(self.types.values()) > 0:
            raise fail("must be >= 0 with a positive sum", "types")
        for name, p in self.shared.items():
            if name not in self.types:
                raise fail(f"names '{name}', which is not one of types", "shared")
            if not 0 <= p <= 1:
                raise fail(f"{name}: must be between 0 and 1", "shared")
        return self


def device_profile(ids: np.ndarray, size: np.ndarray, seed: int, model: DeviceModel
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(type index, shared, owner's offset in the household) of each device id: pure functions of the id."""
    kind = choose(keyed_unit(ids, seed, "device_type"), tuple(model.types.values()))
    p_shared = np.asarray([model.shared.get(name, 0.0) for name in model.types], np.float64)
    shared = keyed_unit(ids, seed, "device_shared") < p_shared[kind]
    owner = np.floor(keyed_unit(ids, seed, "device_owner") * np.maximum(size, 1)).astype(np.int64)
    return kind, shared, owner


class DeviceParams(Params):
    model: DeviceModel
    field: Literal["type", "shared", "owner"]
    id: str = "device_id"
    household_size: str = "parent.household_size"


class Device(Generator):
    """A device's type, whether the household shares it, and its owner (``person_id``, null when shared), all
    functions of its id, so ``household_device`` elsewhere finds the same devices without reading this table."""

    name = "device"
    Params = DeviceParams
    summary = "a household device's type, shared flag or owner, as pure functions of its id (see household_device)"

    @classmethod
    def kind(cls, params: Any, type_: str | None) -> str:
        return {"type": "string", "shared": "bool", "owner": "int"}[params.field]

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> pa.Array:
        p = self.params
        ids = evaluate(p.id, ctx, n)
        missing = np.asarray(ids.is_null())  # no device, no attributes
        kind, shared, owner = device_profile(_ints(ctx, p.id, n), _ints(ctx, p.household_size, n), ctx.seed, p.model)
        if p.field == "type":
            return pa.array(list(p.model.types)).take(pa.array(kind, mask=missing))
        if p.field == "shared":
            return pa.array(shared, mask=missing)
        return pa.array((_ints(ctx, p.id, n) // DEVICE_SLOTS) + owner, pa.int64(), mask=shared | missing)


class HouseholdDeviceParams(Params):
    model: DeviceModel
    household: str = "parent.household_id"
    person: str = "parent.person_id"
    count: str = "parent.device_count"
    household_size: str = "parent.household_size"
    kinds: list[str] | None = None
    #: A column whose value picks the device types allowed (``kinds_of``); values it does not name get no device.
    by: str | None = None
    kinds_of: dict[str, list[str]] | None = None
    #: Share of rows that take a device of the household the person neither owns nor shares (a borrowed one).
    borrowed: float = Field(0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _kinds(self) -> "HouseholdDeviceParams":
        for k in self.kinds or []:
            if k not in self.model.types:
                raise fail(f"'{k}' is not one of model.types", "kinds")
        for value, kinds in (self.kinds_of or {}).items():
            for k in kinds:
                if k not in self.model.types:
                    raise fail(f"{value}: '{k}' is not one of model.types", "kinds_of")
        if self.by is not None and self.kinds_of is None:
            raise fail("by needs kinds_of (the device types of each of its values)", "by")
        return self


class HouseholdDevice(_Valued):
    """The ``device_id`` of one of the person's devices (owned or shared by the household), of one of ``kinds``,
    picked uniformly from the row's stream; null when the household has none such."""

    name = "household_device"
    Params = HouseholdDeviceParams
    summary = "a device of the row's person in its household (owned or shared), optionally of given types"
    values_kind = "int"

    def devices(self, n: int, rng: np.random.Generator, ctx: Context) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ids, type index, the person's: owned, shared or borrowed) of each row's household device slots."""
        p = self.params
        hh, count = _ints(ctx, p.household, n), np.minimum(_ints(ctx, p.count, n), DEVICE_SLOTS - 1)
        me = _ints(ctx, p.person, n) - hh
        size = _ints(ctx, p.household_size, n)
        width = int(count.max()) if n else 0
        slot = np.arange(width, dtype=np.int64)[None, :]
        ids = hh[:, None] * DEVICE_SLOTS + slot + 1
        valid = slot < count[:, None]
        # profiles of the household's real devices only (the matrix is as wide as the block's largest household)
        kind, shared, owner = np.zeros((n, width), np.int64), np.zeros((n, width), bool), np.zeros((n, width), np.int64)
        kind[valid], shared[valid], owner[valid] = device_profile(
            ids[valid], np.broadcast_to(size[:, None], (n, width))[valid], ctx.seed, p.model)
        borrowed = rng.random(n) < p.borrowed
        mine = valid & (shared | (owner == me[:, None]) | borrowed[:, None])
        return ids, kind, mine

    def allowed(self, kinds: list[str]) -> np.ndarray:
        """The type indices of ``kinds``."""
        return np.asarray([list(self.params.model.types).index(k) for k in kinds], np.int64)

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> pa.Array:
        p = self.params
        ids, kind, mine = self.devices(n, rng, ctx)
        width = ids.shape[1]
        names = list(p.model.types)
        if p.kinds is not None:
            mine &= np.isin(kind, self.allowed(p.kinds))
        if p.by is not None and p.kinds_of is not None:
            values = list(p.kinds_of)
            allowed = np.zeros((len(values) + 1, len(names)), bool)  # the last row: a value kinds_of omits
            for i, value in enumerate(values):
                allowed[i, self.allowed(p.kinds_of[value])] = True
            at = pc.index_in(evaluate(p.by, ctx, n).cast(pa.string()), pa.array(values))
            row = np.asarray(at.fill_null(len(values)).to_numpy(zero_copy_only=False), np.int64)
            mine &= allowed[row[:, None], kind]
        eligible = mine.sum(axis=1)
        pick = np.floor(rng.random(n) * np.maximum(eligible, 1)).astype(np.int64)
        rank = np.cumsum(mine, axis=1) - 1
        col = np.argmax(mine & (rank == pick[:, None]), axis=1) if width else np.zeros(n, np.int64)
        return pa.array(ids[np.arange(n), col] if width else np.zeros(n, np.int64), pa.int64(), mask=eligible == 0)


class IdentifierTypeParams(HouseholdDeviceParams):
    values: list[str] = Field(min_length=1)
    weights: list[float]
    #: The household_device column of the table: its stream decides borrowed devices, so both agree.
    device_column: str = "device_id"
    #: Type -> an expression that must be non-null for it (a hashed e-mail needs the person's e-mail).
    requires: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _weights(self) -> "IdentifierTypeParams":
        if len(self.weights) != len(self.values) or min(self.weights) < 0 or not sum(self.weights) > 0:
            raise fail("needs one weight >= 0 per value, with a positive sum", "weights")
        free = [v for v, w in zip(self.values, self.weights)
                if v not in (self.kinds_of or {}) and v not in self.requires and w > 0]
        if not free:
            raise fail("needs a value with a weight that needs no device (kinds_of) and nothing (requires)", "values")
        for value in self.requires:
            if value not in self.values:
                raise fail(f"'{value}' is not one of values", "requires")
        return self


class IdentifierType(HouseholdDevice):
    """An identity row's type drawn by ``weights`` among the types the person can have: a device-bound type
    (``kinds_of``) needs a device of those kinds the person owns or shares, a type in ``requires`` a non-null
    value (no hashed e-mail without an e-mail). Drawing among those is the same as redrawing until one fits."""

    name = "identifier_type"
    Params = IdentifierTypeParams
    summary = "an identity row's type by weights, among the types the person has a device or a value for"
    values_kind = "string"

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> pa.Array:
        p = self.params
        ids, kind, mine = self.devices(n, stream(ctx.seed, ctx.table, p.device_column, ctx.block), ctx)
        avail = np.ones((n, len(p.values)), bool)
        for i, value in enumerate(p.values):
            if value in (p.kinds_of or {}):
                avail[:, i] = (mine & np.isin(kind, self.allowed((p.kinds_of or {})[value]))).any(axis=1)
            if value in p.requires:
                avail[:, i] &= ~np.asarray(evaluate(p.requires[value], ctx, n).is_null())
        cdf = np.cumsum(avail * np.asarray(p.weights, np.float64)[None, :], axis=1)
        u = rng.random(n) * cdf[:, -1]
        drawn = np.minimum((cdf <= u[:, None]).sum(axis=1), len(p.values) - 1)
        return pa.array(p.values).take(pa.array(drawn))


class DeviceIdParams(Params):
    household: str = "parent.household_id"


class DeviceId(_Valued):
    """A device's key: ``household_id * 100 + its number in the household`` (unique while a household has fewer
    than 100 devices, which the device count's ``max`` ensures), so other tables can rebuild it."""

    name = "device_id"
    Params = DeviceIdParams
    summary = "a household device's key, household_id * 100 + its number in the household (rebuildable)"
    unique = True
    values_kind = "int"

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> pa.Array:
        index = ctx.index_in_parent if ctx.index_in_parent is not None else np.arange(ctx.first_row, ctx.first_row + n)
        return pa.array(_ints(ctx, self.params.household, n) * DEVICE_SLOTS + index + 1, pa.int64())


def keyed_uuid(keys: np.ndarray, seed: int, salt: str, upper: np.ndarray | None = None) -> pa.Array:
    """A UUID-4-shaped string per key, a pure function of (seed, salt, key): the same device has the same
    ad id in every row and table. ``upper`` rows are upper-case (Apple's IDFA form; Google's AAID is lower)."""
    k = keys.astype(np.uint64)
    return uuid_text(_mix(k, _salt(seed, f"{salt}/hi")), _mix(k, _salt(seed, f"{salt}/lo")), upper)


ZERO_IFA = "00000000-0000-0000-0000-000000000000"
#: The id types whose value is a digest of a plain identifier (hashed last, after that plain value's noise).
HASHED = ("hashed_email", "uid2", "hashed_phone")


def other_address(email: pa.Array, keys: np.ndarray, seed: int, known: float) -> pa.Array:
    """The address each (person, source) key's source has for the person: their own with probability
    ``known``, else another of theirs (the local part with a number added, at the same domain: a strict
    address stays at a reserved domain)."""
    other = keyed_unit(keys, seed, "email_source") >= known
    if not other.any():
        return email
    parts = pc.split_pattern(email, "@", max_splits=1)
    number = pa.array((100 + keyed_unit(keys, seed, "email_other") * 900).astype(np.int64)).cast(pa.string())
    alt = pc.binary_join_element_wise(pc.list_element(parts, 0), ".", number, "@", pc.list_element(parts, 1), "")
    return pc.if_else(pa.array(other), alt, email)


class IdentifierParams(Params):
    id_type: str = "id_type"
    email: str = "parent.email"
    phone: str = "parent.phone"
    person: str = "parent.person_id"
    household: str = "parent.household_id"
    device: str = "device_id"
    ifa_type: str = "ifa_type"
    lmt: str = "limit_ad_tracking"
    #: Share of IP rows in IPv6 (2001:db8::/32); the rest in the IPv4 documentation ranges.
    ipv6_share: float = Field(0.3, ge=0, le=1)
    #: The row's source (an expression), and the share of people seen with a hashed e-mail in two sources
    #: whose hashes there match: a source knows the person's own address with probability sqrt(email_match)
    #: (keyed per person and source), else has another address of theirs, so two sources agree on
    #: email_match of the people both see.
    source: str | None = None
    email_match: float = Field(1.0, ge=0, le=1)
    #: False: hashed types hold their plain normalised value (the e-mail, UID2's form of it, the E.164 phone),
    #: for noise steps (a mistyped e-mail, a recycled number) and a ``digest`` modifier after them.
    hash: bool = True


class Identifier(_Valued):
    """The value of each identity row by its type: SHA-256 hex of the person's normalised e-mail
    (``hashed_email``), its UID2-style Base64 (``uid2``), SHA-256 of the E.164 phone (``hashed_phone``), the
    person's cookie on the device (``cookie``), the device's IFA (zeroed under limit-ad-tracking) or CTV id,
    the household's documentation-range IP, the person's loyalty id. Clean values: identity noise is the
    ``noise`` modifier's (``email_typo``, ``recycled_phone``, ``ip_reassigned``, ``cookie_churn``)."""

    name = "identifier"
    Params = IdentifierParams
    summary = "an identity row's value by its id_type: hashed e-mail/UID2/phone, cookie, IFA, CTV id, IP, loyalty id"
    values_kind = "string"

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> pa.Array:
        p = self.params
        kind = evaluate(p.id_type, ctx, n).cast(pa.string())
        is_ = {t: _flag(pc.equal(kind, t)) for t in
               ("hashed_email", "uid2", "hashed_phone", "cookie", "ifa", "ctv_id", "ip_address", "loyalty_id")}
        out = pa.nulls(n, pa.string())

        def put(mask: np.ndarray, values: Any) -> None:
            nonlocal out
            if mask.any():
                out = pc.if_else(pa.array(mask), values, out)

        device, person = _ints(ctx, p.device, n), _ints(ctx, p.person, n)
        email = evaluate(p.email, ctx, n).cast(pa.string())
        if p.source is not None and p.email_match < 1 and (is_["hashed_email"] | is_["uid2"]).any():
            email = other_address(email, person * 1_000_003 + _ints(ctx, f"hash({p.source})", n), ctx.seed,
                                  np.sqrt(p.email_match))
        for t, encoding in (("hashed_email", "hex"), ("uid2", "base64")):
            if is_[t].any():
                plain = normalize_email(email, t == "uid2")
                put(is_[t], sha256(plain, encoding) if p.hash else plain)
        if is_["hashed_phone"].any():
            e164 = normalize_phone(evaluate(p.phone, ctx, n).cast(pa.string()), "1")
            put(is_["hashed_phone"], sha256(e164, "hex") if p.hash else e164)
        # one cookie per person and browser device (a new one only when it churns: noise)
        put(is_["cookie"], keyed_uuid(_mix(person.astype(np.uint64), _salt(ctx.seed, "cookie")) ^ device.astype(
            np.uint64), ctx.seed, "cookie"))
        if is_["ifa"].any():
            ios = _flag(pc.equal(evaluate(p.ifa_type, ctx, n).cast(pa.string()), "idfa"))
            lmt = _flag(evaluate(p.lmt, ctx, n).cast(pa.bool_()))
            put(is_["ifa"] & lmt, pa.scalar(ZERO_IFA))
            put(is_["ifa"] & ~lmt, keyed_uuid(device, ctx.seed, "ifa", upper=ios))
        put(is_["ctv_id"], keyed_uuid(device, ctx.seed, "ctv_id"))
        if is_["ip_address"].any():
            home = _ints(ctx, p.household, n)
            words = (_mix(home.astype(np.uint64), _salt(ctx.seed, "ipv6")) >> np.uint64(16)).astype(np.int64)
            put(is_["ip_address"], doc_ips(keyed_unit(home, ctx.seed, "ip_range"), keyed_unit(home, ctx.seed, "ip"),
                                           words, keyed_unit(home, ctx.seed, "ipv6") < p.ipv6_share))
        if is_["loyalty_id"].any():
            number = (keyed_unit(person, ctx.seed, "loyalty") * 1e10).astype(np.int64)
            put(is_["loyalty_id"], pc.binary_join_element_wise(
                "LYL-", pc.utf8_lpad(pa.array(number).cast(pa.string()), width=10, padding="0"), ""))
        return out
