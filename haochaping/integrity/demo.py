"""Demo: plant a coerced clerk, a brushing evaluator device and a malicious 差评 campaign, then run the rules.

Everything goes through the real paths: devices are paired with a pairing code, prompts are pushed and shown by
the evaluator services, ratings are stored by ``submit_ratings`` (device ratings by ``device_rating_submit``).
Only time is simulated: the patterns happen yesterday, so the prompts' timestamps are set to the simulated day
after the real calls (a demo cannot wait minutes between two presses), and ratings carry their simulated
``rated_at`` (as a queued device or a business system would send it).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import datetime, time, timedelta

from django.db.models import Min
from django.utils import timezone

from haochaping.accounts.scope import ALL_SCOPE
from haochaping.directory.models import Region, Staff, Window
from haochaping.evaluator import services as evaluator
from haochaping.evaluator.models import EvaluatorDevice, EvaluatorPrompt
from haochaping.integrity.services import signals_compute
from haochaping.qrcodes.models import WindowCode
from haochaping.ratings.intake import submit_ratings
from haochaping.ratings.models import Rating

CAMPAIGN_PHONE = "13900008888"
CAMPAIGN_COMMENTS = [
    "工作人员态度恶劣，办个事跑了三趟",
    "窗口人员推诿扯皮，什么都办不了",
    "排队两个小时，效率太低",
    "材料明明齐全还说不行，故意刁难",
    "服务太差劲，要投诉到12345",
    "打电话没人接，来了也说不清楚",
    "根本不想给办，推来推去",
]


def _windows(rng: random.Random) -> list[Window]:
    """Three windows with resident staff, in the demo's first city (its inspector login sees them too)."""
    city = Region.objects.filter(level=2).order_by("code").first()
    qs = Window.objects.filter(is_active=True, hall__is_active=True, staff__is_active=True, staff__user__isnull=True)
    if city is not None and qs.filter(hall__region__path__startswith=city.path).exists():
        qs = qs.filter(hall__region__path__startswith=city.path)
    windows = list(qs.select_related("hall").distinct().order_by("id")[:300])
    return rng.sample(windows, 3)


def _device(window: Window, name: str) -> EvaluatorDevice:
    _, code = evaluator.pairing_code_create(window=window)
    device, _credential = evaluator.device_pair(code=code, name=name)
    return device


def _at(day_start: datetime, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return day_start + timedelta(hours=hour, minutes=minute, seconds=second)


def _press(device: EvaluatorDevice, grade: str, at: datetime, prompt_id: int | None = None, comment: str = "") -> None:
    result = evaluator.device_rating_submit(
        device=device,
        rating=evaluator.DeviceRating(
            idempotency_key=str(uuid.uuid4()), grade=grade, prompt_id=prompt_id, comment=comment, rated_at=at
        ),
    )
    if not result.ok:
        raise RuntimeError(f"demo rating refused: {result.errors}")


def plant_coerced(rng: random.Random, window: Window, day_start: datetime) -> Staff:
    """A clerk who presses 非常满意 on the evaluator 1–2 s after each push, 12 times in a row (after a few
    genuine ratings earlier in the day, 6–40 s after showing, with mixed grades)."""
    device = _device(window, f"{window.code}号窗口评价器（演示：代评）")
    staff = evaluator.window_staff(window)
    genuine = [(9, 5, "satisfied", 14), (9, 40, "very_satisfied", 23), (10, 5, "basic", 38), (10, 30, "satisfied", 9)]
    pattern = [(13, 30 + 6 * i, "very_satisfied", rng.choice([1, 1.5, 2])) for i in range(12)]
    for hour, minute, grade, seconds in genuine + pattern:
        pushed = _at(day_start, hour, minute)
        prompt = evaluator.prompt_push(
            window=window, case_no=None, scope=ALL_SCOPE, source="demo:integrity", staff=staff
        )
        evaluator.prompt_shown(prompt, device)
        shown = pushed + timedelta(seconds=1)
        rated = shown + timedelta(seconds=seconds)
        _press(device, grade, rated, prompt_id=prompt.pk)
        EvaluatorPrompt.objects.filter(pk=prompt.pk).update(created_at=pushed, shown_at=shown, rated_at=rated)
    return staff


def plant_brushing(rng: random.Random, window: Window, day_start: datetime) -> EvaluatorDevice:
    """An evaluator device that usually takes 2–4 ratings a day, then 15 非常满意 in 9 minutes one afternoon."""
    device = _device(window, f"{window.code}号窗口评价器（演示：刷好评）")
    for days_back in range(14, 0, -1):
        day = day_start - timedelta(days=days_back)
        for _ in range(rng.randint(2, 4)):
            grade = rng.choice(["very_satisfied", "satisfied", "satisfied", "basic"])
            _press(device, grade, _at(day, rng.randint(9, 16), rng.randint(0, 59)))
    for i in range(15):
        _press(device, "very_satisfied", _at(day_start, 16, 0, 36 * i))
    return device


def plant_campaign(rng: random.Random, window: Window, day_start: datetime) -> None:
    """One phone number sends 7 差评 about one window's clerk through its QR code within six hours."""
    code = WindowCode.objects.filter(window=window, revoked_at__isnull=True).first()
    client = f"qr:{code.pk}" if code else "demo-campaign"
    staff = evaluator.window_staff(window)
    items = [
        {
            "window": {"hall": window.hall.code, "code": window.code},
            "staff_code": staff.code if staff else None,
            "grade": rng.choice(["very_dissatisfied", "very_dissatisfied", "dissatisfied"]),
            "channel": "qr",
            "comment": comment,
            "anonymous": False,
            "rater_phone": CAMPAIGN_PHONE,
            "rated_at": _at(day_start, 10, 50 * i + rng.randint(0, 9)).isoformat(),
            "idempotency_key": f"integrity-demo-campaign-{i}",
        }
        for i, comment in enumerate(CAMPAIGN_COMMENTS)
    ]
    results = submit_ratings(items, scope=ALL_SCOPE, client=client)
    refused = [r.errors for r in results if not r.ok]
    if refused:
        raise RuntimeError(f"demo ratings refused: {refused}")


def plant_patterns(seed: int = 42, write: Callable[[str], object] = print) -> None:
    """Plant the three patterns (yesterday) through the real intake paths. Runs before the demo's cases are
    seeded, so the campaign's 差评 get their case histories and sweep like every other case."""
    rng = random.Random(f"haochaping-integrity-demo-{seed}")
    day_start = timezone.make_aware(datetime.combine(timezone.localdate() - timedelta(days=1), time.min))
    coerced_window, brushing_window, campaign_window = _windows(rng)
    clerk = plant_coerced(rng, coerced_window, day_start)
    device = plant_brushing(rng, brushing_window, day_start)
    plant_campaign(rng, campaign_window, day_start)
    write(f"代评 / coerced clerk: {clerk}（{coerced_window.hall.name} {coerced_window.code}号窗口）")
    write(f"刷好评 / brushing device: {device}")
    write(f"恶意差评 / campaign: 手机号 {CAMPAIGN_PHONE[:3]}****{CAMPAIGN_PHONE[-4:]} → "
          f"{campaign_window.hall.name} {campaign_window.code}号窗口")  # fmt: skip


def compute_demo_signals(write: Callable[[str], object] = print) -> dict[str, int]:
    """The signals over the whole demo period (after the rollups are rebuilt: the month rules read them)."""
    first = Rating.objects.aggregate(first=Min("rated_at"))["first"] or timezone.now()
    days = min((timezone.localdate() - timezone.localdate(first)).days + 1, 800)
    found = signals_compute(days=days)
    per_rule = "，".join(f"{k} {v}" for k, v in sorted(found.items()))
    write(f"信号 / signals over {days} days: {per_rule}（/integrity/）")
    return dict(found)
