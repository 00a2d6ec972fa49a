"""Backup and restore of the database (`haochaping backup`, `haochaping restore`; docs/deploy.md#backup).

SQLite: SQLite's online backup API copies a consistent snapshot while the application keeps writing; a restore
checks the file (PRAGMA integrity_check) and copies it over the database with the same API. PostgreSQL: pg_dump's
custom format, restored with pg_restore --clean in one transaction. After a restore the tamper-evident chain and
the rollups are verified, so a damaged or partial backup shows at once.

Not in a backup: SECRET_KEY, HAOCHAPING_PII_KEYS / HAOCHAPING_PII_HASH_KEY (without them the raters' personal data
cannot be read) and HAOCHAPING_SEAL_KEY (without it `verify` reports seals made with an unknown key), and the
uploaded files under DATA_DIR/media (case evidence, paper-form scans). Keep those separately.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


class BackupError(CommandError):
    pass


@dataclass
class Done:
    path: Path
    size: int
    seconds: float


def vendor(using: str = DEFAULT_DB_ALIAS) -> str:
    return connections[using].vendor


def backup(output: Path, *, using: str = DEFAULT_DB_ALIAS) -> Done:
    started = time.perf_counter()
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")  # a crash never leaves a file that looks complete
    partial.unlink(missing_ok=True)
    kind = vendor(using)
    if kind == "sqlite":
        _sqlite_backup(using, partial)
    elif kind == "postgresql":
        _run(["pg_dump", "--format=custom", "--file", str(partial), *libpq_args(using)], using)
    else:
        raise BackupError(f"不支持的数据库 / unsupported database: {kind}")
    os.replace(partial, output)
    return Done(output, output.stat().st_size, time.perf_counter() - started)


def _sqlite_backup(using: str, target: Path) -> None:
    connection = connections[using]
    connection.ensure_connection()
    destination = sqlite3.connect(target)
    try:
        # Through Django's own connection, so an in-memory test database works too; pages=… lets writers in
        # between steps instead of holding the database for the whole copy.
        connection.connection.backup(destination, pages=4096)
        _integrity(destination, target)
    finally:
        destination.close()


def _integrity(db: sqlite3.Connection, path: Path) -> None:
    result = db.execute("PRAGMA integrity_check").fetchall()
    if result != [("ok",)]:
        raise BackupError(f"{path}: PRAGMA integrity_check 未通过 / failed: {result[:5]}")
    if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'django_migrations'").fetchone():
        raise BackupError(f"{path}: 不是 haochaping 数据库（无 django_migrations 表）/ not a haochaping database")


def backup_kind(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(16)
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "postgresql"
    raise BackupError(f"{path}: 不是 SQLite 数据库或 pg_dump 归档 / neither a SQLite file nor a pg_dump archive")


def restore(source: Path, *, using: str = DEFAULT_DB_ALIAS) -> Done:
    """Replace the database's content with the backup. The services must be stopped (web, worker)."""
    started = time.perf_counter()
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"--input: 文件不存在 / no such file: {source}")
    kind, target = backup_kind(source), vendor(using)
    if kind != target:
        hint = "（SQLite → PostgreSQL 请用 haochaping copy_database）" if kind == "sqlite" else ""
        raise BackupError(f"--input: {kind} 备份不能恢复到 {target} 数据库{hint} / backup and database differ")
    connections[using].close()
    if kind == "sqlite":
        _sqlite_restore(source, Path(connections[using].settings_dict["NAME"]))
    else:
        _pg_restore(source, using)
    return Done(source, source.stat().st_size, time.perf_counter() - started)


def _sqlite_restore(source: Path, target: Path) -> None:
    checked = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        _integrity(checked, source)
        target.parent.mkdir(parents=True, exist_ok=True)
        destination = sqlite3.connect(target)
        try:
            # The backup API writes through SQLite (WAL and all) in one transaction: never a half-copied file.
            checked.backup(destination)
            _integrity(destination, target)
        finally:
            destination.close()
    finally:
        checked.close()


def _pg_restore(source: Path, using: str) -> None:
    """The archive as SQL (pg_restore -f -) run by psql in one transaction after emptying the schema.

    Not pg_restore --clean: it cannot drop the partitions' inherited constraints (docs/partitioning.md) and stops
    half way. Dropping the schema and loading the script in the same transaction is all or nothing: a failed
    restore leaves the database as it was.
    """
    for program in ("pg_restore", "psql"):
        if shutil.which(program) is None:
            raise BackupError(f"{program} 未安装（apt install postgresql-client）/ {program} is not installed")
    env = _libpq_env(using)
    listed = subprocess.run(["pg_restore", "--list", str(source)], capture_output=True, text=True, env=env)
    if listed.returncode != 0:  # an unreadable archive is refused before the database is touched
        raise BackupError(f"pg_restore --list 失败 / failed: {listed.stderr.strip()[-2000:]}")
    schema = "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;"
    with tempfile.TemporaryFile() as script_errors, tempfile.TemporaryFile() as load_output:
        load = subprocess.Popen(
            ["psql", "--no-psqlrc", "--quiet", "--set", "ON_ERROR_STOP=1", "--single-transaction"]
            + ["--command", schema, "--file", "-", *libpq_args(using)],
            stdin=subprocess.PIPE,
            stdout=load_output,
            stderr=subprocess.STDOUT,
            env=env,
        )
        script = subprocess.Popen(
            ["pg_restore", "--no-owner", "--no-privileges", "--file", "-", str(source)],
            stdout=subprocess.PIPE,
            stderr=script_errors,
            env=env,
        )
        try:
            shutil.copyfileobj(script.stdout, load.stdin, 1 << 20)
        except BrokenPipeError:
            pass  # psql stopped on an error: its output says which
        script.wait()
        if script.returncode != 0 and load.poll() is None:
            # pg_restore broke off: make psql fail, so its single transaction (schema dropped) rolls back. "\."
            # ends a COPY cut short, or is itself an error outside one.
            with contextlib.suppress(BrokenPipeError):
                load.stdin.write(b"\n\\.\nDO $$ BEGIN RAISE EXCEPTION 'pg_restore failed'; END $$;\n")
        with contextlib.suppress(BrokenPipeError):
            load.stdin.close()
        load.wait()
        script_errors.seek(0)
        load_output.seek(0)
        if script.returncode != 0:
            errors = script_errors.read().decode(errors="replace").strip()[-2000:]
            raise BackupError(f"pg_restore 失败，数据库未改动 / failed, nothing changed: {errors}")
        if load.returncode != 0:
            errors = load_output.read().decode(errors="replace").strip()[-2000:]
            raise BackupError(f"psql 失败，数据库未改动 / failed, nothing changed: {errors}")


def libpq_args(using: str = DEFAULT_DB_ALIAS, *, with_name: bool = True) -> list[str]:
    """pg_dump/pg_restore connection options from settings.DATABASES (the password goes in PGPASSWORD)."""
    db = connections[using].settings_dict
    args = []
    if db.get("HOST"):
        args += ["--host", db["HOST"]]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", db["USER"]]
    args.append("--no-password")  # never a prompt from a service or a cron job
    if with_name:
        args.append(db["NAME"])
    return args


def _libpq_env(using: str) -> dict[str, str]:
    db = connections[using].settings_dict
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    options = db.get("OPTIONS") or {}
    for option, variable in (("sslmode", "PGSSLMODE"), ("sslrootcert", "PGSSLROOTCERT"), ("sslcert", "PGSSLCERT")):
        if options.get(option):
            env[variable] = str(options[option])
    return env


def _run(argv: list[str], using: str) -> None:
    if shutil.which(argv[0]) is None:
        raise BackupError(f"{argv[0]} 未安装（apt install postgresql-client）/ {argv[0]} is not installed")
    done = subprocess.run(argv, env=_libpq_env(using), capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{argv[0]} 失败 / failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")


def verify_after_load(write: Callable[[str], None], *, using: str = DEFAULT_DB_ALIAS) -> bool:
    """`haochaping verify` and `haochaping rollups verify` on the loaded database; their output goes to write."""
    executor = MigrationExecutor(connections[using])
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        write(
            f"数据库结构落后于代码 {len(pending)} 个迁移：先运行 haochaping migrate，再运行 haochaping verify"
            f" / {len(pending)} migrations unapplied: run `haochaping migrate`, then `haochaping verify`"
        )
        return False
    ok = True
    for name, args in (("verify", ["verify"]), ("rollups verify", ["rollups", "verify"])):
        out = io.StringIO()
        try:
            call_command(*args, stdout=out)
            status = "OK"
        except CommandError as exc:
            ok = False
            status = f"未通过 / FAILED: {exc}"
        write(f"haochaping {name}: {status}")
        for line in out.getvalue().splitlines()[-5:]:
            write(f"  {line}")
    return ok
