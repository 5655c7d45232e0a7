"""The person pack's sub-generator base: subclassing it registers a step of the population pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ....core.steps import Column, Context as CoreContext, Step, Steps, child_ids

if TYPE_CHECKING:  # the config imports the noise registry, whose outliers use dates this pack uses too
    from ....config import GenerateConfig
    from ..reference import Reference

#: Every sub-generator of the person pack defined so far (see :func:`..generators.registry`, in order).
REGISTRY = Steps("sub-generator")


@dataclass
class Context(CoreContext):
    """A block's shared state in the person pack: the run's config, the reference data and the people's ids."""

    config: GenerateConfig
    ref: Reference

    @property
    def person_id(self) -> np.ndarray:
        """The block's people (the keys of its root table)."""
        return self.keys

    @property
    def strict(self) -> bool:
        return self.config.pii_mode == "strict"


class SubGenerator(Step, register=False):
    """One vectorized step of the person pipeline (see :class:`pii_gen.core.steps.Step`)."""

    registry: ClassVar[Steps] = REGISTRY


__all__ = ["REGISTRY", "Column", "Context", "SubGenerator", "child_ids"]
