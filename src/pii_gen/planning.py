"""The run plan, built once: config -> :class:`~pii_gen.core.plan.RunPlan` -> the runtime that generates it.

Everything downstream of a config (outputs, DDL, the validator, the stream, worker processes) reads the
plan built here; a worker rebuilds the same plan from its JSON and its runtime from the plan.
"""

from __future__ import annotations

import dataclasses

from . import packs
from .config import GenerateConfig
from .core.plan import RunPlan
from .core.runtime import Runtime

#: The pack a config generates: the population, until schema files name others.
DEFAULT_PACK = "person"


def build_plan(config: GenerateConfig, *, first_task: int = 0, open_ended: bool = False) -> RunPlan:
    """The plan of ``config``, whose resume and append decisions (``first_person_id``) are already made;
    ``open_ended`` for a stream, which has no count and runs until its output ends it."""
    plan = packs.get(DEFAULT_PACK).plan(config, first_task=first_task)
    return dataclasses.replace(plan, open_ended=True) if open_ended else plan


def runtime(plan: RunPlan) -> Runtime:
    """What generates ``plan``'s batches, in any process."""
    return packs.get(plan.pack).runtime(plan)
