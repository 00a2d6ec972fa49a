"""The integrity rules (数据真实性监测规则): plain functions over a period [start, end) and a scope → findings.

Each rule returns ``Finding`` objects carrying their evidence (rating/prompt ids, counts, times and the baseline
compared against) and a score = observed ÷ threshold (≥ 1 when it fires). Thresholds are settings
``HAOCHAPING_SIGNAL_*`` (haochaping/settings.py); docs/integrity-signals.md explains each rule and its risks.

Day rules (one local day): brushing, coerced, self_rating, campaign, text_grade.
Month rules (one calendar month, from the rollups): default_share, perfect.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from haochaping.accounts.scope import ALL_SCOPE, Scope
from haochaping.analytics.coverage import implausible_units
from haochaping.analytics.metrics import Counts
from haochaping.analytics.selectors import counts_by, slice_for_scope
from haochaping.directory.models import Organisation, Staff, Window
from haochaping.evaluator.models import EvaluatorDevice, EvaluatorPrompt
from haochaping.integrity.models import Rule, StaffIdentity
from haochaping.lib import protect
from haochaping.qrcodes.models import WindowCode
from haochaping.ratings.models import Rating

LEXICON_FILE = Path(__file__).with_name("lexicon.json")
# A device's usual rate is measured over this many days before the period.
BASELINE_DAYS = 28
EVIDENCE_MAX = 200  # rating ids kept in one finding's evidence


@dataclass
class Finding:
    rule: str
    subject_kind: str  # device | qr | staff | unit | phone
    subject_id: str
    subject_label: str
    region_id: int
    unit_id: int | None
    period_start: datetime
    period_end: datetime
    score: float
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)


def threshold(name: str) -> int:
    return int(getattr(settings, f"HAOCHAPING_SIGNAL_{name}"))


def _ratings(scope: Scope, start: datetime, end: datetime):
    return scope.filter(Rating.objects.filter(rated_at__gte=start, rated_at__lt=end, is_default=False))


def _iso(at: datetime) -> str:
    return timezone.localtime(at).isoformat(timespec="seconds")


def _densest(times: list[datetime], span: timedelta) -> tuple[int, int]:
    """The [i, j) slice of sorted ``times`` holding the most entries within ``span``: two pointers, O(n)."""
    best, best_i, best_j, i = 0, 0, 0, 0
    for j, at in enumerate(times):
        while at - times[i] > span:
            i += 1
        if j + 1 - i > best:
            best, best_i, best_j = j + 1 - i, i, j + 1
    return best_i, best_j


def _majority(values) -> Any:
    counts = Counter(v for v in values if v is not None)
    return counts.most_common(1)[0][0] if counts else None


def _client_labels(clients: set[str]) -> dict[str, tuple[str, str]]:
    """client → (subject kind, label) for device:<id> and qr:<WindowCode id>."""
    device_ids = {int(c.split(":", 1)[1]) for c in clients if c.startswith("device:") and c[7:].isdigit()}
    code_ids = {int(c.split(":", 1)[1]) for c in clients if c.startswith("qr:") and c[3:].isdigit()}
    out = {}
    for d in EvaluatorDevice.objects.filter(pk__in=device_ids).select_related("window__hall"):
        out[f"device:{d.pk}"] = ("device", f"{d.name}（{d.window.hall.name} {d.window.code}号窗口）")
    for q in WindowCode.objects.filter(pk__in=code_ids).select_related("window__hall"):
        out[f"qr:{q.pk}"] = ("qr", _("窗口二维码 %(slug)s（%(hall)s %(code)s号窗口）") % {
            "slug": q.slug[:8], "hall": q.window.hall.name, "code": q.window.code})  # fmt: skip
    for c in clients:
        out.setdefault(c, (c.split(":", 1)[0], c))
    return out


SOURCE_CLIENTS = Q(client__startswith="device:") | Q(client__startswith="qr:")


def brushing(start: datetime, end: datetime, scope: Scope = ALL_SCOPE) -> list[Finding]:
    """集中刷好评: ≥ BRUSH_MIN 非常满意 from one evaluator device or QR code within BRUSH_MINUTES, and at least
    BRUSH_RATIO times its usual rate (非常满意 per active hour over the BASELINE_DAYS before, scaled to the span)."""
    n_min, minutes, ratio = threshold("BRUSH_MIN"), threshold("BRUSH_MINUTES"), threshold("BRUSH_RATIO")
    span = timedelta(minutes=minutes)
    rows = (
        _ratings(scope, start, end)
        .filter(SOURCE_CLIENTS, grade=5)
        .order_by("client", "rated_at", "id")
        .values_list("id", "client", "rated_at", "unit_id", "region_id")
    )
    by_client: dict[str, list[tuple]] = defaultdict(list)
    for row in rows:
        by_client[row[1]].append(row)
    candidates = {}
    for client, items in by_client.items():
        if len(items) < n_min:
            continue
        i, j = _densest([r[2] for r in items], span)
        if j - i >= n_min:
            candidates[client] = items[i:j]
    if not candidates:
        return []
    labels = _client_labels(set(candidates))
    out = []
    for client, burst in candidates.items():
        history = list(
            Rating.objects.filter(client=client, grade=5, is_default=False)
            .filter(rated_at__gte=start - timedelta(days=BASELINE_DAYS), rated_at__lt=start)
            .values_list("rated_at", flat=True)
        )
        hours = {timezone.localtime(at).replace(minute=0, second=0, microsecond=0) for at in history}
        usual = len(history) / len(hours) * minutes / 60 if hours else 0.0
        observed = len(burst)
        if usual and observed < ratio * usual:
            continue
        kind, label = labels[client]
        score = observed / n_min if not usual else min(observed / n_min, observed / (ratio * usual))
        out.append(Finding(
            Rule.BRUSHING, kind, client, label, _majority(r[4] for r in burst), _majority(r[3] for r in burst),
            start, end, round(score, 2),
            _("%(n)d 条非常满意在 %(m)d 分钟内来自同一%(src)s，平时约 %(usual).1f 条") % {
                "n": observed, "m": minutes, "src": _("评价器") if kind == "device" else _("二维码"), "usual": usual},
            {
                "rating_ids": [r[0] for r in burst][:EVIDENCE_MAX], "count": observed, "client": client,
                "first": _iso(burst[0][2]), "last": _iso(burst[-1][2]), "minutes": minutes,
                "threshold": n_min, "ratio": ratio,
                "baseline": {"days": BASELINE_DAYS, "top_ratings": len(history), "active_hours": len(hours),
                             "per_span": round(usual, 2)},
            },
        ))  # fmt: skip
    return out


def coerced(start: datetime, end: datetime, scope: Scope = ALL_SCOPE) -> list[Finding]:
    """代评: ≥ COERCED_RUN evaluator prompts in a row for one staff member, each rated within COERCED_SECONDS of
    being shown (of being pushed when the device did not report showing it): the clerk presses the face."""
    fast_s, run_min = threshold("COERCED_SECONDS"), threshold("COERCED_RUN")
    rows = list(
        scope.filter(EvaluatorPrompt.objects.filter(rated_at__gte=start, rated_at__lt=end, staff__isnull=False))
        .order_by("staff_id", "created_at", "id")
        .values("id", "staff_id", "window_id", "device_id", "service_case_id", "created_at", "shown_at", "rated_at")
    )
    by_staff: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        row["seconds"] = (row["rated_at"] - (row["shown_at"] or row["created_at"])).total_seconds()
        by_staff[row["staff_id"]].append(row)
    out = []
    staff = Staff.objects.in_bulk([s for s, p in by_staff.items() if len(p) >= run_min])
    for staff_id, prompts in by_staff.items():
        best, run = [], []
        for p in prompts:
            run = [*run, p] if p["seconds"] <= fast_s else []
            if len(run) > len(best):
                best = run
        if len(best) < run_min:
            continue
        member = staff[staff_id]
        window = Window.objects.select_related("hall").get(pk=best[0]["window_id"])
        case_ids = [p["service_case_id"] for p in best if p["service_case_id"]]
        devices = {p["device_id"] for p in best if p["device_id"]}
        run_start, run_end = best[0]["created_at"], best[-1]["rated_at"] + timedelta(seconds=1)
        # The ratings of the run: by its 办件, or (walk-in prompts) the window's device ratings of the run's time.
        rating_q = Q(service_case_id__in=case_ids) if case_ids else Q(pk__in=[])
        rating_q |= Q(client__in=[f"device:{d}" for d in devices], rated_at__gte=run_start, rated_at__lt=run_end)
        rating_ids = list(Rating.objects.filter(rating_q, staff_id=staff_id).values_list("id", flat=True))
        others = sorted(p["seconds"] for p in prompts if p["seconds"] > fast_s)
        fast_total = sum(1 for p in prompts if p["seconds"] <= fast_s)
        out.append(Finding(
            Rule.COERCED, "staff", str(staff_id), f"{member.name}（{member.code}）", window.hall.region_id,
            member.unit_id, start, end, round(len(best) / run_min, 2),
            _("连续 %(n)d 次推送后 %(s)d 秒内即评价（当日 %(fast)d/%(all)d 次）") % {
                "n": len(best), "s": fast_s, "fast": fast_total, "all": len(prompts)},
            {
                "prompts": [{"id": p["id"], "pushed": _iso(p["created_at"]),
                             "shown": _iso(p["shown_at"]) if p["shown_at"] else "", "rated": _iso(p["rated_at"]),
                             "seconds": round(p["seconds"], 1)} for p in best][:EVIDENCE_MAX],
                "rating_ids": rating_ids[:EVIDENCE_MAX], "run": len(best), "seconds": fast_s, "threshold": run_min,
                "day_prompts": len(prompts), "day_fast": fast_total,
                "baseline": {"other_prompts": len(others),
                             "median_seconds": others[len(others) // 2] if others else None},
                "window": f"{window.hall.name} {window.code}号窗口",
            },
        ))  # fmt: skip
    return out


def self_rating(start: datetime, end: datetime, scope: Scope = ALL_SCOPE) -> list[Finding]:
    """自评: a rating whose 办件 applicant (certificate or phone) or whose rater is a staff member of the rated unit,
    by the keyed hashes registered in StaffIdentity (the directory holds no staff identity numbers)."""
    idents = list(StaffIdentity.objects.select_related("staff").all())
    if not idents:
        return []
    certs = {i.cert_hash: i.staff for i in idents if i.cert_hash}
    phones = {i.phone_hash: i.staff for i in idents if i.phone_hash}
    q = Q(rater_cert_hash__in=certs) | Q(rater_phone_hash__in=phones)
    q |= Q(service_case__applicant_cert_hash__in=certs) | Q(service_case__applicant_phone_hash__in=phones)
    rows = _ratings(scope, start, end).filter(q).values(
        "id", "unit_id", "region_id", "staff_id", "rated_at", "grade", "rater_cert_hash", "rater_phone_hash",
        "service_case__applicant_cert_hash", "service_case__applicant_phone_hash",
    )  # fmt: skip
    hits: dict[int, list[dict]] = defaultdict(list)
    for r in rows.order_by("rated_at", "id"):
        matched = [
            (field, owner)
            for field, owner in (
                ("applicant_cert", certs.get(r["service_case__applicant_cert_hash"])),
                ("rater_cert", certs.get(r["rater_cert_hash"])),
                ("applicant_phone", phones.get(r["service_case__applicant_phone_hash"])),
                ("rater_phone", phones.get(r["rater_phone_hash"])),
            )
            if owner is not None and (owner.unit_id == r["unit_id"] or owner.pk == r["staff_id"])
        ]
        for field_name, owner in matched[:1]:  # one match names the staff member; the field says which
            hits[owner.pk].append({**r, "matched": field_name})
    out = []
    for staff_id, items in hits.items():
        member = next(i.staff for i in idents if i.staff_id == staff_id)
        out.append(Finding(
            Rule.SELF_RATING, "staff", str(staff_id), f"{member.name}（{member.code}）",
            _majority(i["region_id"] for i in items), member.unit_id, start, end, float(len(items)),
            _("%(n)d 条评价的申请人或评价人与本单位工作人员身份一致") % {"n": len(items)},
            {"rating_ids": [i["id"] for i in items][:EVIDENCE_MAX], "count": len(items),
             "matched": dict(Counter(i["matched"] for i in items)), "threshold": 1},
        ))  # fmt: skip
    return out


def _unit_regions(unit_ids) -> dict[int, Organisation]:
    return Organisation.objects.select_related("region").in_bulk(list(unit_ids))


def default_share(start: datetime, end: datetime, scope: Scope = ALL_SCOPE) -> list[Finding]:
    """默认评价占比异常: a unit's default-rating share (of counted ratings, month) exceeds the rest of its region's
    by DEFAULT_MARGIN_PERMILLE ‰ and is at least twice it, on ≥ DEFAULT_MIN_RATINGS counted ratings on each side."""
    min_n, margin = threshold("DEFAULT_MIN_RATINGS"), threshold("DEFAULT_MARGIN_PERMILLE") / 1000
    s = slice_for_scope(scope, timezone.localdate(start), timezone.localdate(end - timedelta(seconds=1)))
    per_unit = counts_by(s, "unit").rows
    units = _unit_regions(per_unit)
    per_region: dict[int, Counts] = defaultdict(Counts)
    for unit_id, c in per_unit.items():
        if unit_id in units:
            per_region[units[unit_id].region_id] += c
    out = []
    for unit_id, c in per_unit.items():
        unit = units.get(unit_id)
        if unit is None or c.counted < min_n:
            continue
        region = per_region[unit.region_id]
        rest_counted, rest_defaults = region.counted - c.counted, region.defaults - c.defaults
        if rest_counted < min_n:
            continue  # no baseline to compare with
        share, rest_share = c.defaults / c.counted, rest_defaults / rest_counted
        if share - rest_share < margin or share < 2 * rest_share:
            continue
        out.append(Finding(
            Rule.DEFAULT_SHARE, "unit", str(unit_id), unit.name, unit.region_id, unit_id, start, end,
            round((share - rest_share) / margin, 2),
            _("默认评价占比 %(u).1f%%，同区划其他单位 %(r).1f%%") % {"u": share * 100, "r": rest_share * 100},
            {"counted": c.counted, "defaults": c.defaults, "share": round(share, 4),
             "baseline": {"region": unit.region.name, "counted": rest_counted, "defaults": rest_defaults,
                          "share": round(rest_share, 4)},
             "margin": margin, "threshold": min_n},
        ))  # fmt: skip
    return out


def perfect(start: datetime, end: datetime, scope: Scope = ALL_SCOPE) -> list[Finding]:
    """好评率完美得不真实: analytics.coverage.implausible_units' ``perfect`` (100% 好评 on ≥ 200 active ratings) and
    ``all_top`` (all 非常满意 where the chance at the scope's share is < 1e-4) flags, for the month."""
    s = slice_for_scope(scope, timezone.localdate(start), timezone.localdate(end - timedelta(seconds=1)))
    flags: dict[int, list] = defaultdict(list)
    for flag in implausible_units(s):
        if flag.code in ("perfect", "all_top"):
            flags[flag.unit_id].append(flag)
    units = _unit_regions(flags)
    out = []
    for unit_id, unit_flags in flags.items():
        unit = units[unit_id]
        active = max(f.figures.get("active", 0) for f in unit_flags)
        sample = list(
            scope.filter(Rating.objects.filter(unit_id=unit_id, rated_at__gte=start, rated_at__lt=end))
            .order_by("-rated_at")
            .values_list("id", flat=True)[:50]
        )
        out.append(Finding(
            Rule.PERFECT, "unit", str(unit_id), unit.name, unit.region_id, unit_id, start, end,
            round(active / 200, 2), "；".join(f.reason for f in unit_flags),
            {"flags": [{"code": f.code, "reason": f.reason, "figures": f.figures} for f in unit_flags],
             "active": active, "rating_ids": sample, "sample": True},
        ))  # fmt: skip
    return out


def _bursts(rows: list[tuple], span: timedelta, n_min: int) -> list[tuple] | None:
    i, j = _densest([r[1] for r in rows], span)
    return rows[i:j] if j - i >= n_min else None


def campaign(start: datetime, end: datetime, scope: Scope = ALL_SCOPE) -> list[Finding]:
    """集中恶意差评: ≥ CAMPAIGN_PHONE_MIN 差评 from one phone number (keyed hash) within CAMPAIGN_PHONE_HOURS, or
    ≥ CAMPAIGN_CLIENT_MIN from one evaluator device or QR code within CAMPAIGN_CLIENT_MINUTES. Ratings carry no
    IP address, so the phone number and the source (client) stand in for it."""
    bad = _ratings(scope, start, end).filter(grade__lte=2)
    out = []
    phone_min, phone_span = threshold("CAMPAIGN_PHONE_MIN"), timedelta(hours=threshold("CAMPAIGN_PHONE_HOURS"))
    by_phone: dict[str, list[tuple]] = defaultdict(list)
    for row in (
        bad.exclude(rater_phone_hash="")
        .order_by("rater_phone_hash", "rated_at", "id")
        .values_list("id", "rated_at", "unit_id", "region_id", "staff_id", "rater_phone_hash")
    ):
        by_phone[row[5]].append(row)
    for phone_hash, rows in by_phone.items():
        if len(rows) < phone_min or not (burst := _bursts(rows, phone_span, phone_min)):
            continue
        enc = Rating.objects.filter(pk=burst[0][0]).values_list("rater_phone_enc", flat=True).first() or ""
        label = _("手机号 %(phone)s") % {"phone": protect.mask_phone(protect.decrypt(enc))}
        out.append(_campaign_finding("phone", phone_hash[:16], label, burst, phone_min, start, end,
                                     {"hours": phone_span.total_seconds() / 3600}))  # fmt: skip
    client_min = threshold("CAMPAIGN_CLIENT_MIN")
    client_span = timedelta(minutes=threshold("CAMPAIGN_CLIENT_MINUTES"))
    by_client: dict[str, list[tuple]] = defaultdict(list)
    for row in (
        bad.filter(SOURCE_CLIENTS)
        .order_by("client", "rated_at", "id")
        .values_list("id", "rated_at", "unit_id", "region_id", "staff_id", "client")
    ):
        by_client[row[5]].append(row)
    bursts = {
        c: b
        for c, rows in by_client.items()
        if len(rows) >= client_min and (b := _bursts(rows, client_span, client_min))
    }
    labels = _client_labels(set(bursts))
    for client, burst in bursts.items():
        kind, label = labels[client]
        out.append(_campaign_finding(kind, client, label, burst, client_min, start, end,
                                     {"minutes": client_span.total_seconds() / 60}))  # fmt: skip
    return out


def _campaign_finding(kind, subject_id, label, burst, n_min, start, end, span) -> Finding:
    units, staff = Counter(r[2] for r in burst), Counter(r[4] for r in burst if r[4])
    return Finding(
        Rule.CAMPAIGN, kind, subject_id, label, _majority(r[3] for r in burst), units.most_common(1)[0][0],
        start, end, round(len(burst) / n_min, 2),
        _("%(n)d 条差评在短时间内来自同一来源，涉及 %(u)d 个单位、%(s)d 名人员") % {
            "n": len(burst), "u": len(units), "s": len(staff)},
        {"rating_ids": [r[0] for r in burst][:EVIDENCE_MAX], "count": len(burst), "first": _iso(burst[0][1]),
         "last": _iso(burst[-1][1]), "threshold": n_min, **span,
         "targets": {"units": len(units), "staff": len(staff)}},
    )  # fmt: skip


@cache
def lexicon() -> dict[str, list[str]]:
    return json.loads(LEXICON_FILE.read_text(encoding="utf-8"))


def _mentions(text: str, phrases: list[str], negations: list[str]) -> list[str]:
    """Phrases found in ``text`` not negated. Naive on purpose: a phrase counts unless one of the negation words
    ends within the 3 characters before it (没有推诿, 不是很满意, 并非态度恶劣)."""
    found = []
    for phrase in phrases:
        at = text.find(phrase)
        while at != -1:
            before = text[max(0, at - 3) : at]
            if not any(neg in before for neg in negations):
                found.append(phrase)
                break
            at = text.find(phrase, at + 1)
    return found


def text_contradiction(text: str, grade: int) -> tuple[str, list[str]] | None:
    """("positive", phrases) for clearly positive text with a 差评, ("negative", phrases) for clearly negative text
    with a 好评, else None. Text that is both positive and negative is not clear: None."""
    lex = lexicon()
    pos = _mentions(text, lex["positive"], lex["negations"])
    neg = _mentions(text, lex["negative"], lex["negations"])
    if grade <= 2 and pos and not neg:
        return "positive", pos
    if grade >= 4 and neg and not pos:
        return "negative", neg
    return None


def text_grade(start: datetime, end: datetime, scope: Scope = ALL_SCOPE) -> list[Finding]:
    """文字与等级矛盾: ratings whose comment clearly says the opposite of the grade (lexicon.json), per unit and day;
    fires at TEXT_MIN such ratings."""
    n_min = threshold("TEXT_MIN")
    hits: dict[int, list[dict]] = defaultdict(list)
    rows = _ratings(scope, start, end).exclude(comment="").filter(Q(grade__lte=2) | Q(grade__gte=4))
    for r in rows.order_by("rated_at", "id").values("id", "unit_id", "region_id", "grade", "comment"):
        found = text_contradiction(r["comment"], r["grade"])
        if found:
            hits[r["unit_id"]].append({"id": r["id"], "region_id": r["region_id"], "kind": found[0],
                                       "phrases": found[1]})  # fmt: skip
    units = _unit_regions(u for u, items in hits.items() if len(items) >= n_min)
    out = []
    for unit_id, unit in units.items():
        items = hits[unit_id]
        out.append(Finding(
            Rule.TEXT_GRADE, "unit", str(unit_id), unit.name, unit.region_id, unit_id, start, end,
            round(len(items) / n_min, 2),
            _("%(n)d 条评价的文字与满意度等级明显相反") % {"n": len(items)},
            {"rating_ids": [i["id"] for i in items][:EVIDENCE_MAX], "count": len(items), "threshold": n_min,
             "phrases": {str(i["id"]): {"kind": i["kind"], "phrases": i["phrases"]} for i in items[:EVIDENCE_MAX]},
             "method": "lexicon.json, negation within 3 characters before the phrase"},
        ))  # fmt: skip
    return out


DAY_RULES = {
    Rule.BRUSHING: brushing,
    Rule.COERCED: coerced,
    Rule.SELF_RATING: self_rating,
    Rule.CAMPAIGN: campaign,
    Rule.TEXT_GRADE: text_grade,
}
MONTH_RULES = {Rule.DEFAULT_SHARE: default_share, Rule.PERFECT: perfect}
