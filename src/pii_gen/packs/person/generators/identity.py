"""Social Security numbers: distinct per person, never issuable in strict mode."""

from __future__ import annotations

import numpy as np

from .. import identifiers as ids
from .base import Column, Context, SubGenerator


class Identity(SubGenerator):
    """SSN for each person from a seeded permutation of the person id over the allowed number space,
    so no two people share one (up to the size of that space)."""

    name = "identity"
    stream = 3
    table = "persons"
    columns = ("ssn",)

    def __init__(self) -> None:
        self._params: dict[tuple[int, int], tuple[int, int]] = {}

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> dict[str, Column]:
        strict = ctx.strict
        space = ids.STRICT_SSN_SPACE if strict else ids.REALISTIC_SSN_SPACE
        # The permutation is fixed by the run's seed, not the block, so ids never repeat across blocks.
        key = (ctx.config.seed, space)
        if key not in self._params:
            self._params[key] = ids.permutation_params(space, np.random.default_rng([ctx.config.seed, 0x55_4E]))
        params = self._params[key]
        index = ids.permute(ctx.person_id - 1, space, params)
        parts = ids.strict_ssn_parts(index) if strict else ids.realistic_ssn_parts(index)
        return {"ssn": ids.format_ssn(*parts)}
