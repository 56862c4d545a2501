"""The garbage collector in a serving process (docs/deployment.md, "Worker processes").

`saas/wsgi.py` freezes what the start-up loaded (`gc.freeze()`: out of the collector's generations for good).
Much long-lived state is only built by the first requests, though: templates compiled on first use, the
translation catalogues, the URL memo, per-process caches of the module registry and of the metadata. Left in
the oldest generation, all of it is walked by every full collection, and full collections are frequent in a
busy worker (a list page leaves a few hundred objects in reference cycles): measured in the bench's gunicorn
workers (`bench.http`, issue 25), ~90 full collections a minute per worker of 60-120 ms each, inside requests,
which made most of the report run's and the events week's slowest 1 %.

`freeze_after(points)` repeats the freeze when a worker has served each of those numbers of requests: after
the response has gone out (`request_finished`), it collects what is garbage at that moment (so no garbage is
frozen), then freezes the rest. The few freezes cost one full collection each (~80-100 ms, once, between
two requests); objects frozen and dropped later are freed by reference counting as usual, only those left in
a cycle stay (a bounded amount: at most one warm-up's worth per point).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterable
from typing import Any

from django.core.signals import request_finished

DISPATCH_UID = "saas.collector.freeze_after"
# Served-request counts after which a worker freezes again: the first pages, a warmed worker, a long-lived one.
POINTS = (100, 1_000, 10_000)


def freeze_after(points: Iterable[int] = POINTS) -> Callable[..., None]:
    """Freeze the worker's long-lived objects again after each of `points` served requests (the receiver,
    connected to `request_finished`, is returned)."""
    remaining = sorted(set(points))
    served = 0
    lock = threading.Lock()  # gthread workers finish requests on several threads

    def on_request_finished(**kwargs: Any) -> None:
        nonlocal served
        with lock:
            served += 1
            if not remaining or served < remaining[0]:
                return
            del remaining[0]
        gc.collect()
        gc.freeze()

    request_finished.connect(on_request_finished, weak=False, dispatch_uid=DISPATCH_UID)
    return on_request_finished


def stop() -> bool:
    """Undo `freeze_after` (tests): True when it was installed."""
    return request_finished.disconnect(dispatch_uid=DISPATCH_UID)
