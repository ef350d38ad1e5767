"""The Kafka side: consumer loop, offsets, publishing results and dead letters."""

from .offsets import OffsetTracker
from .publisher import ResultPublisher
from .records import parse_event
from .service import TranscriptionConsumer

__all__ = ["OffsetTracker", "ResultPublisher", "TranscriptionConsumer", "parse_event"]
