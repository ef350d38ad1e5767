"""The seed's decision tree and GPU -> CPU fallback.

No GPU exists here, so every test that needs a *present* GPU mocks it (the CUDA device count,
or a GPU pipeline that raises); the test names say so. The CPU side is always the real
tiny.en model on real audio.
"""

from __future__ import annotations

import logging

import pytest

from streamscribe import async_transcribe_gpu, is_gpu_available, shutdown_gpu_executor, transcribe_audio_file
from streamscribe.metrics import REGISTRY
from streamscribe.pipeline.breaker import CircuitBreaker
from streamscribe.pipeline import GPUTranscriptionPipeline, JobError, TranscriptionExecutor, decode_audio, devices, wrapper
from streamscribe.schemas import ErrorCode
from streamscribe.settings import Settings

REAL_GPU = devices.cuda_device_count() > 0
needs_no_gpu = pytest.mark.skipif(REAL_GPU, reason="asserts behaviour of a machine without a GPU")


def fallbacks(reason: str) -> float:
    return REGISTRY.get_sample_value("streamscribe_fallbacks_total", {"from": "cuda", "to": "cpu", "reason": reason}) or 0.0


@pytest.fixture
def loads(monkeypatch):
    """Records the device of every model load, and lets a test make the GPU ones fail or succeed."""
    calls: list[str] = []
    real_load = GPUTranscriptionPipeline.load
    behaviour = {"cuda": None}  # None: real load; an exception: raise it; "fake": pretend it loaded

    def load(self):
        if self.loaded:
            return self
        calls.append(self.device)
        if self.device == "cuda" and behaviour["cuda"] is not None:
            if behaviour["cuda"] == "fake":
                self._whisper = object()
                self.load_seconds = 0.0
                return self
            raise behaviour["cuda"]
        return real_load(self)

    monkeypatch.setattr(GPUTranscriptionPipeline, "load", load)
    return calls, behaviour


@pytest.fixture
async def seed_env(monkeypatch):
    """The seed wrapper's process-wide executor, rebuilt for each test from its environment."""
    await shutdown_gpu_executor()
    yield monkeypatch
    await shutdown_gpu_executor()


@pytest.fixture(autouse=True)
def models_in_this_process(monkeypatch):
    """The GPU is mocked in this process, so the models must run here, not in a worker process."""
    monkeypatch.setenv("STREAMSCRIBE_ISOLATION", "thread")


def fallback_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "falling back" in r.getMessage()]


def mock_gpu_present(monkeypatch):
    monkeypatch.setattr(devices, "cuda_device_count", lambda: 1)


def gpu_pipeline_raises(monkeypatch, exc: BaseException):
    real = GPUTranscriptionPipeline.transcribe

    def transcribe(self, audio, **kwargs):
        if self.device == "cuda":
            raise exc
        return real(self, audio, **kwargs)

    monkeypatch.setattr(GPUTranscriptionPipeline, "transcribe", transcribe)


async def test_force_cpu_uses_cpu_without_trying_the_gpu(seed_env, loads, audio_dir):
    seed_env.setenv("USE_GPU_PIPELINE", "true")
    result = await transcribe_audio_file(audio_dir / "jfk.flac", force_cpu=True)
    assert result["provider"] == "cpu" and "fellow americans" in result["full_text"].lower()
    assert loads[0] == ["cpu"]


async def test_gpu_pipeline_disabled_means_cpu_only(seed_env, loads, audio_dir):
    seed_env.setenv("USE_GPU_PIPELINE", "false")
    result = await transcribe_audio_file(audio_dir / "jfk.flac")
    assert result["provider"] == "cpu"
    assert loads[0] == ["cpu"]
    assert is_gpu_available() is False


@needs_no_gpu
async def test_gpu_enabled_on_a_machine_without_gpu_falls_back_to_cpu_with_warning(seed_env, loads, audio_dir, caplog):
    seed_env.setenv("USE_GPU_PIPELINE", "true")
    before = fallbacks("cuda_unavailable")
    with caplog.at_level(logging.INFO):
        result = await transcribe_audio_file(audio_dir / "jfk.flac")
    assert result["provider"] == "cpu" and "fellow americans" in result["full_text"].lower()
    assert loads[0] == ["cuda", "cpu"]
    assert fallback_lines(caplog) == ["GPU transcription failed, falling back to CPU: CUDA not available: No NVIDIA GPU detected"]
    assert any(r.getMessage() == "Using CPU transcription" for r in caplog.records)
    assert fallbacks("cuda_unavailable") == before + 1
    assert is_gpu_available() is False


@needs_no_gpu
async def test_mocked_gpu_present_but_cuda_driver_broken_falls_back(seed_env, audio_dir, caplog):
    # The device count is mocked; the CUDA load that follows is real and fails on this machine.
    mock_gpu_present(seed_env)
    seed_env.setenv("USE_GPU_PIPELINE", "true")
    assert is_gpu_available() is True
    before = fallbacks("cuda_unavailable")
    with caplog.at_level(logging.WARNING):
        result = await transcribe_audio_file(audio_dir / "jfk.flac")
    assert result["provider"] == "cpu"
    assert "GPU transcription failed, falling back to CPU: CUDA failed" in caplog.text
    assert fallbacks("cuda_unavailable") == before + 1


@pytest.mark.parametrize(
    "error, reason",
    [
        (RuntimeError("CUDA failed with error out of memory"), "gpu_oom"),
        (RuntimeError("CUDA out of memory. Tried to allocate 2.50 GiB"), "gpu_oom"),
        (ValueError("something unexpected on the GPU"), "error"),
    ],
)
async def test_mocked_gpu_failing_mid_job_falls_back_to_cpu(monkeypatch, loads, audio_dir, caplog, error, reason):
    mock_gpu_present(monkeypatch)
    loads[1]["cuda"] = "fake"
    gpu_pipeline_raises(monkeypatch, error)
    executor = TranscriptionExecutor(Settings(use_gpu_pipeline=True))
    try:
        assert await executor.start() == "cuda"
        before = fallbacks(reason)
        with caplog.at_level(logging.WARNING):
            transcript = await executor.transcribe(decode_audio(audio_dir / "jfk.flac"))
    finally:
        await executor.shutdown()
    assert transcript.provider == "cpu" and "fellow americans" in transcript.full_text.lower()
    assert fallbacks(reason) == before + 1
    assert fallback_lines(caplog) == [f"GPU transcription failed, falling back to CPU: {error}"]
    record = next(r for r in caplog.records if "falling back" in r.getMessage())
    assert record.levelno == logging.WARNING
    assert bool(record.exc_info) == (reason == "error"), "unexpected errors are logged with their traceback"


async def test_mocked_gpu_dependencies_missing_falls_back_at_start(monkeypatch, loads):
    mock_gpu_present(monkeypatch)
    loads[1]["cuda"] = ImportError("No module named 'torch'")
    executor = TranscriptionExecutor(Settings(use_gpu_pipeline=True))
    before = fallbacks("import_error")
    try:
        assert await executor.start() == "cpu", "start-up falls back too, so readiness is not blocked"
    finally:
        await executor.shutdown()
    assert fallbacks("import_error") == before + 1


async def test_gpu_only_call_raises_instead_of_falling_back(seed_env, audio_dir):
    seed_env.setenv("USE_GPU_PIPELINE", "true")
    if REAL_GPU:
        pytest.skip("a real GPU would succeed")
    with pytest.raises(RuntimeError, match="cuda transcription failed"):
        await async_transcribe_gpu(audio_dir / "jfk.flac")


async def test_failure_of_the_last_provider_is_a_retryable_job_error_mocked_cpu(monkeypatch, audio_dir):
    def broken(self, audio, **kwargs):
        raise RuntimeError("CTranslate2 exploded")

    monkeypatch.setattr(GPUTranscriptionPipeline, "transcribe", broken)
    executor = TranscriptionExecutor(Settings(use_gpu_pipeline=False))
    try:
        with pytest.raises(JobError) as info:
            await executor.transcribe(decode_audio(audio_dir / "jfk.flac"))
    finally:
        await executor.shutdown()
    assert info.value.code is ErrorCode.TRANSCRIPTION_FAILED and info.value.retryable
    assert "CTranslate2 exploded" in info.value.message


async def test_shutdown_frees_the_shared_executor(seed_env, audio_dir):
    seed_env.setenv("USE_GPU_PIPELINE", "false")
    await transcribe_audio_file(audio_dir / "jfk.flac")
    executor = wrapper._get_gpu_executor()
    assert executor._models._pipelines["cpu"].loaded
    await shutdown_gpu_executor()
    assert not executor._models._pipelines and wrapper._executor is None
    assert wrapper._get_gpu_executor() is not executor, "the next call builds a fresh executor"


def test_circuit_breaker_opens_after_repeated_failures_and_half_opens_after_cooldown():
    now = [0.0]
    breaker = CircuitBreaker(threshold=2, cooldown_s=10, clock=lambda: now[0])
    assert breaker.record_failure() is False and breaker.allows()
    assert breaker.record_failure() is True and not breaker.allows()
    now[0] = 9.9
    assert not breaker.allows()
    now[0] = 10.1
    assert breaker.allows(), "half-open: one try after the cool-down"
    assert breaker.record_failure() is True and not breaker.allows(), "a failed try re-opens at once"
    now[0] = 20.2
    breaker.record_success()
    assert breaker.allows() and breaker.record_failure() is False
    assert CircuitBreaker(threshold=5).record_failure(fatal=True) is True, "a load failure opens at once"


async def test_mocked_gpu_failing_is_skipped_for_the_cooldown_then_retried(monkeypatch, loads, audio_dir):
    mock_gpu_present(monkeypatch)
    loads[1]["cuda"] = "fake"
    gpu_pipeline_raises(monkeypatch, RuntimeError("CUDA error: an illegal memory access was encountered"))
    executor = TranscriptionExecutor(Settings(use_gpu_pipeline=True, breaker_threshold=2, breaker_cooldown_s=60))
    now = [0.0]  # the breaker's clock, so a slow machine cannot outlast the cool-down by accident
    executor._breakers["cuda"]._clock = lambda: now[0]
    audio = decode_audio(audio_dir / "jfk.flac")
    skips = lambda: REGISTRY.get_sample_value("streamscribe_provider_skips_total", {"provider": "cuda"}) or 0.0  # noqa: E731
    try:
        before, skipped = fallbacks("error"), skips()
        for _ in range(2):  # two failures open the breaker
            assert (await executor.transcribe(audio, enable_diarization=False)).provider == "cpu"
        assert fallbacks("error") == before + 2
        assert (await executor.transcribe(audio, enable_diarization=False)).provider == "cpu"
        assert fallbacks("error") == before + 2 and skips() == skipped + 1, "open: the GPU is skipped, not paid for"
        now[0] = 60.1
        assert (await executor.transcribe(audio, enable_diarization=False)).provider == "cpu"
        assert fallbacks("error") == before + 3, "after the cool-down the GPU is tried again"
    finally:
        await executor.shutdown()


async def test_mocked_gpu_out_of_memory_is_retried_once_on_the_gpu_before_falling_back(monkeypatch, loads, audio_dir):
    mock_gpu_present(monkeypatch)
    loads[1]["cuda"] = "fake"
    calls = []
    real = GPUTranscriptionPipeline.transcribe

    def transcribe(self, audio, **kwargs):
        calls.append((self.device, kwargs.get("low_memory", False)))
        if self.device == "cuda":
            raise RuntimeError("CUDA failed with error out of memory")
        return real(self, audio, **kwargs)

    monkeypatch.setattr(GPUTranscriptionPipeline, "transcribe", transcribe)
    retries = REGISTRY.get_sample_value("streamscribe_gpu_oom_retries_total") or 0.0
    executor = TranscriptionExecutor(Settings(use_gpu_pipeline=True))
    try:
        transcript = await executor.transcribe(decode_audio(audio_dir / "jfk.flac"), enable_diarization=False)
    finally:
        await executor.shutdown()
    assert calls == [("cuda", False), ("cuda", True), ("cpu", False)]
    assert transcript.provider == "cpu"
    assert REGISTRY.get_sample_value("streamscribe_gpu_oom_retries_total") == retries + 1
