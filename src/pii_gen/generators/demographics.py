"""Sex, birth date, race/ethnicity, education and marital status, drawn from census tables."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ..reference import MAX_AGE, RACE_LABELS, SEXES
from ..sampling import Sampler, categorical_by_row
from .base import Column, Context, SubGenerator
from .dates import as_of_days, birth_days_for_age, date_array

SEX_VOCAB = pa.array(SEXES)
RACE_VOCAB = pa.array(RACE_LABELS)
EDUCATION_VOCAB = pa.array(
    ["Less than high school", "High school", "Some college", "Associate degree", "Bachelor's degree", "Graduate degree"]
)
MARITAL_VOCAB = pa.array(["Never married", "Married", "Separated", "Divorced", "Widowed"])


class Demographics(SubGenerator):
    """Age and sex from the Census 2020 pyramid within the configured age range; race/ethnicity at
    Census 2020 national shares; education and marital status from ACS shares for the person's age (and sex)."""

    name = "demographics"
    stream = 1
    table = "persons"
    columns = ("sex", "date_of_birth", "race_ethnicity", "marital_status", "education")
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
        idx = self._sampler(ctx).sample(rng, n)
        sex = (idx // (MAX_AGE + 1)).astype(np.int8)
        age = (idx % (MAX_AGE + 1)).astype(np.int16)
        birth = birth_days_for_age(ctx.config.as_of, age, rng.random(n))
        race = people.race.sample(rng, n).astype(np.int8)

        edu = categorical_by_row(rng, people.education_by_age[age]).astype(np.int8)
        # Nobody finishes a degree before the age it takes.
        edu = np.where(age < 18, 0, edu)
        edu = np.where((age < 22) & (edu > 3), 2, edu)
        edu = np.where((age < 24) & (edu > 4), 4, edu)
        marital = categorical_by_row(rng, people.marital_by_age_sex[sex, age]).astype(np.int8)
        marital = np.where(age < 16, 0, marital)

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
