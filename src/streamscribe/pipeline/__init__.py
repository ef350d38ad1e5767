"""Models, transcription, fallbacks and the single executor that runs them."""

from .alignment import align_words
from .audio import DecodedAudio, decode_audio
from .diarization import DiarizationConfig, SpeakerHints, read_rttm, to_rttm
from .errors import CudaUnavailableError, JobError
from .executor import TranscriptionExecutor, realtime_factor
from .executor_pool import ExecutorPool, build_executor
from .gpu_pipeline import GPUTranscriptionPipeline
from .sources import AudioFetcher, LocalAudio
from .wrapper import async_transcribe_gpu, is_gpu_available, shutdown_gpu_executor, transcribe_audio_file

__all__ = [
    "AudioFetcher",
    "CudaUnavailableError",
    "DecodedAudio",
    "DiarizationConfig",
    "ExecutorPool",
    "GPUTranscriptionPipeline",
    "JobError",
    "LocalAudio",
    "SpeakerHints",
    "TranscriptionExecutor",
    "align_words",
    "async_transcribe_gpu",
    "build_executor",
    "decode_audio",
    "is_gpu_available",
    "read_rttm",
    "realtime_factor",
    "shutdown_gpu_executor",
    "to_rttm",
    "transcribe_audio_file",
]
