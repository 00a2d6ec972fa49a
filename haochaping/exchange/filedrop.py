"""File drop (文件投递): ratings from business systems that can only export files.

Each API key that may drop files has a folder ``<HAOCHAPING_DROP_DIR>/<key prefix>/`` with four sub-folders:
``incoming/`` (the business system writes here, under a temporary name, and renames the file when it is
complete), ``processing/``, ``done/`` and ``failed/``. A scan claims a file by renaming it into
``processing/`` (a rename is atomic: two workers never take the same file), submits every record through the
one intake path with the key's scope, writes ``<name>.result.jsonl`` (one line per record) and moves both to
``done/`` — or to ``failed/`` when the file as a whole cannot be read.

Exactly once: every record carries an idempotency key made of the file's SHA-256 and its line number (unless
it brings its own; interchange records bring one made of 办件编号, 环节, 评价次数 and 评价时间), so a worker
killed half-way leaves the file in ``processing/`` and the next scan resumes it from the top: the rows already
stored answer as idempotent duplicates, the rest are stored. A file whose SHA-256 was already processed for
the key is not processed again. Files are streamed: a 1 GB file is never held in memory.

Documentation for operators and business systems: docs/file-drop.md.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from haochaping.accounts.models import ApiKey
from haochaping.accounts.scope import scope_for_api_key
from haochaping.exchange.models import DropFile
from haochaping.lib.errors import DomainError
from haochaping.ratings import interchange
from haochaping.ratings.intake import submit_ratings

try:
    import fcntl
except ImportError:  # Windows: one scanning process only
    fcntl = None

log = logging.getLogger(__name__)

INCOMING, PROCESSING, DONE, FAILED = "incoming", "processing", "done", "failed"
SUBDIRS = (INCOMING, PROCESSING, DONE, FAILED)
RESULT_SUFFIX = ".result.jsonl"
TEMP_SUFFIXES = (".tmp", ".part")
CHUNK = 1 << 20

API_JSONL, API_CSV = "api-jsonl", "api-csv"
# Longest suffix first: "x.gbt39046.csv" is an interchange file, "x.csv" an API one.
SUFFIX_FORMATS = (
    (".gbt39046.csv", interchange.GB_CSV),
    (".gbt39046.jsonl", interchange.GB_JSONL),
    (".provincial.jsonl", interchange.PROV_JSONL),
    (".jsonl", API_JSONL),
    (".csv", API_CSV),
)


KNOWN = "、".join(suffix for suffix, _fmt in SUFFIX_FORMATS)


class FileRejected(Exception):
    """The file as a whole cannot be processed (unknown format, missing CSV columns): it goes to failed/."""


def drop_root() -> Path:
    return Path(settings.HAOCHAPING_DROP_DIR)


def key_dir(prefix: str) -> Path:
    return drop_root() / prefix


def format_of(name: str) -> str | None:
    lower = name.lower()
    for suffix, fmt in SUFFIX_FORMATS:
        if lower.endswith(suffix):
            return fmt
    return None


def is_temporary(name: str) -> bool:
    """Names a business system writes under until the file is complete (and our own results files)."""
    return name.startswith(".") or name.endswith(TEMP_SUFFIXES) or name.endswith(RESULT_SUFFIX)


def enable(key: ApiKey) -> Path:
    """Create the key's folders. incoming/ is group-writable: give it to the business system's group."""
    if key.revoked_at is not None:
        raise DomainError(_("接口密钥已吊销，不能启用文件投递"))
    base = key_dir(key.prefix)
    for sub in SUBDIRS:
        path = base / sub
        path.mkdir(parents=True, exist_ok=True)
        # incoming/: written by the business system; the others are only read by it (results files).
        path.chmod(0o2770 if sub == INCOMING else 0o2750)
    return base


# --- scanning -----------------------------------------------------------------------------------------


@dataclass
class Outcome:
    name: str
    state: str
    rows: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    note: str = ""


def scan_all() -> int:
    """Process every waiting file of every enabled key; returns the number of files finished (done or failed).

    Called by the periodic task (exchange/tasks.py) and by `haochaping filedrop scan`.
    """
    root = drop_root()
    if not root.is_dir():
        return 0
    finished = 0
    for entry in sorted(root.iterdir()):
        if not entry.is_dir() or entry.name.startswith("."):
            continue
        key = ApiKey.objects.select_related("unit", "region").filter(prefix=entry.name).first()
        if key is None:
            log.warning("file drop: folder %s matches no API key, skipped", entry)
            continue
        if key.revoked_at is not None:
            log.warning("file drop: API key %s (%s) is revoked, folder %s skipped", key.prefix, key.name, entry)
            continue
        try:
            outcomes = scan_key(key)
        except Exception:
            # One key's trouble (a database error mid-file) must not stop the others; its file stays in
            # processing/ and is resumed by the next scan.
            log.exception("file drop: scanning %s failed", entry)
            continue
        finished += sum(1 for o in outcomes if o.state != DropFile.State.PROCESSING)
    return finished


def scan_key(key: ApiKey) -> list[Outcome]:
    base = key_dir(key.prefix)
    if not (base / INCOMING).is_dir():
        return []
    for sub in (PROCESSING, DONE, FAILED):
        (base / sub).mkdir(exist_ok=True)
    outcomes = []
    # Files left in processing/ by a worker that died: resumed first (the lock tells a live worker's file).
    for path in _waiting(base / PROCESSING):
        outcome = _process_locked(key, path)
        if outcome:
            outcomes.append(outcome)
    for path in _waiting(base / INCOMING):
        claimed = _claim(path, base / PROCESSING)
        if claimed is None:
            continue  # another worker took it
        outcome = _process_locked(key, claimed)
        if outcome:
            outcomes.append(outcome)
    return outcomes


def _waiting(folder: Path) -> list[Path]:
    try:
        entries = sorted(folder.iterdir(), key=lambda p: p.name)
    except FileNotFoundError:
        return []
    return [p for p in entries if not is_temporary(p.name) and p.is_file()]


def _free_name(folder: Path, name: str) -> Path:
    """folder/name, or folder/name~N when a file of that name is still there (the same name dropped again)."""
    target = folder / name
    n = 1
    while target.exists() or (folder / (target.name + RESULT_SUFFIX)).exists():
        n += 1
        target = folder / f"{name}~{n}"
    return target


def _claim(path: Path, processing: Path) -> Path | None:
    # Two workers may both see the file; only one rename finds it (the other gets FileNotFoundError). The
    # target is free: a directory holds one file of a name, so no other claim can be renaming onto it.
    target = _free_name(processing, path.name)
    try:
        os.rename(path, target)
    except FileNotFoundError:
        return None
    return target


def _process_locked(key: ApiKey, path: Path) -> Outcome | None:
    try:
        fh = open(path, "rb")  # noqa: SIM115 - held open for the lock while the file is processed
    except FileNotFoundError:
        return None  # finished by another worker meanwhile
    with fh:
        if fcntl is not None:
            try:
                # Released by the kernel when the holder dies: a SIGKILLed worker's file is free to resume.
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return None  # a live worker is on it
        if not path.exists():
            return None
        return process_file(key, path, fh)


def _original_name(path: Path) -> str:
    name = path.name
    head, sep, tail = name.rpartition("~")
    return head if sep and tail.isdigit() else name


def _hash(fh) -> tuple[str, int, str]:
    """SHA-256, size and encoding (utf-8-sig unless some byte sequence is not UTF-8: then GB 18030)."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    encoding = "utf-8-sig"
    size = 0
    fh.seek(0)
    while chunk := fh.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
        if encoding == "utf-8-sig":
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                encoding = "gb18030"
    if encoding == "utf-8-sig":
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            encoding = "gb18030"
    fh.seek(0)
    return digest.hexdigest(), size, encoding


def process_file(key: ApiKey, path: Path, fh) -> Outcome:
    """Process one claimed file (in processing/, locked by the caller) from its first record."""
    base = path.parent.parent
    name = _original_name(path)
    result_path = path.with_name(path.name + RESULT_SUFFIX)
    sha, size, encoding = _hash(fh)
    fmt = format_of(name)
    row = DropFile.objects.filter(api_key=key, sha256=sha).first()
    if row is not None and row.state == DropFile.State.DONE:
        if result_path.exists():
            # Finished, but the worker died before moving the file: finish the move.
            _move(path, result_path, base / DONE)
            return Outcome(name, row.state, row.rows, row.stored, row.duplicates, row.rejected)
        note = _("同一文件（SHA-256 相同）已于 {at} 处理（投递记录 {id}），未重复处理").format(
            at=timezone.localtime(row.finished_at).strftime("%Y-%m-%d %H:%M:%S") if row.finished_at else "",
            id=row.pk,
        )
        _write_note(result_path, {"status": "duplicate_file", "message": note, "drop_file": row.pk, "sha256": sha})
        _move(path, result_path, base / DONE)
        log.info("file drop: %s/%s is a copy of drop file %s, not processed again", key.prefix, name, row.pk)
        return Outcome(name, "duplicate", note=note)
    now = timezone.now()
    if row is None:
        try:
            with transaction.atomic():
                row = DropFile.objects.create(
                    api_key=key, name=name[:255], sha256=sha, fmt=fmt or "", size=size, received_at=now
                )
        except IntegrityError:
            # A copy of the same file claimed by another worker this very moment: left for the next scan,
            # which finds that copy done and files this one as a duplicate.
            return Outcome(name, DropFile.State.PROCESSING)
    else:
        # Resumed after a crash (processing) or a previously failed copy: start over, the keys make it safe.
        row.name, row.fmt, row.size = name[:255], fmt or "", size
        row.state, row.error, row.finished_at = DropFile.State.PROCESSING, "", None
        row.rows = row.stored = row.duplicates = row.rejected = 0
        row.save()
    try:
        if fmt is None:
            raise FileRejected(_("无法识别的文件格式：{name}（应为 {suffixes}）").format(name=name, suffixes=KNOWN))
        counts = _import(key, fh, fmt=fmt, sha=sha, encoding=encoding, result_path=result_path, row=row)
    except (FileRejected, DomainError, UnicodeDecodeError, csv.Error) as exc:
        message = exc.message if isinstance(exc, DomainError) else str(exc)
        with transaction.atomic():
            DropFile.objects.filter(pk=row.pk).update(
                state=DropFile.State.FAILED, error=message, finished_at=timezone.now()
            )
        _append_note(result_path, {"status": "file_failed", "message": message})
        _move(path, result_path, base / FAILED)
        log.warning("file drop: %s/%s failed: %s", key.prefix, name, message)
        return Outcome(name, DropFile.State.FAILED, note=message)
    # Marked done before the move: a worker killed in between leaves a done file with its results in
    # processing/, which the next scan only moves (above).
    DropFile.objects.filter(pk=row.pk).update(state=DropFile.State.DONE, finished_at=timezone.now(), **counts)
    _move(path, result_path, base / DONE)
    log.info("file drop: %s/%s done: %s", key.prefix, name, counts)
    return Outcome(name, DropFile.State.DONE, **counts)


def _write_note(result_path: Path, note: dict) -> None:
    with open(result_path, "w", encoding="utf-8") as out:
        out.write(json.dumps(note, ensure_ascii=False) + "\n")


def _append_note(result_path: Path, note: dict) -> None:
    with open(result_path, "a", encoding="utf-8") as out:
        out.write(json.dumps(note, ensure_ascii=False) + "\n")


def _move(path: Path, result_path: Path, folder: Path) -> None:
    target = _free_name(folder, _original_name(path))
    if result_path.exists():
        os.rename(result_path, target.with_name(target.name + RESULT_SUFFIX))
    os.rename(path, target)


# --- reading and submitting ----------------------------------------------------------------------------


def _text_lines(fh, encoding: str) -> io.TextIOWrapper:
    fh.seek(0)
    # newline="": the csv module handles line ends itself (quoted fields may hold newlines).
    return io.TextIOWrapper(fh, encoding=encoding, newline="")


def _import(key: ApiKey, fh, *, fmt: str, sha: str, encoding: str, result_path: Path, row: DropFile) -> dict:
    scope = scope_for_api_key(key)
    client = f"key:{key.prefix}"  # the same client as the key's API calls: their idempotency keys are shared
    counts = {"rows": 0, "stored": 0, "duplicates": 0, "rejected": 0}
    text = _text_lines(fh, encoding)
    try:
        with open(result_path, "w", encoding="utf-8") as out:
            if fmt in (API_JSONL, API_CSV):
                records = _api_jsonl(text) if fmt == API_JSONL else _api_csv(text)
                results = _submit_api(records, sha=sha, scope=scope, client=client)
            else:
                results = (
                    (r.row, r.status, r.rating_id, r.message, r.errors)
                    for r in interchange.ratings_import_iter(
                        interchange.read_records(text, fmt), fmt=fmt, scope=scope, client=client
                    )
                )
            batch_max = settings.HAOCHAPING_BATCH_MAX
            for line, status, rating_id, message, errors in results:
                counts["rows"] += 1
                if status == 201:
                    counts["stored"] += 1
                elif status == 200:
                    counts["duplicates"] += 1
                else:
                    counts["rejected"] += 1
                entry: dict[str, Any] = {"line": line, "status": status}
                if rating_id:
                    entry["rating_id"] = rating_id
                else:
                    entry["message"] = message
                    entry["errors"] = errors
                out.write(json.dumps(entry, ensure_ascii=False) + "\n")
                if counts["rows"] % batch_max == 0:
                    out.flush()
                    # Progress for `filedrop status` while a large file is processed.
                    DropFile.objects.filter(pk=row.pk).update(**counts)
    finally:
        text.detach()
    return counts


def _api_jsonl(lines: Iterable[str]) -> Iterator[tuple[int, Any]]:
    """(line number, item or an error dict) per non-blank line."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, _LineError(_("JSON 无法解析：{msg}").format(msg=exc.msg))


# CSV cells are text: these fields are turned into what the API item carries.
_CSV_BOOL = {"true": True, "1": True, "是": True, "yes": True, "false": False, "0": False, "否": False, "no": False}
_BOOL_FIELDS = ("is_default", "anonymous", "public")
_INT_FIELDS = ("sequence",)


def _api_csv(lines: Iterable[str]) -> Iterator[tuple[int, Any]]:
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        return
    header = [h.strip().lstrip("\ufeff") for h in header]
    if "grade" not in header or "channel" not in header:
        raise FileRejected(_("CSV 缺少列：grade、channel（表头应为接口字段名，见 docs/file-drop.md）"))
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        line = reader.line_num
        try:
            yield line, _csv_item(dict(zip(header, values, strict=False)))
        except ValueError as exc:
            yield line, _LineError(str(exc))


def _csv_item(cells: dict[str, str]) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for name, raw in cells.items():
        value = raw.strip()
        if not name or value == "":
            continue  # an empty cell is an absent field
        if name in ("window.hall", "window.code"):
            item.setdefault("window", {})[name.split(".")[1]] = value
        elif name == "tags":
            item["tags"] = [t.strip() for t in value.replace("，", ",").split(",") if t.strip()]
        elif name == "answers":
            try:
                item["answers"] = json.loads(value)
            except json.JSONDecodeError:
                raise ValueError(_("字段 answers 应为 JSON 对象")) from None
        elif name in _BOOL_FIELDS:
            if value.lower() not in _CSV_BOOL:
                raise ValueError(_("字段 {name} 应为 true/false，实际为 {value}").format(name=name, value=value))
            item[name] = _CSV_BOOL[value.lower()]
        elif name in _INT_FIELDS:
            item[name] = int(value) if value.isdigit() else value
        else:
            item[name] = value
    return item


@dataclass
class _LineError:
    message: str


def _submit_api(
    records: Iterable[tuple[int, Any]], *, sha: str, scope, client: str
) -> Iterator[tuple[int, int, str | None, str | None, list]]:
    batch: list[tuple[int, Any]] = []
    size = settings.HAOCHAPING_BATCH_MAX
    for pair in records:
        batch.append(pair)
        if len(batch) >= size:
            yield from _submit_batch(batch, sha=sha, scope=scope, client=client)
            batch = []
    if batch:
        yield from _submit_batch(batch, sha=sha, scope=scope, client=client)


def _submit_batch(batch: list[tuple[int, Any]], *, sha: str, scope, client: str):
    answers: dict[int, tuple] = {}
    items: list[tuple[int, dict]] = []
    for pos, (line, record) in enumerate(batch):
        if isinstance(record, _LineError):
            answers[pos] = (line, 422, None, record.message, [{"field": None, "message": record.message}])
        elif not isinstance(record, dict):
            message = _("每行应为一个 JSON 对象")
            answers[pos] = (line, 422, None, message, [{"field": None, "message": message}])
        else:
            if not record.get("idempotency_key"):
                # The file's content and the line: the same line of the same file is the same rating,
                # however often the file is (re)processed.
                record = {**record, "idempotency_key": f"drop:{sha}:{line}"}
            items.append((pos, record))
    if items:
        outcomes = submit_ratings([record for _, record in items], scope=scope, client=client)
        for (pos, _record), r in zip(items, outcomes, strict=True):
            answers[pos] = (batch[pos][0], r.status, r.rating_id, r.message, r.errors)
    return [answers[pos] for pos in range(len(batch))]


# --- status -------------------------------------------------------------------------------------------


def recent(limit: int = 20, key: ApiKey | None = None) -> list[DropFile]:
    qs = DropFile.objects.select_related("api_key")
    if key is not None:
        qs = qs.filter(api_key=key)
    return list(qs.order_by("-id")[:limit])
