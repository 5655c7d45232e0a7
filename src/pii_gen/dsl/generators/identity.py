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

from ..base import Context, Generator, Params, fail
from ..expr import evaluate
from .keys import _mix


def keyed_unit(keys: np.ndarray, seed: int, salt: str) -> np.ndarray:
    """A uniform in [0, 1) per key: a pure function of (seed, salt, key), so any table can recompute it."""
    mixed = _mix(keys.astype(np.uint64), np.uint64(zlib.crc32(f"{seed}/{salt}".encode())))
    return (mixed >> np.uint64(11)).astype(np.float64) / float(1 << 53)


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
            w = np.asarray(p.weights or [1.0] * len(p.values), np.float64)
            at = np.minimum(np.searchsorted(np.cumsum(w) / w.sum(), u, side="right"), len(w) - 1)
            return pa.array(p.values).take(pa.array(at))
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
        return con.sql(f"select {sql} as d from t").arrow().column("d").combine_chunks()


class Digest(Generator):
    """The SHA-256 of a normalised identifier (``of``, an expression): e-mails trimmed and lower-cased (UID2:
    gmail dots and +tags dropped), phones in E.164; hex or Base64."""

    name = "digest"
    Params = DigestParams
    summary = "SHA-256 (hex or Base64) of a normalised e-mail (plain or UID2 rules) or E.164 phone"

    @classmethod
    def kind(cls, params: Any, type_: str | None) -> str:
        return "string"

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> pa.Array:
        p = self.params
        values = evaluate(p.of, ctx, n).cast(pa.string())
        if p.normalize in ("email", "uid2_email"):
            values = normalize_email(values, p.normalize == "uid2_email")
        elif p.normalize == "phone":
            values = normalize_phone(values, p.country_code)
        return sha256(values, p.encoding)


#: Devices of a household are numbered ``household_id * DEVICE_SLOTS + 1 ..``: a key any table can rebuild.
DEVICE_SLOTS = 100


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
    w = np.asarray(list(model.types.values()), np.float64)
    kind = np.minimum(np.searchsorted(np.cumsum(w) / w.sum(), keyed_unit(ids, seed, "device_type"), side="right"),
                      len(w) - 1)
    p_shared = np.asarray([model.shared.get(name, 0.0) for name in model.types], np.float64)
    shared = keyed_unit(ids, seed, "device_shared") < p_shared[kind]
    owner = np.floor(keyed_unit(ids, seed, "device_owner") * np.maximum(size, 1)).astype(np.int64)
    return kind, shared, owner


def _ints(ctx: Context, text: str, n: int) -> np.ndarray:
    return np.asarray(evaluate(text, ctx, n).fill_null(0).to_numpy(zero_copy_only=False), np.int64)


class DeviceParams(Params):
    model: DeviceModel
    field: Literal["type", "shared", "owner"]
    id: str = "device_id"
    household_size: str = "parent.household_size"
    household: str = "parent.household_id"


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
        kind, shared, owner = device_profile(_ints(ctx, p.id, n), _ints(ctx, p.household_size, n), ctx.seed, p.model)
        if p.field == "type":
            return pa.array(list(p.model.types)).take(pa.array(kind))
        if p.field == "shared":
            return pa.array(shared)
        return pa.array(_ints(ctx, p.household, n) + owner, pa.int64(), mask=shared)


class HouseholdDeviceParams(Params):
    model: DeviceModel
    household: str = "parent.household_id"
    person: str = "parent.person_id"
    count: str = "parent.device_count"
    household_size: str = "parent.household_size"
    kinds: list[str] | None = None
    #: Share of rows that take a device of the household the person neither owns nor shares (a borrowed one).
    borrowed: float = Field(0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _kinds(self) -> "HouseholdDeviceParams":
        for k in self.kinds or []:
            if k not in self.model.types:
                raise fail(f"'{k}' is not one of model.types", "kinds")
        return self


class HouseholdDevice(Generator):
    """The ``device_id`` of one of the person's devices (owned or shared by the household), of one of ``kinds``,
    picked uniformly from the row's stream; null when the household has none such."""

    name = "household_device"
    Params = HouseholdDeviceParams
    summary = "a device of the row's person in its household (owned or shared), optionally of given types"

    @classmethod
    def kind(cls, params: Any, type_: str | None) -> str:
        return "int"

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> pa.Array:
        p = self.params
        hh, count = _ints(ctx, p.household, n), np.minimum(_ints(ctx, p.count, n), DEVICE_SLOTS - 1)
        me = _ints(ctx, p.person, n) - hh
        size = _ints(ctx, p.household_size, n)
        width = int(count.max()) if n else 0
        slot = np.arange(width, dtype=np.int64)[None, :]
        ids = hh[:, None] * DEVICE_SLOTS + slot + 1
        kind, shared, owner = (a.reshape(n, width) for a in device_profile(
            ids.ravel(), np.repeat(size, width), ctx.seed, p.model))
        ok = slot < count[:, None]
        if p.kinds is not None:
            ok &= np.isin(kind, [list(p.model.types).index(k) for k in p.kinds])
        borrowed = rng.random(n) < p.borrowed
        mine = ok & (shared | (owner == me[:, None]) | borrowed[:, None])
        eligible = mine.sum(axis=1)
        pick = np.floor(rng.random(n) * np.maximum(eligible, 1)).astype(np.int64)
        rank = np.cumsum(mine, axis=1) - 1
        col = np.argmax(mine & (rank == pick[:, None]), axis=1) if width else np.zeros(n, np.int64)
        return pa.array(ids[np.arange(n), col] if width else np.zeros(n, np.int64), pa.int64(), mask=eligible == 0)


class DeviceIdParams(Params):
    household: str = "parent.household_id"


class DeviceId(Generator):
    """A device's key: ``household_id * 100 + its number in the household`` (unique while a household has fewer
    than 100 devices, which the device count's ``max`` ensures), so other tables can rebuild it."""

    name = "device_id"
    Params = DeviceIdParams
    summary = "a household device's key, household_id * 100 + its number in the household (rebuildable)"
    unique = True

    @classmethod
    def kind(cls, params: Any, type_: str | None) -> str:
        return "int"

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> pa.Array:
        index = ctx.index_in_parent if ctx.index_in_parent is not None else np.arange(ctx.first_row, ctx.first_row + n)
        return pa.array(_ints(ctx, self.params.household, n) * DEVICE_SLOTS + index + 1, pa.int64())
