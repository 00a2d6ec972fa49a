"""The comment index: every rating's 文字评价 and every complaint's and suggestion's text, prepared (insight/text.py)
into CommentDoc rows, with the per-unit monthly term counts (TermMonth) kept up to date in the same transaction.

Incremental: a cursor per source remembers the highest id indexed, so a run reads only what arrived since. Rows
that commit late (a long import transaction whose ids the cursor has already passed) are picked up by
``catch_up``, which looks for unindexed comments of the last days; a comment is never indexed twice (the unique
(source, source_id) and a check before writing), so the term counts stay exact. Nothing here runs on the intake
path: the worker calls ``index_new`` every few minutes (insight/tasks.py).

Speed (bench/insight_index.py): documents are written with one plain ``executemany`` per batch (no model
instances), already-indexed ids are found with one range scan, and a run with a full batch or more to do prepares
the texts in a pool of WORKERS forked processes (each inherits the pipeline), so a backlog or bulk import of a
million comments fits in the target of 3 minutes on 2 cores.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from haochaping.insight.models import CommentDoc, IndexCursor, Source
from haochaping.insight.text import Pipeline, pipeline

BATCH = 20000
WORKERS = 2  # processes preparing texts in a long run (2 cores: the other one writes between batches)

RATING_FIELDS = ("id", "comment", "region_id", "unit_id", "service_item_id", "hall_id", "channel", "grade", "rated_at")
COMPLAINT_FIELDS = ("id", "summary", "region_id", "unit_id", "service_item_id", "hall_id", "channel", "opened_at")


@dataclass
class Row:
    source: str
    source_id: int
    raw: str
    region_id: int
    unit_id: int
    service_item_id: int | None
    hall_id: int | None
    channel: str
    grade: int | None
    at: datetime


def _ratings(after: int, limit: int, since: datetime | None = None) -> list[Row]:
    from haochaping.ratings.models import Rating

    qs = Rating.objects.filter(id__gt=after).exclude(comment="").order_by("id")
    if since is not None:
        qs = qs.filter(rated_at__gte=since)
    return [Row(Source.RATING, r[0], r[1], *r[2:7], r[7], r[8]) for r in qs.values_list(*RATING_FIELDS)[:limit]]


def _complaints(after: int, limit: int, since: datetime | None = None) -> list[Row]:
    """The texts the public wrote to open a case: complaints (投诉) and suggestions (意见建议, 意见箱). Both are cases
    (one id sequence, one cursor) and are indexed under the source "complaint"; a suggestion's topic prefix
    (【服务态度】) is a label, not the writer's words, and is left out."""
    from haochaping.cases.models import Case, Kind
    from haochaping.cases.opening import TOPIC_PREFIX

    kinds = (Kind.COMPLAINT, Kind.SUGGESTION)
    qs = Case.objects.filter(kind__in=kinds, id__gt=after).exclude(summary="").order_by("id")
    if since is not None:
        qs = qs.filter(opened_at__gte=since)
    rows = []
    for r in qs.values_list(*COMPLAINT_FIELDS, "kind")[:limit]:
        text = TOPIC_PREFIX.sub("", r[1], count=1) if r[8] == Kind.SUGGESTION else r[1]
        rows.append(Row(Source.COMPLAINT, r[0], text, *r[2:7], None, r[7]))
    return rows


READERS = {Source.RATING: _ratings, Source.COMPLAINT: _complaints}


def month_of(day: date) -> date:
    return day.replace(day=1)


@dataclass(slots=True)
class DocRow:
    """A CommentDoc to write: the same attribute names, without a model instance (a million of those cost more
    than segmenting the texts)."""

    source: str
    source_id: int
    region_id: int
    unit_id: int
    service_item_id: int | None
    hall_id: int | None
    channel: str
    grade: int | None
    is_bad: bool
    day: date
    text: str
    tokens: str


DOC_COLUMNS = tuple(DocRow.__slots__)


def _docs(rows: Iterable[Row], prepared: Iterable[tuple[str, str]]) -> Iterator[DocRow]:
    tz = timezone.get_current_timezone()
    for r, (text, tokens) in zip(rows, prepared, strict=True):
        yield DocRow(
            r.source,
            r.source_id,
            r.region_id,
            r.unit_id,
            r.service_item_id,
            r.hall_id,
            r.channel,
            r.grade,
            r.grade is None or r.grade <= 2,
            r.at.astimezone(tz).date(),
            text,
            tokens,
        )


def prepare_serial(pipe: Pipeline, texts: list[str]) -> list[tuple[str, str]]:
    """(masked text, tokens) per raw text, in this process."""
    out = []
    for raw in texts:
        prepared = pipe.prepare(raw)
        out.append((prepared.text, prepared.tokens))
    return out


_FORKED_PIPE: Pipeline | None = None  # the pipeline the pool's forked workers inherit


def _prepare_in_worker(texts: list[str]) -> list[tuple[str, str]]:
    assert _FORKED_PIPE is not None
    return prepare_serial(_FORKED_PIPE, texts)


class PreparePool:
    """Texts prepared by ``workers`` forked processes, each with a copy of the pipeline (segmentation is most of a
    long run's CPU). Used only when a run has at least a full batch to index: a backlog or a bulk import."""

    def __init__(self, pipe: Pipeline, workers: int) -> None:
        global _FORKED_PIPE
        _FORKED_PIPE = pipe
        self.workers = workers
        self.pool = multiprocessing.get_context("fork").Pool(workers)

    def __call__(self, texts: list[str]) -> list[tuple[str, str]]:
        return self.start(texts)()

    def start(self, texts: list[str]) -> Callable[[], list[tuple[str, str]]]:
        """Begin preparing ``texts`` in the workers; the returned function waits for and returns the result, so
        the caller can write the previous batch meanwhile."""
        size = max(1, -(-len(texts) // (self.workers * 4)))
        chunks = [texts[i : i + size] for i in range(0, len(texts), size)]
        job = self.pool.map_async(_prepare_in_worker, chunks)
        return lambda: [pair for part in job.get() for pair in part]

    def close(self) -> None:
        self.pool.close()
        self.pool.join()


def write_docs(docs: list[DocRow]) -> None:
    """INSERT the documents with one executemany (plain tuples: no model instances, no per-field compiling)."""
    if not docs:
        return
    ops = connection.ops
    now = ops.adapt_datetimefield_value(timezone.now())
    table = CommentDoc._meta.db_table
    columns = [CommentDoc._meta.get_field(name).column for name in DOC_COLUMNS]
    sql = (
        f"INSERT INTO {ops.quote_name(table)} ({', '.join(ops.quote_name(c) for c in columns)}, indexed_at) "
        f"VALUES ({', '.join(['%s'] * (len(columns) + 1))})"
    )
    adapt_day = ops.adapt_datefield_value
    with connection.cursor() as cursor:
        cursor.executemany(
            sql,
            [
                (d.source, d.source_id, d.region_id, d.unit_id, d.service_item_id, d.hall_id, d.channel, d.grade,
                 d.is_bad, adapt_day(d.day), d.text, d.tokens, now)
                for d in docs
            ],
        )  # fmt: skip


def term_counts(docs: Iterable[DocRow | CommentDoc]) -> Counter:
    """(region, unit, month, is_bad, term) → documents containing the term."""
    counts: Counter = Counter()
    for d in docs:
        key = (d.region_id, d.unit_id, month_of(d.day), d.is_bad)
        for term in d.tokens.split():
            counts[(*key, term)] += 1
    return counts


def add_term_counts(counts: Counter) -> None:
    """Add to TermMonth (one upsert per key; the same statement on SQLite and PostgreSQL)."""
    if not counts:
        return
    sql = (
        "INSERT INTO insight_termmonth (region_id, unit_id, month, is_bad, term, docs) VALUES (%s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (unit_id, month, is_bad, term) DO UPDATE SET docs = insight_termmonth.docs + excluded.docs"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(*key, n) for key, n in counts.items()])


def _indexed(source: str, rows: list[Row]) -> set[int]:
    """The ids among ``rows`` (in id order) already indexed: one range scan of the unique (source, source_id)."""
    if not rows:
        return set()
    return set(
        CommentDoc.objects.filter(
            source=source, source_id__gte=rows[0].source_id, source_id__lte=rows[-1].source_id
        ).values_list("source_id", flat=True)
    )


def _write(rows: list[Row], prepared: list[tuple[str, str]], done: set[int]) -> int:
    """Write the prepared rows not in ``done``, with their term counts. Call inside a transaction."""
    pairs = [(r, p) for r, p in zip(rows, prepared, strict=True) if r.source_id not in done]
    docs = list(_docs([r for r, _ in pairs], [p for _, p in pairs]))
    write_docs(docs)
    add_term_counts(term_counts(docs))
    return len(docs)


def store(
    rows: list[Row], pipe: Pipeline, prepare_many: Callable[[list[str]], list[tuple[str, str]]] | None = None
) -> int:
    """Prepare and write the rows not indexed yet, with their term counts. Call inside a transaction."""
    if not rows:
        return 0
    done = _indexed(rows[0].source, rows)
    todo = [r for r in rows if r.source_id not in done]
    texts = [r.raw for r in todo]
    prepared = prepare_many(texts) if prepare_many is not None else prepare_serial(pipe, texts)
    return _write(todo, prepared, set())


@dataclass
class _Batch:
    rows: list[Row]  # as read, in id order
    todo: list[Row]  # those not indexed when read
    prepared: Callable[[], list[tuple[str, str]]]  # waits for (or computes) their (masked text, tokens)


def _commit(source: str, b: _Batch) -> int:
    """Write one batch and move the cursor past it, in one transaction. The texts were prepared outside it (no
    lock held while segmenting); ids another indexer wrote meanwhile are skipped, so nothing is counted twice."""
    prepared = b.prepared()
    with transaction.atomic():
        cursor = IndexCursor.objects.select_for_update().get(source=source)
        n = _write(b.todo, prepared, _indexed(source, b.todo))
        if b.rows[-1].source_id > cursor.last_id:
            cursor.last_id = b.rows[-1].source_id
            cursor.save(update_fields=["last_id", "updated_at"])
    return n


def index_new(
    *, batch: int = BATCH, limit: int | None = None, pipe: Pipeline | None = None, workers: int = WORKERS
) -> dict[str, int]:
    """Index what arrived since the last run, source by source, one transaction per batch; ``limit`` bounds the
    comments read per source. Returns the comments indexed per source.

    With a full batch or more to do, texts are prepared by ``workers`` processes (1: none), one batch ahead: while
    the workers segment batch n+1, this process writes batch n."""
    pipe = pipe or pipeline()
    found: dict[str, int] = {}
    pool: PreparePool | None = None
    try:
        for source, read in READERS.items():
            total = seen = 0
            after = IndexCursor.objects.get_or_create(source=source)[0].last_id
            pending: _Batch | None = None
            while True:
                want = batch if limit is None else min(batch, limit - seen)
                rows = read(after, want) if want > 0 else []
                upcoming = None
                if rows:
                    seen += len(rows)
                    after = rows[-1].source_id
                    if pool is None and workers > 1 and len(rows) >= batch:
                        pool = PreparePool(pipe, workers)
                    done = _indexed(source, rows)
                    todo = [r for r in rows if r.source_id not in done]
                    texts = [r.raw for r in todo]
                    prepared = pool.start(texts) if pool is not None else (lambda t=texts: prepare_serial(pipe, t))
                    upcoming = _Batch(rows, todo, prepared)
                if pending is not None:
                    total += _commit(source, pending)
                if upcoming is None:
                    break
                pending = upcoming
            found[source] = total
    finally:
        if pool is not None:
            pool.close()
    return found


def catch_up(*, days: int = 2, pipe: Pipeline | None = None) -> dict[str, int]:
    """Index the comments of the last ``days`` that the cursor passed before they were committed."""
    pipe = pipe or pipeline()
    since = timezone.now() - timedelta(days=days)
    found: dict[str, int] = {}
    for source, read in READERS.items():
        total, after = 0, 0
        while True:
            rows = read(after, BATCH, since)
            if not rows:
                break
            with transaction.atomic():
                total += store(rows, pipe)
            after = rows[-1].source_id
        found[source] = total
    return found
