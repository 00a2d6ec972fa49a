"""Demo: the province's window-service checklist, an unannounced plan (暗访) for the first city's halls carried out by
the `inspector` login over the last two months — some items failed and were handed over as 整改事项 through the
same services the pages use — and visits still open in the plan, so a visitor can do one on a phone.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from datetime import datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from haochaping.accounts.models import Membership, Role
from haochaping.accounts.scope import scope_for_user
from haochaping.cases import workdays
from haochaping.cases.models import Rectification
from haochaping.cases.rectification import rectification_complete
from haochaping.directory.models import Hall, Region, Window
from haochaping.inspections import selectors, services
from haochaping.inspections.models import Checklist, Inspection, Mode

CHECKLIST = "政务服务窗口监督查评检查表"
# (category, text, guidance, max, pass, finding when it fails)
ITEMS = (
    ("窗口礼仪", "窗口人员着装与工作牌", "统一着装、佩戴工作牌，桌牌信息与在岗人员一致；缺一项扣3分。", 10, 6,
     "2号窗口工作人员未佩戴工作牌，桌牌姓名与在岗人员不一致"),
    ("服务态度", "服务态度与文明用语", "主动问候、耐心解答，无生硬、推诿、训斥；出现一次不文明用语即不合格。", 10, 6,
     "咨询时工作人员语气生硬，未主动说明所缺材料"),
    ("一次性告知", "一次性告知材料清单", "材料不全时出具书面一次性告知单，清单与办事指南一致。", 10, 6,
     "材料不全时仅口头告知，未出具一次性告知单"),
    ("信息公开", "办事指南公示准确", "大厅和网上公示的办事指南与窗口实际要求一致，无过期版本。", 10, 6,
     "公示的办事指南仍为旧版，材料清单与窗口要求不一致"),
    ("服务秩序", "叫号等候时长", "取号至叫号不超过30分钟；超过45分钟不合格。", 10, 6,
     "上午10时取号，等候约55分钟才叫号，仅开放1个窗口"),
    ("评价渠道", "评价器/二维码可用", "窗口评价器正常工作，评价二维码张贴规范、扫码可用。", 10, 6,
     "窗口评价器黑屏，评价二维码被遮挡"),
    ("首问负责", "首问负责", "首问人员对非本窗口事项予以引导或联系相关窗口，不推诿。", 10, 6,
     "询问其他事项时被告知“不归我们管”，未予引导"),
    ("窗口纪律", "窗口纪律（离岗/玩手机）", "工作时间在岗在位，无玩手机、闲聊、无故离岗；发现一次扣5分。", 10, 6,
     "工作时间窗口无人约15分钟，未放置暂停服务提示牌"),
)  # fmt: skip
SUMMARIES = (
    "大厅整体秩序良好，引导台有专人值守。",
    "上午高峰时段取号人数较多，部分窗口等候时间偏长。",
    "窗口服务规范，评价器和二维码均可正常使用。",
    "自助服务区设备运行正常，但缺少使用说明。",
)
VISITS = 8  # submitted inspections in the plan


def _photo(rng: random.Random, label: int) -> SimpleUploadedFile:
    """A small JPEG standing in for a photo taken on site."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 240), (rng.randrange(150, 230), rng.randrange(150, 230), rng.randrange(150, 230)))
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 60, 300, 200), outline=(120, 20, 30), width=6)
    draw.text((30, 20), f"photo {label}", fill=(20, 20, 20))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=70)
    return SimpleUploadedFile(f"现场照片{label}.jpg", out.getvalue(), content_type="image/jpeg")


def _scores(rng: random.Random, fail: set[int]) -> list[int]:
    values = []
    for n, (_, _, _, max_score, pass_score, _) in enumerate(ITEMS):
        if n in fail:
            values.append(rng.randrange(2, pass_score))
        else:
            values.append(rng.choice([max_score] * 5 + [max_score - 1] * 3 + [max_score - 2] * 2))
    return values


def seed_demo(out: Callable[[str], None], seed: int) -> None:
    province = Region.objects.filter(parent__isnull=True).order_by("code").first()
    User = get_user_model()
    inspector = User.objects.filter(username="inspector").first()
    if province is None or inspector is None or Checklist.objects.filter(name=CHECKLIST, region=province).exists():
        return
    membership = Membership.objects.filter(user=inspector).select_related("unit__region").first()
    if membership is None:
        return
    city = membership.unit.region
    author = User.objects.filter(username="province").first() or inspector
    rng = random.Random(f"haochaping-demo-inspections-{seed}")
    checklist = services.checklist_save(
        checklist=None,
        region=province,
        name=CHECKLIST,
        description="适用于各级政务服务中心窗口的明查、暗访和神秘访客检查。",
        items=[
            services.ItemIn(None, (n + 1) * 10, category, text, guidance, max_score, pass_score)
            for n, (category, text, guidance, max_score, pass_score, _) in enumerate(ITEMS)
        ],
        actor=author,
    )
    halls = _halls(city)
    if not halls:
        return
    today = timezone.localdate()
    plan = services.plan_create(
        region=city,
        name=f"{city.name}政务服务大厅暗访（{today:%Y}年第{(today.month - 1) // 3 + 1}季度）",
        checklist_id=checklist.pk,
        mode=Mode.UNANNOUNCED,
        starts_on=today - timedelta(days=60),
        ends_on=today + timedelta(days=30),
        hall_ids=[h.pk for h in halls],
        inspector_ids=[inspector.pk],
        visits=2,
        notes="不事先通知，检查人员以办事群众身份进入大厅，重点检查窗口纪律和一次性告知。",
        actor=author,
    )
    scope = scope_for_user(inspector)
    failures = rectified = 0
    featured = _featured_window(halls)  # the `dept_admin` login's window: its unit has findings to rectify
    visits = [halls[n % len(halls)] for n in range(min(VISITS, 2 * len(halls) - 1))]
    for n, hall in enumerate(visits):
        days_ago = 56 - n * 7 + rng.randrange(0, 3)
        started = timezone.make_aware(datetime.combine(today - timedelta(days=days_ago), time(9, 30)))
        started += timedelta(minutes=rng.randrange(0, 300))
        windows = list(Window.objects.filter(hall=hall, is_active=True).order_by("code")[:12])
        window = rng.choice(windows) if windows and n % 4 != 3 else None
        fail = set(rng.sample(range(len(ITEMS)), k=rng.choice([0, 0, 1, 1, 2]))) if n else {0, 4}
        if featured is not None and hall == featured.hall:
            window, fail, featured = featured, fail | {2}, None
        inspection = services.inspection_start(
            actor=inspector, scope=scope, plan_id=plan.pk, hall_id=hall.pk, window_id=window.pk if window else None
        )
        Inspection.objects.filter(pk=inspection.pk).update(started_at=started)
        inspection.refresh_from_db()
        values = _scores(rng, fail)
        items = selectors.active_items(checklist)
        photos = [services.PhotoIn(_photo(rng, 10 * n + k), items[k].pk) for k in sorted(fail)]
        photos.append(services.PhotoIn(_photo(rng, 10 * n + 9)))
        services.inspection_save(
            inspection.pk,
            actor=inspector,
            scores={item.pk: value for item, value in zip(items, values, strict=True)},
            notes={items[k].pk: ITEMS[k][5] for k in fail},
            summary=rng.choice(SUMMARIES),
            photos=photos,
            now=started + timedelta(minutes=20),
        )
        submitted_at = started + timedelta(minutes=rng.randrange(30, 70))
        inspection = services.inspection_submit(inspection.pk, actor=inspector, now=submitted_at)
        failures += inspection.failed_items
        # the two oldest visits' findings have been rectified since; the others are still open
        rectified += _age_rectifications(inspection, submitted_at, complete=n < 2)
    open_visits = sum(row.open for row in selectors.plan_progress(plan))
    out(
        f"监督查评 / inspections: 检查表“{CHECKLIST}”（{len(ITEMS)} 项）；"
        f"{city.name}暗访计划已完成 {len(visits)} 次检查，"
        f"{failures} 个不合格项已生成整改事项（{rectified} 项已整改），还有 {open_visits} 次待检查"
    )
    out(f"  以 inspector 登录，在手机上打开 {settings.SITE_URL}/inspections/ →“开始检查”完成一次暗访")


def _featured_window(halls: list[Hall]) -> Window | None:
    membership = Membership.objects.filter(user__username="dept_admin").first()
    if membership is None:
        return None
    windows = Window.objects.filter(unit_id=membership.unit_id, hall__in=halls, is_active=True).select_related("hall")
    return windows.order_by("hall__code", "code").first()


def _halls(city: Region) -> list[Hall]:
    """Up to five halls of the city, the city's own centre first."""
    halls = list(selectors.halls_in_region(city).select_related("region").order_by("region__level", "code")[:5])
    return halls


def _age_rectifications(inspection: Inspection, submitted_at: datetime, *, complete: bool) -> int:
    """Backdate the 整改事项 a past inspection opened and, if ``complete``, mark them rectified."""
    done = 0
    for score in inspection.scores.filter(rectification__isnull=False).select_related("rectification"):
        item = score.rectification
        deadline = workdays.add_workdays(timezone.localdate(submitted_at), 15)
        Rectification.objects.filter(pk=item.pk).update(created_at=submitted_at, deadline=deadline)
        if complete:
            unit_admin = (
                Membership.objects.filter(unit=inspection.unit, role=Role.DEPARTMENT_ADMIN)
                .select_related("user")
                .first()
            )
            rectification_complete(
                item.pk,
                measures="已约谈窗口负责人并组织全员培训，问题已整改到位，整改前后照片已存档。",
                actor=unit_admin.user if unit_admin else inspection.inspector,
                now=submitted_at + timedelta(days=6),
            )
            done += 1
    return done
