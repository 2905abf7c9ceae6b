"""What every handler of one dashboard app shares: the stored runs, the live run (if any) and
the slots of live streams. Held by the app (``app.state.dashboard``), never global."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from starlette.requests import HTTPConnection

from twin.edges.dashboard.replies import BadRequest
from twin.edges.dashboard.stored import StoredRuns
from twin.orchestration.live import LiveRun


class StreamSlots:
    """At most ``size`` live streams at once. A slot is taken when a stream is admitted (in
    the same step as the check, so concurrent requests cannot all pass the check) and given
    back when its response ends, however it ends."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.used = 0
        self._lock = threading.Lock()

    def take(self) -> None:
        """Take a slot or refuse the stream (503)."""
        with self._lock:
            if self.used >= self.size:
                raise BadRequest(503, f"already {self.size} live streams: try again later")
            self.used += 1

    def give_back(self) -> None:
        with self._lock:
            self.used -= 1


@dataclass
class Dashboard:
    """The state of one dashboard app."""

    store: StoredRuns
    live: LiveRun | None
    slots: StreamSlots
    send_timeout_s: float = 30.0
    """A stream whose client has not taken a message for this long [s] is closed."""

    def live_run(self) -> LiveRun:
        if self.live is None:
            raise BadRequest(404, "no live run")
        return self.live


def dashboard_of(conn: HTTPConnection) -> Dashboard:
    """The dashboard state of the app serving ``conn``."""
    return conn.app.state.dashboard
