"""Progress reporting and cancellation for long computations.

Core functions accept ``progress: Progress | None``, a callable taking a fraction in [0, 1] and a message.
A caller stops a computation by raising :class:`Cancelled` from inside its callback; core code calls the
callback often enough (at least once a second) that cancelling is prompt.
"""

from __future__ import annotations

from typing import Callable, Optional

Progress = Callable[[float, str], None]


class Cancelled(Exception):
    """Raised by a progress callback to stop a computation."""


def report(progress: Optional[Progress], fraction: float, message: str = "") -> None:
    """Call ``progress`` if there is one, clipping ``fraction`` to [0, 1]."""
    if progress is not None:
        progress(min(max(float(fraction), 0.0), 1.0), message)


def scaled(progress: Optional[Progress], start: float, end: float) -> Optional[Progress]:
    """A callback that maps [0, 1] onto [start, end] of ``progress`` (for one step of several)."""
    if progress is None:
        return None

    def _sub(fraction: float, message: str = "") -> None:
        progress(start + (end - start) * min(max(float(fraction), 0.0), 1.0), message)

    return _sub
