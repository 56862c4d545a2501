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
def test_freezes_after_each_point_and_only_there(monkeypatch: pytest.MonkeyPatch) -> None:
    # The freeze count alone cannot say "nothing was frozen": frozen objects freed meanwhile (by another
    # thread of the test process, say) lower it. So the freezes are counted as calls, and what they did is
    # checked on objects this test holds.
    calls: list[int] = []
    real_freeze = gc.freeze

    def counting_freeze() -> None:
        calls.append(1)
        real_freeze()

    monkeypatch.setattr(gc, "freeze", counting_freeze)
    finished = collector.freeze_after((3, 5))

    def finish_requests(count: int) -> None:
        for _ in range(count):
            finished(sender=None)

    def frozen(node: Node) -> bool:
        return gc.is_tracked(node) and not any(node is o for g in range(3) for o in gc.get_objects(generation=g))

    kept = [Node() for _ in range(10)]
    finish_requests(2)
    assert calls == [] and not frozen(kept[0])
    finish_requests(1)  # the 3rd
    assert len(calls) == 1 and frozen(kept[0])
    more = [Node() for _ in range(10)]
    finish_requests(1)  # the 4th: nothing
    assert len(calls) == 1 and not frozen(more[0])
    finish_requests(1)  # the 5th
    assert len(calls) == 2 and all(frozen(node) for node in more)
    finish_requests(20)  # no point left
    assert len(calls) == 2


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
