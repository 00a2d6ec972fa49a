"""Demo: a city that runs its own installation (舟山市) registered as a subordinate platform of the demo province.

It "pushed" the last month's ratings, two not-adopted decisions and its case outcomes through the same receiving
service a real push uses (exchange/receive.py), in three batches, one of them delivered twice (answered
"duplicate") and one record outside its region (refused): /exchange/ shows all of it, and the province's
dashboards count 舟山's ratings like any other city's.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from haochaping.directory.models import Organisation, Region
from haochaping.lib.uscc import make_uscc

CITY = ("330900000000", "舟山市")
COUNTIES = (("330902000000", "定海区"), ("330903000000", "普陀区"))
DEPARTMENTS = ("市场监督管理局", "人力资源和社会保障局", "不动产登记中心")
GRADES = [5] * 68 + [4] * 20 + [3] * 6 + [2] * 4 + [1] * 2
COMMENTS = ("等了一个多小时才叫号", "材料清单和窗口说的不一样", "工作人员不耐烦")
PLATFORM = "zhoushan-city"


def _regions() -> list[Region]:
    province = Region.objects.filter(parent__isnull=True).order_by("code").first()
    city, _ = Region.objects.get_or_create(code=CITY[0], defaults={"name": CITY[1], "parent": province})
    regions = [city]
    for code, name in COUNTIES:
        region, _ = Region.objects.get_or_create(code=code, defaults={"name": name, "parent": city})
        regions.append(region)
    for region in regions:  # every region has its management agency (regime.md §1)
        Organisation.objects.get_or_create(
            kind=Organisation.Kind.AGENCY,
            region=region,
            defaults={
                "uscc": make_uscc("1", "1", region.code[:6], "00000001"),
                "name": f"{region.name}政务服务管理办公室",
            },
        )
    return regions


def _records(rng: random.Random, counties: list[Region]) -> tuple[list[dict], list[dict]]:
    now = timezone.now()
    ratings, follow_ups = [], []
    for n in range(360):
        county = counties[n % len(counties)]
        serial = 2 + n % len(DEPARTMENTS)
        uscc = make_uscc("1", "1", county.code[:6], f"{serial:08d}")
        basic = f"00010{serial}001000"
        grade = rng.choice(GRADES)
        rated_at = now - timedelta(days=rng.randrange(1, 30), seconds=rng.randrange(8 * 3600, 17 * 3600))
        rating_id = str(uuid.uuid4())
        case_no = f"ZS{county.code[:6]}{n:06d}" if n % 2 == 0 else ""
        ratings.append(
            {
                "type": "rating",
                "origin": PLATFORM,
                "ratingId": rating_id,
                "projectNo": case_no,
                "areaCode": county.code,
                "areaName": county.name,
                "deptCode": uscc,
                "deptName": f"舟山市{county.name}{DEPARTMENTS[serial - 2]}",
                "taskCode": basic,
                "taskHandleItem": f"{uscc}{basic}",
                "taskName": ("营业执照办理", "社会保障卡申领", "不动产转移登记")[serial - 2],
                "taskType": "01",
                "serviceObjects": "1,2",
                "proStatus": 3,
                "alternate": grade,
                "assessNumber": 1,
                "assessStage": "complete" if case_no else "",
                "pf": 4 if case_no else 3,
                "channel": "hall_tablet" if case_no else "qr",
                "target": "case" if case_no else "unit",
                "ratedAt": rated_at.isoformat(),
                "writingAssess": rng.choice(COMMENTS) if grade <= 2 else "",
                "checkStatus": 1,
                "isDefault": 0,
            }
        )
        if grade <= 2:
            state, outcome = rng.choice(
                [("closed", "fixed_now"), ("rectifying", "ledger"), ("feedback", "explained"), ("assigned", "")]
            )
            follow_ups.append(
                {
                    "type": "case",
                    "origin": PLATFORM,
                    "caseNo": f"CP{rated_at:%Y%m%d}-{n:06d}",
                    "kind": "bad_review",
                    "ratingId": rating_id,
                    "areaCode": county.code,
                    "deptCode": uscc,
                    "deptName": ratings[-1]["deptName"],
                    "state": state,
                    "outcome": outcome,
                    "openedAt": rated_at.isoformat(),
                    "outcomeAt": (rated_at + timedelta(days=2)).isoformat() if outcome else None,
                    "closedAt": (rated_at + timedelta(days=6)).isoformat() if state == "closed" else None,
                    "resolveDue": (rated_at + timedelta(days=5)).date().isoformat(),
                    "onTime": rng.random() < 0.85 if outcome else None,
                    "calledBack": state != "assigned",
                    "feedbackGrade": 3 if state == "closed" else None,
                }
            )
    bad = [r for r in ratings if r["alternate"] <= 2][:2]
    follow_ups += [{"type": "adoption", "origin": PLATFORM, "ratingId": r["ratingId"], "checkStatus": 3} for r in bad]
    return ratings, follow_ups


def seed_demo(write: Callable[[str], None], seed: int = 42) -> None:
    from haochaping.exchange import receive, services
    from haochaping.exchange.models import Subordinate

    if Subordinate.objects.filter(code=PLATFORM).exists():
        return
    rng = random.Random(seed)
    regions = _regions()
    subordinate, secret = services.subordinate_register(code=PLATFORM, name="舟山市好差评平台", region=regions[0])
    ratings, follow_ups = _records(rng, regions[1:])
    first, second = ratings[:200], ratings[200:]
    stray = {**ratings[0], "ratingId": str(uuid.uuid4()), "areaCode": "330102000000"}  # not 舟山's: refused
    totals = [receive.receive_batch(subordinate, uuid.uuid4(), batch) for batch in (first, [*second, stray])]
    totals.append(receive.receive_batch(subordinate, uuid.uuid4(), first[:50]))  # a batch delivered twice
    totals.append(receive.receive_batch(subordinate, uuid.uuid4(), follow_ups))
    accepted = sum(t.accepted for t in totals)
    duplicates = sum(t.duplicates for t in totals)
    rejected = sum(t.rejected for t in totals)
    write(
        f"数据交换 / exchange: 下级平台“舟山市好差评平台”上报 {accepted} 条（重复 {duplicates}，拒收 {rejected}），"
        f"见 {settings.SITE_URL}/exchange/（以 province 登录）；其密钥前缀 {secret[4:12]}…"
    )


def seed_file_drop(write: Callable[[str], None], api_key_secret: str, seed: int = 42) -> None:
    """A business system that can only export files: the demo key's drop folder, with one file processed
    (window ratings of yesterday, one line refused) and its results file beside it."""
    import json

    from haochaping.accounts.models import ApiKey
    from haochaping.directory.models import Window
    from haochaping.exchange import filedrop

    key = ApiKey.objects.filter(prefix=api_key_secret[4:12], revoked_at__isnull=True).first()
    if key is None:
        return
    base = filedrop.enable(key)
    rng = random.Random(seed)
    windows = list(Window.objects.filter(is_active=True).select_related("hall").order_by("id")[:40])
    if not windows:
        return
    yesterday = timezone.localtime() - timedelta(days=1)
    day = yesterday.strftime("%Y%m%d")
    lines = []
    for n in range(60):
        window = rng.choice(windows)
        at = yesterday.replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(minutes=7 * n)
        lines.append(
            {
                "window": {"hall": window.hall.code, "code": window.code},
                "grade": rng.choice(["very_satisfied"] * 8 + ["satisfied", "basic"]),
                "channel": "hall_terminal",
                "rated_at": at.isoformat(),
            }
        )
    lines[17]["grade"] = "excellent"  # a line the intake refuses: its error lands in the results file
    name = f"自助终端评价-{day}.jsonl"
    temporary = base / filedrop.INCOMING / f".{name}.part"
    temporary.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n", encoding="utf-8")
    temporary.rename(base / filedrop.INCOMING / name)  # written under a temporary name, then renamed: the rule
    outcomes = filedrop.scan_key(key)
    for outcome in outcomes:
        write(
            f"文件投递 / file drop: {outcome.name} → 存储 {outcome.stored}，拒收 {outcome.rejected}"
            f"（结果文件在 {base / filedrop.DONE}；/exchange/ 可查看）"
        )
