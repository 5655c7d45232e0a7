"""Age and sex, race, education, marital status and e-mail domains: the person samplers."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ....core import portable
from ....core.sampling import Sampler
from .model import People
from .tables import EDUCATION, MARITAL, MAX_AGE, RACES, SEXES, _np, _read


def _by_age(table: pa.Table, columns: tuple[str, ...]) -> np.ndarray:
    """Expand age-group rows into one row of shares per single year of age 0..MAX_AGE."""
    out = np.zeros((MAX_AGE + 1, len(columns)))
    lo_col, hi_col = table.column("age_min").to_pylist(), table.column("age_max").to_pylist()
    vals = np.column_stack([_np(table, c, np.float64) for c in columns])
    for lo, hi, v in zip(lo_col, hi_col, vals):
        out[lo : min(hi, MAX_AGE) + 1] = v
    first = min(lo_col)
    out[:first] = vals[int(np.argmin(lo_col))]  # younger than the table: youngest group's shares
    return out / out.sum(axis=1, keepdims=True)


def _people() -> People:
    py = _read("age_sex_pyramid")
    w = np.zeros((2, MAX_AGE + 1))
    for lo, hi, m, f in zip(*(py.column(c).to_pylist() for c in ("age_min", "age_max", "male", "female"))):
        hi = min(hi, MAX_AGE)
        ages = np.arange(lo, hi + 1)
        if hi - lo > 5:  # open-ended top group: survivorship falls off steeply
            shape = portable.exp(-0.13 * (ages - lo))
        else:
            shape = np.ones(len(ages))
        shape = shape / shape.sum()
        w[0, lo : hi + 1] = f * shape
        w[1, lo : hi + 1] = m * shape

    race = _read("race_ethnicity")
    race_pop = dict(zip(race.column("race").to_pylist(), race.column("population").to_pylist()))
    edu = _by_age(_read("education_by_age"), EDUCATION)
    ms = _read("marital_status_by_age_sex")
    marital = np.zeros((2, MAX_AGE + 1, len(MARITAL)))
    for s, sex in enumerate(SEXES):
        marital[s] = _by_age(ms.filter(pc.equal(ms.column("sex"), sex)), MARITAL)

    ed = _read("email_domains")
    domains = {}
    for mode in ("strict", "realistic"):
        sub = ed.filter(pc.and_(pc.equal(ed.column("mode"), mode), pc.equal(ed.column("kind"), "personal")))
        domains[mode] = (sub.column("domain").combine_chunks(), Sampler(_np(sub, "weight", np.float64)))
    return People(
        age_sex_weights=w,
        race=Sampler(np.array([race_pop[r] for r in RACES], dtype=np.float64)),
        education_by_age=edu,
        marital_by_age_sex=marital,
        email_domains=domains,
    )
