"""Reading ahead of the consumer, in order, with errors and early exits handled."""

from collections.abc import Iterator

import pytest

from pipelines.prefetch import prefetched


def test_items_arrive_in_order() -> None:
    assert list(prefetched(iter(range(100)), depth=3)) == list(range(100))


def test_a_producer_error_is_raised_to_the_consumer() -> None:
    def failing() -> Iterator[int]:
        yield 1
        raise ValueError("source broke")

    items = prefetched(failing())
    assert next(items) == 1
    with pytest.raises(ValueError, match="source broke"):
        next(items)


def test_abandoning_the_iteration_stops_the_producer() -> None:
    produced = []

    def endless() -> Iterator[int]:
        number = 0
        while True:
            produced.append(number)
            yield number
            number += 1

    for item in prefetched(endless(), depth=2):
        if item == 5:
            break
    assert len(produced) <= 5 + 1 + 2 + 1
