"""What the executor can run on, and how much GPU memory it is using.

torch is imported only when CUDA is actually in play: on CPU nodes it would cost ~0.5 GB
of memory for nothing.
"""

from __future__ import annotations

import logging

from ..metrics import registry as metrics
from .errors import CudaUnavailableError

log = logging.getLogger(__name__)


def cuda_device_count() -> int:
    """Number of CUDA devices CTranslate2 (faster-whisper's engine) can use."""
    try:
        import ctranslate2

        return ctranslate2.get_cuda_device_count()
    except Exception:  # a broken CUDA install must read as "no GPU", not crash start-up
        return 0


def require_cuda() -> None:
    if cuda_device_count() == 0:
        raise CudaUnavailableError("CUDA not available: No NVIDIA GPU detected")


def gpu_memory(device_index: int = 0) -> tuple[int, int] | None:
    """(used, total) bytes on the device, or None without CUDA."""
    if cuda_device_count() == 0:
        return None
    try:
        import torch

        free, total = torch.cuda.mem_get_info(device_index)
    except Exception:
        return None
    return total - free, total


def log_gpu_memory(label: str, device_index: int = 0) -> None:
    """Log and export GPU memory after a stage, in the seed's format; silent without CUDA."""
    stats = gpu_memory(device_index)
    if stats is None:
        return
    used, total = stats
    gib = 1024**3
    log.info(
        "[GPU Memory] %s: Allocated: %.1fGB (%.1f%%) | Free: %.1fGB",
        label, used / gib, 100 * used / total, (total - used) / gib,
    )
    metrics.GPU_MEMORY_USED.labels(str(device_index)).set(used)
    metrics.GPU_MEMORY_TOTAL.labels(str(device_index)).set(total)


def release_gpu_memory() -> None:
    """Return cached blocks to the driver after a model is dropped (no-op without CUDA)."""
    if cuda_device_count() == 0:
        return
    try:
        import gc

        import torch

        gc.collect()
        torch.cuda.empty_cache()
    except Exception:
        pass


def bound_host_memory() -> None:
    """Serve buffers of 1 MiB and more from their own mappings, returned to the OS when freed
    (glibc only; a no-op elsewhere). Call once per process that holds models.

    glibc raises its mmap threshold each time such a buffer is freed, so later ones come
    from the heap and stay there: a 20-minute recording's diarization then peaked 0.4 GB
    higher than a 5-minute one's, in freed memory alone.
    """
    libc = _libc()
    if libc is not None:
        libc.mallopt(_M_MMAP_THRESHOLD, 1 << 20)


def release_host_memory() -> None:
    """Give freed heap memory back to the OS after a stage (glibc only; a no-op elsewhere)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


def _libc():
    global _LIBC
    if _LIBC is None:
        import ctypes

        try:
            libc = ctypes.CDLL("libc.so.6")
        except OSError:
            libc = None
        _LIBC = libc if libc is not None and hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else False
    return _LIBC or None


_LIBC = None
_M_MMAP_THRESHOLD = -3  # from glibc's malloc.h
