"""Per-row peer baselines (Faker, Mimesis) and a raw disk-write reference.

Run: python benchmarks/baselines.py --n 20000
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import tempfile
import time
from typing import Callable

FIELDS = [
    "first_name",
    "last_name",
    "ssn",
    "date_of_birth",
    "street_address",
    "city",
    "state",
    "zip_code",
    "phone",
    "email",
    "employer",
    "job_title",
    "annual_income",
    "credit_score",
    "credit_card_number",
]


def faker_people(n: int, seed: int) -> int:
    """Generate n people row by row with Faker (en_US), writing each as a CSV line."""
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(seed)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(FIELDS)
    for _ in range(n):
        row = {
            "first_name": fake.first_name(),
            "last_name": fake.last_name(),
            "ssn": fake.ssn(),
            "date_of_birth": fake.date_of_birth(minimum_age=18, maximum_age=90),
            "street_address": fake.street_address(),
            "city": fake.city(),
            "state": fake.state_abbr(),
            "zip_code": fake.zipcode(),
            "phone": fake.phone_number(),
            "email": fake.email(),
            "employer": fake.company(),
            "job_title": fake.job(),
            "annual_income": fake.random_int(20_000, 250_000),
            "credit_score": fake.random_int(300, 850),
            "credit_card_number": fake.credit_card_number(),
        }
        writer.writerow(row.values())
    return n


def mimesis_people(n: int, seed: int) -> int:
    """Generate n people row by row with Mimesis (Locale.EN), writing each as a CSV line.

    Mimesis has no SSN provider, so the SSN is a masked identifier (###-##-####).
    """
    from mimesis import Address, Finance, Locale, Numeric, Payment, Person

    person = Person(Locale.EN, seed=seed)
    address = Address(Locale.EN, seed=seed + 1)
    finance = Finance(Locale.EN, seed=seed + 2)
    payment = Payment(seed=seed + 3)
    numeric = Numeric(seed=seed + 4)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(FIELDS)
    for _ in range(n):
        row = {
            "first_name": person.first_name(),
            "last_name": person.last_name(),
            "ssn": person.identifier("###-##-####"),
            "date_of_birth": person.birthdate(min_year=1935, max_year=2007),
            "street_address": address.address(),
            "city": address.city(),
            "state": address.state(abbr=True),
            "zip_code": address.zip_code(),
            "phone": person.phone_number(),
            "email": person.email(),
            "employer": finance.company(),
            "job_title": person.occupation(),
            "annual_income": numeric.integer_number(20_000, 250_000),
            "credit_score": numeric.integer_number(300, 850),
            "credit_card_number": payment.credit_card_number(),
        }
        writer.writerow(row.values())
    return n


def time_baseline(fn: Callable[[int, int], int], n: int, seed: int = 0) -> dict:
    """Time fn(n, seed) after a small warm-up; return rows, seconds and people/s."""
    fn(min(n, 500), seed)
    start = time.perf_counter()
    rows = fn(n, seed)
    seconds = time.perf_counter() - start
    return {"rows": rows, "seconds": seconds, "people_per_s": rows / seconds}


def disk_write_speed(path: str, size_bytes: int = 2 * 1024**3) -> float:
    """Sequentially write size_bytes into a temp file in directory path, fsync, delete; return bytes/s."""
    chunk = memoryview(os.urandom(8 * 1024**2))  # incompressible, reused buffer
    fd, name = tempfile.mkstemp(prefix="diskspeed-", dir=path)
    try:
        start = time.perf_counter()
        with os.fdopen(fd, "wb", buffering=0) as f:
            remaining = size_bytes
            while remaining > 0:
                remaining -= f.write(chunk[: min(len(chunk), remaining)])
            os.fsync(f.fileno())
        seconds = time.perf_counter() - start
    finally:
        os.remove(name)
    return size_bytes / seconds


def main() -> None:
    """Print people/s for Faker and Mimesis and the disk write speed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="rows per library")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--disk-bytes", type=int, default=2 * 1024**3)
    args = parser.parse_args()

    print(f"{'baseline':<12}{'rows':>10}{'seconds':>10}{'people/s':>12}")
    for name, fn in (("faker", faker_people), ("mimesis", mimesis_people)):
        r = time_baseline(fn, args.n, args.seed)
        print(f"{name:<12}{r['rows']:>10}{r['seconds']:>10.2f}{r['people_per_s']:>12,.0f}")
    with tempfile.TemporaryDirectory(dir=".") as tmp:
        speed = disk_write_speed(tmp, args.disk_bytes)
    print(f"disk write: {speed / 1e6:,.0f} MB/s ({args.disk_bytes / 1e6:,.0f} MB, fsync'd)")


if __name__ == "__main__":
    main()
