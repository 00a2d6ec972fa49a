"""Who may do what with surveys, written once.

- Read (list, results, exports): supervisors (Scope.supervises): system administrators; agency administrators,
  inspectors and auditors of a region; department administrators, inspectors and auditors of units. Case handlers
  and window staff get 403; a survey outside the reader's scope is 404 (selectors.visible_surveys).
- Manage (create, edit questions, open, close, distribute): system administrators and agency administrators
  (not read-only), for surveys of their region or below (selectors.managed_surveys).
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from haochaping.accounts.models import Role
from haochaping.accounts.scope import Scope, scope_for_request
from haochaping.surveys import selectors
from haochaping.surveys.models import Survey


def forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "web/message.html", {"title": _("无权限"), "message": message}, status=403)


def reader_scope(request: HttpRequest) -> Scope | HttpResponse:
    scope = scope_for_request(request)
    if scope.supervises:
        return scope
    return forbidden(request, _("服务调查仅向管理机构、部门管理员、监督检查和审计人员开放。"))


def may_manage(scope: Scope) -> bool:
    if scope.read_only:
        return False
    return scope.kind == "all" or (scope.kind == "region" and scope.role == Role.AGENCY_ADMIN)


def may_manage_survey(scope: Scope, survey: Survey) -> bool:
    return may_manage(scope) and selectors.managed_surveys(scope).filter(pk=survey.pk).exists()


def readable_survey(scope: Scope, pk: int) -> Survey:
    survey = selectors.visible_surveys(scope).filter(pk=pk).first()
    if survey is None:
        raise Http404(_("调查不存在或不在您的数据范围内"))
    return survey
