"""Page access written once: the supervisor pages (board, metrics, rankings, reports, performance) share one rule."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from haochaping.accounts.scope import Scope, scope_for_request


def supervisor_scope(request: HttpRequest, message: str) -> Scope | HttpResponse:
    """The user's scope if it is a supervisor's (Scope.supervises), else the 403 page with ``message``."""
    scope = scope_for_request(request)
    if scope.supervises:
        return scope
    return render(request, "web/message.html", {"title": _("无权限"), "message": message}, status=403)
