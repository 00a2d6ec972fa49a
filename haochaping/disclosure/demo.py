"""Demo: the rectification publication (整改公开) with a moderation history and a queue left to review.

Syncs the demo's handled cases into publications, then as the province's agency administrator redacts one,
withholds a few with reasons and publishes the rest, leaving the most recent ones pending for the queue."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from django.conf import settings

LEFT_PENDING = 20
WITHHOLD_REASONS = ("涉及第三方隐私", "内容涉及正在处理的其他投诉，暂缓公开", "评价内容与办事无关")


def _province_admin():
    from django.contrib.auth import get_user_model

    from haochaping.accounts.models import Role

    user = (
        get_user_model()
        .objects.filter(
            is_active=True, membership__role=Role.AGENCY_ADMIN, membership__unit__region__parent__isnull=True
        )
        .order_by("id")
        .first()
    )
    return user or get_user_model().objects.filter(is_superuser=True, is_active=True).order_by("id").first()


# What raters and handlers really write: phone numbers, names, addresses. The demo's generated texts hold none, so a
# few handled cases get such texts (before their first seal), and the masking shows on the moderation pages.
PERSONAL = (
    (
        "我叫张三丰，电话13812345678，材料交了三次还说不全",
        "已电话联系张三丰先生（13812345678）说明所需材料，并一次性告知清单",
    ),
    ("住杭州市西湖区文三路188号3幢2单元501室，上门核实没人来", "工作人员已到文三路188号3幢2单元501室核实，补发证照"),
    ("身份证号330106198001011234填错了，窗口李科长态度很差", "已约谈李科长，更正身份证号信息并致歉"),
    ("加我微信 wx_hz2026 或发邮件 zhang@example.com 联系", "已通过邮件回复评价人，重新办理"),
)


def _plant_personal_data() -> int:
    """Put PERSONAL texts into a few public 差评 whose case reached an outcome and whose rating is not sealed yet."""
    from haochaping.cases.models import Case, Outcome
    from haochaping.ratings.models import Rating
    from haochaping.seal.models import Seal

    cases = list(
        Case.objects.filter(rating__is_public=True, outcome__in=[Outcome.FIXED_NOW, Outcome.EXPLAINED, Outcome.LEDGER])
        .exclude(rating__comment="")
        .exclude(publication__isnull=False)
        .order_by("-outcome_at")[: len(PERSONAL) * 3]
    )
    sealed = set(
        Seal.objects.filter(kind="rating", record_id__in=[c.rating_id for c in cases]).values_list(
            "record_id", flat=True
        )
    )
    cases = [c for c in cases if c.rating_id not in sealed][: len(PERSONAL)]
    for case, (comment, response) in zip(cases, PERSONAL, strict=False):
        Rating.objects.filter(pk=case.rating_id).update(comment=comment)
        field = "explanation" if case.outcome == Outcome.EXPLAINED else "measures"
        Case.objects.filter(pk=case.pk).update(**{field: response})
    return len(cases)


def seed_demo(write: Callable[[str], None]) -> dict:
    from haochaping.disclosure import publication
    from haochaping.disclosure.models import Publication

    started = time.perf_counter()
    _plant_personal_data()
    synced = publication.sync()
    admin = _province_admin()
    result = {"synced": synced, "published": 0, "withheld": 0, "redacted": 0, "pending": 0}
    if admin is None:
        write("差评整改公开 / rectifications: 没有管理机构管理员，未审核")
        return result
    pending = list(Publication.objects.filter(status=Publication.Status.PENDING).order_by("outcome_on", "id"))
    keep = pending[-LEFT_PENDING:] if len(pending) > LEFT_PENDING else []
    work = pending[: len(pending) - len(keep)]
    # one redaction: the part of a public comment after its first comma
    for pub in work:
        parts = re.split(r"[，,]", pub.comment, maxsplit=1)
        if pub.comment_allowed and len(parts) == 2 and len(parts[1]) >= 4:
            publication.redact(pub, admin, comment=f"{parts[0]}，〔已删除〕", reason="含可能识别评价人的细节")
            result["redacted"] += 1
            break
    # a few withheld, preferring texts where masking found personal data
    flagged = [p for p in work if "[姓名]" in p.comment or "[地址]" in p.comment or "[手机号]" in p.comment]
    chosen = (flagged + [p for p in work if p not in flagged])[: len(WITHHOLD_REASONS)]
    for pub, reason in zip(chosen, WITHHOLD_REASONS, strict=False):
        publication.withhold(pub, admin, reason)
        result["withheld"] += 1
    skip = {p.pk for p in chosen}
    rest = [p.pk for p in work if p.pk not in skip]
    result["published"] = publication.publish_many(rest, admin) if rest else 0
    result["pending"] = Publication.objects.filter(status=Publication.Status.PENDING).count()
    write(
        f"差评整改公开 / rectifications: 生成 {synced['created']:,} 条，公开 {result['published']:,}，"
        f"不予公开 {result['withheld']}，人工删改 {result['redacted']}，待审核 {result['pending']}，"
        f"{time.perf_counter() - started:.1f}s"
    )
    write(
        f"  {settings.SITE_URL}/open/rectifications/ 公开列表；{settings.SITE_URL}/disclosure/moderation/ "
        f"以 {admin.get_username()} 登录审核"
    )
    _show_lookup(write)
    return result


def _show_lookup(write: Callable[[str], None]) -> None:
    """A rater's view of their case: the lookup link of a case waiting for the rater's verdict (or any case)."""
    from haochaping.cases.lookup import lookup_code, lookup_url
    from haochaping.cases.models import Case, State

    case = Case.objects.filter(state=State.FEEDBACK).order_by("id").first() or Case.objects.order_by("id").first()
    if case is not None:
        write(f"  差评进度查询 / rater's lookup: 工单 {case.number} 查询码 {lookup_code(case.pk)} → {lookup_url(case)}")
