"""Where each warehouse stands in the change log, and pruning what every warehouse has applied.

Kept in PostgreSQL (`replication.checkpoints`, migration 0017) so that saving a checkpoint and
deleting the change-log rows it covers are one transaction: the log never loses a row some
warehouse still needs, and a checkpoint never points past rows that were not pruned.
"""

import psycopg
from sqlalchemy import URL

from transactional.capture.reader import libpq_uri

_PRUNE_BATCH = 200_000


def load_checkpoint(owner: URL, *, destination: str) -> int | None:
    with psycopg.connect(libpq_uri(owner)) as connection:
        row = connection.execute(
            "SELECT watermark FROM replication.checkpoints WHERE destination = %s",
            (destination,),
        ).fetchone()
    return None if row is None else int(row[0])


def save_checkpoint(owner: URL, *, destination: str, since: int | None, until: int) -> None:
    """Move `destination` to `until` and prune the log below every destination's checkpoint.

    Never moves a checkpoint backwards (two passes racing leave the larger one). `since` is
    the checkpoint the pass started from, or None when a full resync set it afresh.
    """
    with psycopg.connect(libpq_uri(owner)) as connection, connection.transaction():
        if since is None:
            connection.execute(
                "INSERT INTO replication.checkpoints (destination, watermark) VALUES (%s, %s) "
                "ON CONFLICT (destination) DO UPDATE SET watermark = excluded.watermark, "
                "updated_at = clock_timestamp()",
                (destination, until),
            )
        else:
            connection.execute(
                "UPDATE replication.checkpoints SET watermark = greatest(watermark, %s), "
                "updated_at = clock_timestamp() WHERE destination = %s",
                (until, destination),
            )
        floor = connection.execute("SELECT min(watermark) FROM replication.checkpoints").fetchone()
        if floor is None or floor[0] is None:
            return
        while True:
            pruned = connection.execute(
                "DELETE FROM change_log WHERE id IN "
                "(SELECT id FROM change_log WHERE txid < %s LIMIT %s)",
                (floor[0], _PRUNE_BATCH),
            ).rowcount
            if pruned < _PRUNE_BATCH:
                break


def forget_destination(owner: URL, *, destination: str) -> bool:
    """Drop a warehouse that will not come back, so the log can be pruned past it."""
    with psycopg.connect(libpq_uri(owner)) as connection, connection.transaction():
        return (
            connection.execute(
                "DELETE FROM replication.checkpoints WHERE destination = %s", (destination,)
            ).rowcount
            == 1
        )
