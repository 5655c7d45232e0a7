"""One registry of every output: file formats by their ``--format`` name, databases and stream destinations
by the URL schemes they take.

An output class joins it by being defined (file outputs, stream destinations) or by ``@OUTPUTS.add`` (the
database sink), so adding an output is adding its module.  A URL scheme names one output of each kind:
one that takes a finished run (``generate --db``) and one that streams (``stream --to``), told apart by the
``streaming`` capability the class declares; a class whose name is a ``--format`` value and that takes no
URL is a file format.
"""

from __future__ import annotations

from ..errors import RegistryError
from ..core.registry import Registry, discover, where

#: The packages whose modules define outputs (imported on the first look-up that needs them).
FILE_PACKAGE = "pii_gen.sinks"
STREAM_PACKAGE = "pii_gen.stream.destinations"


def _streaming(cls: type) -> bool:
    return bool(cls.capabilities.streaming)  # type: ignore[attr-defined]


class Outputs(Registry[type]):
    """The registered outputs, each under a lower-case name, each URL scheme claimed once per kind."""

    def check(self, cls: type, others: list[type]) -> None:
        name: str = cls.name  # type: ignore[attr-defined]
        if name != name.lower():
            raise RegistryError(f"output {where(cls)} is named '{name}': an output name is lower case")
        schemes = getattr(cls, "schemes", None)
        if not isinstance(schemes, tuple) or any(not isinstance(s, str) or s != s.lower() or not s for s in schemes):
            raise RegistryError(f"output {where(cls)} needs schemes as a tuple of lower-case names")
        for other in others:
            shared = sorted(set(schemes) & set(other.schemes)) if _streaming(other) == _streaming(cls) else []
            if shared:
                raise RegistryError(
                    f"output {where(cls)} claims scheme '{shared[0]}://' like {where(other)}: "
                    f"a scheme names one {'stream destination' if _streaming(cls) else 'output'}"
                )

    def file_formats(self) -> tuple[type, ...]:
        """Every file format (each module of :data:`FILE_PACKAGE` imported once)."""
        discover(FILE_PACKAGE)
        return tuple(c for c in self if not c.schemes and not _streaming(c))

    def streams(self) -> tuple[type, ...]:
        """Every stream destination (each module of :data:`STREAM_PACKAGE` imported once)."""
        discover(STREAM_PACKAGE)
        return tuple(c for c in self if _streaming(c))

    def by_scheme(self, scheme: str, streaming: bool) -> type | None:
        """The output taking URL scheme ``scheme`` (lower case) for a stream or for a finished run, if any."""
        discover(STREAM_PACKAGE if streaming else FILE_PACKAGE)
        return next((c for c in self if scheme in c.schemes and _streaming(c) == streaming), None)


#: Every output defined so far.
OUTPUTS = Outputs("output")
