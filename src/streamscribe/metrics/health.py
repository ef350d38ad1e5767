"""Liveness and readiness, as the health endpoints report them."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class Health:
    """Readiness = the model is loaded and the consumer holds partitions.

    Written from the consumer's event loop, read from the HTTP thread: a lock keeps the
    pair consistent.
    """

    model_loaded: bool = False
    partitions_assigned: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def set_model_loaded(self, loaded: bool = True) -> None:
        with self._lock:
            self.model_loaded = loaded

    def set_partitions(self, count: int) -> None:
        with self._lock:
            self.partitions_assigned = count

    def readiness(self) -> tuple[bool, dict]:
        with self._lock:
            detail = {"model_loaded": self.model_loaded, "partitions_assigned": self.partitions_assigned}
            return self.model_loaded and self.partitions_assigned > 0, detail
