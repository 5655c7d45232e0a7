"""Output destinations: each a :class:`~pii_gen.sinks.base.Sink`."""

from .base import Batch, Codec, Sink
from .files import FileOutput, FileSink, Staging, file_formats, file_sink
from .parquet import ParquetSink

__all__ = ["Batch", "Codec", "FileOutput", "FileSink", "ParquetSink", "Sink", "Staging", "file_formats", "file_sink"]
