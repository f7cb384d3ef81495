"""Reading ahead: the next chunk from PostgreSQL arrives while this one goes to ClickHouse.

Both drivers release the GIL while they work, so one reader thread overlaps the two databases'
time; a small queue bounds the memory held.
"""

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


def prefetched(items: Iterator[T], *, depth: int = 2) -> Iterator[T]:
    """Yield what `items` yields, produced by a thread running up to `depth` items ahead.

    An exception in the producer is raised here; abandoning the iteration stops the producer
    at its next item.
    """
    ready: queue.Queue[object] = queue.Queue(maxsize=depth)
    abandoned = threading.Event()

    def offer(item: object) -> bool:
        while not abandoned.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer(item):
                    return
            offer(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            offer(exc)

    producer = threading.Thread(target=produce, name="prefetch", daemon=True)
    producer.start()
    try:
        while True:
            item = ready.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        abandoned.set()
        producer.join()
