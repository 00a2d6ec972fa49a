"""`haochaping backup` / `haochaping restore`: a backup taken while the database is open restores to a database
whose tamper-evident chain and rollups verify; a tampered backup is caught by the verify that follows a restore."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys

import pytest
from django.db import connection

from haochaping.accounts.models import ApiKey
from haochaping.accounts.scope import scope_for_api_key
from haochaping.ratings.intake import submit_ratings
from haochaping.seal import chain
from haochaping.web.backup import BackupError, backup, backup_kind, restore

pytestmark = pytest.mark.django_db(transaction=True)  # pg_dump and the restore subprocess see committed rows only

GRADES = ["very_satisfied", "satisfied", "basic", "dissatisfied", "very_dissatisfied"]


def _ratings(world, n: int = 8) -> None:
    key = ApiKey.objects.get(name="上城区审批系统")
    items = [
        {
            "grade": GRADES[i % 5],
            "channel": "qr",
            "window": {"hall": world.a.hall.code, "code": world.a.window.code},
            "comment": f"第{i}条",
            "rater_phone": "13800138000",
        }
        for i in range(n)
    ]
    assert all(r.ok for r in submit_ratings(items, scope=scope_for_api_key(key), client="test"))
    chain.append_blocks()


def haochaping(*args: str, database_url: str, data_dir) -> subprocess.CompletedProcess:
    env = {**os.environ, "HAOCHAPING_TESTING": "1", "DATABASE_URL": database_url, "HAOCHAPING_DATA_DIR": str(data_dir)}
    cli = [sys.executable, "-c", "from haochaping.cli import main; main()", *args]
    return subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite backup")
def test_sqlite_backup_while_open_restores_and_verifies(world, tmp_path):
    _ratings(world)
    done = backup(tmp_path / "b.sqlite3")  # the test database is open (and in memory) in this process
    assert done.size > 0 and backup_kind(done.path) == "sqlite"
    assert not (tmp_path / "b.sqlite3.partial").exists()

    restored = tmp_path / "restored.sqlite3"
    result = haochaping(
        "restore", "--input", str(done.path), "--yes", database_url=f"sqlite:///{restored}", data_dir=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "haochaping verify: OK" in result.stdout and "haochaping rollups verify: OK" in result.stdout
    with sqlite3.connect(restored) as db:
        assert db.execute("SELECT COUNT(*) FROM ratings_rating").fetchone()[0] == 8

    # A backup altered after the fact: the restore goes through, the verify after it says so.
    tampered = tmp_path / "tampered.sqlite3"
    shutil.copy(done.path, tampered)
    with sqlite3.connect(tampered) as db:
        db.execute(
            "UPDATE ratings_rating SET comment = comment || '（改）' WHERE id = (SELECT MIN(id) FROM ratings_rating)"
        )
    result = haochaping(
        "restore", "--input", str(tampered), "--yes", database_url=f"sqlite:///{tmp_path}/t.sqlite3", data_dir=tmp_path
    )
    assert result.returncode == 1
    assert "haochaping verify: 未通过 / FAILED" in result.stdout


def test_restore_refuses_what_is_not_a_backup(db, tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a database")
    with pytest.raises(BackupError, match="neither a SQLite file nor a pg_dump archive"):
        restore(junk)
    with pytest.raises(BackupError, match="no such file"):
        restore(tmp_path / "missing.sqlite3")
    other = tmp_path / "other.dump"
    other.write_bytes(b"PGDMP" + b"\0" * 32 if connection.vendor == "sqlite" else b"SQLite format 3\x00" + b"\0" * 32)
    with pytest.raises(BackupError, match="backup and database differ"):
        restore(other)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL backup")
@pytest.mark.skipif(shutil.which("pg_dump") is None or shutil.which("psql") is None, reason="no PostgreSQL client")
def test_postgresql_dump_restores_into_a_fresh_database_and_verifies(world, tmp_path):
    import psycopg

    _ratings(world)
    done = backup(tmp_path / "b.dump")
    assert backup_kind(done.path) == "postgresql"

    settings_dict = connection.settings_dict
    name = f"hcp_restore_{os.getpid()}"
    admin = {
        "host": settings_dict["HOST"] or None,
        "port": settings_dict["PORT"] or None,
        "user": settings_dict["USER"] or None,
        "password": settings_dict["PASSWORD"] or None,
        "dbname": "postgres",
        "autocommit": True,
    }
    user = settings_dict["USER"] or ""
    password = f":{settings_dict['PASSWORD']}" if settings_dict["PASSWORD"] else ""
    url = f"postgres://{user}{password}@{settings_dict['HOST'] or 'localhost'}:{settings_dict['PORT'] or 5432}/{name}"
    with psycopg.connect(**admin) as pg:
        pg.execute(f'DROP DATABASE IF EXISTS "{name}"')
        pg.execute(f'CREATE DATABASE "{name}"')
    try:
        # The target already holds the schema (partitioned tables and their triggers included): a restore
        # replaces it whole, in one transaction.
        loaded = subprocess.run(
            ["pg_restore", "--no-owner", "--dbname", url, str(done.path)], capture_output=True, text=True
        )
        assert loaded.returncode == 0, loaded.stderr
        result = haochaping("restore", "--input", str(done.path), "--yes", database_url=url, data_dir=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "haochaping verify: OK" in result.stdout and "haochaping rollups verify: OK" in result.stdout
    finally:
        with psycopg.connect(**admin) as pg:
            pg.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_restore_asks_before_replacing_the_database(db, tmp_path, monkeypatch):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    from haochaping.web.management.commands import restore as restore_command

    asked = []
    monkeypatch.setattr(restore_command, "input_fn", lambda prompt: asked.append(prompt) or "no")
    with pytest.raises(CommandError, match="cancelled"):
        call_command("restore", "--input", str(tmp_path / "any.dump"))
    assert asked and "stop" in asked[0]
