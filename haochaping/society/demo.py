"""Demo: the suggestion box's last two months and one third-party assessment of the first city's units.

- About 30 suggestions (意见箱) through ``opening.suggestion_open``, as the public page would file them: most name a
  unit or hall of the first city, some only a district (routed to its agency, with a routing suggestion), some
  anonymous, some with a (fake, 170 0000 xxxx) phone. The older ones are handled through the case services
  (assign → call-back where there is a phone → verify → explain or 立行立改 → public notice or SMS → closed), so the
  loop shows on /cases/?kind=suggestion and on the tracking page.
- One assessment firm's results for the last whole quarter, for every active unit of the first city, imported
  through ``services.assessment_import`` from a generated CSV by the city's agency administrator (/assessments/).

Deterministic for a seed (random.Random) given the same day; does nothing a second time.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from haochaping.accounts.models import Membership, Role
from haochaping.accounts.scope import ALL_SCOPE, scope_for_user
from haochaping.cases import access
from haochaping.cases.models import Case, Kind, State
from haochaping.cases.opening import SuggestionIn, suggestion_open
from haochaping.cases.services import Actor, case_act
from haochaping.cases.sweep import sweep
from haochaping.directory.models import Hall, Organisation, Region
from haochaping.society import services
from haochaping.society.models import AssessmentImport

DEMO_PHONE_PREFIX = "1700000"  # obviously fake numbers (demo/load.py uses the same block)
SUGGESTIONS = 32
DAYS = 60
OPEN_DAYS = 8  # suggestions younger than this are left open; older ones are handled to the end
FIRM = "浙江公信政务服务评估咨询有限公司"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

# (topic, text, answer): what people write into a suggestion box, and what the unit answers.
TEXTS: list[tuple[str, str, str]] = [
    ("facilities", "大厅等候区座位太少，老人和带孩子的群众经常站着等，建议增加座椅。",
     "已在等候区增设座椅20个，并设老年人优先座位。"),
    ("facilities", "建议在大厅设置母婴室，带婴儿来办事很不方便。", "已利用二楼闲置房间改造母婴室，下月投入使用。"),
    ("facilities", "停车位太少，建议周末开放旁边单位的停车场或者在门口标明附近停车点。",
     "已与相邻单位协商，工作日下午开放其停车场，门口已张贴附近停车指引。"),
    ("facilities", "自助填表机经常死机，建议维修或更换。", "已联系厂家维修并增加一台备用机。"),
    ("facilities", "饮水机没有纸杯，建议补充。", "已安排每日检查补充。"),
    ("process", "办理不动产登记要在两个窗口来回跑，建议合并成一个窗口一次受理。",
     "已推行“一窗受理、集成服务”，登记和缴税在同一窗口办理。"),
    ("process", "材料清单网上写的和窗口要求的不一致，建议统一并及时更新。", "已逐项核对并更新网上办事指南。"),
    ("process", "建议营业执照变更可以全程网办，不用再跑现场。", "该事项已纳入全程网办清单，预计下月上线。"),
    ("process", "预约号放号时间太早，上班族抢不到，建议分时段放号。", "已改为每天早中晚三个时段放号。"),
    ("process", "社保卡补办要等两周，建议能当场制卡。", "大厅已配置即时制卡设备，符合条件的可当场领取。"),
    ("attitude", "窗口工作人员讲解很耐心，建议表扬。也希望其他窗口都能这样。", "感谢您的肯定，已在单位内通报表扬。"),
    ("attitude", "咨询台人员回答问题不耐烦，建议加强培训。", "已对咨询台人员开展服务规范培训。"),
    ("attitude", "建议午休时间保留一个窗口，方便上班族中午来办事。", "已实行午间延时服务，设两个综合窗口。"),
    ("online", "手机上提交材料老是上传失败，建议优化。", "已修复大文件上传问题并放宽图片格式限制。"),
    ("online", "网上办事大厅的搜索搜不到想办的事项，建议支持口语化搜索。", "已优化事项搜索，支持常用说法和简称。"),
    ("online", "建议在小程序上能查询办件进度，不用打电话问。", "小程序已上线办件进度查询功能。"),
    ("online", "短信通知里的链接打不开，建议检查。", "已排查并修复短信链接跳转问题。"),
    ("other", "建议大厅提供复印服务，有时候缺一份复印件就要出去找打印店。", "已在大厅设置免费自助复印打印区。"),
    ("other", "建议增加英文指引，外籍人士办事看不懂。", "已在主要区域增加中英文双语指引。"),
    ("other", "建议对残障人士提供上门服务。", "已开通帮办代办和预约上门服务，可拨打大厅电话预约。"),
    ("", "希望能延长周末的办公时间，很多人只有周末有空。", "已实行周六上午延时服务。"),
    ("", "大厅空调温度太低，建议调高一点。", "已将空调温度调整为26度。"),
]  # fmt: skip


def _first_city() -> Region | None:
    return Region.objects.filter(level=Region.Level.CITY).order_by("code").first()


def _at(rng: random.Random, now: datetime, days_back: int) -> datetime:
    day = timezone.localtime(now).date() - timedelta(days=days_back)
    moment = datetime.combine(day, time(rng.randint(8, 20), rng.randrange(60)))
    return min(timezone.make_aware(moment), now - timedelta(minutes=30))


def _handled_units() -> set[int]:
    """Units with someone who may handle their cases (access.HANDLER_ROLES): only their suggestions get old."""
    return set(
        Membership.objects.filter(user__is_active=True, role__in=access.HANDLER_ROLES).values_list("unit_id", flat=True)
    )


def _suggestions(rng: random.Random, city: Region, now: datetime) -> list[tuple[Case, str, datetime, bool]]:
    units = list(
        Organisation.objects.filter(is_active=True, region__path__startswith=city.path)
        .exclude(kind=Organisation.Kind.AGENCY)
        .order_by("pk")
    )
    halls = list(Hall.objects.filter(is_active=True, region__path__startswith=city.path).order_by("pk"))
    agencies: dict[int, int] = {}
    for pk, region_id in (
        Organisation.objects.filter(kind=Organisation.Kind.AGENCY, is_active=True, region__path__startswith=city.path)
        .order_by("-id")
        .values_list("pk", "region_id")
    ):
        agencies[region_id] = pk  # the lowest id last: the agency _route picks
    counties = list(
        Region.objects.filter(path__startswith=city.path, level=Region.Level.COUNTY, pk__in=agencies).order_by("code")
    )
    handled = _handled_units()
    made = []
    for n in range(SUGGESTIONS):
        topic, text, answer = TEXTS[n % len(TEXTS)]
        fields: dict = {"content": text, "topic": topic, "channel": "pc" if n % 3 else "app"}
        roll = rng.random()
        by_region = roll < 0.2 and bool(counties)
        if by_region:
            county = rng.choice(counties)
            fields["region_id"], unit_id = county.pk, agencies[county.pk]  # only the district: its agency routes it
        elif roll < 0.45 and halls and topic in ("facilities", "attitude", "other", ""):
            hall = rng.choice(halls)
            fields["hall_id"], unit_id = hall.pk, hall.unit_id
        elif units:
            unit = rng.choice(units)
            fields["unit_id"], unit_id = unit.pk, unit.pk
        else:
            fields["region_id"], unit_id = city.pk, agencies.get(city.pk)
        if rng.random() < 0.4:
            fields["contact_phone"] = f"{DEMO_PHONE_PREFIX}{rng.randrange(10000):04d}"
            if rng.random() < 0.5:
                fields["contact_name"] = rng.choice(["张女士", "李先生", "王女士", "陈先生", "刘女士"])
        # A unit nobody can handle cases for keeps only fresh suggestions: none lies forgotten for months.
        at = _at(rng, now, rng.randrange(0, DAYS if unit_id in handled else 4))
        case = suggestion_open(SuggestionIn(**fields), scope=ALL_SCOPE, now=at)
        made.append((case, answer, at, by_region))
    return made


def _handle(rng: random.Random, made: list[tuple[Case, str, datetime, bool]], now: datetime) -> int:
    """Take the older suggestions through the loop with the real case services, dated as they happened."""
    root = get_user_model().objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
    if root is None:
        return 0
    closed = 0
    for case, answer, at, _by_region in sorted(made, key=lambda m: m[2]):
        if now - at < timedelta(days=OPEN_DAYS):
            continue  # the recent ones stay with the units, new
        handler = access.eligible_handlers(case).first()
        if handler is None:
            continue
        step = at + timedelta(hours=rng.randint(2, 20))
        case_act(case_id=case.pk, action="assign", user=root, data={"handler": handler.pk}, now=step)
        if case.real_name:
            step += timedelta(hours=rng.randint(2, 20))
            said = rng.choice(["希望尽快改进", "只是提个建议，不急", "问题还存在，希望重视"])
            data = {"at": step, "channel": "phone", "reached": True, "rater_said": said}
            case_act(case_id=case.pk, action="callback", user=handler, data=data, now=step)
        step += timedelta(days=1)
        facts = {"facts": "经核实，意见属实，已研究改进。"}
        case_act(case_id=case.pk, action="verify", user=handler, data=facts, now=step)
        step += timedelta(days=rng.randint(1, 4))
        if rng.random() < 0.5:
            files = [SimpleUploadedFile("现场照片.png", PNG, content_type="image/png")]
            case = case_act(
                case_id=case.pk, action="fix_now", user=handler, data={"measures": answer}, files=files, now=step
            )
        else:
            case = case_act(case_id=case.pk, action="explain", user=handler, data={"explanation": answer}, now=step)
        if case.real_name:
            step += timedelta(days=1)
            grade = rng.choice([3, 3, 3, 2])
            case_act(case_id=case.pk, action="rate_handling", actor=Actor.rater(), data={"feedback_grade": grade},
                     now=step)  # fmt: skip
            closed += 1
            continue
        end = timezone.make_aware(datetime.combine(case.feedback_due + timedelta(days=1), time(2)))
        if end < now:  # anonymous: told publicly; closed when the feedback period has run out
            case_act(case_id=case.pk, action="close_no_response", actor=Actor.system(), now=end)
            closed += 1
    return closed


def last_quarter(today: date) -> tuple[date, date]:
    q = (today.month - 1) // 3  # the quarter before this one (0 → last year's 4th)
    year, q = (today.year, q) if q else (today.year - 1, 4)
    return services.period_bounds(f"{year}-Q{q}")


def _assessment(rng: random.Random, city: Region, today: date) -> AssessmentImport | None:
    admin = (
        get_user_model()
        .objects.filter(
            is_active=True,
            membership__role=Role.AGENCY_ADMIN,
            membership__unit__kind=Organisation.Kind.AGENCY,
            membership__unit__region=city,
        )
        .order_by("pk")
        .first()
    )
    if admin is None or not Membership.objects.filter(user=admin).exists():
        return None
    units = list(
        Organisation.objects.filter(is_active=True, region__path__startswith=city.path).order_by("region__path", "pk")
    )
    if not units:
        return None
    dims = ["服务效率", "服务态度", "办事便利度"]
    rows = []
    for unit in units:
        subs = [round(rng.uniform(68, 99), 1) for _d in dims]
        score = round(min(98.0, max(70.0, sum(subs) / len(subs) + rng.uniform(-2, 2))), 1)
        rows.append([unit.uscc, unit.name, score, subs])
    rows.sort(key=lambda r: -r[2])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*services.HEADERS, *dims])
    for rank, (uscc, name, score, subs) in enumerate(rows, start=1):
        if score >= 90:
            remark = "服务规范高效，群众满意度高"
        elif score >= 80:
            remark = "整体较好，部分事项办理时限仍可压缩"
        else:
            remark = "等候时间偏长，一次性告知落实不到位，建议限期改进"
        writer.writerow([uscc, name, score, rank, remark, *subs])
    start, end = last_quarter(today)
    outcome = services.assessment_import(
        services.AssessmentIn(
            firm=FIRM,
            title=f"{city.name}{services.period_label(start, end)}政务服务第三方评估",
            region_id=city.pk,
            period_start=start,
            period_end=end,
            file_name=f"{city.name}第三方评估结果.csv",
            data=b"\xef\xbb\xbf" + out.getvalue().encode("utf-8"),
        ),
        scope=scope_for_user(admin),
        user=admin,
    )
    return outcome.assessment


def seed_demo(out: Callable[[str], None], seed: int) -> None:
    rng = random.Random(f"haochaping-demo-society-{seed}")
    city = _first_city()
    if city is None:
        out("社会评价 / society: 没有地市，跳过 / no city, skipped")
        return
    now = timezone.now()
    if Case.objects.filter(kind=Kind.SUGGESTION).exists():
        out("社会评价 / society: 意见箱已有数据，跳过 / suggestions exist, skipped")
    else:
        made = _suggestions(rng, city, now)
        closed = _handle(rng, made, now)
        sweep()  # the supervision sweep has seen the backdated suggestions, as the worker's would have
        anonymous = sum(1 for m in made if not m[0].real_name)
        by_region = sum(1 for m in made if m[3])
        open_now = Case.objects.filter(kind=Kind.SUGGESTION).exclude(state=State.CLOSED).count()
        out(
            f"意见箱 / suggestions: {len(made)} 条（匿名 {anonymous}，按地区分派 {by_region}），"
            f"已办结 {closed}，在办 {open_now}（/suggestions/，/cases/?kind=suggestion）"
        )
    if AssessmentImport.objects.filter(firm=FIRM).exists():
        out("第三方评估 / assessments: 已导入，跳过 / already imported, skipped")
        return
    assessment = _assessment(rng, city, timezone.localdate(now))
    if assessment is None:
        out("第三方评估 / assessments: 没有可用的管理机构管理员或单位，跳过 / skipped")
        return
    out(
        f"第三方评估 / assessments: {FIRM} {services.period_label(assessment.period_start, assessment.period_end)} "
        f"{city.name} {assessment.rows} 个单位（/assessments/{assessment.pk}/）"
    )
