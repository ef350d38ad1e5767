"""The embedded Kafka-compatible broker (Tansu) for local runs and tests, and topic setup."""

from .embedded import BrokerError, EmbeddedBroker, free_port
from .topics import ensure_topics

__all__ = ["BrokerError", "EmbeddedBroker", "ensure_topics", "free_port"]
