"""The PostgreSQL connection layer across a server restart (``pg_ctl -m immediate``), on a
private server: what is run again on a new connection, what is not, and the prepared
statements, which a new connection does not have."""

from __future__ import annotations

from collections.abc import Iterator

import peewee
import pytest
from private_postgres import PrivatePostgres

from scanserve.storage import prepared
from scanserve.storage.database import DOWN, open_database, outage_of

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivatePostgres]:
    with PrivatePostgres() as server:  # initdb once for the module's tests
        yield server


@pytest.fixture
def pg(cluster: PrivatePostgres) -> PrivatePostgres:
    cluster.ensure_running()
    return cluster


@pytest.fixture
def db(pg: PrivatePostgres) -> Iterator[peewee.Database]:
    database = open_database(pg.new_database())  # a table t of the test's own
    database.execute_sql("CREATE TABLE t (x int)")
    yield database
    database.close()


def restart(pg: PrivatePostgres) -> None:
    pg.stop("immediate")
    pg.start()


def count(db: peewee.Database) -> int:
    return int(db.execute_sql("SELECT count(*) FROM t").fetchone()[0])


def test_a_read_runs_again_on_a_new_connection(pg, db):
    before = db.connection()
    restart(pg)
    assert db.execute_sql("SELECT 41 + 1").fetchone() == (42,)
    assert db.connection() is not before


def test_a_write_outside_a_transaction_is_not_run_twice(pg, db):
    restart(pg)
    with pytest.raises(peewee.OperationalError) as failed:
        db.execute_sql("INSERT INTO t VALUES (1)")
    assert outage_of(failed.value) == DOWN
    assert count(db) == 0  # the dead connection had not run it; nothing ran it again
    db.execute_sql("INSERT INTO t VALUES (2)")  # the next one goes to a new connection
    assert count(db) == 1


def test_a_transaction_begins_on_a_new_connection(pg, db):
    restart(pg)
    with db.atomic():  # BEGIN met the dead connection: nothing had begun, so it began anew
        db.execute_sql("INSERT INTO t VALUES (1)")
    assert count(db) == 1


def test_a_transaction_cut_off_fails_whole_and_is_never_committed_elsewhere(pg, db):
    def cut_off() -> None:
        with db.atomic():
            db.execute_sql("INSERT INTO t VALUES (1)")
            restart(pg)
            db.execute_sql("INSERT INTO t VALUES (2)")

    with pytest.raises((peewee.OperationalError, peewee.InterfaceError)) as failed:
        cut_off()
    assert outage_of(failed.value) == DOWN
    assert count(db) == 0


def test_prepared_statements_are_prepared_again_on_the_new_connection(pg, db):
    sql, params = "SELECT x FROM t WHERE x > %s", [0]
    db.execute_sql("INSERT INTO t VALUES (5)")
    assert prepared.execute(sql, params).fetchall() == [(5,)]
    restart(pg)
    assert prepared.execute(sql, params).fetchall() == [(5,)]
    assert (sql, 1) not in prepared._plain  # still a prepared statement, not given up on
    names = db.execute_sql("SELECT name FROM pg_prepared_statements").fetchall()
    assert [prepared._statements[(sql, 1)].name] == [n for (n,) in names]


def test_a_rollback_failing_after_a_full_disk_commit_is_read_as_the_full_disk() -> None:
    """A COMMIT refused for a full disk leaves no transaction: peewee's ROLLBACK after it
    fails with "cannot rollback", which alone says nothing; the chain says the disk is full."""
    import sqlite3

    import peewee

    from scanserve.storage.database import FULL, outage_of

    try:
        try:
            raise peewee.OperationalError("database or disk is full")
        except peewee.OperationalError:
            raise sqlite3.OperationalError("cannot rollback - no transaction is active")  # noqa: B904
    except sqlite3.OperationalError as exc:
        chained = exc
    assert outage_of(chained) == FULL
    assert (
        outage_of(sqlite3.OperationalError("cannot rollback - no transaction is active")) is None
    )
