"""``python -m pii_gen`` and the ``pii_gen`` command: the command line, with Ctrl-C handled from the start."""

from __future__ import annotations

import signal
import sys
from typing import Any


def main(argv: list[str] | None = None) -> Any:
    """Load the command line and run it; a Ctrl-C while it still loads ends it with status 130 once loaded.

    While the libraries load, Ctrl-C only takes note: a KeyboardInterrupt raised inside an
    extension module's start-up can be swallowed there, and the run would go on as if never stopped.
    """
    received: list[int] = []
    ignored = signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    previous = None if ignored else signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        from .cli import main as run
    except BaseException:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        raise
    if received:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the exit short
        print("pii_gen: interrupted; nothing was written", file=sys.stderr)
        sys.exit(130)
    if previous is not None:
        signal.signal(signal.SIGINT, previous)
    return run(argv)


if __name__ == "__main__":
    main()
