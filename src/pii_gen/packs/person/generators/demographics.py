"""Sex, birth date, race/ethnicity, education and marital status, drawn from census tables."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ..reference import MAX_AGE, RACE_LABELS, SEXES
from ....core.sampling import Sampler, categorical_by_row
from ....core.dates import as_of_days, birth_days_for_age, date_array
from .base import Column, Context, SubGenerator
from .household import ADULT, CHILD, HOUSEHOLDER, MARRIED, MARRIED_KIDS, MULTIGEN, OTHER, PARENT, SIBLING, SPOUSE
from .household import SHARED_RACE

SEX_VOCAB = pa.array(SEXES)
RACE_VOCAB = pa.array(RACE_LABELS)
EDUCATION_VOCAB = pa.array(
    ["Less than high school", "High school", "Some college", "Associate degree", "Bachelor's degree", "Graduate degree"]
)
MARITAL_VOCAB = pa.array(["Never married", "Married", "Separated", "Divorced", "Widowed"])
MARITAL_MIN_AGE = 15  # the census universe for marital status


class Demographics(SubGenerator):
    """Age and sex from the household (or, without households, the Census 2020 pyramid within the configured
    age range); race/ethnicity at Census 2020 national shares, shared by relatives (spouses and partners mostly);
    education and marital status from ACS shares for the person's age (and sex), married exactly when living
    with a spouse."""

    name = "demographics"
    stream = 1
    table = "persons"
    columns = ("sex", "date_of_birth", "race_ethnicity", "marital_status", "education")
    requires = ("hh_age", "hh_sex", "hh_head", "hh_role", "hh_spouse", "hh_unit", "hh_unit_type")
    provides = ("sex", "age", "birth_days", "birth_year", "race", "education", "marital")

    def __init__(self) -> None:
        self._age_sex: dict[tuple[int, int], Sampler] = {}

    def _sampler(self, ctx: Context) -> Sampler:
        cfg = ctx.config.demographics
        key = (cfg.min_age, cfg.max_age)
        if key not in self._age_sex:
            w = ctx.ref.people.age_sex_weights.copy()
            w[:, : cfg.min_age] = 0
            w[:, cfg.max_age + 1 :] = 0
            self._age_sex[key] = Sampler(w.reshape(-1))
        return self._age_sex[key]

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> dict[str, Column]:
        people = ctx.ref.people
        v = ctx.values
        if v["hh_age"] is None:
            idx = self._sampler(ctx).sample(rng, n)
            sex = (idx // (MAX_AGE + 1)).astype(np.int8)
            age = (idx % (MAX_AGE + 1)).astype(np.int16)
        else:
            sex, age = v["hh_sex"], v["hh_age"]
        birth = birth_days_for_age(ctx.config.as_of, age, rng.random(n))
        race = people.race.sample(rng, n).astype(np.int8)
        role, head, spouse, unit = v["hh_role"], v["hh_head"], v["hh_spouse"], v["hh_unit"]
        # Relatives share the householder's race; spouses and partners mostly; children of a couple whose
        # races differ take either parent's.
        u = rng.random(n)
        share = np.isin(role, (CHILD, PARENT, SIBLING, OTHER))
        for r, rate in SHARED_RACE.items():
            share |= (role == r) & (u < rate)
        race = np.where(share & (role != CHILD), race[head], race)
        sp = spouse[unit]
        child = role == CHILD
        from_spouse = child & (sp >= 0) & (u < 0.5)
        race = np.where(child, np.where(from_spouse, race[np.maximum(sp, 0)], race[head]), race)

        edu = categorical_by_row(rng, people.education_by_age[age]).astype(np.int8)
        # Nobody finishes a degree before the age it takes.
        edu = np.where(age < 18, 0, edu)
        edu = np.where((age < 22) & (edu > 3), 2, edu)
        edu = np.where((age < 24) & (edu > 4), 4, edu)
        marital = categorical_by_row(rng, people.marital_by_age_sex[sex, age]).astype(np.int8)
        # Married exactly when living with a spouse (or, for the householder's parents, each other); a
        # "married" draw for anyone else becomes the likeliest other status for the age.
        utype = v["hh_unit_type"][unit]
        wed = np.isin(utype, (MARRIED_KIDS, MARRIED, MULTIGEN)) & (sp >= 0) & np.isin(role, (HOUSEHOLDER, SPOUSE))
        if v["hh_age"] is not None:
            alone = (marital == 1) & ~wed
            marital = np.where(alone, np.where(age < 35, 0, np.where(age >= 70, 4, 3)), marital)
            marital = np.where(wed, 1, marital)
        # The census asks marital status from 15 on; no minor is separated, divorced or widowed, and one is married
        # only when living with a spouse (which households never give anyone under 18).
        marital = np.where((age < ADULT) & ~(wed & (age >= MARITAL_MIN_AGE)), 0, marital)

        ctx.values.update(
            sex=sex,
            age=age,
            birth_days=birth,
            birth_year=(birth.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970),
            race=race,
            education=edu,
            marital=marital,
        )
        return {
            "sex": SEX_VOCAB.take(pa.array(sex)),
            "date_of_birth": date_array(birth),
            "race_ethnicity": RACE_VOCAB.take(pa.array(race)),
            "marital_status": MARITAL_VOCAB.take(pa.array(marital)),
            "education": EDUCATION_VOCAB.take(pa.array(edu)),
        }


__all__ = ["Demographics", "as_of_days"]
