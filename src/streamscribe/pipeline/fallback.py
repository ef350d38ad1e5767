"""The provider chain and how a failure in one provider is named before moving on.

Seed policy, kept: ``force_cpu`` -> no GPU; ``USE_GPU_PIPELINE=true`` -> GPU first, falling
back on any error; otherwise no GPU. The OpenAI API goes last when a key is configured.
Reasons are a small fixed set so they are safe metric labels.
"""

from __future__ import annotations

from .errors import CudaUnavailableError
from .openai_provider import ApiError

# "null" runs no model and returns empty transcripts: for load tests of the Kafka path.
PROVIDERS = ("cuda", "cpu", "openai", "null")
PROVIDER_NAMES = {"cuda": "GPU", "cpu": "CPU", "openai": "OpenAI API", "null": "null"}
FALLBACK_REASONS = ("import_error", "cuda_unavailable", "gpu_oom", "api_error", "worker_crash", "worker_timeout", "error")


class ProviderLoadError(RuntimeError):
    """A provider's models could not be loaded (a missing GPU does not come back within a job)."""


def provider_chain(
    use_gpu_pipeline: bool, force_cpu: bool = False, configured: list[str] | None = None, openai_enabled: bool = False
) -> list[str]:
    """The providers to try, in order."""
    if configured:
        chain = list(dict.fromkeys(configured))
    else:
        chain = ["cuda", "cpu"] if use_gpu_pipeline else ["cpu"]
        if openai_enabled:
            chain.append("openai")
    if force_cpu:
        chain = [p for p in chain if p != "cuda"]
    return chain


def parse_providers(text: str | None) -> list[str] | None:
    if not text:
        return None
    names = [p.strip().lower() for p in text.split(",") if p.strip()]
    unknown = [p for p in names if p not in PROVIDERS]
    if unknown:
        raise ValueError(f"unknown provider(s) {unknown}: choose from {', '.join(PROVIDERS)}")
    return names


def fallback_reason(exc: BaseException) -> str:
    """Classify a provider failure into one of ``FALLBACK_REASONS``."""
    cause = exc.__cause__ if isinstance(exc, ProviderLoadError) and exc.__cause__ else exc
    known = getattr(cause, "fallback_reason", None)  # classified where it happened (the worker)
    if known in FALLBACK_REASONS:
        return known
    if isinstance(cause, ImportError):
        return "import_error"
    if isinstance(cause, CudaUnavailableError):
        return "cuda_unavailable"
    if isinstance(cause, ApiError):
        return "api_error"
    message = str(cause).lower()
    if "out of memory" in message or type(cause).__name__ == "OutOfMemoryError":
        return "gpu_oom"
    if "cuda" in message and any(s in message for s in ("not available", "no cuda", "driver", "no kernel image")):
        return "cuda_unavailable"
    return "error"


def describe_fallback(from_provider: str, to_provider: str, exc: BaseException) -> str:
    """The seed's wording: 'GPU transcription failed, falling back to CPU: <reason>'."""
    cause = exc.__cause__ if isinstance(exc, ProviderLoadError) and exc.__cause__ else exc
    return (
        f"{PROVIDER_NAMES.get(from_provider, from_provider)} transcription failed, "
        f"falling back to {PROVIDER_NAMES.get(to_provider, to_provider)}: {cause}"
    )
