import pytest

from streamscribe.formats import render
from streamscribe.schemas import AlignedSegment, Segment, SpeakerTurn, Transcript

DIARIZED = Transcript(
    segments=[Segment(id=0, start=0.5, end=3727.25, text="hello there general")],
    aligned_segments=[
        AlignedSegment(speaker="SPEAKER_00", start=0.5, end=1.0, text="hello there"),
        AlignedSegment(speaker="SPEAKER_01", start=3725.0, end=3727.25, text="general"),
    ],
    speaker_turns=[SpeakerTurn(speaker="SPEAKER_00", start=0.4, end=1.1), SpeakerTurn(speaker="SPEAKER_01", start=3724.9, end=3727.3)],
)
PLAIN = Transcript(segments=[Segment(id=0, start=0.0, end=2.0, text="just words")])


def test_srt_numbers_cues_and_uses_commas():
    assert render(DIARIZED, "srt") == (
        "1\n00:00:00,500 --> 00:00:01,000\nSPEAKER_00: hello there\n\n"
        "2\n01:02:05,000 --> 01:02:07,250\nSPEAKER_01: general\n"
    )


def test_vtt_marks_speakers_with_voice_tags():
    assert render(DIARIZED, "vtt") == (
        "WEBVTT\n\n00:00:00.500 --> 00:00:01.000\n<v SPEAKER_00>hello there\n\n"
        "01:02:05.000 --> 01:02:07.250\n<v SPEAKER_01>general\n"
    )


def test_text_and_rttm():
    assert render(DIARIZED, "text").splitlines()[1] == "[01:02:05.0 - 01:02:07.2] SPEAKER_01: general"
    assert render(DIARIZED, "rttm", uri="call").splitlines()[0] == "SPEAKER call 1 0.400 0.700 <NA> <NA> SPEAKER_00 <NA> <NA>"


def test_without_diarization_cues_are_whisper_segments():
    assert render(PLAIN, "srt") == "1\n00:00:00,000 --> 00:00:02,000\njust words\n"
    assert render(PLAIN, "text") == "[00:00:00.0 - 00:00:02.0] just words"
    assert render(PLAIN, "rttm") == ""


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="choose from"):
        render(PLAIN, "docx")
