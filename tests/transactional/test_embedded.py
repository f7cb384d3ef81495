"""The embedded PostgreSQL: processes starting at once share one server and one database, and
the server stops when its last live user exits, even after a user was killed."""

import subprocess
import sys
import textwrap
from pathlib import Path

START = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from sqlalchemy import create_engine, text
    from transactional.embedded import start_embedded_postgres

    url = start_embedded_postgres(Path(sys.argv[1]))
    engine = create_engine(url)
    with engine.connect() as connection:
        print(connection.execute(text("SELECT current_database()")).scalar(), flush=True)
    engine.dispose()
    time.sleep(float(sys.argv[2]))
    """
)


def _start(state: Path, hold: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", START, str(state), str(hold)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_processes_starting_at_once_share_the_server_and_it_stops_after_the_last(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    first, second = _start(state, 0), _start(state, 0)
    outputs = [process.communicate(timeout=180) for process in (first, second)]
    assert [process.returncode for process in (first, second)] == [0, 0], outputs
    assert [out.strip() for out, _ in outputs] == ["emr", "emr"]
    assert not (state / "pgdata" / "postmaster.pid").exists()


def test_a_killed_user_does_not_keep_the_server_up(tmp_path: Path) -> None:
    state = tmp_path / "state"
    killed = _start(state, 600)
    assert killed.stdout is not None and killed.stdout.readline().strip() == "emr"
    killed.kill()  # no exit handlers: its pid stays on the server's list of users
    killed.communicate(timeout=30)
    last = _start(state, 0)
    out, err = last.communicate(timeout=180)
    assert out.strip() == "emr"
    assert last.returncode == 0, err
    assert not (state / "pgdata" / "postmaster.pid").exists()
