"""Small-cell suppression of every count a cohort publishes.

Primary rule (CMS cell-size suppression policy): a count of 1 to 10 is never shown; 0 is.
Complementary rules, so that a hidden count cannot be recovered by subtraction from the
counts that are shown:
- a distribution that partitions the cohort (age band, sex, race, ethnicity): when any cell
  is hidden, the next smallest cells are hidden too until at least two cells totalling 11 or
  more are hidden;
- a yes/no count (a comorbidity, a medication, an outcome) out of a shown denominator: hidden
  when the patients *without* it number 1 to 10 as well;
- attrition (each row's before is the previous row's remaining, before = removed +
  remaining): hidden removed counts are grouped so that the shown counts around them reveal
  only a sum of 11 or more (see `_hidden_chain`).
"""

from collections.abc import Sequence
from dataclasses import dataclass

THRESHOLD = 11


def is_small(count: int | None) -> bool:
    return count is not None and 0 < count < THRESHOLD


def shown(count: int | None) -> int | None:
    return None if is_small(count) else count


def hidden_cells(counts: Sequence[int]) -> set[int]:
    """Indexes of a partition's cells to hide (primary and complementary)."""
    hidden = {i for i, count in enumerate(counts) if is_small(count)}
    if not hidden:
        return hidden
    by_size = sorted((count, i) for i, count in enumerate(counts) if i not in hidden and count)
    while by_size and (len(hidden) < 2 or sum(counts[i] for i in hidden) < THRESHOLD):
        hidden.add(by_size.pop(0)[1])
    return hidden


def binary_hidden(numerator: int, denominator: int) -> bool:
    """Whether `numerator` of `denominator` must be hidden (itself or its complement small)."""
    return is_small(denominator) or is_small(numerator) or is_small(denominator - numerator)


@dataclass(frozen=True)
class AttritionRow:
    before: int | None
    removed: int | None
    remaining: int | None
    is_suppressed: bool


def _hidden_chain(remaining: Sequence[int]) -> tuple[list[bool], list[bool]]:
    """Which remaining counts c[k] and removed counts r[k] = c[k-1] - c[k] to hide.

    Once c[k] is small, every later count is too: the tail from there is hidden. Elsewhere a
    small r[k] opens a block (a, b] of hidden removed counts and hidden remaining counts
    strictly inside it, grown until what the block's shown ends reveal, c[a] - c[b] (the sum
    of its hidden removed counts), is at least 11."""
    c = list(remaining)
    last = len(c) - 1
    hide_c = [False] * len(c)
    hide_r = [False] * len(c)
    tail = next((k for k, count in enumerate(c) if is_small(count)), None)
    if tail is not None:
        for k in range(tail, last + 1):
            hide_c[k] = True
            hide_r[k] = k > 0
    limit = tail if tail is not None else last + 1  # steps before `limit` have shown counts
    k = 1
    while k < limit:
        if not is_small(c[k - 1] - c[k]):
            k += 1
            continue
        a, b = k - 1, k
        while b != tail and c[a] - c[b] < THRESHOLD:
            if b + 1 < limit or (tail is not None and b + 1 == tail):
                b += 1
            elif a > 0:
                a -= 1
                while a > 0 and hide_c[a]:
                    a -= 1
            else:
                hide_c[0] = True
                break
        for j in range(a + 1, b + 1):
            hide_r[j] = True
        for j in range(a + 1, b):
            hide_c[j] = True
        k = b + 1
    return hide_c, hide_r


def attrition(remaining: Sequence[int]) -> list[AttritionRow]:
    """Rows for the entry step and each rule, from the patients left after each step."""
    hide_c, hide_r = _hidden_chain(remaining)
    rows = [AttritionRow(None, None, None if hide_c[0] else remaining[0], hide_c[0])]
    for k in range(1, len(remaining)):
        removed = remaining[k - 1] - remaining[k]
        rows.append(
            AttritionRow(
                before=None if hide_c[k - 1] else remaining[k - 1],
                removed=None if hide_r[k] else removed,
                remaining=None if hide_c[k] else remaining[k],
                is_suppressed=hide_c[k - 1] or hide_r[k] or hide_c[k],
            )
        )
    return rows
