"""Liveness and readiness, as the health endpoints report them."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class Health:
    """Readiness = the model is loaded, the consumer holds partitions and the broker answers.

    Written from the consumer's event loop, read from the HTTP thread: a lock keeps the
    pair consistent.
    """

    model_loaded: bool = False
    partitions_assigned: int = 0
    broker_reachable: bool = True
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def set_model_loaded(self, loaded: bool = True) -> None:
        with self._lock:
            self.model_loaded = loaded

    def set_broker_reachable(self, reachable: bool) -> None:
        with self._lock:
            self.broker_reachable = reachable

    def set_partitions(self, count: int) -> None:
        with self._lock:
            self.partitions_assigned = count

    def readiness(self) -> tuple[bool, dict]:
        with self._lock:
            detail = {
                "model_loaded": self.model_loaded,
                "partitions_assigned": self.partitions_assigned,
                "broker_reachable": self.broker_reachable,
            }
            return self.model_loaded and self.partitions_assigned > 0 and self.broker_reachable, detail
