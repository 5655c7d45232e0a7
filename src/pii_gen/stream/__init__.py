"""``pii_gen stream``: a steady, exact, deterministic live feed of people to stdout, a file, a database,
an HTTP endpoint, a Redis stream or a NATS subject.

* documents.py: whole blocks turned into one JSON document per person, vectorized, generated ahead
  in a thread behind a bounded queue;
* pacing.py: the monotonic-clock schedule and the progress line;
* destinations/: one small class per destination behind one interface;
* runner.py: the loop, stopped by a cancel token (the command line turns signals into it), and the summary.
"""

from __future__ import annotations

from .options import StreamOptions, build_options, parse_size
from .runner import StreamResult, stream

__all__ = ["StreamOptions", "StreamResult", "build_options", "parse_size", "stream"]
