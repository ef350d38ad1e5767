"""Prometheus metrics, the HTTP endpoint that serves them, and health state."""

from . import registry
from .health import Health
from .registry import REGISTRY
from .server import MetricsServer

__all__ = ["REGISTRY", "Health", "MetricsServer", "registry"]
