"""防篡改存证 page: the latest blocks, the daily digests, the sealer's lag and the last verify result."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from haochaping.seal.selectors import chain_overview
from haochaping.web.access import supervisor_scope


@login_required
def index(request: HttpRequest) -> HttpResponse:
    scope = supervisor_scope(request, _("防篡改存证页面仅供监督人员查看"))
    if isinstance(scope, HttpResponse):
        return scope
    return render(request, "seal/index.html", chain_overview())
