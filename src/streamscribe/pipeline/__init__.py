"""Models, transcription, fallbacks and the single executor that runs them."""

from .alignment import align_words
from .audio import DecodedAudio, decode_audio, resolve_audio_path
from .diarization import DiarizationConfig, SpeakerHints, read_rttm, to_rttm
from .errors import CudaUnavailableError, JobError
from .executor import TranscriptionExecutor, realtime_factor
from .gpu_pipeline import GPUTranscriptionPipeline
from .wrapper import async_transcribe_gpu, is_gpu_available, shutdown_gpu_executor, transcribe_audio_file

__all__ = [
    "CudaUnavailableError",
    "DecodedAudio",
    "DiarizationConfig",
    "GPUTranscriptionPipeline",
    "JobError",
    "SpeakerHints",
    "TranscriptionExecutor",
    "align_words",
    "async_transcribe_gpu",
    "decode_audio",
    "is_gpu_available",
    "read_rttm",
    "realtime_factor",
    "resolve_audio_path",
    "shutdown_gpu_executor",
    "to_rttm",
    "transcribe_audio_file",
]
