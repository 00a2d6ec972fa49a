"""按键评价器 (/evaluator/legacy/): the button evaluators' models and mappings, the devices, and the figures split by
evaluator kind (按设备类型统计) with a CSV download.

Who: supervisors read (system administrators; agency administrators, inspectors and auditors of a region; department
administrators for their units' devices); handlers and window staff get 403. Devices are registered and revoked by
system administrators and agency administrators (windows in their region). A model's mapping is edited by system
administrators (every model) and by agency administrators (the models of their region, which they may add); another
region's model is 404.
"""

from __future__ import annotations

import csv
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from haochaping.accounts.scope import Scope
from haochaping.evaluator import legacy, legacy_selectors
from haochaping.evaluator.models import LegacyDevice, LegacyDeviceModel
from haochaping.lib.errors import DomainError
from haochaping.ratings.codes import Grade
from haochaping.web.access import supervisor_scope


def _scope(request: HttpRequest) -> Scope | HttpResponse:
    return supervisor_scope(request, _("按键评价器管理仅向系统管理员和管理机构、主管部门的管理员、监督检查人员开放。"))


def _forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "web/message.html", {"title": _("无权限"), "message": message}, status=403)


def _period(request: HttpRequest) -> tuple[date, date]:
    start, end = legacy_selectors.this_month()
    try:
        start = date.fromisoformat(request.GET.get("start", "")) if request.GET.get("start") else start
        end = date.fromisoformat(request.GET.get("end", "")) if request.GET.get("end") else end
    except ValueError:
        start, end = legacy_selectors.this_month()
    if end < start:
        start, end = end, start
    return start, end


def _int(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def _grades() -> list[tuple[int, str]]:
    return [(int(v), str(label)) for v, label in Grade.choices]


@login_required
@require_http_methods(["GET", "POST"])
def index(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    if isinstance(scope, HttpResponse):
        return scope
    legacy.default_models()
    can_manage = legacy.may_manage_devices(scope)
    errors: list[str] = []
    form: dict = {}
    status = 200
    if request.method == "POST":
        if not can_manage:
            return _forbidden(request, _("仅系统管理员和本地区管理机构的管理员可以登记按键评价器。"))
        form = {k: request.POST.get(k, "").strip() for k in ("serial", "model", "hall", "window", "name")}
        try:
            device = legacy.device_register(
                scope, serial=form["serial"], model_code=form["model"], hall=form["hall"], window=form["window"],
                name=form["name"],
            )  # fmt: skip
        except DomainError as exc:
            errors = [e.get("message", "") for e in exc.errors] or [exc.message]
            status = exc.status if exc.status != 404 else 422
        else:
            messages.success(request, _("已登记按键评价器 %(serial)s。") % {"serial": device.serial})
            return redirect("evaluator:legacy")
    start, end = _period(request)
    models = list(legacy.models_for(scope))
    for m in models:
        m.editable = legacy.may_edit_model(scope, m)
    context = {
        "scope": scope,
        "models": models,
        "devices": list(legacy_selectors.devices(scope)[:500]),
        "can_manage": can_manage,
        "can_add_model": legacy.may_edit_model(scope, None),
        "figures": legacy_selectors.counts_by_device_kind(scope, start, end),
        "grades": _grades(),
        "start": start,
        "end": end,
        "errors": errors,
        "form": form,
    }
    return render(request, "evaluator/legacy.html", context, status=status)


def _model_form(request: HttpRequest, scope: Scope, model: LegacyDeviceModel | None) -> HttpResponse:
    errors: list[str] = []
    if request.method == "POST":
        buttons_raw = request.POST.get("buttons", "") if model is None else str(model.buttons)
        try:
            buttons = int(buttons_raw)
        except ValueError:
            buttons = 0
        mapping = []
        for b in range(1, (buttons if buttons in legacy.BUTTON_COUNTS else 0) + 1):
            label, grade = request.POST.get(f"label_{b}", ""), _int(request.POST.get(f"grade_{b}", ""))
            mapping.append({"button": b, "label": label, "grade": grade})
        try:
            saved = legacy.model_save(
                scope, model=model, code=request.POST.get("code", ""), name=request.POST.get("name", ""),
                vendor=request.POST.get("vendor", ""), buttons=buttons, mapping=mapping,
                is_active=bool(request.POST.get("is_active")),
            )  # fmt: skip
        except DomainError as exc:
            errors = [e.get("message", "") for e in exc.errors] or [exc.message]
        else:
            messages.success(
                request,
                _("已保存型号 %(name)s（对应版本 %(version)s）。") % {"name": saved.name, "version": saved.version},
            )
            return redirect("evaluator:legacy")
    if model is not None:
        rows = [(e["button"], e["label"], e["grade"]) for e in model.mapping]
    else:
        rows = [(b, "", "") for b in range(1, 5)]
    if errors:
        rows = [(b, request.POST.get(f"label_{b}", ""), _int(request.POST.get(f"grade_{b}", ""))) for b, *_rest in rows]
    context = {
        "model": model,
        "rows": rows,
        "grades": _grades(),
        "errors": errors,
        "post": request.POST if errors else None,
    }
    return render(request, "evaluator/legacy_model.html", context, status=422 if errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def model_edit(request: HttpRequest, pk: int) -> HttpResponse:
    scope = _scope(request)
    if isinstance(scope, HttpResponse):
        return scope
    if not legacy.may_edit_model(scope, None):
        return _forbidden(request, _("仅系统管理员和本地区管理机构的管理员可以维护评价器型号。"))
    model = legacy.models_for(scope).filter(pk=pk).first()
    if model is None:
        raise Http404
    if not legacy.may_edit_model(scope, model):
        return _forbidden(request, _("全平台通用型号和上级地区的型号由其维护者修改。"))
    return _model_form(request, scope, model)


@login_required
@require_http_methods(["GET", "POST"])
def model_new(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    if isinstance(scope, HttpResponse):
        return scope
    if not legacy.may_edit_model(scope, None):
        return _forbidden(request, _("仅系统管理员和本地区管理机构的管理员可以维护评价器型号。"))
    return _model_form(request, scope, None)


@login_required
@require_POST
def device_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    scope = _scope(request)
    if isinstance(scope, HttpResponse):
        return scope
    if not legacy.may_manage_devices(scope):
        return _forbidden(request, _("仅系统管理员和本地区管理机构的管理员可以停用按键评价器。"))
    device = scope.filter(LegacyDevice.objects.filter(pk=pk)).select_related("window", "window__hall__region").first()
    if device is None:
        raise Http404
    if request.POST.get("confirm") != "1":
        return render(
            request, "web/message.html", {"title": _("未确认"), "message": _("请确认停用该设备。")}, status=422
        )
    legacy.device_revoke(scope, device)
    messages.success(request, _("已停用按键评价器 %(serial)s。") % {"serial": device.serial})
    return redirect("evaluator:legacy")


@login_required
@require_GET
def figures_csv(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    if isinstance(scope, HttpResponse):
        return scope
    start, end = _period(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="device-kinds-{start:%Y%m%d}-{end:%Y%m%d}.csv"'
    response.write("\ufeff")  # Excel opens UTF-8 CSV with a BOM
    writer = csv.writer(response)
    grades = _grades()
    writer.writerow(
        [_("设备类型"), _("代码"), _("评价数"), *[label for _v, label in grades], _("满意度指数"), _("差评率"),
         _("超时未评（已邀未评）")]
    )  # fmt: skip
    for row in legacy_selectors.counts_by_device_kind(scope, start, end):
        f = row.figures
        writer.writerow(
            [
                row.label,
                row.kind or "none",
                f["counted"],
                *[f["by_grade"][v] for v, _label in grades],
                "" if f["score"] is None else f"{f['score']:.1f}",
                "" if f["bad_rate"] is None else f"{f['bad_rate'] * 100:.1f}%",
                "" if row.timeouts is None else row.timeouts,
            ]
        )
    return response
