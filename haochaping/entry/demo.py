"""Demo data of the entry app: the lead's `haochaping demo` calls seed_demo() after the directory and logins exist."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from haochaping.accounts.scope import scope_for_user
from haochaping.directory.models import Window
from haochaping.entry.models import KeyedEntry
from haochaping.entry.services import entry_hotline_create, entry_paper_create

# (grade, comment, detail answers): the same every run.
_HOTLINE = [
    ("very_satisfied", "回访时表示窗口人员耐心细致，一次办成。"),
    ("satisfied", "电话回访：办理顺利。"),
    ("dissatisfied", "来电反映排队时间较长。"),
]
_PAPER = [
    ("very_satisfied", "", {"guidance_clear": "yes", "process_convenient": "yes"}),
    ("basic", "希望增加自助填表机。", {"materials_simplified": "unsure"}),
    ("satisfied", "", {}),
    ("very_dissatisfied", "材料被要求重复提交。", {"materials_simplified": "no", "process_convenient": "no"}),
]


def _keying_user():
    """The demo's case handler (a writer in the unit with the most bad ratings), else the superuser."""
    User = get_user_model()
    return User.objects.filter(username="handler").first() or User.objects.filter(is_superuser=True).first()


def seed_demo() -> int:
    """Key a few hotline calls and paper forms as the demo's case handler (deterministic; idempotent).

    Returns how many entries were created (0 when they exist already or there is no login or window).
    """
    user = _keying_user()
    if user is None:
        return 0
    scope = scope_for_user(user)
    windows = list(scope.filter(Window.objects.filter(is_active=True).select_related("hall")).order_by("pk")[:2])
    if not windows:
        return 0
    now = timezone.now().replace(second=0, microsecond=0)
    created = 0
    for n, (grade, comment) in enumerate(_HOTLINE, start=1):
        call_ref = f"12345-DEMO-{n:04d}"
        if KeyedEntry.objects.filter(call_ref=call_ref).exists():
            continue
        window = windows[n % len(windows)]
        entry_hotline_create(
            user=user,
            scope=scope,
            item={"window": {"hall": window.hall.code, "code": window.code}, "grade": grade, "comment": comment},
            call_ref=call_ref,
            call_at=now - timedelta(days=n, hours=2),
        )
        created += 1
    for n, (grade, comment, answers) in enumerate(_PAPER, start=1):
        window = windows[n % len(windows)]
        form_no = f"ZP-DEMO-{n:04d}"
        if KeyedEntry.objects.filter(kind=KeyedEntry.Kind.PAPER, form_no=form_no).exists():
            continue
        item = {
            "window": {"hall": window.hall.code, "code": window.code},
            "grade": grade,
            "comment": comment,
            "answers": answers,
            "rated_at": now - timedelta(days=n),
        }
        entry_paper_create(user=user, scope=scope, item=item, form_no=form_no)
        created += 1
    return created
