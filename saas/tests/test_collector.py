"""The worker's repeated freeze (`saas.collector`): at the given served-request counts only, after collecting."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest
from django.core.signals import request_finished

from saas import collector


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture
def installed() -> Iterator[None]:
    collector.stop()
    gc.collect()
    frozen_before = gc.get_freeze_count()
    yield
    collector.stop()
    if frozen_before == 0:
        gc.unfreeze()  # the test process froze nothing before: give the collector its objects back


@pytest.mark.usefixtures("installed")
def test_freezes_after_each_point_and_only_there() -> None:
    finished = collector.freeze_after((3, 5))

    def finish_requests(count: int) -> None:
        for _ in range(count):
            finished(sender=None)

    kept = [Node() for _ in range(10)]
    finish_requests(2)
    frozen = gc.get_freeze_count()
    finish_requests(1)  # the 3rd
    third = gc.get_freeze_count()
    assert third > frozen
    assert gc.is_tracked(kept[0]) and not any(kept[0] is o for o in gc.get_objects(generation=2))
    more = [Node() for _ in range(10)]
    finish_requests(1)  # the 4th: nothing
    assert gc.get_freeze_count() == third
    finish_requests(1)  # the 5th
    assert gc.get_freeze_count() >= third + len(more)
    after_last = gc.get_freeze_count()
    finish_requests(20)  # no point left
    assert gc.get_freeze_count() == after_last


@pytest.mark.usefixtures("installed")
def test_garbage_in_cycles_is_collected_not_frozen() -> None:
    finished = collector.freeze_after((1,))
    a, b = Node(), Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    del a, b
    finished(sender=None)
    assert gone() is None


def test_installing_twice_keeps_one_receiver() -> None:
    try:
        receiver = collector.freeze_after((1_000_000,))
        collector.freeze_after((1_000_000,))
        assert [entry[1] for entry in request_finished.receivers].count(receiver) == 1
        assert collector.stop() is True
        assert collector.stop() is False
    finally:
        collector.stop()
