"""Cross-job batching on the real tiny.en model and real audio: 16 distinct short clips
decoded in one batched call must read like each clip transcribed on its own, with words
timed inside their own clip and never leaked into a neighbour."""

from __future__ import annotations

import re
import statistics
from types import SimpleNamespace

import numpy as np
import pytest
from helpers import JFK_REFERENCE, word_error_rate

from streamscribe.pipeline import DecodedAudio, decode_audio
from streamscribe.pipeline.batching import BatchResult, batch_key, transcribe_batch
from streamscribe.pipeline.models import choose_device, load_whisper_model
from streamscribe.pipeline.transcription import TranscriptionOptions, transcribe

# (file, start s, end s): different places of four recordings, never the same audio twice,
# cut at pauses (Silero VAD / speaker turns of pyannote_sample.stm); neighbours come from
# different recordings, so a leaked word is visible. The same list is in benchmarks/batching_crossjob.py.
CLIPS = [
    ("silero_lecture_60s.wav", 0.0, 6.9),
    ("pyannote_sample.wav", 6.4, 9.82),
    ("jfk.flac", 0.0, 11.0),
    ("silero_lecture_60s.wav", 9.0, 15.2),
    ("pyannote_sample.wav", 9.82, 14.3),
    ("silero_lecture_60s.wav", 15.2, 19.9),
    ("hotwords.mp3", 0.0, 4.0),
    ("silero_lecture_60s.wav", 20.2, 28.65),
    ("pyannote_sample.wav", 14.3, 17.78),
    ("silero_lecture_60s.wav", 28.65, 35.75),
    ("pyannote_sample.wav", 17.78, 21.7),
    ("silero_lecture_60s.wav", 37.8, 43.5),
    ("silero_lecture_60s.wav", 43.5, 47.5),
    ("pyannote_sample.wav", 21.7, 28.43),
    ("silero_lecture_60s.wav", 48.5, 54.4),
    ("silero_lecture_60s.wav", 54.4, 60.0),
]
JFK = 2
BEAM = 5  # the service's default


def _words(text: str) -> set[str]:
    return set(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split())


def _text(segments) -> str:
    return " ".join(s.text for s in segments).strip()


@pytest.fixture(scope="module")
def runs(audio_dir, tmp_path_factory):
    model, _ = load_whisper_model("tiny.en", choose_device("cpu"), cache_dir=tmp_path_factory.mktemp("models"), cpu_threads=2)
    recordings: dict[str, np.ndarray] = {}
    clips = []
    for name, start, end in CLIPS:
        if name not in recordings:
            recordings[name] = decode_audio(audio_dir / name).samples
        clips.append(recordings[name][int(start * 16000) : int(end * 16000)])
    options = TranscriptionOptions(beam_size=BEAM)  # the sequential path as the service runs it (VAD on)
    sequential = [transcribe(model, DecodedAudio(c, f"clip{i}"), options).segments for i, c in enumerate(clips)]
    batched = transcribe_batch(model, clips, language=batch_key(model, None, 4.0), beam_size=BEAM, batch_size=16)
    return SimpleNamespace(model=model, clips=clips, sequential=sequential, batched=batched)


def test_clips_are_distinct_and_short():
    assert len(CLIPS) == 16 and len({c[0] for c in CLIPS}) == 4
    for i, (name, start, end) in enumerate(CLIPS):
        assert 3.0 <= end - start <= 11.0
        for other, s, e in CLIPS[i + 1 :]:
            assert other != name or e <= start or s >= end, "no audio is used twice"


def test_each_batched_clip_reads_like_its_own_sequential_transcription(runs):
    batched = runs.batched
    assert isinstance(batched, BatchResult) and len(batched.segments) == len(CLIPS) and batched.language == "en"
    wers = [word_error_rate(_text(seq), _text(bat)) for seq, bat in zip(runs.sequential, batched.segments)]
    for i, (seq, bat) in enumerate(zip(runs.sequential, batched.segments)):
        assert _text(seq), f"clip {i} has speech"
        assert wers[i] <= 0.25, (i, CLIPS[i], _text(seq), _text(bat))
    assert statistics.mean(wers) <= 0.05, wers
    assert word_error_rate(JFK_REFERENCE, _text(batched.segments[JFK])) <= 0.15, _text(batched.segments[JFK])


def test_words_are_timed_inside_their_own_clip(runs):
    for i, (clip, segments, seq) in enumerate(zip(runs.clips, runs.batched.segments, runs.sequential)):
        duration = len(clip) / 16000
        assert [s.id for s in segments] == list(range(len(segments)))
        words = [w for s in segments for w in s.words]
        assert words, f"clip {i} has words"
        for s in segments:
            assert 0 <= s.start <= s.end <= duration
        for w in words:
            assert 0 <= w.start <= w.end <= duration, (i, w)
        assert [w.start for w in words] == sorted(w.start for w in words)
        # Shifted back correctly: the same words start where the sequential run puts them.
        seq_words = [w for s in seq for w in s.words]
        if [w.word for w in words] == [w.word for w in seq_words]:
            shift = statistics.median(abs(a.start - b.start) for a, b in zip(words, seq_words))
            assert shift <= 0.25, (i, shift)


def test_no_words_leak_into_a_neighbour(runs):
    seq = [_words(_text(s)) for s in runs.sequential]
    bat = [_words(_text(s)) for s in runs.batched.segments]
    for i in range(len(CLIPS)):
        neighbours = [j for j in (i - 1, i + 1) if 0 <= j < len(CLIPS)]
        own = {w for w in seq[i] if len(w) >= 5} - set().union(*(seq[j] for j in neighbours))
        assert own, f"clip {i} has distinctive words"
        for j in neighbours:
            assert not own & bat[j], (i, j, own & bat[j])


def test_stage_times_apportion_the_batch_wall_time(runs):
    b = runs.batched
    assert b.wall_seconds > 0
    assert sum(b.stage_seconds(i) for i in range(len(CLIPS))) == pytest.approx(b.wall_seconds)
    longest = max(range(len(CLIPS)), key=lambda i: b.audio_seconds[i])
    assert b.stage_seconds(longest) == max(b.stage_seconds(i) for i in range(len(CLIPS)))


def test_batching_rule_and_limits(runs):
    en_only = runs.model
    assert batch_key(en_only, None, 10.0) == batch_key(en_only, "en", 10.0) == "en"
    assert batch_key(en_only, "fr", 10.0) == "en", "an English-only model transcribes everything as en"
    assert batch_key(en_only, None, 31.0) is None and batch_key(en_only, None, 0.0) is None
    multilingual = SimpleNamespace(model=SimpleNamespace(is_multilingual=True))
    assert batch_key(multilingual, None, 10.0) is None, "one detected language would be forced on every clip"
    assert batch_key(multilingual, "DE", 10.0) == "de" and batch_key(multilingual, "fr", 10.0) == "fr"
    with pytest.raises(ValueError):
        transcribe_batch(en_only, [np.zeros(31 * 16000, np.float32)], language="en", beam_size=1, batch_size=1)
    assert transcribe_batch(en_only, [], language="en").segments == []


async def test_short_jobs_waiting_on_the_consumer_are_batched_and_each_gets_its_own_result(settings, runs, tmp_path):
    import soundfile as sf
    from helpers import read_topic, results_by_job, running_consumer

    from streamscribe.metrics.registry import REGISTRY
    from streamscribe.pipeline import TranscriptionExecutor
    from streamscribe.submit import event_for_file, submit_events

    chosen = [0, 1, 2, 3, 4, 6, 8, 10]  # eight clips of three recordings
    events = []
    for i in chosen:
        sf.write(tmp_path / f"clip{i}.wav", runs.clips[i], 16_000)
        events.append(event_for_file(tmp_path / f"clip{i}.wav", job_id=f"clip{i}", diarize=False))
    settings = settings.model_copy(update={"batch_max_size": 8, "max_in_flight": 8, "diarization_mode": "off"})
    executor = TranscriptionExecutor(settings)
    batches = lambda: REGISTRY.get_sample_value("streamscribe_batch_size_jobs_count") or 0.0  # noqa: E731
    batched_jobs = lambda: REGISTRY.get_sample_value("streamscribe_batch_size_jobs_sum") or 0.0  # noqa: E731
    before = (batches(), batched_jobs())
    try:
        async with running_consumer(settings, executor):
            await submit_events(settings.bootstrap_servers, settings.input_topic, events)
            records = await read_topic(settings.bootstrap_servers, settings.results_topic, expect=len(events), timeout=180)
    finally:
        await executor.shutdown()
    assert batches() > before[0] and batched_jobs() - before[1] >= 2, "jobs that waited were batched"
    by_job = {job: rs[0] for job, rs in results_by_job(records).items()}
    for i in chosen:
        result = by_job[f"clip{i}"]
        assert result["status"] == "completed" and result["duration"] == pytest.approx(len(runs.clips[i]) / 16000, abs=0.01)
        assert word_error_rate(_text(runs.sequential[i]), result["full_text"]) <= 0.25, (i, result["full_text"])
        assert result["performance_metrics"]["stages"]["transcription"]["duration"] > 0
        assert all(0 <= w["start"] <= w["end"] <= result["duration"] for s in result["segments"] for w in s["words"])
