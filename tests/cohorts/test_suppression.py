"""Small-cell suppression: no count of 1 to 10 is shown or derivable from what is shown."""

import itertools
import random

import pytest

from warehouse.cohorts.suppression import (
    AttritionRow,
    attrition,
    binary_hidden,
    hidden_cells,
    is_small,
)


def _derivable_sums(rows: list[AttritionRow], chain: list[int]) -> list[int]:
    """What a reader learns about hidden removed counts: between two shown remaining counts,
    the total of the removed counts hidden in between."""
    shown = [k for k, row in enumerate(rows) if row.remaining is not None]
    sums = []
    for a, b in itertools.pairwise(shown):
        hidden = [k for k in range(a + 1, b + 1) if rows[k].removed is None]
        if hidden:
            sums.append(sum(chain[k - 1] - chain[k] for k in hidden))
    return sums


def _assert_safe(chain: list[int]) -> None:
    rows = attrition(chain)
    assert len(rows) == len(chain)
    for k, row in enumerate(rows):
        for value in (row.before, row.removed, row.remaining):
            assert not is_small(value)
        hidden = [row.remaining] if k == 0 else [row.before, row.removed, row.remaining]
        assert row.is_suppressed == (None in hidden)
        if k > 0 and row.before is not None:
            assert row.before == chain[k - 1]
        if row.remaining is not None:
            assert row.remaining == chain[k]
    for total in _derivable_sums(rows, chain):
        assert total >= 11


def test_attrition_without_small_counts_is_shown_whole() -> None:
    rows = attrition([64, 49, 37, 26, 15])
    assert [(r.before, r.removed, r.remaining) for r in rows] == [
        (None, None, 64),
        (64, 15, 49),
        (49, 12, 37),
        (37, 11, 26),
        (26, 11, 15),
    ]
    assert not any(r.is_suppressed for r in rows)


def test_a_small_removed_count_is_hidden_with_enough_around_it() -> None:
    rows = attrition([500, 400, 395, 380, 300])
    assert rows[1].removed == 100
    assert rows[2].removed is None and rows[2].remaining is None
    assert rows[3].removed is None and rows[3].remaining == 380
    assert rows[4].removed == 80
    _assert_safe([500, 400, 395, 380, 300])


def test_a_small_final_cohort_hides_the_tail() -> None:
    rows = attrition([200, 150, 7])
    assert rows[0].remaining == 200 and rows[1].remaining == 150
    assert rows[2].removed is None and rows[2].remaining is None
    assert attrition([6, 2]) == [
        AttritionRow(None, None, None, True),
        AttritionRow(None, None, None, True),
    ]


@pytest.mark.parametrize("seed", range(4))
def test_no_hidden_count_is_derivable_in_random_chains(seed: int) -> None:
    draw = random.Random(seed)
    for _ in range(300):
        chain = [draw.randint(0, 400)]
        for _ in range(draw.randint(0, 7)):
            chain.append(max(0, chain[-1] - draw.choice([0, 1, 3, 9, 10, 11, 25, 200])))
        _assert_safe(chain)


def test_a_partition_hides_at_least_two_cells_totalling_eleven() -> None:
    assert hidden_cells([12, 3]) == {0, 1}
    assert hidden_cells([100, 5, 40, 0, 30]) == {1, 4}
    assert hidden_cells([3, 2, 200]) == {0, 1, 2}
    assert hidden_cells([100, 15, 40, 0]) == set()


def test_a_yes_no_count_is_hidden_when_it_or_its_complement_is_small() -> None:
    assert binary_hidden(4, 15)
    assert binary_hidden(12, 15)
    assert binary_hidden(3, 3)
    assert not binary_hidden(15, 15)
    assert not binary_hidden(0, 40)
    assert not binary_hidden(20, 40)
