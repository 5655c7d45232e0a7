"""Pacing against a monotonic clock: how many people are due by now, and when to look again.

``due = floor(rate * elapsed)`` since the start, so rounding and slow ticks never add up:
a late tick sends more, an early one fewer, and the total at any moment is exact.  Sleeping
a fixed time per record would drift with every write's own cost.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Callable, TextIO

TICK = 0.01  # seconds between looks at the clock: at 500/s five people per tick
MAX_SLEEP = 0.1  # a stop signal or a batch due for delivery waits at most this long


class Pacer:
    """Schedules writes for ``rate`` people per second (0: as fast as the destination takes them)."""

    def __init__(self, rate: float, tick: float = TICK, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.tick = tick
        self.clock = clock
        self.start = clock()

    def restart(self) -> None:
        self.start = self.clock()

    def elapsed(self) -> float:
        return self.clock() - self.start

    def due(self, elapsed: float) -> float:
        """People due after ``elapsed`` seconds (infinite when unpaced)."""
        return math.inf if self.rate == 0 else math.floor(self.rate * elapsed + 1e-9)

    def sleep(self) -> None:
        """Sleep until the next tick of the schedule (ticks are counted from the start, so they do not drift)."""
        elapsed = self.elapsed()
        next_tick = (math.floor(elapsed / self.tick) + 1) * self.tick
        if self.rate > 0:  # at low rates: no sooner than the next person is due, but look at least every 0.1 s
            next_due = (math.floor(self.rate * elapsed + 1e-9) + 1) / self.rate
            next_tick = max(next_tick, min(next_due, elapsed + MAX_SLEEP))
        time.sleep(max(0.0, next_tick - elapsed))


class Progress:
    """Sent count, current and average rate and lag on stderr: a refreshed line on a terminal,
    and on anything else only a warning line now and then while the stream falls behind."""

    def __init__(self, rate: float, live: bool, quiet: bool, stream: TextIO | None = None) -> None:
        self.rate = rate
        self.live = live and not quiet
        self.quiet = quiet
        self.out = stream or sys.stderr
        self.last_show = -math.inf
        self.last_warn = -math.inf
        self.last_failure = -math.inf
        self.window: list[tuple[float, int]] = []  # (elapsed, sent): the last ~2 s, for the current rate
        self.shown = False

    def update(self, elapsed: float, sent: int, lag: float, behind_limit: float) -> None:
        if self.quiet:
            return
        if elapsed - self.last_show >= 0.45:
            self.last_show = elapsed
            self.window.append((elapsed, sent))
            while len(self.window) > 5:
                self.window.pop(0)
            if self.live:
                self.out.write("\r\033[K" + self.line(elapsed, sent, lag))
                self.out.flush()
                self.shown = True
        if not self.live and lag > behind_limit and elapsed - self.last_warn >= 5:
            self.last_warn = elapsed
            self.out.write(f"pii_gen: falling behind: {lag:,.0f} people late (the destination is slower than --rate)\n")
            self.out.flush()

    def failure(self, elapsed: float, message: str, failed: int) -> None:
        """A refused batch, at most one line every 5 s (the summary counts them all)."""
        if self.quiet or elapsed - self.last_failure < 5:
            return
        self.last_failure = elapsed
        prefix = "\r\033[K" if self.live else ""
        self.out.write(f"{prefix}pii_gen: {message} ({failed:,} people failed so far)\n")
        self.out.flush()

    def line(self, elapsed: float, sent: int, lag: float) -> str:
        current = 0.0
        if len(self.window) > 1:
            (t0, s0), (t1, s1) = self.window[0], self.window[-1]
            current = (s1 - s0) / (t1 - t0) if t1 > t0 else 0.0
        average = sent / elapsed if elapsed > 0 else 0.0
        late = f"  lag {lag:,.0f}" if lag > max(1.0, self.rate * 0.05) and math.isfinite(lag) else ""  # > 50 ms
        return f"sent {sent:,}  rate {current:,.0f}/s  avg {average:,.0f}/s{late}"

    def finish(self) -> None:
        if self.shown:
            self.out.write("\r\033[K")
            self.out.flush()
