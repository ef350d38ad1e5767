"""The provider chain and how a failure in one provider is named before moving on.

Seed policy: ``force_cpu`` -> CPU; ``USE_GPU_PIPELINE=true`` -> GPU, falling back to CPU on
any error; otherwise CPU only. Reasons are a small fixed set so they are safe metric labels.
"""

from __future__ import annotations

from .errors import CudaUnavailableError

PROVIDER_NAMES = {"cuda": "GPU", "cpu": "CPU"}

FALLBACK_REASONS = ("import_error", "cuda_unavailable", "gpu_oom", "error")


def provider_chain(use_gpu_pipeline: bool, force_cpu: bool = False) -> list[str]:
    if force_cpu or not use_gpu_pipeline:
        return ["cpu"]
    return ["cuda", "cpu"]


def fallback_reason(exc: BaseException) -> str:
    """Classify a provider failure into one of ``FALLBACK_REASONS``."""
    if isinstance(exc, ImportError):
        return "import_error"
    if isinstance(exc, CudaUnavailableError):
        return "cuda_unavailable"
    message = str(exc).lower()
    if "out of memory" in message or type(exc).__name__ == "OutOfMemoryError":
        return "gpu_oom"
    if "cuda" in message and any(s in message for s in ("not available", "no cuda", "driver", "no kernel image")):
        return "cuda_unavailable"
    return "error"


def describe_fallback(from_provider: str, to_provider: str, exc: BaseException) -> str:
    """The seed's wording: 'GPU transcription failed, falling back to CPU: <reason>'."""
    return (
        f"{PROVIDER_NAMES.get(from_provider, from_provider)} transcription failed, "
        f"falling back to {PROVIDER_NAMES.get(to_provider, to_provider)}: {exc}"
    )
