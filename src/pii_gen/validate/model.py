"""What a validation produces: checks with a verdict and the figures behind it, and the overall score."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

Status = Literal["pass", "warn", "fail", "skip"]
CREDIT = {"pass": 1.0, "warn": 0.5, "fail": 0.0}  # a skipped check does not count
VERDICT_ORDER = {"fail": 0, "warn": 1, "pass": 2, "skip": 3}  # reports show what needs attention first


def by_verdict(checks: list["Check"]) -> list["Check"]:
    """The checks failed first, then warnings, passes and skips, each in their run order."""
    return sorted(checks, key=lambda c: VERDICT_ORDER[c.status])


@dataclass
class Check:
    """One check's verdict, the figure that decided it, and its raw metrics for JSON."""

    group: str
    name: str
    status: Status
    figure: str
    threshold: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    weight: float = 1.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "name": self.name,
            "status": self.status,
            "figure": self.figure,
            "threshold": self.threshold,
            "weight": self.weight,
            "metrics": self.metrics,
        }


@dataclass
class Report:
    """Every check of one validation run, the score they add up to, and the aggregates the plots use."""

    source: str
    checks: list[Check]
    min_score: float = 90.0
    seconds: float = 0.0
    rows: dict[str, int] = field(default_factory=dict)
    plots: dict[str, Any] = field(default_factory=dict)
    #: What was validated, for the last line and the page's header (None: the population's people).
    subject: str | None = None
    #: More top-level JSON fields (a schema validation's file); none for the population.
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def what(self) -> str:
        return self.subject if self.subject is not None else f"{self.rows.get('persons', 0):,} people"

    def groups(self, registered: tuple[str, ...] = ()) -> list[str]:
        """The groups of the report's checks: the registered ones in their order, then others as they come."""
        present = list(dict.fromkeys(c.group for c in self.checks))
        return [g for g in registered if g in present] + [g for g in present if g not in registered]

    @property
    def score(self) -> float:
        """0-100: weighted share of checks passed (a warning earns half); skipped checks do not count."""
        counted = [c for c in self.checks if c.status in CREDIT]
        total = sum(c.weight for c in counted)
        if total == 0:
            return 0.0
        return round(100.0 * sum(c.weight * CREDIT[c.status] for c in counted) / total, 1)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status == "fail"]

    @property
    def attention(self) -> list[Check]:
        """The failed checks, then the warnings: what a reader must see first."""
        return by_verdict([c for c in self.checks if c.status in ("fail", "warn")])

    @property
    def ok(self) -> bool:
        """True when no check failed and the score reaches ``min_score``: exit status 0."""
        return not self.failed and self.score >= self.min_score

    def counts(self) -> dict[str, int]:
        return {s: sum(c.status == s for c in self.checks) for s in ("pass", "warn", "fail", "skip")}

    def check(self, group: str, name: str) -> Check:
        """The check called ``name`` in ``group`` (KeyError when there is none)."""
        for c in self.checks:
            if c.group == group and c.name == name:
                return c
        raise KeyError(f"{group}/{name}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "score": self.score,
            "min_score": self.min_score,
            "ok": self.ok,
            "seconds": round(self.seconds, 2),
            "counts": self.counts(),
            "rows": self.rows,
            "checks": [c.as_dict() for c in self.checks],
            **self.extra,
        }


def violations(
    group: str,
    name: str,
    bad: int,
    total: int,
    what: str = "rows",
    warn_only: bool = False,
    threshold: str = "0 violations",
    weight: float = 1.0,
    **metrics: Any,
) -> Check:
    """A check that passes only with no violating rows (a warning instead of a failure when ``warn_only``)."""
    share = bad / total if total else 0.0
    status: Status = "pass" if bad == 0 else ("warn" if warn_only else "fail")
    figure = f"{bad:,} of {total:,} {what} ({share:.3%})" if bad else f"0 of {total:,} {what}"
    return Check(group, name, status, figure, threshold, {"violations": bad, "total": total, **metrics}, weight)


SAMPLING_SDS = 5  # sds of the sampling TVD allowed above its mean: chance exceeds it < 1 in 1,000 (simulated)


def sampling_tvd(shares: list[float], n: float) -> float:
    """Expected total variation distance of a sample of ``n`` from a distribution with these shares.

    Each cell's share is about normal with sd sqrt(p(1-p)/n) and E|x| = sd * sqrt(2/pi), so
    E[TVD] ~ 0.5 * sum(sqrt(2 p (1-p) / (pi n))).  ``n`` is the effective sample size when the sample
    was drawn in clusters (see :func:`tvd_check`).
    """
    if n <= 0:
        return 1.0
    return 0.5 * sum(math.sqrt(2 * p * (1 - p) / (math.pi * n)) for p in shares if p > 0)


def sampling_tvd_sd(shares: list[float], n: float) -> float:
    """Standard deviation of the TVD of a sample of ``n`` (multinomial, normal approximation).

    Var(TVD) = 1/4 sum_jk Cov(|x_j|, |x_k|), with Var|x| = s^2 (1 - 2/pi) and, for two cells whose
    shares correlate by rho = -sqrt(p_j p_k / ((1-p_j)(1-p_k))), Cov(|x_j|, |x_k|) =
    2 s_j s_k / pi * (sqrt(1 - rho^2) + rho asin(rho) - 1).  A distribution of few cells spreads its TVD
    widely (sd about 0.4 of the mean for six cells), one of many cells narrowly (0.1 for fifty).
    """
    q = np.array([p for p in shares if 0 < p < 1], dtype=np.float64)
    if n <= 0 or len(q) == 0:
        return 0.0
    s = np.sqrt(q * (1 - q) / n)
    rho = np.clip(-np.sqrt(np.outer(q, q) / np.outer(1 - q, 1 - q)), -1.0, 0.0)  # two cells: exactly -1
    np.fill_diagonal(rho, 0.0)
    cov = 2 * np.outer(s, s) / math.pi * (np.sqrt(np.maximum(1 - rho**2, 0.0)) + rho * np.arcsin(rho) - 1)
    np.fill_diagonal(cov, s**2 * (1 - 2 / math.pi))
    return 0.5 * math.sqrt(max(float(cov.sum()), 0.0))


def sampling_allowance(shares: list[float], n: float) -> float:
    """How far chance alone may move a sample of ``n`` from these shares, in TVD.

    allowance = E[TVD] + SAMPLING_SDS * sd(TVD) + 1/n: the mean and five standard deviations of the
    sampling TVD (:func:`sampling_tvd`, :func:`sampling_tvd_sd`), plus one draw for the counts'
    discreteness (a rare cell of a small sample moves in steps of 1/n).  It shrinks as 1/sqrt(n), so
    small samples are not failed for chance while large ones are held to the model's own accuracy.
    """
    if n <= 0:
        return 1.0
    return sampling_tvd(shares, n) + SAMPLING_SDS * sampling_tvd_sd(shares, n) + 1 / n


def tvd_check(
    group: str,
    name: str,
    observed: dict[Any, float],
    expected: dict[Any, float],
    n: int,
    warn_at: float,
    fail_at: float,
    weight: float = 1.0,
    effective_n: float | None = None,
    **metrics: Any,
) -> Check:
    """Compare two distributions by total variation distance against thresholds widened for sample size.

    Passes up to ``warn_at`` and fails beyond ``fail_at``, both plus :func:`sampling_allowance` of the
    expected shares.  The allowance is computed at ``effective_n`` when given: people drawn a household
    at a time share their state or surname, so ``n`` people carry only the information of
    ``effective_n`` independent draws (Kish: n_eff = n / deff, see :func:`.statistical.design_effect`).
    """
    if n <= 0:  # nothing to compare (no one has a job): chance is not a verdict
        return Check(group, name, "skip", "no rows to compare (n=0)", metrics={"n": 0, **metrics}, weight=weight)
    keys = set(observed) | set(expected)
    obs_total = sum(observed.values()) or 1.0
    exp_total = sum(expected.values()) or 1.0
    p = {k: observed.get(k, 0.0) / obs_total for k in keys}
    q = {k: expected.get(k, 0.0) / exp_total for k in keys}
    tvd = 0.5 * sum(abs(p[k] - q[k]) for k in keys)
    n_eff = float(n) if effective_n is None else min(float(n), effective_n)
    allowance = sampling_allowance(list(q.values()), n_eff)
    warn_limit, fail_limit = warn_at + allowance, fail_at + allowance
    status: Status = "pass" if tvd <= warn_limit else ("warn" if tvd <= fail_limit else "fail")
    worst = max(keys, key=lambda k: abs(p[k] - q[k])) if keys else None
    clustered = effective_n is not None and n_eff < n
    figure = f"TVD {tvd:.4f} over {len(keys)} cells, n={n:,}" + (f" (effective {n_eff:,.0f})" if clustered else "")
    if worst is not None:
        figure += f"; largest gap {worst}: {p[worst]:.2%} vs {q[worst]:.2%}"
    threshold = f"pass <= {warn_limit:.4f}, fail > {fail_limit:.4f} ({warn_at}/{fail_at} + sampling {allowance:.4f}" + (
        f" at effective n {n_eff:,.0f})" if clustered else ")"
    )
    extra = {"effective_n": round(n_eff, 1)} if effective_n is not None else {}
    return Check(
        group,
        name,
        status,
        figure,
        threshold,
        {
            "tvd": round(tvd, 6),
            "n": n,
            **extra,
            "cells": len(keys),
            "sampling_allowance": round(allowance, 6),
            "warn_limit": round(warn_limit, 6),
            "fail_limit": round(fail_limit, 6),
            **metrics,
        },
        weight,
    )
