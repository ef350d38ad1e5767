"""streamscribe: audio-ready events in, speaker-labelled transcripts out.

The public API is the seed pipeline's, kept by name, plus the wire formats and settings.
"""

from .pipeline import (
    GPUTranscriptionPipeline,
    async_transcribe_gpu,
    is_gpu_available,
    shutdown_gpu_executor,
    transcribe_audio_file,
)
from .schemas import AudioReady, TranscriptResult
from .settings import Settings

__version__ = "0.1.0"

__all__ = [
    "AudioReady",
    "GPUTranscriptionPipeline",
    "Settings",
    "TranscriptResult",
    "async_transcribe_gpu",
    "is_gpu_available",
    "shutdown_gpu_executor",
    "transcribe_audio_file",
]
