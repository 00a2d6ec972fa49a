"""`haochaping copy_database`: a SQLite demo database copied into a fresh PostgreSQL database, row for row, with
the tamper-evident chain and the rollups verifying there (the copy itself on PostgreSQL runs only)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest
from django.db import DEFAULT_DB_ALIAS, connection

from haochaping.web.copydb import CopyError, add_source, copy_order, occupied_tables

POSTGRESQL = pytest.mark.skipif(connection.vendor != "postgresql", reason="copy_database writes to PostgreSQL")


def start(*args: str, database_url: str, data_dir) -> subprocess.Popen:
    # Test mode, not demo mode: the same commands, with the fast password hasher for the demo's users.
    env = {**os.environ, "HAOCHAPING_TESTING": "1", "DATABASE_URL": database_url, "HAOCHAPING_DATA_DIR": str(data_dir)}
    cli = [sys.executable, "-c", "from haochaping.cli import main; main()", *args]
    return subprocess.Popen(cli, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(process: subprocess.Popen) -> tuple[int, str]:
    out, _ = process.communicate(timeout=180)
    return process.returncode, out


@POSTGRESQL
def test_a_sqlite_demo_is_copied_into_postgresql_and_verifies(tmp_path):
    import psycopg

    s = connection.settings_dict
    name = f"hcp_copy_{os.getpid()}"
    admin = {
        "host": s["HOST"] or None,
        "port": s["PORT"] or None,
        "user": s["USER"] or None,
        "password": s["PASSWORD"] or None,
        "autocommit": True,
    }
    password = f":{s['PASSWORD']}" if s["PASSWORD"] else ""
    target = f"postgres://{s['USER'] or ''}{password}@{s['HOST'] or 'localhost'}:{s['PORT'] or 5432}/{name}"
    source_path = tmp_path / "demo.sqlite3"
    source = f"sqlite:///{source_path}"
    with psycopg.connect(dbname="postgres", **admin) as pg:
        pg.execute(f'DROP DATABASE IF EXISTS "{name}"')
        pg.execute(f'CREATE DATABASE "{name}"')
    try:
        # The source demo and the target's schema are built side by side (each takes most of the test's time).
        target_migrate = start("migrate", "-v0", database_url=target, data_dir=tmp_path / "t")
        code, out = finish(start("migrate", "-v0", database_url=source, data_dir=tmp_path / "s"))
        assert code == 0, out
        demo = start("demo", "--ratings", "300", "--cities", "1", "--seed", "7", database_url=source, data_dir=tmp_path)
        code, out = finish(demo)
        assert code == 0, out
        code, out = finish(target_migrate)
        assert code == 0, out

        code, out = finish(start("copy_database", "--source", source, database_url=target, data_dir=tmp_path / "t"))
        assert code == 0, out
        assert "haochaping verify: OK" in out and "haochaping rollups verify: OK" in out
        assert "ratings_rating" in out

        with sqlite3.connect(source_path) as db:
            tables = [
                t
                for (t,) in db.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                )
                if t not in ("django_migrations", "ratings_ratingkey", "seal_verifyrun")
            ]
            expected = {t: db.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}
        with psycopg.connect(dbname=name, **admin) as pg:
            copied = {t: pg.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}
            assert pg.execute("SELECT COUNT(*) FROM ratings_ratingkey").fetchone()[0] == expected["ratings_rating"]
            # The demo's past months got their own partitions: nothing is left in DEFAULT.
            assert pg.execute("SELECT COUNT(*) FROM ratings_rating_default").fetchone()[0] == 0
            # The sequences moved past the copied ids: the next rating gets a new one.
            next_id = pg.execute("SELECT nextval(pg_get_serial_sequence('ratings_rating', 'id'))").fetchone()[0]
        assert expected["ratings_rating"] >= 300
        assert copied == expected
        assert next_id > expected["ratings_rating"]

    finally:
        with psycopg.connect(dbname="postgres", **admin) as pg:
            pg.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.django_db
def test_a_target_with_rows_is_refused_but_not_for_what_migrate_wrote(world):
    # The test database after `migrate` plus the `world` fixture: content types and permissions are migrate's, the
    # directory and the users are not.
    occupied = occupied_tables(DEFAULT_DB_ALIAS, copy_order())
    assert {"directory_region", "auth_user", "accounts_apikey"} <= set(occupied)
    assert "django_content_type" not in occupied and "auth_permission" not in occupied


@pytest.mark.django_db
def test_tables_come_after_the_tables_they_refer_to():
    order = [m._meta.db_table for m in copy_order()]
    assert order.index("directory_region") < order.index("ratings_rating") < order.index("cases_case")
    assert order.index("auth_user") < order.index("auth_user_groups")  # an auto-created many-to-many table
    assert len(order) == len(set(order))


def test_a_missing_or_malformed_source_is_refused(tmp_path):
    with pytest.raises(CopyError, match="no such file"):
        add_source(f"sqlite:///{tmp_path}/missing.sqlite3")
    with pytest.raises(CopyError, match="--source"):
        add_source("mysql://somewhere/db")
