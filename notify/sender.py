"""Delivers notifications through Apprise from one background thread, so a slow or dead receiver delays nothing."""
from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from typing import Optional, Sequence

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    """One notification: a title, a body and its kind (info, success, warning, failure)."""

    title: str
    body: str
    kind: str = "info"


class AppriseSender:
    """Sends a message to every NOTIFY_URLS target; a failure is logged and never raised."""

    def __init__(self, urls: Sequence[str]) -> None:
        import apprise

        self._apprise = apprise.Apprise()
        self.targets = 0
        for url in urls:
            if self._apprise.add(url):
                self.targets += 1
            else:
                log.warning("NOTIFY_URLS: one entry is not a URL Apprise understands; it is ignored")

    def send(self, message: Message) -> bool:
        """Deliver `message` now; True when every target accepted it."""
        try:
            ok = bool(self._apprise.notify(body=message.body, title=message.title, notify_type=message.kind))
        except Exception:  # a broken plugin must not take the worker down
            log.warning("notification %r could not be delivered", message.title, exc_info=True)
            return False
        if not ok:
            log.warning("notification %r could not be delivered to every NOTIFY_URLS target", message.title)
        return ok


class BackgroundDelivery:
    """Queues messages for one daemon thread that sends them one after the other."""

    def __init__(self, sender: AppriseSender) -> None:
        self.sender = sender
        self._queue: "queue.Queue[Optional[Message]]" = queue.Queue()
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()

    def submit(self, message: Message) -> None:
        """Send `message` soon, off the caller's thread."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="notify-delivery", daemon=True)
                self._thread.start()
        self._queue.put(message)

    def _run(self) -> None:
        while True:
            message = self._queue.get()
            if message is None:
                return
            self.sender.send(message)
            self._queue.task_done()

    def drain(self, timeout: float) -> bool:
        """Wait until every queued message was attempted (graceful shutdown, tests); True if done in time."""
        done = threading.Event()
        threading.Thread(target=lambda: (self._queue.join(), done.set()), daemon=True).start()
        return done.wait(timeout)
