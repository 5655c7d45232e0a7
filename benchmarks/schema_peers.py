#!/usr/bin/env python3
"""The shop recipe of examples/shop.yaml written row by row with Mimesis, the per-row peer of the schema benchmark.

One Mimesis ``Schema`` per table, each row made by its callable through the iterator protocol, every row written
with ``csv.writer`` (one CSV file per table, like ``pii_gen generate --schema``).  The Snowfakery peer is the
recipe ``shop_snowfakery.yml`` beside this file, run by Snowfakery's own command line.

Run:  python3 benchmarks/schema_peers.py mimesis --customers 50000 --out OUT_DIR
It prints the rows written per table as JSON.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import itertools
import json
import math
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

#: examples/shop.yaml's fixed lists and weights, repeated here so both sides draw from the same numbers.
CATEGORIES = [("books", 15.0), ("electronics", 120.0), ("garden", 40.0), ("grocery", 8.0), ("toys", 25.0)]
PRODUCTS = 500
WEEKDAY = [1.0, 0.9, 0.9, 1.0, 1.2, 1.6, 1.5]
HOUR = [0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.4, 0.7, 1.0, 1.2, 1.3, 1.4,
        1.5, 1.4, 1.3, 1.3, 1.4, 1.6, 1.9, 2.2, 2.3, 2.0, 1.4, 0.7]  # fmt: skip
STATUS = (["delivered", "shipped", "cancelled", "refunded"], [0.86, 0.06, 0.03, 0.05])
SHIPPING = (["standard", "express", "pickup"], [0.7, 0.2, 0.1])
MONTH_FEE = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1.3, 1.5]
#: The population's incomes, roughly: 23% missing, 5% zero, else lognormal(10.55, 0.92) (fitted to its output).
INCOME = ([None, 0, "lognormal"], [0.23, 0.05, 0.72])


def poisson(random: Any, mean: float) -> int:
    """A Poisson draw by Knuth's product of uniforms (Python's ``random`` has none)."""
    limit, k, p = math.exp(-mean), 0, random.random()
    while p > limit:
        k += 1
        p *= random.random()
    return k


def mimesis_shop(customers: int, out: Path, seed: int = 7) -> dict[str, int]:
    """Write the shop's five tables for ``customers`` customers; return the rows of each."""
    from mimesis import Field, Locale, Schema

    field = Field(Locale.EN, seed=seed)
    rnd = field.get_random_instance()
    out.mkdir(parents=True, exist_ok=True)
    rows: dict[str, int] = {}

    def write(table: str, header: list[str], items: Iterator[dict[str, Any]]) -> None:
        with (out / f"{table}.csv").open("w", newline="", encoding="utf-8") as fp:
            writer = csv.writer(fp)
            writer.writerow(header)
            n = 0
            for item in items:
                writer.writerow(item.values())
                n += 1
        rows[table] = n

    write("categories", ["category", "base_price"], iter([{"c": c, "p": p} for c, p in CATEGORIES]))

    product_ids = itertools.count(1)

    def product() -> dict[str, Any]:
        category, base = rnd.choice(CATEGORIES)
        price = max(base * (1 + rnd.uniform(-0.3 * math.sqrt(3), 0.3 * math.sqrt(3))), 0.99)
        return {
            "product_id": next(product_ids),
            "sku": rnd.generate_string_by_mask("SKU-@@@@-####"),
            "category": category,
            "price": round(price, 2),
        }

    products = Schema(product, iterations=PRODUCTS).create()
    write("products", ["product_id", "sku", "category", "price"], iter(products))
    prices = [p["price"] for p in products]
    ids = list(range(1, PRODUCTS + 1))
    zipf = list(itertools.accumulate(k**-1.1 for k in ids))  # product 1 sells most

    days = [datetime.date(2024, 1, 1) + datetime.timedelta(d) for d in range(366)]
    day_cum = list(itertools.accumulate(WEEKDAY[d.weekday()] for d in days))
    hour_cum = list(itertools.accumulate(HOUR))
    hours = list(range(24))

    customer_ids = itertools.count(1)

    def customer() -> dict[str, Any]:
        income = rnd.choices(*INCOME)[0]
        if income == "lognormal":
            income = int(rnd.lognormvariate(10.55, 0.92))
        return {
            "customer_id": next(customer_ids),
            "first_name": field("person.first_name"),
            "last_name": field("person.last_name"),
            "email": field("person.email"),
            "city": field("address.city"),
            "state": field("address.state", abbr=True),
            "annual_income": income,
            "signed_up": field("datetime.date", start=2022, end=2023),
        }

    # The parent row and its order times (sorted, as `sorted: true`) are what the child schemas read.
    current: dict[str, Any] = {}
    order_ids, item_ids = itertools.count(1), itertools.count(1)

    def order() -> dict[str, Any]:
        order_id = next(order_ids)
        at = current["times"].pop()
        fee = round(rnd.uniform(3.0, 7.0), 2) * MONTH_FEE[at.month - 1]
        return {
            "customer_id": current["customer_id"],
            "order_id": order_id,
            "order_no": f"ORD-{order_id:08d}",
            "ordered_at": at.isoformat(sep=" "),
            "status": rnd.choices(*STATUS)[0],
            "shipping": rnd.choices(*SHIPPING)[0],
            "shipping_fee": round(fee, 2),
        }

    def item() -> dict[str, Any]:
        product_id = rnd.choices(ids, cum_weights=zipf)[0]
        quantity = min(max(poisson(rnd, 1.5), 1), 10)
        unit_price = prices[product_id - 1]
        return {
            "order_id": current["order_id"],
            "item_id": next(item_ids),
            "product_id": product_id,
            "quantity": quantity,
            "unit_price": unit_price,
            "line_total": round(quantity * unit_price, 2),
        }

    def order_time() -> datetime.datetime:
        day = rnd.choices(days, cum_weights=day_cum)[0]
        hour = rnd.choices(hours, cum_weights=hour_cum)[0]
        return datetime.datetime(day.year, day.month, day.day, hour, rnd.randrange(60), rnd.randrange(60))

    customer_rows = Schema(customer, iterations=customers)
    order_rows = Schema(order, iterations=customers * 20)  # the fanout's max: never runs out
    item_rows = Schema(item, iterations=customers * 20 * 5)
    files = {
        t: (out / f"{t}.csv").open("w", newline="", encoding="utf-8") for t in ("customers", "orders", "order_items")
    }
    writers = {t: csv.writer(fp) for t, fp in files.items()}
    writers["customers"].writerow(
        ["customer_id", "first_name", "last_name", "email", "city", "state", "annual_income", "signed_up"]
    )
    writers["orders"].writerow(
        ["customer_id", "order_id", "order_no", "ordered_at", "status", "shipping", "shipping_fee"]
    )
    writers["order_items"].writerow(["order_id", "item_id", "product_id", "quantity", "unit_price", "line_total"])
    counts = dict.fromkeys(files, 0)
    orders_iter, items_iter = iter(order_rows), iter(item_rows)
    try:
        for row in customer_rows:
            writers["customers"].writerow(row.values())
            counts["customers"] += 1
            n_orders = min(poisson(rnd, 0.8 + (row["annual_income"] or 0) / 50000), 20)
            current["customer_id"] = row["customer_id"]
            current["times"] = sorted((order_time() for _ in range(n_orders)), reverse=True)
            for _ in range(n_orders):
                o = next(orders_iter)
                writers["orders"].writerow(o.values())
                counts["orders"] += 1
                current["order_id"] = o["order_id"]
                for _ in range(rnd.randint(1, 5)):
                    writers["order_items"].writerow(next(items_iter).values())
                    counts["order_items"] += 1
    finally:
        for fp in files.values():
            fp.close()
    rows.update(counts)
    return rows


PEERS: dict[str, Callable[[int, Path, int], dict[str, int]]] = {"mimesis": mimesis_shop}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("peer", choices=sorted(PEERS))
    p.add_argument("--customers", type=int, default=10_000)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()
    json.dump(PEERS[args.peer](args.customers, args.out, args.seed), sys.stdout)
    print()


if __name__ == "__main__":
    main()
