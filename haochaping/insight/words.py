"""Hot words (热词) of a focus and period, weighted against the whole installation, and the comments of a word.

Weighting: the log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi & Quinn 2008, "Fightin' words").
For a term w with foreground count y_w (comments of the focus, period and band that contain w; n = the sum over all
terms) and background count b_w (all comments of the installation, both bands, in the 12 months ending with the
period's month, minus the foreground; m = the sum), the prior is a_w = A * B_w / B (B_w, B: the installation's counts
before subtracting the foreground; A = ``PRIOR``):

    delta_w = log((y_w + a_w) / (n + A - y_w - a_w)) - log((b_w + a_w) / (m + A - b_w - a_w))
    var_w   = 1 / (y_w + a_w) + 1 / (b_w + a_w)
    score_w = delta_w / sqrt(var_w)                      (a z-score: > 2 is clearly over-represented)

Words every comment uses (办事, 窗口 …) score low however often they occur; words peculiar to the focus score high.
Counts come from the monthly term table (TermMonth) for whole months, and from the comment index (CommentDoc) for the
days of a partial month at either end of the period.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.cache import cache
from django.db.models import Max, Q, QuerySet, Sum
from django.utils.translation import gettext as _

from haochaping.analytics import dashboard as dash
from haochaping.insight.index import month_of
from haochaping.insight.models import CommentDoc, TermMonth

BANDS = ("bad", "good", "all")
PRIOR = 1000.0  # A: total pseudo-count of the informative prior
CANDIDATES = 3000  # at most this many foreground terms (the most frequent) are scored
CACHE_SECONDS = 600  # hot words of a question are kept this long, or until a new comment is indexed


def band_labels() -> dict[str, str]:
    return {"bad": _("差评和投诉"), "good": _("非差评"), "all": _("全部")}


@dataclass(frozen=True)
class HotWord:
    term: str
    docs: int  # foreground comments containing the term
    share: float  # docs / foreground comments
    score: float  # log-odds z-score against the background

    def as_dict(self) -> dict:
        return {"term": self.term, "docs": self.docs, "share": round(self.share, 4), "score": round(self.score, 2)}


def parse_band(raw: str | None) -> str:
    band = (raw or "bad").strip()
    if band not in BANDS:
        raise dash.DashboardError(_("未知的评价类别：%(value)s") % {"value": band[:20]}, "band")
    return band


def parse_term(raw: str | None) -> str:
    term = (raw or "").strip()
    if not term or len(term) > 32 or any(c.isspace() for c in term) or "%" in term or "_" in term:
        raise dash.DashboardError(_("请指定一个词语（不超过32个字，不含空格）"), "term")
    return term


def _focus_q(focus: dash.Focus) -> Q:
    """The focus as a filter on CommentDoc / TermMonth (both have region and unit)."""
    if focus.kind == "staff":
        raise dash.DashboardError(_("热词不按工作人员统计，请选择地区或单位"), "staff")
    if focus.kind == "unit":
        return Q(unit_id=focus.unit.pk)
    if focus.kind == "units":
        return Q(unit_id__in=focus.unit_ids)
    if focus.region is not None:
        return Q(region__path__startswith=focus.region.path)
    return Q()


def _band_q(band: str) -> Q:
    return Q() if band == "all" else Q(is_bad=(band == "bad"))


def _month_end(d: date) -> date:
    return (d.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def split_period(start: date, end: date) -> tuple[list[tuple[date, date]], tuple[date, date] | None]:
    """Day ranges to count from CommentDoc (partial months at the ends), and the whole months (first, last month)."""
    partial: list[tuple[date, date]] = []
    first = start if start.day == 1 else _month_end(start) + timedelta(days=1)
    last = end if end == _month_end(end) else end.replace(day=1) - timedelta(days=1)
    if first > last:  # no whole month inside: all of it from the index
        return [(start, end)], None
    if start < first:
        partial.append((start, first - timedelta(days=1)))
    if last < end:
        partial.append((last + timedelta(days=1), end))
    return partial, (first, month_of(last))


def comment_docs(focus: dash.Focus, period: dash.Period, band: str = "bad") -> QuerySet[CommentDoc]:
    return CommentDoc.objects.filter(_focus_q(focus), _band_q(band), day__gte=period.start, day__lte=period.end)


def foreground(focus: dash.Focus, period: dash.Period, band: str) -> tuple[Counter, int]:
    """Term → comments containing it, and the number of comments, for the focus, period and band."""
    where = _focus_q(focus) & _band_q(band)
    partial, months = split_period(period.start, period.end)
    counts: Counter = Counter()
    if months is not None:
        rows = (
            TermMonth.objects.filter(where, month__gte=months[0], month__lte=months[1])
            .values("term")
            .annotate(n=Sum("docs"))
            .values_list("term", "n")
        )
        counts.update(dict(rows))
    for lo, hi in partial:
        for tokens in CommentDoc.objects.filter(where, day__gte=lo, day__lte=hi).values_list("tokens", flat=True):
            counts.update(tokens.split())
    total = CommentDoc.objects.filter(where, day__gte=period.start, day__lte=period.end).count()
    return counts, total


def background(terms: list[str], end: date) -> tuple[dict[str, int], int]:
    """The installation's counts (both bands) of the given terms in the 12 months ending with ``end``'s month, and
    the sum over all terms."""
    last = month_of(end)
    k = last.year * 12 + last.month - 1 - 11
    first = date(k // 12, k % 12 + 1, 1)
    base = TermMonth.objects.filter(month__gte=first, month__lte=last)
    # One grouped scan of the 12 months (their rows are read once either way); the wanted terms are picked here.
    wanted = set(terms)
    found: dict[str, int] = {}
    total = 0
    for term, n in base.values("term").annotate(n=Sum("docs")).values_list("term", "n"):
        total += n
        if term in wanted:
            found[term] = n
    return found, total


def log_odds(y: int, n: int, b: int, m: int, prior: float, a_total: float = PRIOR) -> float:
    """Monroe et al. (2008) z-score of a term: foreground y of n, background b of m, prior a (of a_total)."""
    a = max(prior, 1e-6)
    fg = math.log((y + a) / max(n + a_total - y - a, 1e-9))
    bg = math.log((b + a) / max(m + a_total - b - a, 1e-9))
    return (fg - bg) / math.sqrt(1.0 / (y + a) + 1.0 / (b + a))


def hot_words(
    focus: dash.Focus, period: dash.Period, *, band: str = "bad", limit: int = 100, min_docs: int = 2
) -> list[HotWord]:
    """The terms most over-represented in the focus and period compared with the installation (score > 0).
    Cached per question until a new comment is indexed (the page, its JSON and its PNG ask the same question)."""
    band = parse_band(band)
    obj = focus.unit or focus.region
    last_doc = CommentDoc.objects.aggregate(n=Max("id"))["n"] or 0
    units = hashlib.sha1(",".join(map(str, sorted(focus.unit_ids))).encode()).hexdigest()[:16]
    key = (f"insight:hot:{focus.kind}:{obj.pk if obj else ''}:{units}:{period.start}:{period.end}:{band}:{limit}:"
           f"{min_docs}:{last_doc}")  # fmt: skip
    cached = cache.get(key)
    if cached is not None:
        return cached
    words = _hot_words(focus, period, band, limit, min_docs)
    cache.set(key, words, CACHE_SECONDS)
    return words


def _hot_words(focus: dash.Focus, period: dash.Period, band: str, limit: int, min_docs: int) -> list[HotWord]:
    counts, total = foreground(focus, period, band)
    if not counts or not total:
        return []
    candidates = [(t, y) for t, y in counts.most_common(CANDIDATES) if y >= min_docs]
    if not candidates:
        return []
    n = sum(counts.values())
    bg, bg_total = background([t for t, _ in candidates], period.end)
    bg_total = max(bg_total, n)  # the index may lag the foreground by a few comments (partial months)
    m = max(bg_total - n, 1)
    words = []
    for term, y in candidates:
        b_all = max(bg.get(term, 0), y)
        prior = PRIOR * b_all / bg_total
        score = log_odds(y, n, max(b_all - y, 0), m, prior)
        if score > 0:
            words.append(HotWord(term=term, docs=y, share=min(y / total, 1.0), score=score))
    words.sort(key=lambda w: (-w.score, -w.docs, w.term))
    return words[:limit]


def comments_for_term(focus: dash.Focus, period: dash.Period, term: str, band: str = "bad") -> QuerySet[CommentDoc]:
    """The (masked) comments of the focus, period and band that contain the term, newest first."""
    term = parse_term(term)
    band = parse_band(band)
    return (
        comment_docs(focus, period, band)
        .filter(tokens__contains=f" {term} ")
        .select_related("unit", "service_item")
        .order_by("-day", "-id")
    )
