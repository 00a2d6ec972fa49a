"""The reader's display preference on the public pages: 长辈模式 (elderly mode: larger type, simpler layout)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

COOKIE = "hcp_elderly"
ONE_YEAR = 365 * 24 * 3600


@require_POST
def mode(request: HttpRequest) -> HttpResponse:
    """Sets or clears the elderly-mode cookie and returns to the page (a preference, like the language switch)."""
    target = request.POST.get("next") or "/open/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        target = "/open/"
    response = HttpResponseRedirect(target)
    if request.POST.get("elderly") == "1":
        response.set_cookie(COOKIE, "1", max_age=ONE_YEAR, samesite="Lax", httponly=True)
    else:
        response.delete_cookie(COOKIE, samesite="Lax")
    return response
