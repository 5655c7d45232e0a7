"""pii_gen: a fast, census-grounded synthetic population generator that is safe by default."""

from __future__ import annotations

__version__ = "0.1.0"

from .config import GenerateConfig, build_config  # noqa: E402
from .errors import PiiGenError  # noqa: E402
from .person import PersonGenerator  # noqa: E402

__all__ = ["GenerateConfig", "PersonGenerator", "PiiGenError", "build_config", "__version__"]
