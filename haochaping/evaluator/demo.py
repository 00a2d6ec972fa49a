"""Demo hook: a pairing code for one window of the demo, so a browser tab can become its evaluator."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings

from haochaping.directory.models import Window
from haochaping.evaluator import services


def seed_demo(write: Callable[[str], object] = print) -> str | None:
    """Create one pairing code for the demo's first active window that has resident staff; print and return it."""
    window = (
        # The window of the demo's clerk login first, so the clerk page can push to the paired tab.
        Window.objects.filter(is_active=True, staff__user__isnull=False).select_related("hall").order_by("id").first()
        or Window.objects.filter(is_active=True, staff__is_active=True).select_related("hall").order_by("id").first()
        or Window.objects.filter(is_active=True).select_related("hall").order_by("id").first()
    )
    if window is None:
        return None
    _, code = services.pairing_code_create(window=window)
    write(
        f"窗口评价器配对码 {code}（{window.hall.name} {window.code}号窗口，10分钟内有效）："
        f"在浏览器打开 /evaluator/pair/ 输入（过期后在管理后台“配对码”中新建）；"
        f"以 clerk 登录后在 /evaluator/clerk/ 推送评价，或 POST /api/v1/evaluator/push"
    )
    return code


def seed_legacy(write: Callable[[str], object] = print, seed: int = 1) -> dict | None:
    """Button evaluators in the queuing demo's hall: the two default models, a 3-button and a 4-button device on two of
    its windows, ~60 presses over recent days and ~8 timeouts, all through the real services, so /evaluator/legacy/
    shows the figures split by device kind. Returns the counts (None when the demo has no hall)."""
    import random
    import uuid
    from datetime import timedelta

    from django.utils import timezone

    from haochaping.accounts.scope import ALL_SCOPE
    from haochaping.evaluator import legacy
    from haochaping.evaluator.models import LegacyDevice
    from haochaping.queuing.demo import _hall

    hall = _hall()
    if hall is None:
        return None
    legacy.default_models()
    windows = list(Window.objects.filter(hall=hall, is_active=True).order_by("code")[:4])
    # The queuing demo gives the first two windows tablets; the button devices go on the next two when there are.
    chosen = (windows[2:4] if len(windows) >= 4 else windows[-2:]) or windows
    devices = []
    for window, model_code in zip(chosen * 2, ("btn3-std", "btn4-std"), strict=False):
        serial = f"DEMO-{model_code.upper()}-{hall.pk}"
        device = LegacyDevice.objects.filter(serial=serial).select_related("model", "window", "window__hall").first()
        if device is None:
            device = legacy.device_register(
                ALL_SCOPE, serial=serial, model_code=model_code, hall=hall.code, window=window.code,
                name=f"{window.code}号窗{'三' if model_code == 'btn3-std' else '四'}键评价器（演示）",
            )  # fmt: skip
        devices.append(device)
    rng = random.Random(seed)
    now = timezone.now()
    # Within this month where possible (the page's default period), and within the bridge's 7-day window.
    month_start = timezone.localtime(now).replace(day=1, hour=0, minute=1, second=0, microsecond=0)
    span = max(min(now - month_start, timedelta(days=6)), timedelta(minutes=30))
    weights = {3: [1] * 6 + [2] * 3 + [3], 4: [1] * 5 + [2] * 3 + [3] * 2 + [4]}
    counts = {"presses": 0, "timeouts": 0}
    for n in range(68):
        device = devices[n % len(devices)]
        at = now - span * rng.random()
        key = str(uuid.UUID(int=rng.getrandbits(128)))
        if n % 9 == 4:
            counts["timeouts"] += legacy.timeout_record(device, key, offered_at=at).status == 201
        else:
            button = rng.choice(weights[device.model.buttons])
            counts["presses"] += legacy.press_record(device, button, key, pressed_at=at).status == 201
    write(
        f"按键评价器 / button evaluators: {hall.name} 三键、四键各一台，按键 {counts['presses']} 次、超时 "
        f"{counts['timeouts']} 次：{settings.SITE_URL}/evaluator/legacy/（按设备类型统计）"
    )
    write(
        f"  桥接程序 / bridge: python scripts/legacy_bridge.py --url {settings.SITE_URL} --key <接口密钥>"
        "（docs/legacy-evaluators.md）"
    )
    return counts | {"hall": hall.code, "devices": [d.serial for d in devices]}
