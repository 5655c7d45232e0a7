"""Jobs, pay and marital status are realistic for the person: occupations open to their education and age,
employment past 65 falling as the CPS bands do, salaries following each occupation's OEWS percentiles."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from pii_gen import GenerateConfig, PersonGenerator
from pii_gen.core.dates import age_on
from pii_gen.packs.person.reference import EDUCATION, ENTRY_EDUCATION_LEVEL, data_dir, min_education
from pii_gen.validate.statistical import EDUCATION_RANK

N = 50_000


@pytest.fixture(scope="module")
def people() -> dict:
    """50,000 people at seed 3."""
    return PersonGenerator(GenerateConfig(seed=3)).generate(N)


@pytest.fixture(scope="module")
def occupations() -> dict[str, dict]:
    """Per SOC code: OEWS wage percentiles and BLS entry education / minimum age."""
    oe = pq.read_table(data_dir() / "occupation_education.parquet").to_pylist()
    oc = {r["soc_code"]: r for r in pq.read_table(data_dir() / "occupations.parquet").to_pylist()}
    return {r["soc_code"]: {**oc[r["soc_code"]], **r} for r in oe}


def _days(table: pa.Table, name: str) -> np.ndarray:
    return pc.cast(table.column(name), pa.int32()).to_numpy(zero_copy_only=False)


def _jobs(people: dict, occupations: dict) -> dict[str, np.ndarray]:
    """Every job with its holder's education rank, age at the start and the occupation's requirements."""
    p, e = people["persons"], people["employments"]
    pid = p.column("person_id").to_numpy()
    row = np.searchsorted(pid, e.column("person_id").to_numpy())
    birth = p.column("date_of_birth").to_numpy(zero_copy_only=False).astype("datetime64[D]")[row]
    start = e.column("start_date").to_numpy(zero_copy_only=False).astype("datetime64[D]")
    # Completed years at the start: the year difference, less one before that year's birthday.
    month_day = [(d.astype("datetime64[M]").astype(int) % 12) * 100 + (d - d.astype("datetime64[M]")).astype(int)
                 for d in (birth, start)]  # fmt: skip
    years = start.astype("datetime64[Y]").astype(int) - birth.astype("datetime64[Y]").astype(int)
    codes = e.column("occupation_code").to_pylist()
    entry = [occupations[c]["education"] for c in codes]
    return {
        "code": np.array(codes),
        "education": np.array([EDUCATION_RANK[x] for x in p.column("education").to_pylist()])[row],
        "start_age": years - (month_day[1] < month_day[0]),
        "entry": np.array([ENTRY_EDUCATION_LEVEL[x] for x in entry]),
        "lowest": np.array([min_education(x) for x in entry]),
        "min_age": np.array([occupations[c]["min_age"] for c in codes]),
    }


def test_occupation_requirements_cover_every_occupation(occupations):
    oc = pq.read_table(data_dir() / "occupations.parquet").column("soc_code").to_pylist()
    assert sorted(occupations) == sorted(oc)
    assert all(16 <= o["min_age"] <= 35 for o in occupations.values())
    assert occupations["29-1215"]["education"] == "Doctoral or professional degree"  # family medicine physicians
    assert occupations["29-1215"]["min_age"] >= 26 and occupations["23-1011"]["min_age"] >= 25  # lawyers
    assert occupations["11-3021"]["min_age"] >= 27  # IT managers: a bachelor's and 5+ years of experience
    assert occupations["35-3011"]["min_age"] == 21  # bartenders
    assert occupations["41-2011"]["education"] == "No formal educational credential"  # cashiers
    assert min_education("Doctoral or professional degree") == EDUCATION.index("graduate")
    assert min_education("Bachelor's degree") == EDUCATION.index("associate")  # one level below is allowed


def test_jobs_fit_the_holders_education_and_age(people, occupations):
    jobs = _jobs(people, occupations)
    assert len(jobs["code"]) > 100_000
    assert (jobs["education"] >= jobs["lowest"]).all()
    assert (jobs["start_age"] >= jobs["min_age"]).all()
    # Never a physician or lawyer without a graduate degree, nor before 26 / 25.
    doctors = np.isin(jobs["code"].astype("U6"), ["29-121", "29-122", "29-124"])  # physicians and surgeons
    lawyers = jobs["code"] == "23-1011"
    assert doctors.sum() > 100 and lawyers.sum() > 100
    assert (jobs["education"][doctors | lawyers] == EDUCATION.index("graduate")).all()
    assert jobs["start_age"][doctors].min() >= 26 and jobs["start_age"][lawyers].min() >= 25
    # Graduate-level occupations are never held one level below; lower ones sometimes are, as in real data.
    below = jobs["education"] < jobs["entry"]
    assert not (below & (jobs["entry"] == EDUCATION.index("graduate"))).any()
    assert 0.005 < below.mean() < 0.10


def test_employment_past_65_falls_by_band(people):
    p, e = people["persons"], people["employments"]
    age = age_on(GenerateConfig().as_of, _days(p, "date_of_birth"))
    employed = np.isin(p.column("person_id").to_numpy(), e.filter(e.column("is_current")).column("person_id"))
    rate = {band: employed[(age >= lo) & (age <= hi)].mean() for band, (lo, hi) in
            {"65-69": (65, 69), "70-74": (70, 74), "75+": (75, 100), "80+": (80, 100)}.items()}  # fmt: skip
    # BLS CPS 2024: about 32% employed at 65-69, 18.5% at 70-74 and 8.3% at 75 and over.
    assert abs(rate["65-69"] - 0.32) < 0.03
    assert abs(rate["70-74"] - 0.185) < 0.03
    assert abs(rate["75+"] - 0.083) < 0.025
    assert rate["80+"] < 0.13


def test_salaries_follow_each_occupations_oews_percentiles(people, occupations):
    e = people["employments"]
    cur = e.filter(e.column("is_current"))
    codes = cur.column("occupation_code").to_pylist()
    pct = np.array([[occupations[c][f"wage_p{q}"] for q in (10, 25, 50, 75, 90)] for c in codes])
    salary = cur.column("annual_salary").to_numpy().astype(float)
    below = (salary[:, None] < pct).mean(axis=0)
    assert np.abs(below - [0.10, 0.25, 0.50, 0.75, 0.90]).max() < 0.02, below
    assert 0.98 < np.median(salary / pct[:, 2]) < 1.02
    # A bounded tail: no job pays more than 2.5 times its occupation's 90th percentile, and where an occupation
    # has enough jobs to tell, its 99th percentile stays within 1.7 times its 90th.
    everyone = e.column("annual_salary").to_numpy() / np.array(
        [occupations[c]["wage_p90"] for c in e.column("occupation_code").to_pylist()]
    )
    assert everyone.max() <= 2.5
    codes = np.array(codes)
    for code in np.unique(codes):
        mine = codes == code
        if mine.sum() >= 300:
            assert np.percentile(salary[mine], 99) <= 1.7 * occupations[code]["wage_p90"], code


@pytest.mark.parametrize("households", [True, False])
def test_no_minor_is_married_separated_divorced_or_widowed(people, households):
    if households:
        p = people["persons"]
        cfg = GenerateConfig()
    else:
        cfg = GenerateConfig(seed=4, households={"enabled": False})
        p = PersonGenerator(cfg).generate(30_000)["persons"]
    age = age_on(cfg.as_of, _days(p, "date_of_birth"))
    status = np.array(p.column("marital_status").to_pylist())
    assert (age < 18).sum() > 1_000
    assert (status[age < 18] == "Never married").all()
    assert (status[(age >= 18) & (age < 25)] != "Never married").any()
