"""RunPlan: everything a run is, decided once before it starts and read by everything after.

A plan holds the table contract (with noise's changes to it), the steps in the order they run with their
pinned stream numbers, the key space, the noise plan, the seed and the count.  Outputs, DDL, the validator
and the stream read it; nothing downstream recomputes or changes it.  It crosses process boundaries (and
later machines) as JSON: :meth:`RunPlan.from_json` of :meth:`RunPlan.to_json` is the same plan.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

from .contract import Table


@dataclass(frozen=True)
class KeySpace:
    """The root table's keys: ``block_size`` consecutive ids per block, the run's first id ``first_id``.

    Ids follow blocks (and random streams follow ids), so a run that continues another at a later first id
    makes new rows, never the earlier ones again.
    """

    table: str
    key: str
    first_id: int
    block_size: int

    @property
    def first_block(self) -> int:
        return (self.first_id - 1) // self.block_size

    def blocks_for(self, n: int) -> int:
        """Blocks holding ``n`` root rows (the last one may be short)."""
        return -(-n // self.block_size)

    def blocks_per_batch(self, batch_size: int) -> int:
        """Whole blocks per batch, so any batch size gives the same output."""
        return max(1, -(-batch_size // self.block_size))


@dataclass(frozen=True)
class StepRef:
    """A step of the plan: its registered name and its pinned random stream."""

    name: str
    stream: int


@dataclass(frozen=True)
class RunPlan:
    """One run, built once (see ``pii_gen.planning.build_plan``) and frozen.

    ``settings`` is the pack's validated config, which its steps read; ``noise`` the noise plan as the
    manifest records it (None for a clean run); ``first_task`` the first batch to run (a resumed load
    skips those before it); ``workers`` how many processes a backend may use (no part of the output).
    """

    pack: str
    seed: int
    count: int
    batch_size: int
    keys: KeySpace
    tables: Mapping[str, Table]
    steps: tuple[StepRef, ...]
    settings: Mapping[str, Any] = field(default_factory=dict)
    noise: Mapping[str, Any] | None = None
    first_task: int = 0
    workers: int = 0  # processes to run on; 0: one per core (a backend's choice, not the output's)
    open_ended: bool = False  # no count: whole blocks until the output ends the run (a stream)

    @property
    def blocks(self) -> int:
        return self.keys.blocks_for(self.count)

    def population(self, stop: int) -> int:
        """The root rows of the population blocks up to ``stop`` belong to: the count, or for an open-ended
        run as many as those blocks hold, so that every block is whole."""
        return stop * self.keys.block_size if self.open_ended else self.count

    @property
    def blocks_per_batch(self) -> int:
        return self.keys.blocks_per_batch(self.batch_size)

    def to_json(self) -> str:
        return json.dumps(
            {
                "pack": self.pack,
                "seed": self.seed,
                "count": self.count,
                "batch_size": self.batch_size,
                "keys": vars(self.keys),
                "tables": [t.to_dict() for t in self.tables.values()],
                "steps": [[s.name, s.stream] for s in self.steps],
                "settings": self.settings,
                "noise": self.noise,
                "first_task": self.first_task,
                "workers": self.workers,
                "open_ended": self.open_ended,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> RunPlan:
        data = json.loads(text)
        return cls(
            pack=data["pack"],
            seed=data["seed"],
            count=data["count"],
            batch_size=data["batch_size"],
            keys=KeySpace(**data["keys"]),
            tables={t["name"]: Table.from_dict(t) for t in data["tables"]},
            steps=tuple(StepRef(name, stream) for name, stream in data["steps"]),
            settings=data["settings"],
            noise=data["noise"],
            first_task=data["first_task"],
            workers=data["workers"],
            open_ended=data["open_ended"],
        )
