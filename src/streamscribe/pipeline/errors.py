"""Errors a job can end with, each carrying the code published in the failed result."""

from __future__ import annotations

from ..schemas import ErrorCode


class JobError(RuntimeError):
    """A job cannot produce a transcript; ``code`` and ``retryable`` go into the result."""

    def __init__(self, code: ErrorCode, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable


class CudaUnavailableError(RuntimeError):
    """Raised before touching the GPU when no usable CUDA device exists."""
