"""Demo hook: a pairing code for one window of the demo, so a browser tab can become its evaluator."""

from __future__ import annotations

from collections.abc import Callable

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
