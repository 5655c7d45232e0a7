"""Output destinations: each a :class:`~pii_gen.sinks.base.Sink`."""

from .base import Batch, Codec, Sink
from .files import FileSink, ParquetSink, Staging, file_sink

__all__ = ["Batch", "Codec", "FileSink", "ParquetSink", "Sink", "Staging", "file_sink"]
