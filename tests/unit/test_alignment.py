from streamscribe.pipeline import align_words
from streamscribe.pipeline.alignment import SpeakerLookup
from streamscribe.pipeline.diarization import read_rttm, to_rttm
from streamscribe.schemas import Segment, SpeakerTurn, Word


def turn(speaker, start, end):
    return SpeakerTurn(speaker=speaker, start=start, end=end)


def word(text, start, end):
    return Word(word=text, start=start, end=end, probability=0.9)


def test_word_goes_to_the_speaker_overlapping_it_most():
    lookup = SpeakerLookup([turn("A", 0, 1.2), turn("B", 1.0, 3.0)])
    assert lookup.speaker_at(0.1, 0.5) == "A"
    assert lookup.speaker_at(1.05, 1.5) == "B", "0.15 s with A, 0.45 s with B"
    assert lookup.speaker_at(0.9, 1.15) == "A"


def test_word_outside_every_turn_goes_to_the_nearest_one():
    lookup = SpeakerLookup([turn("A", 0, 1), turn("B", 5, 6), turn("C", 0.5, 4.0)])
    assert lookup.speaker_at(4.2, 4.4) == "C", "0.2 s after C ends, 0.6 s before B starts"
    assert lookup.speaker_at(4.7, 4.9) == "B"
    assert lookup.speaker_at(7.0, 7.5) == "B"
    assert SpeakerLookup([turn("A", 2, 3)]).speaker_at(0.0, 0.2) == "A"


def test_long_turn_is_found_behind_many_short_ones():
    turns = [turn("LONG", 0, 100)] + [turn("S", 10 + i, 10.1 + i) for i in range(50)]
    assert SpeakerLookup(turns).speaker_at(80.0, 80.5) == "LONG"


def test_zero_length_word_inside_a_turn_gets_that_turn():
    assert SpeakerLookup([turn("A", 0, 1), turn("B", 1, 2)]).speaker_at(1.5, 1.5) == "B"


def test_aligned_segments_split_at_speaker_changes_and_cover_every_word():
    segments = [
        Segment(id=0, start=0, end=3, text="hello there how are you",
                words=[word("hello", 0, 0.4), word("there", 0.5, 0.9), word("how", 1.6, 1.8), word("are", 1.8, 2.0), word("you", 2.0, 2.4)]),
        Segment(id=1, start=3, end=4, text="fine", words=[word("fine", 3.1, 3.5)]),
    ]
    aligned = align_words(segments, [turn("A", 0, 1.2), turn("B", 1.5, 2.5), turn("A", 3.0, 4.0)])
    assert [(a.speaker, a.text, a.start, a.end) for a in aligned] == [
        ("A", "hello there", 0, 0.9),
        ("B", "how are you", 1.6, 2.4),
        ("A", "fine", 3.1, 3.5),
    ]
    assert align_words(segments, []) == [], "no turns (diarization off): no aligned segments"


def test_rttm_round_trip():
    turns = [turn("SPEAKER_00", 0.5, 2.25), turn("SPEAKER_01", 2.0, 3.0)]
    text = to_rttm(turns, "call-7")
    assert text.splitlines()[0] == "SPEAKER call-7 1 0.500 1.750 <NA> <NA> SPEAKER_00 <NA> <NA>"
    assert read_rttm(text) == {"call-7": turns}
