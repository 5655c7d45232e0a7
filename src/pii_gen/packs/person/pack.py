"""The person pack: the synthetic US population (households, persons, addresses, ...) as the core runs it.

:class:`PersonPack` registers itself as pack ``person`` and gives the core its contract, its sub-generators
in run order, its root table and block size; :meth:`PersonPack.plan` builds a run's :class:`RunPlan` from a
config, and :class:`PersonGenerator` is the runtime of such a plan (the public way to generate in memory).
"""

from __future__ import annotations

from typing import Mapping

from ...config import GenerateConfig, build_config
from ...core.contract import Table
from ...core.pack import Noise, Pack
from ...core.plan import KeySpace, RunPlan, StepRef
from ...core.runtime import Runtime
from ...errors import ConfigError
from ...variability import NoisePlan, VariabilityEngine, contract, make_plan
from .contract import BLOCK_SIZE, TABLES
from .generators import Context, SubGenerator, registry
from .reference import Reference, load


class PersonPack(Pack):
    """The population: one root row per person, in blocks of :data:`BLOCK_SIZE` people."""

    name = "person"
    root_table = "persons"
    root_key = "person_id"
    block_size = BLOCK_SIZE
    context = Context

    def contract(self) -> Mapping[str, Table]:
        return TABLES

    def steps(self) -> tuple[type[SubGenerator], ...]:
        return registry()

    def settings(self, plan: RunPlan) -> GenerateConfig:
        return GenerateConfig.model_validate(plan.settings)

    def reference(self) -> Reference:
        return load()

    def noise(self, plan: RunPlan, settings: GenerateConfig, reference: Reference) -> Noise | None:
        if plan.noise is None:
            return None
        return VariabilityEngine(settings, reference, NoisePlan.from_description(plan.noise))

    def runtime(self, plan: RunPlan) -> Runtime:
        return Runtime(plan, self)

    def plan(self, config: GenerateConfig, *, first_task: int = 0) -> RunPlan:
        """The run plan of ``config`` (resume and append already decided: its ``first_person_id`` is final)."""
        if (config.first_person_id - 1) % BLOCK_SIZE:
            raise ConfigError(
                f"first_person_id must be 1 plus a multiple of {BLOCK_SIZE} (got {config.first_person_id})"
            )
        noise = make_plan(config.noise)
        return RunPlan(
            pack=self.name,
            seed=config.seed,
            count=config.count,
            batch_size=config.batch_size,
            keys=KeySpace(self.root_table, self.root_key, config.first_person_id, self.block_size),
            tables=contract(noise),
            steps=tuple(StepRef(step.name, step.stream) for step in self.steps()),
            settings=config.model_dump(mode="json"),
            noise=noise.describe() if noise.active else None,
            first_task=first_task,
            workers=config.workers or 0,
        )


class PersonGenerator(Runtime):
    """Generates the population tables, vectorized over blocks of people.

    >>> tables = PersonGenerator(seed=7).generate(1000)
    >>> tables["persons"].num_rows
    1000
    """

    def __init__(self, config: GenerateConfig | None = None, *, seed: int | None = None) -> None:
        base = config or GenerateConfig()
        chosen = base if seed is None else build_config(base.model_dump(), seed=seed)
        super().__init__(PersonPack().plan(chosen), PersonPack())
