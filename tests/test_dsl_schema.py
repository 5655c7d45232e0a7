"""Schema files are read whole before any row: every mistake is one line ``file:line: path: what``.

Each bad case below changes one thing in a small valid file and pins the exact message and line, so a
wording or a line number that drifts is a failure, and so is a mistake that is no longer caught.
"""

from __future__ import annotations

import json

import pytest

from pii_gen.dsl import json_schema, load, loads, order, reference_markdown
from pii_gen.dsl.base import GENERATORS, MODIFIERS
from pii_gen.errors import ConfigError, SchemaError

BASE = """version: 1
tables:
  stores:
    kind: entity
    rows: 10
    key: store_id
    columns:
      store_id: {gen: sequence}
      region: {gen: choice, values: [North, South]}
  orders:
    kind: fact
    parent: stores
    fanout: {dist: poisson, mean: 3}
    key: order_id
    columns:
      order_id: {gen: sequence}
      amount: {gen: distribution, dist: lognormal, mu: 3, sigma: 0.5}
"""
CASES = {
    "unknown_top_key": BASE + "colour: red\n",
    "version_missing": BASE.replace("version: 1\n", ""),
    "version_two": BASE.replace("version: 1", "version: 2"),
    "unknown_generator": BASE.replace("{gen: sequence}\n      amount", "{gen: serial}\n      amount"),
    "negative_sigma": BASE.replace("sigma: 0.5", "sigma: -1"),
    "param_of_other_dist": BASE.replace("sigma: 0.5", "sigma: 0.5, sd: 2"),
    "weights_vs_values": BASE.replace("values: [North, South]", "values: [North, South], weights: [1, 2, 3]"),
    "ref_missing_table": BASE + "      store: {gen: ref, to: shops}\n",
    "cycle": BASE.replace("      region: {gen: choice, values: [North, South]}",
                          "      best: {gen: ref, to: orders}") + "      s: {gen: ref, to: stores}\n",
    "unknown_name_in_expr": BASE + "      net: {gen: expression, expr: \"amount * (1 - discount)\"}\n",
    "expr_does_not_parse": BASE + "      net: {gen: expression, expr: \"amount *\"}\n",
    "expr_forbidden_node": BASE + "      net: {gen: expression, expr: \"amount.__class__\"}\n",
    "expr_unknown_function": BASE + "      net: {gen: expression, expr: \"eval(amount)\"}\n",
    "expr_type_error": BASE + "      net: {gen: expression, expr: \"year(amount)\"}\n",
    "expr_later_column": BASE.replace("      amount:",
        "      net: {gen: expression, expr: \"amount * 2\"}\n      amount:"),
    "decimals_on_integer_dist": BASE.replace("dist: lognormal, mu: 3, sigma: 0.5",
        "dist: poisson, mean: 2, decimals: 2"),
    "unique_choice": BASE.replace("values: [North, South]}", "values: [North, South], unique: true}"),
    "key_with_nulls": BASE.replace("store_id: {gen: sequence}", "store_id: {gen: sequence, null_rate: 0.1}"),
    "key_not_a_column": BASE.replace("key: order_id", "key: order_no"),
    "null_rate_above_one": BASE.replace("sigma: 0.5}", "sigma: 0.5, null_rate: 1.5}"),
    "unknown_modifier": BASE.replace("sigma: 0.5}", "sigma: 0.5, modify: [{scale: {by: 2}}]}"),
    "modifier_bad_param": BASE.replace("sigma: 0.5}", "sigma: 0.5, modify: [{nulls: {rate: 2}}]}"),
    "modifier_on_key": BASE.replace("order_id: {gen: sequence}",
        "order_id: {gen: sequence, modify: [{add: {value: 1}}]}"),
    "fanout_negative_mean": BASE.replace("mean: 3}", "mean: -3}"),
    "fanout_unknown_dist": BASE.replace("dist: poisson, mean: 3", "dist: geometric, p: 0.3"),
    "fanout_expr_unknown_parent_column": BASE.replace("mean: 3}", "mean: \"parent.size / 2\"}"),
    "parent_missing": BASE.replace("parent: stores", "parent: shops"),
    "fanout_without_parent": BASE.replace("    parent: stores\n", ""),
    "entity_without_rows": BASE.replace("    rows: 10\n", ""),
    "bad_type": BASE.replace("sigma: 0.5}", "sigma: 0.5, type: money}"),
    "lookup_via_non_ref": BASE + "      r: {gen: lookup, via: amount, column: region}\n",
    "lookup_unknown_column": BASE.replace("    columns:\n      order_id",
        "    columns:\n      s: {gen: ref, to: stores}\n      order_id") +
        "      r: {gen: lookup, via: s, column: city}\n",
    "ref_non_unique_column": BASE + "      r: {gen: ref, to: stores.region}\n",
    "series_weekday_length": BASE + "      at: {gen: datetime_series, weekday: [1, 2, 3]}\n",
    "calendar_reversed": BASE + "calendar: {start: 2024-12-31, end: 2024-01-01}\n",
    "duplicate_key": BASE + "      amount: {gen: uuid}\n",
    "uniform_min_above_max": BASE.replace("dist: lognormal, mu: 3, sigma: 0.5", "dist: uniform, min: 9, max: 1"),
    "choice_from_entity": BASE + "      r: {gen: choice, from: stores.region}\n",
    "partition_without_parent": BASE.replace("      region: {gen: choice, values: [North, South]}",
        "      part: {gen: partition_of, total: parent.x}"),
    "sequence_bad_format": BASE.replace("order_id: {gen: sequence}",
        "order_id: {gen: sequence, format: \"ORD-{:.2f}\"}"),
    "yaml_syntax": BASE.replace("sigma: 0.5}", "sigma: 0.5"),
    "unique_ref_too_few_rows": BASE.replace("    fanout: {dist: poisson, mean: 3}\n",
        "").replace(
        "    parent: stores\n",
        "    rows: 50\n") +
        "      s: {gen: ref, to: stores, unique: true}\n",
    "effect_unknown_column": BASE + "effects:\n  - {name: bf, table: orders, time: ordered_at, "
                                    "window: {start: 2024-11-29, end: 2024-12-02}, rate: 2}\n",
    "target_unknown_effect": BASE + "targets:\n  - {metric: effect_lift, effect: bf, between: [2, 3]}\n",
    "pattern_empty": BASE + "      code: {gen: pattern, template: \"\"}\n",
    "noise_on_ref": BASE + "      s: {gen: ref, to: stores, modify: [{noise: {type: typo, rate: 0.1}}]}\n",
    "noise_on_key": BASE.replace("order_id: {gen: sequence}",
                                 "order_id: {gen: sequence, modify: [{noise: {type: missing, rate: 0.1}}]}"),
    "noise_kind_it_cannot_change": BASE + "      who: {gen: pattern, template: \"???\", "
                                          "modify: [{noise: {type: name_variant, rate: 0.1}}]}\n",
    "noise_without_its_sibling": BASE + "      first: {gen: expression, expr: \"'Ann'\", "
                                        "modify: [{noise: {type: name_variant, rate: 0.1, kind: given_name}}]}\n",
    "lookup_through_self_ref_of_a_later_column": BASE + "      boss: {gen: ref, to: self}\n"
                                                        "      boss_code: {gen: lookup, via: boss, column: code}\n"
                                                        "      code: {gen: uuid}\n",
}

EXPECTED = dict([
    ('unknown_top_key', 'shop.yaml:18: colour: unknown key'),
    ('version_missing', 'shop.yaml:1: version: required'),
    ('version_two', 'shop.yaml:1: version: must be 1'),
    ('unknown_generator', "shop.yaml:16: tables.orders.columns.order_id.gen: unknown generator 'serial' (one of: "
                "aggregate, choice, bool, calendar_day, daily_key, expression, ref, lookup, noise_label, person, "
                "faker, sequence, uuid, pattern, constant, keyed, digest, device, household_device, identifier_type, "
                "device_id, identifier, "
                "distribution, partition_of, pick, datetime, datetime_series)"),
    ('negative_sigma', 'shop.yaml:17: tables.orders.columns.amount.sigma: must be > 0'),
    ('param_of_other_dist', 'shop.yaml:17: tables.orders.columns.amount.sd: is not a parameter of dist lognormal (it '
                'takes mu, sigma)'),
    ('weights_vs_values', 'shop.yaml:9: tables.stores.columns.region.weights: has 3 weights for 2 values'),
    ('ref_missing_table', "shop.yaml:18: tables.orders.columns.store.to: no table named 'shops'"),
    ('cycle', 'shop.yaml:3: tables.stores: tables reference each other in a cycle: stores -> orders -> stores (ref '
                'stores.best would break it if positional, but orders has a parent)'),
    ('unknown_name_in_expr', "shop.yaml:18: tables.orders.columns.net.expr: unknown name 'discount' in 'amount * (1 - "
                "discount)'"),
    ('expr_does_not_parse', "shop.yaml:18: tables.orders.columns.net.expr: expression does not parse: invalid syntax "
                "in 'amount *'"),
    ('expr_forbidden_node', "shop.yaml:18: tables.orders.columns.net.expr: 'amount.__class__' is not a name (use "
                "lookup(REF_COLUMN, amount.__class__)) in 'amount.__class__'"),
    ('expr_unknown_function', "shop.yaml:18: tables.orders.columns.net.expr: unknown function 'eval' in "
                "'eval(amount)'"),
    ('expr_type_error', "shop.yaml:18: tables.orders.columns.net.expr: needs a date or timestamp, not float in "
                "'year(amount)'"),
    ('expr_later_column', "shop.yaml:17: tables.orders.columns.net.expr: column 'amount' comes later in the table: "
                "only earlier columns can be read in 'amount * 2'"),
    ('decimals_on_integer_dist', 'shop.yaml:17: tables.orders.columns.amount.decimals: dist poisson '
                'makes whole numbers: '
                'decimals does not apply'),
    ('unique_choice', 'shop.yaml:9: tables.stores.columns.region.unique: gen choice cannot guarantee unique values'),
    ('key_with_nulls', 'shop.yaml:8: tables.stores.columns.store_id.null_rate: a key column cannot have nulls'),
    ('key_not_a_column', 'shop.yaml:14: tables.orders.key: names no column of orders'),
    ('null_rate_above_one', 'shop.yaml:17: tables.orders.columns.amount.null_rate: must be <= 1'),
    ('unknown_modifier', 'shop.yaml:17: tables.orders.columns.amount.modify[0].scale: unknown modifier (one of: '
                'multiply, add, clamp, round, jitter, map_values, seasonality, time_jitter, nulls, outliers, noise, '
                'digest)'),
    ('modifier_bad_param', 'shop.yaml:17: tables.orders.columns.amount.modify[0].nulls.rate: must be <= 1'),
    ('modifier_on_key', 'shop.yaml:16: tables.orders.columns.order_id.modify: a key column cannot be modified'),
    ('fanout_negative_mean', 'shop.yaml:13: tables.orders.fanout.mean: must be >= 0'),
    ('fanout_unknown_dist', "shop.yaml:13: tables.orders.fanout.dist: unknown fanout dist 'geometric' (one of: fixed, "
                "uniform, poisson, negbin, zipf, explicit)"),
    ('fanout_expr_unknown_parent_column', "shop.yaml:13: tables.orders.fanout.mean: the parent has no column "
                "'size' in 'parent.size "
                "/ 2'"),
    ('parent_missing', "shop.yaml:12: tables.orders.parent: no table named 'shops'"),
    ('fanout_without_parent', 'shop.yaml:10: tables.orders.parent: fanout needs parent:'),
    ('entity_without_rows', 'shop.yaml:3: tables.stores.rows: an entity table needs rows: N or from: population | '
                'households | calendar'),
    ('bad_type', 'shop.yaml:17: tables.orders.columns.amount.type: must be int, bigint, float, '
                'decimal(P,S), string, string(N), bool, date or timestamp'),
    ('lookup_via_non_ref', "shop.yaml:18: tables.orders.columns.r.via: 'amount' is not a ref column of orders"),
    ('lookup_unknown_column', "shop.yaml:19: tables.orders.columns.r.column: table stores has no column 'city'"),
    ('ref_non_unique_column', 'shop.yaml:18: tables.orders.columns.r.to: stores.region is not '
                'unique: refer to a key or '
                'a unique: true column'),
    ('series_weekday_length', 'shop.yaml:18: tables.orders.columns.at.weekday: needs 7 weights, got 3'),
    ('calendar_reversed', 'shop.yaml:18: calendar.end: must not be before start (2024-12-31)'),
    ('duplicate_key', 'shop.yaml:18: tables.orders.columns.amount: duplicate key'),
    ('uniform_min_above_max', 'shop.yaml:17: tables.orders.columns.amount.max: must be >= min (9)'),
    ('choice_from_entity', 'shop.yaml:18: tables.orders.columns.r.from: table stores is an entity table: from: needs '
                'a vocab table'),
    ('partition_without_parent', 'shop.yaml:9: tables.stores.columns.part.total: partition_of needs a table with a '
                'parent'),
    ('sequence_bad_format', "shop.yaml:16: tables.orders.columns.order_id.format: takes one '{}' field like '{:08d}' "
                "(width and zero padding only)"),
    ('yaml_syntax', "shop.yaml:18: not valid YAML: expected ',' or '}', but got '<stream end>'"),
    ('unique_ref_too_few_rows', 'shop.yaml:17: tables.orders.columns.s.unique: 50 rows cannot each '
                'take a different row of '
                'stores (10 rows)'),
    ('effect_unknown_column', "shop.yaml:19: effects[0].time: table orders has no column 'ordered_at'"),
    ('target_unknown_effect', "shop.yaml:19: targets[0].effect: no effect named 'bf'"),
    ('pattern_empty', 'shop.yaml:18: tables.orders.columns.code.template: must not be empty'),
    ('noise_on_ref', 'shop.yaml:18: tables.orders.columns.s.modify[0].noise: noise never changes a key or a ref column '
                     '(s must keep resolving)'),
    ('noise_on_key', 'shop.yaml:16: tables.orders.columns.order_id.modify: a key column cannot be modified'),
    ('noise_kind_it_cannot_change', 'shop.yaml:18: tables.orders.columns.who.modify[0].noise.type: name_variant noise '
                                    'cannot change string values of gen pattern (it changes family_name, given_name, '
                                    'middle_name, name_suffix: set kind: for a column holding one)'),
    ('noise_without_its_sibling', "shop.yaml:18: tables.orders.columns.first.modify[0].noise.type: name_variant noise "
                                  "on given_name values reads the row's family_name: make a gen: person column of it "
                                  "before first"),
    ('lookup_through_self_ref_of_a_later_column', "shop.yaml:19: tables.orders.columns.boss_code.column: 'code' comes "
                                                  "later in the table: a lookup through a to: self ref reads earlier "
                                                  "columns only"),
])


def test_the_base_file_is_valid_and_orders_tables_parents_first():
    schema = loads(BASE, "shop.yaml")
    assert order(schema) == ["stores", "orders"]
    assert list(schema.tables["orders"].columns) == ["order_id", "amount"]


def test_every_bad_case_has_its_pinned_message():
    assert set(EXPECTED) == set(CASES) and len(CASES) >= 25


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_schema_is_one_line_with_its_line_and_path(case):
    with pytest.raises(SchemaError) as caught:
        loads(CASES[case], "shop.yaml")
    message = str(caught.value)
    assert message == EXPECTED[case]
    assert "\n" not in message and caught.value.exit_code == 2
    assert isinstance(caught.value, ConfigError)


def test_a_json_file_reports_its_lines_too(tmp_path):
    import yaml

    data = yaml.safe_load(BASE)
    data["tables"]["orders"]["columns"]["amount"]["sigma"] = 0
    path = tmp_path / "shop.json"
    path.write_text(json.dumps(data, indent=2))
    with pytest.raises(SchemaError) as caught:
        load(path)
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if '"sigma"' in text)
    assert str(caught.value) == f"{path}:{line}: tables.orders.columns.amount.sigma: must be > 0"


def test_a_missing_file_is_a_schema_error(tmp_path):
    with pytest.raises(SchemaError) as caught:
        load(tmp_path / "nope.yaml")
    assert str(caught.value) == f"{tmp_path / 'nope.yaml'}: cannot read the schema file: No such file or directory"


def test_yaml_on_and_no_stay_text():
    # YAML 1.1 reads `on:` as true; the spec's seasonality and effect sources use `on:` as a key.
    text = BASE + "      at: {gen: datetime_series}\n      adj: {gen: distribution, dist: normal, mean: 1, sd: 1, " \
                  "modify: [{seasonality: {on: at, weekday: [1, 1, 1, 1, 1, 2, 2]}}]}\n      flag: no\n"
    columns = loads(text).tables["orders"].columns
    assert columns["adj"].modify[0].seasonality.on == "at"
    assert columns["flag"].value == "no"


def test_a_plain_scalar_is_a_constant_column():
    column = loads(BASE + "      currency: USD\n").tables["orders"].columns["currency"]
    assert (column.gen, column.value) == ("constant", "USD")


def test_sections_five_to_seven_parse_into_typed_models():
    text = BASE.replace("      order_id: {gen: sequence}", "      order_id: {gen: sequence}\n"
                        "      ordered_at: {gen: datetime_series}") + """effects:
  - {name: bf, table: orders, time: ordered_at, window: {start: 2024-11-29, end: 2024-12-02}, rate: 2.5, label: true}
constraints:
  - unique: orders.order_id
  - fk: auto
  - {range: {column: orders.amount, min: 0}}
  - {check: "orders.amount >= 0", on_violation: report}
targets:
  - {name: weekend, metric: weekend_share, table: orders, column: ordered_at, between: [0.30, 0.36]}
  - {metric: effect_lift, effect: bf, between: [2.2, 2.8]}
"""
    schema = loads(text)
    assert schema.effects[0].rate == 2.5 and schema.effects[0].label
    assert [c.on_violation for c in schema.constraints] == ["fail", "fail", "fail", "report"]
    assert schema.targets[0].between == (0.30, 0.36) and schema.targets[1].effect == "bf"


def test_the_json_schema_accepts_a_good_file_and_refuses_a_bad_one():
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    schema = json_schema()
    good = json.loads(json.dumps(yaml.safe_load(BASE), default=str))
    jsonschema.validate(good, schema)
    bad = json.loads(json.dumps(good))
    bad["tables"]["orders"]["columns"]["amount"]["colour"] = "red"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_the_reference_lists_every_registered_generator_and_modifier():
    text = reference_markdown()
    for cls in [*GENERATORS, *MODIFIERS]:
        assert f"| `{cls.name}` |" in text
    assert len(GENERATORS) >= 15 and len(MODIFIERS) == 12
    row = next(line for line in text.splitlines() if line.startswith("| `distribution` |"))
    assert "`sigma`" in row and row.count(" | ") == 2  # pipes inside a cell are escaped


MORE = {
    "key_from_a_non_unique_generator": (
        BASE.replace("key: store_id", "key: region"),
        "shop.yaml:6: tables.stores.key: key region needs unique values: gen choice cannot guarantee them "
        "(use sequence, uuid or a ref with unique: true)"),
    "modifier_on_a_unique_column": (
        BASE + "      code: {gen: uuid, unique: true, modify: [{map_values: {mapping: {a: b}}}]}\n",
        "shop.yaml:18: tables.orders.columns.code.modify: modifiers could break a unique column's uniqueness"),
}


@pytest.mark.parametrize("case", sorted(MORE))
def test_uniqueness_that_cannot_hold_is_refused(case):
    text, message = MORE[case]
    with pytest.raises(SchemaError) as caught:
        loads(text, "shop.yaml")
    assert str(caught.value) == message


VOCAB = BASE.replace("tables:\n", """tables:
  regions:
    kind: vocab
    key: code
    data:
      - {code: N, name: North}
      - {code: S, name: South}
""")
WINDOW = "window: {start: 2024-11-29, end: 2024-12-02}"
SECTIONS = {
    "vocab_repeats_its_key": (
        VOCAB.replace("{code: S, name: South}", "{code: N, name: Nord}"),
        "shop.yaml:8: tables.regions.data[1]: repeats key N"),
    "vocab_rows_differ": (
        VOCAB.replace("{code: S, name: South}", "{code: S, label: South}"),
        "shop.yaml:8: tables.regions.data[1]: has keys code, label; the first row has code, name"),
    "vocab_file_not_csv_or_parquet": (
        BASE.replace("tables:\n", "tables:\n  regions: {kind: vocab, file: regions.xlsx}\n"),
        "shop.yaml:3: tables.regions.file: must be a .csv or .parquet file"),
    "effect_where_unknown_name": (
        BASE + f"effects:\n  - {{name: e, table: orders, time: amount, {WINDOW}, rate: 2, where: \"region == 'S'\"}}\n",
        "shop.yaml:19: effects[0].where: unknown name 'region' in \"region == 'S'\""),
    "effect_multiply_type_error": (
        BASE + f"effects:\n  - {{name: e, table: orders, time: amount, {WINDOW}, column: amount, "
               "multiply: \"upper(amount)\"}\n",
        "shop.yaml:19: effects[0].multiply: needs a string, not float in 'upper(amount)'"),
    "constraint_unknown_column": (
        BASE + "constraints:\n  - {check: \"orders.amount >= orders.price\"}\n",
        "shop.yaml:19: constraints[0].check: table orders has no column 'price'"),
    "constraint_bare_name": (
        BASE + "constraints:\n  - {inequality: \"amount >= 0\"}\n",
        "shop.yaml:19: constraints[0].inequality: names columns as TABLE.COLUMN, not 'amount'"),
    "constraint_two_kinds": (
        BASE + "constraints:\n  - {unique: orders.order_id, fk: auto}\n",
        "shop.yaml:19: constraints[0].fk: takes one of unique, fk, range, inequality, check"),
    "target_expression_error": (
        BASE + "targets:\n  - {metric: corr, table: orders, x: \"amount +\", y: amount, min: 0.2}\n",
        "shop.yaml:19: targets[0].x: expression does not parse: invalid syntax in 'amount +'"),
    "target_unknown_metric": (
        BASE + "targets:\n  - {metric: median, table: orders}\n",
        "shop.yaml:19: targets[0].metric: must be 'weekend_share', 'mean_in_range', 'composite_effect', "
        "'per_parent_count', 'share', 'corr', 'effect_lift', 'tvd' or 'ks'"),
}


@pytest.mark.parametrize("case", sorted(SECTIONS))
def test_vocab_data_and_sections_five_to_seven_are_checked_too(case):
    text, message = SECTIONS[case]
    with pytest.raises(SchemaError) as caught:
        loads(text, "shop.yaml")
    assert str(caught.value) == message


def test_a_vocab_file_is_looked_for_next_to_the_schema_file(tmp_path):
    path = tmp_path / "shop.yaml"
    path.write_text(BASE.replace("tables:\n", "tables:\n  regions: {kind: vocab, file: data/regions.csv}\n"))
    with pytest.raises(SchemaError) as caught:
        load(path)
    assert str(caught.value) == f"{path}:3: tables.regions.file: no file 'data/regions.csv' next to the schema file"
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "regions.csv").write_text("region\nNorth\n")
    assert load(path).tables["regions"].file == "data/regions.csv"


def test_row_estimates_follow_scale_and_fanout_means():
    from pii_gen.dsl.estimate import row_estimates

    text = VOCAB.replace("fanout: {dist: poisson, mean: 3}", "fanout: {dist: explicit, weights: {0: 0.5, 4: 0.5}}")
    text += "  lines:\n    kind: fact\n    parent: orders\n    fanout: {dist: poisson, mean: \"1 + parent.amount\"}\n"
    text += "    columns: {n: {gen: sequence}}\n"
    assert row_estimates(loads(text)) == {"regions": 2, "stores": 10, "orders": 20, "lines": None}
    assert row_estimates(loads(text), scale=3)["orders"] == 60
    zipf = loads(BASE.replace("dist: poisson, mean: 3", "dist: zipf, s: 2, max: 3"))
    assert row_estimates(zipf)["orders"] == round(10 * (1 + 2 / 4 + 3 / 9) / (1 + 1 / 4 + 1 / 9))


SHOP = """
version: 1
name: shop
seed: 7
scale: 1.0
population: {size: 5000, pii_mode: strict}
calendar: {start: 2024-01-01, end: 2024-12-31}
tables:
  regions:
    kind: vocab
    key: region
    data: [{region: North, lift: 1.0}, {region: South, lift: 1.2}]
  stores:
    kind: entity
    rows: 40
    key: store_id
    columns:
      store_id: {gen: sequence, format: "ST-{:04d}"}
      region: {gen: choice, from: regions.region, weights: [3, 1]}
      size: {gen: distribution, dist: gamma, shape: 2, scale: 50, integer: true}
      opened: {gen: datetime, start: 2015-01-01, end: calendar.start, granularity: day, type: date}
  customers:
    kind: entity
    from: population
    start: 100
    key: customer_id
    columns:
      customer_id: {gen: sequence, permute: true}
      first_name: {gen: person, field: first_name}
      income: {gen: person, field: annual_income}
      home: {gen: ref, to: stores, pick: {zipf: {s: 1.1}}}
      home_region: {gen: lookup, via: home, column: region}
      referrer: {gen: ref, to: self, root_share: 0.7}
      segment: {gen: choice, values: [a, b, c], dist: head_tail, head: 1, head_share: 0.6}
      signed_up: {gen: datetime, start: 2023-01-01, end: calendar.end}
  orders:
    kind: fact
    parent: customers
    fanout: {dist: negbin, mean: "0.5 + parent.income / 40000", dispersion: 1.5, max: 60}
    key: order_id
    columns:
      order_id: {gen: sequence}
      store_id: {gen: ref, to: stores, pick: {weighted_by: size}, where: "size > 20"}
      store_region: {gen: lookup, via: [store_id], column: region}
      ordered_at:
        gen: datetime_series
        weekday: [1, 1, 1, 1, 1.2, 1.6, 1.3]
        hour: [0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1, 1, 1, 1, 1.2, 1.3, 1.2, 1, 1, 1, 1.1, 1.3, 1.4, 1.2, 0.8, 0.4, 0.2]
        month: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1.3, 1.8]
        holidays: {dates: [2024-12-24, 2024-12-25], weight: 0.2}
        sorted: true
      status: {gen: choice, values: [paid, refunded, open], weights: {paid: 0.9, refunded: 0.05, open: 0.05}}
      amount:
        gen: distribution
        dist: lognormal
        mu: 3.6
        sigma: 0.6
        min: 1
        decimals: 2
        modify:
          - {seasonality: {on: ordered_at, month: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1.1, 1.25]}}
          - {jitter: {pct: 0.02}}
          - {outliers: {rate: 0.001, mode: spike, factor: 20, label: true}}
          - {round: {decimals: 2}}
      tip: {gen: expression, expr: "round(amount * 0.1, 2) if status == 'paid' else 0.0", null_rate: 0.1}
      days_since: {gen: expression, expr: "days_between(parent.signed_up, ordered_at)"}
      code: {gen: pattern, template: "INV-####-??"}
      token: {gen: uuid, unique: true}
      gift: {gen: bool, p: 0.05}
      note: {gen: faker, method: sentence, args: {nb_words: 6}}
      shipped_at:
        {gen: datetime, start: ordered_at, end: "date_add(ordered_at, 5, 'day')", modify: [{time_jitter: {sd: 2h}}]}
      currency: USD
  lines:
    kind: fact
    parent: orders
    fanout: {dist: zipf, s: 2.2, max: 20}
    columns:
      line_no: {gen: expression, expr: "index_in_parent + 1"}
      share: {gen: partition_of, total: parent.amount, alpha: 2, decimals: 2}
      region_of_customer: {gen: lookup, via: [parent, parent], column: home_region}
      buyer: {gen: ref, to: customers}
      email: {gen: person, of: buyer, field: email}
effects:
  - name: black_friday
    table: orders
    time: ordered_at
    window: {start: 2024-11-29, end: 2024-12-02}
    where: "lookup(store_id, stores.region) == 'South'"
    rate: 2.5
    label: true
  - name: promotions
    table: orders
    time: ordered_at
    source: {table: promos, start: starts_at, end: ends_at, on: {store_id: store_id}, value: lift}
    column: amount
    multiply: value
constraints:
  - unique: orders.order_id
  - fk: auto
  - range: {column: orders.amount, min: 0}
  - inequality: "orders.shipped_at >= orders.ordered_at"
  - check: "orders.tip <= orders.amount"
    on_violation: report
targets:
  - {name: weekend, metric: weekend_share, table: orders, column: ordered_at, between: [0.30, 0.36]}
  - {name: rhythm, metric: composite_effect, table: orders, column: ordered_at, dims: [weekday, hour], max_mape: 0.10}
  - {metric: per_parent_count, table: orders, parent: customers, mean: [2.8, 3.2]}
  - {metric: share, table: orders, where: "status == 'refunded'", between: [0.04, 0.06]}
  - {metric: corr, table: orders, x: "lookup(store_id, stores.size)", y: amount, method: spearman, min: 0.2}
  - {metric: effect_lift, effect: black_friday, between: [2.2, 2.8]}
auto_targets: true
"""


def test_the_spec_in_full_reads_and_a_mistake_in_it_still_points_at_its_line():
    promos = ("  promos:\n    kind: entity\n    rows: 20\n    columns:\n      store_id: {gen: ref, to: stores}\n"
              "      starts_at: {gen: datetime}\n      ends_at: {gen: datetime}\n      lift: 1.1\neffects:\n")
    schema = loads(SHOP.replace("effects:\n", promos, 1), "shop.yaml")
    assert order(schema) == ["regions", "stores", "customers", "orders", "lines", "promos"]
    columns = schema.tables["orders"].columns
    steps = [next(iter(dict(step))) for step in columns["amount"].modify]
    assert steps == ["seasonality", "jitter", "outliers", "round"]
    assert schema.tables["lines"].columns["region_of_customer"].via == ["parent", "parent"]
    assert schema.effects[1].source.on == {"store_id": "store_id"}
    with pytest.raises(SchemaError) as caught:
        loads(SHOP, "shop.yaml")
    assert str(caught.value) == "shop.yaml:95: effects[1].source.table: no table named 'promos'"
    late = SHOP.replace("      buyer: {gen: ref, to: customers}\n", "").replace(
        "      email: {gen: person, of: buyer, field: email}\n",
        "      email: {gen: person, of: buyer, field: email}\n      buyer: {gen: ref, to: customers}\n")
    with pytest.raises(SchemaError) as caught:
        loads(late, "shop.yaml")
    assert str(caught.value) == ("shop.yaml:82: tables.lines.columns.email.of: "
                                 "'buyer' is not an earlier ref column of lines")


@pytest.mark.parametrize("text,message", [
    ("version: 1\ntables: {}\n", "shop.yaml:2: tables: needs at least one entry"),
    ("version: 1\ntables:\n  t: {kind: entity, rows: ten}\n",
     "shop.yaml:3: tables.t.rows: must be a valid integer, unable to parse string as an integer"),
    ("version: 1\ntables:\n  t: {kind: table, rows: 1}\n",
     "shop.yaml:3: tables.t.kind: must be 'vocab', 'entity' or 'fact'"),
    ("- version: 1\n", "shop.yaml:1: (file): must be a map of version, tables, ..."),
    ("", "shop.yaml: the file is empty"),
])
def test_pydantic_errors_are_worded_for_users(text, message):
    with pytest.raises(SchemaError) as caught:
        loads(text, "shop.yaml")
    assert str(caught.value) == message


def test_a_negative_count_from_an_expression_is_no_children():
    from pii_gen.dsl.base import Context, stream
    from pii_gen.dsl.fanout import draw_counts
    from pii_gen.dsl.model import Table
    import datetime as dt
    import pyarrow as pa

    fanout = Table.model_validate({"kind": "fact", "parent": "p", "fanout": {"dist": "fixed", "n": "parent.k"}}).fanout
    ctx = Context(seed=1, table="t", block=0, first_row=0, calendar=(dt.date(2024, 1, 1), dt.date(2024, 1, 2)),
                  parent={"k": pa.array([-2, 0, 3])})
    assert draw_counts(fanout, 3, stream(1, "t", "_fanout", 0), ctx).tolist() == [0, 0, 3]


@pytest.mark.parametrize("column,message", [
    ("{gen: uuid, type: int}", "tables.orders.columns.c.type: gen uuid makes string values, not int"),
    ("{gen: bool, type: date}", "tables.orders.columns.c.type: gen bool makes bool values, not date"),
    ("{gen: choice, values: [a, b], modify: [{multiply: {by: 2}}]}",
     "tables.orders.columns.c.modify[0].multiply: changes float or int values, and c is string"),
    ("{gen: distribution, dist: normal, mean: 0, sd: 1, modify: [{time_jitter: {sd: 1h}}]}",
     "tables.orders.columns.c.modify[0].time_jitter: changes timestamp values, and c is float"),
])
def test_kinds_of_types_and_modifiers_must_agree(column, message):
    with pytest.raises(SchemaError) as caught:
        loads(BASE + f"      c: {column}\n", "shop.yaml")
    assert str(caught.value) == f"shop.yaml:18: {message}"


def test_a_series_window_must_not_end_before_it_starts():
    with pytest.raises(SchemaError) as caught:
        loads(BASE + "      at: {gen: datetime_series, within: [2024-05-01, 2024-04-01]}\n", "shop.yaml")
    assert str(caught.value) == ("shop.yaml:18: tables.orders.columns.at.within: "
                                 "must not end before it starts (2024-05-01)")


def test_the_json_schema_accepts_a_plain_scalar_column_and_the_full_example():
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    schema = json_schema()
    text = SHOP.replace("{on: ", "{'on': ").replace(" on: {", " 'on': {")  # YAML 1.1 would read `on` as true
    good = json.loads(json.dumps(yaml.safe_load(text), default=str))
    jsonschema.validate(good, schema)
    good["tables"]["orders"]["columns"]["note"] = {"gen": "fakerr", "method": "x"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(good, schema)


# ---- a composite foreign key: a ref with `with:` its lookups ------------------------------------------------

COMPOSITE = """version: 1
tables:
  stores:
    kind: entity
    rows: 6
    key: [region, store_no]
    columns:
      region: {gen: sequence, format: "R{:03d}"}
      store_no: {gen: sequence}
  sales:
    kind: entity
    rows: 50
    key: sale_id
    columns:
      sale_id: {gen: sequence}
      region: {gen: ref, to: stores, with: [store_no]}
      store_no: {gen: lookup, via: region, column: store_no}
"""


def test_a_ref_with_its_lookups_is_one_composite_foreign_key_in_every_dialect():
    from pii_gen import api

    schema = loads(COMPOSITE, "c.yaml")
    assert api.schema_tables(schema)["sales"].foreign_keys == (("region, store_no", "stores", "region, store_no"),)
    for dialect, (a, b) in (("postgresql", '""'), ("mysql", "``"), ("sqlite", '""'), ("duckdb", '""'),
                            ("tsql", "[]")):
        ddl = api.schema_ddl(schema, dialect)
        both = f"{a}region{b}, {a}store_no{b}"
        assert f"FOREIGN KEY ({both}) REFERENCES {a}stores{b} ({both})" in ddl, dialect
        assert f"FOREIGN KEY ({a}region{b})" not in ddl, dialect
    made = api.preview_schema(schema, rows=50)
    pairs = set(zip(made["stores"]["region"].to_pylist(), made["stores"]["store_no"].to_pylist()))
    picked = list(zip(made["sales"]["region"].to_pylist(), made["sales"]["store_no"].to_pylist()))
    assert set(picked) <= pairs and len(set(picked)) > 3  # every pair is a store's, and the picks vary


@pytest.mark.parametrize("old,new,message", [
    ("to: stores, with: [store_no]}", "to: stores}",
     "c.yaml:16: tables.sales.columns.region.to: table stores has a composite key (region, store_no): name the "
     "lookups of its other columns in with: (one foreign key)"),
    ("with: [store_no]", "with: [sale_id]",
     "c.yaml:16: tables.sales.columns.region.with[0]: 'sale_id' is not a lookup through region "
     "(gen: lookup, via: region)"),
    ("via: region, column: store_no", "via: region, column: region",
     "c.yaml:16: tables.sales.columns.region.with: region and its with: lookups read region, region of stores: "
     "a composite foreign key reads its whole key (region, store_no)"),
    ("with: [store_no]", "with: [store_no, store_no]", "c.yaml:16: tables.sales.columns.region.with: names a "
     "column twice"),
])  # fmt: skip
def test_a_composite_foreign_key_is_checked_before_any_row(old, new, message):
    with pytest.raises(SchemaError) as caught:
        loads(COMPOSITE.replace(old, new), "c.yaml")
    assert str(caught.value) == message


def test_a_character_yaml_refuses_is_a_schema_error_not_a_crash() -> None:
    """YAML's reader refuses control characters before it has a line to name: still one SchemaError."""
    with pytest.raises(SchemaError, match=r"<schema>: not valid YAML: unacceptable character #x008e"):
        loads("version: 1\u008e")
