"""The run plan: built once from a config, it crosses to another process as JSON and comes back the same
plan, from which that process generates exactly the bytes this one does."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from dataclasses import replace

import pyarrow as pa
import pytest

from pii_gen import PersonGenerator
from pii_gen.config import build_config
from pii_gen.core.plan import RunPlan, StepRef
from pii_gen.errors import RegistryError
from pii_gen.packs.person.contract import BLOCK_SIZE, TABLES
from pii_gen.planning import build_plan, runtime

CONFIGS = {
    "clean": {"seed": 5},
    "heavy noise, appended": {"seed": 6, "noise": {"profile": "heavy"}, "first_person_id": 3 * BLOCK_SIZE + 1},
    "realistic, column rates": {
        "seed": 7,
        "pii_mode": "realistic",
        "noise": {"profile": "light", "columns": {"persons.ssn": {"missing": 0.3, "format": 0.1}}},
    },
}

#: Generates a plan's first two blocks in a fresh interpreter from the plan's JSON on stdin and prints a
#: digest per table: what a worker process does.
WORKER = """
import hashlib, json, sys
import pyarrow as pa
from pii_gen.core.plan import RunPlan
from pii_gen.planning import runtime
batch = runtime(RunPlan.from_json(sys.stdin.read())).batch(15_000, 0, 2)
def digest(table):
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()
print(json.dumps({name: digest(table) for name, table in batch.items()}))
"""


def _digest(table: pa.Table) -> str:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


@pytest.mark.parametrize("name", CONFIGS)
def test_a_plan_comes_back_from_its_json_exactly(name):
    plan = build_plan(build_config(CONFIGS[name]), first_task=4)
    again = RunPlan.from_json(plan.to_json())
    assert again == plan
    assert again.to_json() == plan.to_json()
    assert again.first_task == 4 and again.keys.first_id == plan.keys.first_id
    assert [t.arrow_schema for t in again.tables.values()] == [t.arrow_schema for t in plan.tables.values()]


def test_a_plan_holds_the_contract_steps_key_space_and_noise_of_its_config():
    plan = build_plan(build_config(CONFIGS["heavy noise, appended"]))
    assert plan.pack == "person" and plan.seed == 6 and plan.count == 1000
    assert (plan.keys.table, plan.keys.key, plan.keys.block_size, plan.keys.first_block) == (
        "persons", "person_id", BLOCK_SIZE, 3
    )  # fmt: skip
    assert list(plan.tables) == [*TABLES, "noise_log"]
    assert "source_person_id" in plan.tables["persons"].column_names
    assert plan.noise is not None and plan.noise["profile"] == "heavy"
    assert [s.name for s in plan.steps][:2] == ["identity", "household"]
    assert len({s.stream for s in plan.steps}) == len(plan.steps)
    assert build_plan(build_config(CONFIGS["clean"])).noise is None


@pytest.mark.parametrize("name", CONFIGS)
def test_a_worker_built_from_the_json_gives_the_same_batch_bytes(name):
    config = build_config(CONFIGS[name])
    here = PersonGenerator(config).batch(15_000, 0, 2)
    done = subprocess.run(
        [sys.executable, "-c", WORKER], input=build_plan(config).to_json(), capture_output=True, text=True, check=True
    )
    there = json.loads(done.stdout)
    assert there == {name: _digest(table) for name, table in here.items()}
    assert here["persons"].num_rows >= 15_000


def test_a_plan_whose_steps_are_not_its_packs_is_refused():
    plan = build_plan(build_config(CONFIGS["clean"]))
    moved = replace(plan, steps=(StepRef(plan.steps[0].name, plan.steps[0].stream + 100), *plan.steps[1:]))
    with pytest.raises(RegistryError, match=r"the plan's step identity \(stream 103\) is not pack person's"):
        runtime(RunPlan.from_json(moved.to_json()))
