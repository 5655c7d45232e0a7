"""Income, debt, credit score, a card and a bank account per person."""

from __future__ import annotations

import math

import numpy as np

from ....core import portable
from .. import identifiers as ids
from .base import Column, Context, SubGenerator

# Federal Reserve SCF: about three in four families carry some debt; mortgages peak in mid-life.
DEBT_RATE = 0.77
MORTGAGE_RATE_BY_AGE = ((18, 0.08), (25, 0.28), (35, 0.48), (45, 0.52), (55, 0.42), (65, 0.3), (75, 0.18))
ADULT = 18
SCORE_MEAN, SCORE_SD_UP, SCORE_SD_DOWN = 715.0, 62.0, 88.0  # FICO 8 national mean ~715, long lower tail


class Financial(SubGenerator):
    """Income from the current job (or retirement/other income when not working); debt by age and
    income; a credit score that rises with age, income and job stability and falls with the
    debt-to-income ratio; Luhn-valid card and ABA-valid routing numbers (unissuable when strict).  Adults only:
    minors get no row."""

    name = "financial"
    stream = 8
    table = "financial_profiles"
    columns = (
        "person_id", "annual_income", "credit_score", "total_debt", "debt_to_income",
        "credit_card_number", "bank_account_number", "routing_number",
    )  # fmt: skip
    requires = ("age", "employed", "current_salary", "job_tenure_years", "work_years")
    provides = ("annual_income", "credit_score")

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> dict[str, Column]:
        v = ctx.values
        age = v["age"].astype(np.float64)
        employed = v["employed"]
        retired = ~employed & (age >= 62)
        other = np.where(rng.random(n) < 0.4, 0.0, rng.lognormal(math.log(9_000), 0.8, n))
        retirement = rng.lognormal(math.log(24_000), 0.45, n) * np.clip(0.6 + v["work_years"] / 60, 0.6, 1.3)
        income = np.where(employed, v["current_salary"], np.where(retired, retirement, other))
        investment = np.where(rng.random(n) < 0.2, rng.lognormal(math.log(3_000), 1.2, n), 0.0)
        income = np.round(income + investment).astype(np.int64)

        ages, rates = zip(*MORTGAGE_RATE_BY_AGE)
        mortgage_p = np.asarray(rates)[np.searchsorted(ages, age, side="right") - 1]
        has_mortgage = rng.random(n) < mortgage_p * np.clip(income / 60_000, 0.3, 1.6)
        size = rng.lognormal(portable.log(2.6 * np.maximum(income, 20_000)), 0.5)
        mortgage = np.where(has_mortgage, np.clip(size, 30_000, 1_500_000), 0)
        consumer = np.where(
            rng.random(n) < DEBT_RATE, rng.lognormal(portable.log(0.22 * np.maximum(income, 15_000) + 4_000), 0.9), 0
        )
        debt = np.round(mortgage + consumer).astype(np.int64)
        payments = mortgage * 0.0062 + consumer * 0.028
        dti = np.where(debt > 0, np.minimum(payments / np.maximum(income / 12, 1), 5.0), 0.0)

        stability = np.where(employed, np.minimum(v["job_tenure_years"], 15) / 5, np.where(retired, 2.0, -1.0))
        z = (
            0.30 * (age - 45) / 17
            + 0.30 * np.clip((portable.log1p(income) - 10.8) / 0.9, -3, 3)
            + 0.20 * (stability - 1)
            - 0.35 * np.clip((dti - 0.3) / 0.2, -1.5, 3)
            + 0.80 * rng.standard_normal(n)
        )
        score = SCORE_MEAN + np.where(z >= 0, SCORE_SD_UP, SCORE_SD_DOWN) * z
        score = np.clip(np.round(score), 300, 850).astype(np.int16)

        # Minors have no credit profile and no income of their own.
        adult = v["age"] >= ADULT
        v.update(annual_income=np.where(adult, income, 0), credit_score=score)
        strict = ctx.strict
        rows = np.flatnonzero(adult)
        m = len(rows)
        return {
            "person_id": ctx.person_id[rows],
            "annual_income": np.minimum(income[rows], 2**31 - 1).astype(np.int32),
            "credit_score": score[rows],
            "total_debt": np.minimum(debt[rows], 2**31 - 1).astype(np.int32),
            "debt_to_income": np.round(dti[rows], 3).astype(np.float32),
            "credit_card_number": ids.card_numbers(m, rng, strict),
            "bank_account_number": ids.account_numbers(m, rng),
            "routing_number": ids.routing_numbers(m, rng, strict),
        }
