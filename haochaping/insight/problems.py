"""Concentrated problems (反映集中的问题): similar bad comments and complaints grouped into problems.

The core (``cluster``) works on (masked text, terms) pairs and knows nothing of the database, so the same code
serves the periodic detection (``detect`` / ``detect_all``) and the offline command (``cli_problems``).

Method (docs/insight.md, "Concentrated problems"):

1. Features: TF-IDF over the terms (sublinear tf, min_df 2; synonyms as one, compound terms also counting their
   parts) and TF-IDF over character 1–3-grams of the masked text (robust to misspellings and wording variants),
   each L2-normalised, hstacked and normalised again.
2. TruncatedSVD to ≈100 dimensions, normalised (cosine geometry), then MiniBatchKMeans with
   k = clamp(sqrt(n / 2), 8, 150): deliberately more clusters than problems.
3. Clusters whose word centroids are close are merged (agglomerative clustering of the centroids, cosine
   distance, average linkage, distance threshold): one problem phrased several ways becomes one group.
4. Members far from their group's centroid are dropped; groups below the minimum size (max(5, 0.2 % of n)) and
   incoherent groups (low mean similarity to the centroid) are dropped.
5. Per group: key words (top centroid terms of the word TF-IDF), a short label (the top key words in the order
   they usually appear in the members' texts, ≤ 20 characters), members sorted by closeness to the centroid.

Deterministic: every random step has a fixed random_state.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
from django.db import transaction
from scipy.sparse import hstack
from sklearn.cluster import AgglomerativeClustering, MiniBatchKMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from haochaping.insight.csvfile import read_csv, require_column
from haochaping.lib.errors import ValidationFailed

logger = logging.getLogger(__name__)

SVD_DIMS = 100
MIN_K, MAX_K = 8, 150
K_SCALE = 0.5  # k = clamp(sqrt(K_SCALE * n), MIN_K, MAX_K): more clusters than problems, merged afterwards
MERGE_DISTANCE = 0.75  # cosine distance between cluster centroids below which two clusters are one problem
MIN_MEMBER_SIMILARITY = 0.3  # a member less similar than this to its group's centroid is left out
FRINGE = 0.6  # a member less similar to the centroid than this share of the group's core similarity is left out
MIN_COHERENCE = 0.5  # a group whose closer half of members is less similar to the centroid on average is no problem
MIN_SIZE, MIN_SHARE = 5, 0.002
CHAR_MAX_FEATURES = 60_000
KEYWORDS = 8
LABEL_MAX = 20
RANDOM_STATE = 0
PERIOD_DAYS = 30  # detect_all: the 30 days ending today
EXAMPLES = 5
MATCH_JACCARD = 0.4
MATCH_MEMBERS = 0.5

# Words people use for the same thing in service complaints: the word features count them as one (the character
# n-grams handle misspellings and inflections, not synonyms that share no character).
SYNONYMS = {
    "卫生间": ("洗手间", "厕所", "公厕", "茅房", "卫生间"),
    "脏": ("很脏", "太脏", "脏乱", "脏乱差", "肮脏"),
    "停车": ("停车位", "车位", "停车场", "停车难", "停不下"),
    "邮寄": ("快递", "寄出去", "寄来", "寄到", "寄丢", "寄回"),
    "打不通": ("没人接", "占线", "无人接听", "打不进", "打不进去"),
    "卡顿": ("太卡", "很卡", "卡死", "卡住", "闪退"),
}
CANONICAL = {word: concept for concept, words in SYNONYMS.items() for word in words}


@dataclass
class Group:
    label: str
    keywords: list[str]
    members: list[int]  # indexes into the input, closest to the centroid first
    coherence: float  # mean cosine similarity of the members to the centroid
    similarity: list[float] = field(default_factory=list, repr=False)  # per member, same order

    @property
    def size(self) -> int:
        return len(self.members)


def min_size(n: int) -> int:
    return max(MIN_SIZE, math.ceil(MIN_SHARE * n))


def k_for(n: int) -> int:
    return int(min(max(round(math.sqrt(K_SCALE * n)), MIN_K), MAX_K, n))


def _word_docs(docs: list[list[str]]) -> list[str]:
    """The terms as the word features see them: synonyms as one (SYNONYMS), and a compound term also counts its
    parts that occur as terms on their own elsewhere (叫号机 → 叫号机 叫号; 证明材料 → 证明材料 证明 材料), so
    "叫号机坏了" and "叫号屏不显示" share a word."""
    standalone = {CANONICAL.get(t, t) for terms in docs for t in terms}
    parts: dict[str, list[str]] = {}
    out = []
    for terms in docs:
        words = []
        for term in terms:
            term = CANONICAL.get(term, term)
            words.append(term)
            if len(term) >= 3:
                found = parts.get(term)
                if found is None:
                    found = parts[term] = [
                        CANONICAL.get(term[i : i + n], term[i : i + n])
                        for n in range(2, len(term))
                        for i in range(len(term) - n + 1)
                        if term[i : i + n] in standalone
                    ]
                words.extend(found)
        out.append(" ".join(words))
    return out


def _features(texts_terms: list[tuple[str, list[str]]]):
    """(combined sparse matrix, word vectoriser, word matrix) or None when there is too little text."""
    word_docs = _word_docs([terms for _, terms in texts_terms])
    texts = [text for text, _ in texts_terms]
    blocks = []
    word_vec = word_x = None
    try:
        word_vec = TfidfVectorizer(analyzer=str.split, sublinear_tf=True, min_df=2, dtype=np.float32)
        word_x = word_vec.fit_transform(word_docs)
        blocks.append(word_x)
    except ValueError:  # no term occurs twice
        word_vec = word_x = None
    try:
        char_vec = TfidfVectorizer(
            analyzer="char",
            ngram_range=(1, 3),
            sublinear_tf=True,
            min_df=2,
            max_features=CHAR_MAX_FEATURES,
            dtype=np.float32,
        )
        blocks.append(char_vec.fit_transform(texts))
    except ValueError:
        pass
    if word_x is None or not blocks:
        return None
    return normalize(hstack(blocks).tocsr()), word_vec, word_x


def cluster(
    texts_terms: list[tuple[str, list[str]]],
    *,
    merge_distance: float = MERGE_DISTANCE,
    min_group: int | None = None,
    min_coherence: float = MIN_COHERENCE,
    min_member_similarity: float = MIN_MEMBER_SIMILARITY,
) -> list[Group]:
    """Group (masked text, terms) pairs into problems, largest first. Deterministic for a given input."""
    n = len(texts_terms)
    smallest = min_group if min_group is not None else min_size(n)
    if n < max(smallest, 2):
        return []
    built = _features(texts_terms)
    if built is None:
        return []
    x, word_vec, word_x = built
    dims = min(SVD_DIMS, x.shape[1] - 1, n - 1)
    if dims >= 2:
        z = TruncatedSVD(n_components=dims, n_iter=4, random_state=RANDOM_STATE).fit_transform(x)
    else:
        z = x.toarray()
    z = normalize(z).astype(np.float64)
    k = k_for(n)
    km = MiniBatchKMeans(
        n_clusters=k,
        random_state=RANDOM_STATE,
        batch_size=4096,
        init_size=min(n, max(3 * k, 3000)),
        n_init=3,
        max_iter=100,
        reassignment_ratio=0.01,
    )
    labels = km.fit_predict(z)
    present = np.unique(labels)
    # Merge on the word centroids (what the clusters are about), not the character n-grams (how they are written).
    centroids = normalize(np.vstack([np.asarray(word_x[labels == c].mean(axis=0)) for c in present]))
    if len(present) > 1:
        distance = np.clip(1.0 - centroids @ centroids.T, 0.0, 2.0)
        empty = ~centroids.any(axis=1)  # clusters without any term: never merged
        distance[empty, :] = distance[:, empty] = 2.0
        np.fill_diagonal(distance, 0.0)
        merged = AgglomerativeClustering(
            n_clusters=None, metric="precomputed", linkage="average", distance_threshold=merge_distance
        ).fit_predict(distance)
    else:
        merged = np.zeros(1, dtype=int)
    group_of = np.full(k, -1)
    group_of[present] = merged
    final = group_of[labels]
    vocabulary = word_vec.get_feature_names_out()
    groups: list[Group] = []
    for g in np.unique(final):
        idx = np.flatnonzero(final == g)
        if len(idx) < smallest:
            continue
        centre = normalize(z[idx].mean(axis=0, keepdims=True))[0]
        sims = z[idx] @ centre
        # A problem is its tight core plus the comments close to it: judge coherence on the closer half, so a few
        # loosely related comments that k-means attached do not sink a clear problem, then drop that fringe.
        core = float(np.sort(sims)[len(sims) // 2 :].mean())
        if core < min_coherence:
            continue
        keep = sims >= max(min_member_similarity, FRINGE * core)
        idx, sims = idx[keep], sims[keep]
        if len(idx) < smallest:
            continue
        order = np.argsort(-sims, kind="stable")
        idx, sims = idx[order], sims[order]
        weights = np.asarray(word_x[idx].mean(axis=0)).ravel()
        top = [vocabulary[i] for i in np.argsort(-weights, kind="stable")[:KEYWORDS] if weights[i] > 0]
        if not top:  # texts without terms ("差评！"): nothing to act on
            continue
        label = _label(top, [texts_terms[i][0] for i in idx[:200]])
        groups.append(Group(label, top, idx.tolist(), float(sims.mean()), sims.round(4).tolist()))
    groups.sort(key=lambda grp: (-grp.size, grp.label))
    return groups


def _label(keywords: list[str], texts: list[str]) -> str:
    """The top 2–3 key words in the order they usually appear in the texts, at most LABEL_MAX characters."""
    chosen: list[str] = []
    for word in keywords:
        if any(word in c or c in word for c in chosen):
            continue
        if len("".join([*chosen, word])) > LABEL_MAX:
            break
        chosen.append(word)
        if len(chosen) == 3:
            break
    if not chosen:
        return ""

    def position(word: str) -> float:
        spots = [t.find(word) / max(len(t), 1) for t in texts if word in t]
        return sum(spots) / len(spots) if spots else 1.0

    return "".join(sorted(chosen, key=position))[:LABEL_MAX]


# --- detection over the comment index --------------------------------------------------------------------


def _week(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weekly_trend(days: list[date], start: date | None = None, end: date | None = None) -> list[dict]:
    """Counts per week (weeks start on Monday), every week from start to end present, zero or not."""
    if not days:
        return []
    counts = Counter(_week(d) for d in days)
    week, last = _week(start or min(days)), _week(end or max(days))
    out = []
    while week <= last:
        out.append({"week": week.isoformat(), "n": counts.get(week, 0)})
        week += timedelta(days=7)
    return out


def _named(counter: Counter, names: dict[int, str]) -> list[dict]:
    return [{"id": i, "name": names.get(i, str(i)), "n": n} for i, n in counter.most_common() if i is not None]


def _jaccard(a: list[str], b: list[str]) -> float:
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb) if sa | sb else 0.0


def detect(region, start: date, end: date) -> list:
    """Find the concentrated problems of ``region`` (its whole subtree) among the bad comments of [start, end]
    and store them as Problem rows, keeping every decision a supervisor took on an earlier run's problem."""
    from haochaping.directory.models import Organisation, ServiceItem
    from haochaping.insight.models import CommentDoc, Problem, ProblemMember

    rows = list(
        CommentDoc.objects.filter(is_bad=True, region__path__startswith=region.path, day__range=(start, end))
        .order_by("id")
        .values_list("id", "text", "tokens", "unit_id", "service_item_id", "day")
    )
    groups = cluster([(text, tokens.split()) for _, text, tokens, *_ in rows])
    unit_ids = {r[3] for r in rows}
    item_ids = {r[4] for r in rows if r[4]}
    unit_names = dict(Organisation.objects.filter(pk__in=unit_ids).values_list("pk", "name")) if groups else {}
    item_names = dict(ServiceItem.objects.filter(pk__in=item_ids).values_list("pk", "name")) if groups else {}
    with transaction.atomic():
        old = list(
            Problem.objects.select_for_update()
            .filter(region=region, period_start__lte=end, period_end__gte=start)
            .order_by("id")
        )
        old_members = {p.pk: set(ProblemMember.objects.filter(problem=p).values_list("doc_id", flat=True)) for p in old}
        used: set[int] = set()
        kept: list[Problem] = []
        for group in groups:
            members = [rows[i] for i in group.members]
            doc_ids = [r[0] for r in members]
            problem = _match(group, set(doc_ids), old, old_members, used)
            if problem is None:
                problem = Problem(region=region)
            else:
                used.add(problem.pk)
            problem.period_start, problem.period_end = start, end
            problem.label = group.label[:60]
            problem.keywords = group.keywords
            problem.size = group.size
            problem.units = _named(Counter(r[3] for r in members), unit_names)
            problem.items = _named(Counter(r[4] for r in members), item_names)
            problem.trend = weekly_trend([r[5] for r in members], start, end)
            problem.examples = _examples(members)
            problem.save()
            ProblemMember.objects.filter(problem=problem).delete()
            ProblemMember.objects.bulk_create([ProblemMember(problem=problem, doc_id=d) for d in doc_ids])
            kept.append(problem)
        stale = [p.pk for p in old if p.pk not in used and p.status == Problem.Status.DETECTED]
        if stale:
            Problem.objects.filter(pk__in=stale).delete()
    return kept


def problem_decide(pk: int, *, status: str, note: str, actor) -> object:
    """A supervisor's decision on a problem: confirmed (已确认) or dismissed (已排除), with a note. A problem handed
    over for rectification keeps that status (cancel the rectification first)."""
    from django.utils import timezone

    from haochaping.insight.models import Problem
    from haochaping.lib.errors import Conflict, NotFound

    if status not in (Problem.Status.CONFIRMED, Problem.Status.DISMISSED):
        raise ValidationFailed("未知的研判结果", field="status")
    note = (note or "").strip()
    if status == Problem.Status.DISMISSED and not note:
        raise ValidationFailed("排除问题时请填写研判意见", field="note")
    with transaction.atomic():
        problem = Problem.objects.select_for_update().filter(pk=pk).first()
        if problem is None:
            raise NotFound("问题不存在")
        if problem.status == Problem.Status.RECTIFYING:
            raise Conflict("该问题已交办整改", field="status")
        problem.status, problem.note = status, note[:2000]
        problem.decided_by, problem.decided_at = actor, timezone.now()
        problem.save(update_fields=["status", "note", "decided_by", "decided_at", "updated_at"])
    return problem


def _match(group: Group, doc_ids: set[int], old: list, old_members: dict[int, set[int]], used: set[int]):
    """The earlier problem this group continues: best key-word Jaccard ≥ 0.4, or half its members shared."""
    best, best_score = None, 0.0
    for problem in old:
        if problem.pk in used:
            continue
        score = _jaccard(group.keywords, problem.keywords)
        shared = old_members.get(problem.pk, set())
        overlap = len(shared & doc_ids) / min(len(shared), len(doc_ids)) if shared and doc_ids else 0.0
        if score < MATCH_JACCARD and overlap < MATCH_MEMBERS:
            continue
        score = max(score, overlap)
        if score > best_score:
            best, best_score = problem, score
    return best


def _examples(members: list[tuple]) -> list[dict]:
    """Up to EXAMPLES member texts (already masked), closest to the centroid first, no text twice."""
    seen, out = set(), []
    for doc_id, text, *_ in members:
        if text in seen:
            continue
        seen.add(text)
        out.append({"doc": doc_id, "text": text[:300]})
        if len(out) == EXAMPLES:
            break
    return out


def detect_all(today: date | None = None) -> dict:
    """Detect the problems of every region with a management agency (政务服务管理机构) over the PERIOD_DAYS days
    ending ``today`` (inclusive; default the local date). One transaction per region; a region failing is logged
    and counted, the others go on."""
    from haochaping.cases import workdays
    from haochaping.directory.models import Organisation, Region

    today = today or workdays.today()
    start = today - timedelta(days=PERIOD_DAYS - 1)
    region_ids = Organisation.objects.filter(kind=Organisation.Kind.AGENCY).values("region_id")
    result = {"regions": 0, "problems": 0, "failed": 0}
    for region in Region.objects.filter(pk__in=region_ids).order_by("path"):
        try:
            found = detect(region, start, today)
        except Exception:  # one region must not stop the others
            logger.exception("problem detection failed for region %s", region.pk)
            result["failed"] += 1
            continue
        result["regions"] += 1
        result["problems"] += len(found)
    return result


# --- offline: a CSV of historical texts ------------------------------------------------------------------


def _parse_day(value: str) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d"):
        try:
            return datetime.strptime(value[:10].split(" ")[0], fmt).date()
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(value).date()
    except ValueError:
        return None


def cli_problems(path: str | Path, *, text_column: str, time_column: str | None = None, out) -> list[dict]:
    """`haochaping insight problems`: the concentrated problems of a CSV's texts as JSON on ``out``:
    [{"label", "keywords", "size", "rows": [file row numbers, header = row 1], "trend" (with a time column)}]."""
    from haochaping.insight.text import pipeline

    header, rows = read_csv(path)
    require_column(header, text_column, "text_column")
    if time_column:
        require_column(header, time_column, "time_column")
    pipe = pipeline()
    numbers, prepared, days = [], [], []
    for i, row in enumerate(rows):
        text = (row.get(text_column) or "").strip()
        if not text:
            continue
        p = pipe.prepare(text)
        numbers.append(i + 2)  # the header is row 1
        prepared.append((p.text, p.terms))
        days.append(_parse_day(row.get(time_column, "")) if time_column else None)
    result = []
    for group in cluster(prepared):
        entry = {
            "label": group.label,
            "keywords": group.keywords,
            "size": group.size,
            "rows": sorted(numbers[i] for i in group.members),
        }
        if time_column:
            entry["trend"] = weekly_trend([days[i] for i in group.members if days[i]])
        result.append(entry)
    out.write(json.dumps(result, ensure_ascii=False, indent=2))
    return result
