from aiokafka import TopicPartition

from streamscribe.consumer import OffsetTracker

TP0, TP1 = TopicPartition("t", 0), TopicPartition("t", 1)


def test_commit_waits_for_every_earlier_offset_of_the_partition():
    tracker = OffsetTracker()
    epoch = [tracker.add(TP0, offset) for offset in (10, 11, 12)][0]
    tracker.done(TP0, 12, epoch)  # a short job finished behind a long one
    assert tracker.committable() == {}, "committing 13 would skip unfinished 10 and 11 on a crash"
    tracker.done(TP0, 10, epoch)
    assert tracker.committable() == {TP0: 11}
    tracker.done(TP0, 11, epoch)
    assert tracker.committable() == {TP0: 13}
    assert tracker.in_flight() == 0


def test_only_advanced_partitions_are_committed_again():
    tracker = OffsetTracker()
    e0, e1 = tracker.add(TP0, 0), tracker.add(TP1, 5)
    tracker.done(TP0, 0, e0)
    tracker.done(TP1, 5, e1)
    offsets = tracker.committable()
    assert offsets == {TP0: 1, TP1: 6}
    tracker.mark_committed(offsets)
    assert tracker.committable() == {}
    assert tracker.committed(TP1) == 6
    tracker.done(TP1, 6, tracker.add(TP1, 6))
    assert tracker.committable() == {TP1: 7}
    assert tracker.committable({TP0}) == {}


def test_revoked_partition_is_forgotten_and_late_completions_ignored():
    tracker = OffsetTracker()
    epoch = tracker.add(TP0, 3)
    tracker.add(TP0, 4)
    tracker.done(TP0, 3, epoch)
    assert tracker.in_flight(TP0) == 1
    tracker.drop({TP0})
    tracker.done(TP0, 4, epoch)  # the job finished after the partition moved to another consumer
    assert tracker.committable() == {}
    assert tracker.in_flight() == 0
    assert not tracker.owns(TP0, epoch)


def test_a_stale_completion_cannot_commit_the_redelivered_offset():
    tracker = OffsetTracker()
    old = tracker.add(TP0, 7)
    tracker.drop({TP0})  # revoked mid-job...
    new = tracker.add(TP0, 7)  # ...and assigned back: offset 7 is redelivered and runs again
    assert new != old and tracker.owns(TP0, new) and not tracker.owns(TP0, old)
    tracker.done(TP0, 7, old)  # the first run finishes late
    assert tracker.committable() == {}, "only the new run may commit offset 7"
    tracker.done(TP0, 7, new)
    assert tracker.committable() == {TP0: 8}
