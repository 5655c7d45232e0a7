"""Output destinations: each a :class:`~pii_gen.sinks.base.Sink`."""
from .base import Batch, Codec, EncodedBatch, Sink
from .files import FileSink, ParquetSink, Staging, file_sink

__all__ = ["Batch", "Codec", "EncodedBatch", "FileSink", "ParquetSink", "Sink", "Staging", "file_sink"]
