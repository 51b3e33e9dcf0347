"""Effects that need happen only once for many transactions (waking the workers) are held to the end
of a `once_at_end()` block, run once there; outside such a block they run at once."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator

_held: contextvars.ContextVar[dict[str, Callable[[], None]] | None] = contextvars.ContextVar(
    "effects_held_to_the_end", default=None
)


def run_once(name: str, effect: Callable[[], None]) -> None:
    """`effect()` now, or once at the end of the enclosing `once_at_end()` block, however many times
    it is asked for under `name` there."""
    held = _held.get()
    if held is None:
        effect()
    else:
        held.setdefault(name, effect)


@contextlib.contextmanager
def once_at_end() -> Iterator[None]:
    if _held.get() is not None:  # an outer block runs them
        yield
        return
    held: dict[str, Callable[[], None]] = {}
    token = _held.set(held)
    try:
        yield
    finally:
        _held.reset(token)
        for effect in held.values():
            effect()
