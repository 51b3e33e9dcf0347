"""A background sender: what committed transactions broadcast leaves from one thread per process,
so a request never waits on Redis, and what queued while that thread was sending goes out together
in its next round trip.

Order is kept: one thread sends everything in the order it was queued, so one transaction's
messages stay in order, and so do those of transactions queued one after the other (threads that
commit at the same moment queue in either order, as they did when each sent its own). A failed send is
logged and dropped (live pages re-read the database on their next message or reconnect); while
the transport is down at most `limit` messages wait, and what is dropped beyond that is counted and
logged once the next send is tried. A thread idle for `IDLE_EXIT` seconds ends (the next message
starts another). At exit the process sends what is still queued, for up to `EXIT_WAIT` seconds.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

Send = tuple[str, dict[str, Any]]

EXIT_WAIT = 2.0
IDLE_EXIT = 30.0

_publishers: weakref.WeakSet[Publisher] = weakref.WeakSet()


class Publisher:
    def __init__(self, send: Callable[[list[Send]], None], *, batch: int = 500, limit: int = 10_000) -> None:
        self._send = send
        self._batch = batch
        self._limit = limit
        self._start()
        _publishers.add(self)

    def _start(self) -> None:
        """A fresh state: at creation, and in a forked child (the parent's thread is not there)."""
        lock = threading.Lock()
        self._work = threading.Condition(lock)
        self._idle = threading.Condition(lock)
        self._queued: list[Send] = []
        self._sending = False
        self._dropped = 0
        self._thread: threading.Thread | None = None

    def put(self, sends: list[Send]) -> None:
        """Queue `sends` to go out in order, in one round trip with whatever else is waiting."""
        with self._work:
            if self._thread is None or not self._thread.is_alive():
                thread = threading.Thread(target=self._run, name="broadcast-publisher", daemon=True)
                thread.start()  # may raise (no thread left to start): then the next put tries again
                self._thread = thread
            if len(self._queued) >= self._limit:
                self._dropped += len(sends)
                return
            self._queued.extend(sends)
            self._work.notify()

    def drain(self, timeout: float) -> bool:
        """Wait until everything queued so far has been sent (or failed); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._queued and not self._sending, timeout)

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            with self._work:
                if self._thread is threading.current_thread():  # it died: the next put starts another
                    self._thread = None

    def _loop(self) -> None:
        while True:
            with self._work:
                if not self._queued and not self._work.wait_for(lambda: self._queued, IDLE_EXIT):
                    self._thread = None  # under the lock: a put from now on starts another
                    return
                batch, self._queued = self._queued[: self._batch], self._queued[self._batch :]
                self._sending = True
                dropped, self._dropped = self._dropped, 0
            if dropped:
                logger.warning("%d broadcasts dropped: the channel layer was not keeping up", dropped)
            try:
                self._send(batch)
            except Exception:  # a broadcast failure after commit must not stop the next ones
                group, message = batch[0]
                logger.exception(
                    "broadcast of %d messages (%s to %s first) failed", len(batch), message.get("type"), group
                )
            finally:
                with self._idle:
                    self._sending = False
                    self._idle.notify_all()


def _restart_in_child() -> None:
    for publisher in list(_publishers):
        publisher._start()


def _drain_at_exit() -> None:
    for publisher in list(_publishers):
        publisher.drain(EXIT_WAIT)


os.register_at_fork(after_in_child=_restart_in_child)
atexit.register(_drain_at_exit)
