"""One retry loop for every output: exponential backoff, a classifier for transient errors, a sleep hook.

A :class:`RetryPolicy` says how often and how long: ``retries`` attempts after the first, waiting
``base * factor ** (n - 1)`` seconds (at most ``cap``) before retry ``n``.  Which errors are worth
another attempt is the output's business (a dropped connection is, a refused row is not), so each
passes its own ``transient`` classifier.  The sleep is a hook: anything that waits ``delay`` seconds
and returns true when it was cancelled (``threading.Event().wait`` does exactly that), so a cancel
ends a backoff at once instead of after it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, TypeVar

T = TypeVar("T")

#: Waits the given seconds; a true result means "cancelled": no further attempt is made.
Sleep = Callable[[float], object]


class GaveUp(Exception):
    """The action failed for good: ``error`` was permanent, or still transient after every retry.

    ``retries``: the retries made before giving up; ``permanent``: the classifier refused ``error``.
    """

    def __init__(self, error: Exception, retries: int, permanent: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.retries = retries
        self.permanent = permanent


def _always(err: BaseException) -> bool:
    return True


@dataclass(frozen=True)
class RetryPolicy:
    """How many retries, how long between them, and which errors earn one."""

    retries: int
    base: float
    factor: float = 2.0
    cap: float = math.inf
    transient: Callable[[BaseException], bool] = _always

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first)."""
        return min(self.cap, self.base * self.factor ** (retry - 1))

    def delays(self) -> tuple[float, ...]:
        """Every wait, in order, when each attempt fails transiently."""
        return tuple(self.delay(n) for n in range(1, self.retries + 1))

    def call(
        self,
        action: Callable[[], T],
        *,
        on_retry: Callable[[int, Exception], None] | None = None,
        sleep: Sleep = time.sleep,
    ) -> T:
        """Return what ``action`` returns, retrying it after transient errors.

        Before retry ``n`` the policy sleeps ``delay(n)``, then calls ``on_retry(n, last_error)`` (to count,
        reconnect ...; what it raises propagates unchanged).  Raises :class:`GaveUp` when an error is
        permanent, the retries are spent, or the sleep reports a cancel.
        """
        retry = 0
        while True:
            try:
                return action()
            except Exception as err:  # noqa: BLE001 - the classifier decides; anything else is GaveUp
                if not self.transient(err):
                    raise GaveUp(err, retry, permanent=True) from err
                if retry == self.retries:
                    raise GaveUp(err, retry, permanent=False) from err
                retry += 1
                if sleep(self.delay(retry)):
                    raise GaveUp(err, retry - 1, permanent=False) from err
                if on_retry is not None:
                    on_retry(retry, err)
