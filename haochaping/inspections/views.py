"""监督查评 pages. Thin: access through inspections/access.py, reads in selectors.py, writes in services.py.

Who (see access.py): readers of a region (agency administrators, inspectors, auditors, system administrators) see
checklists, plans and inspections of their region; department administrators see the submitted inspections of their
units; inspectors and agency administrators inspect; agency and system administrators manage checklists and plans.
Everyone else gets the 403 page; an object outside the user's sight is 404.
"""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from haochaping.accounts.scope import scope_for_request
from haochaping.directory.models import Region, Window
from haochaping.inspections import selectors, services
from haochaping.inspections.access import Access, access_for
from haochaping.inspections.models import Checklist, Inspection, Mode
from haochaping.lib.errors import DomainError

PAGE_SIZE = 50
BLANK_ROWS_NEW, BLANK_ROWS_EDIT = 8, 3


def _forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "web/message.html", {"title": _("无权限"), "message": message}, status=403)


def _access(request: HttpRequest, need: str) -> Access | HttpResponse:
    """The user's rights, or the 403 page when they lack ``need`` (reads | region | inspects | manages)."""
    access = access_for(scope_for_request(request))
    allowed = {
        "reads": access.reads,
        "region": access.reads_region,
        "inspects": access.inspects,
        "manages": access.manages,
    }[need]
    if allowed:
        return access
    messages_by_need = {
        "reads": _("监督查评仅向管理机构、检查人员和被检查单位的管理员开放。"),
        "region": _("检查表和检查计划仅向管理机构和检查人员开放。"),
        "inspects": _("只有检查人员和管理机构管理员可以开展监督查评。"),
        "manages": _("检查表和检查计划由管理机构管理员维护。"),
    }
    return _forbidden(request, messages_by_need[need])


def _render(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    """Render with the user's rights for the section's links (insp_access)."""
    context.setdefault("insp_access", access_for(scope_for_request(request)))
    return render(request, template, context, status=status)


def _errors(exc: DomainError) -> dict[str, str]:
    return {exc.field or "form": exc.message}


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        return None


# --- the list -------------------------------------------------------------------------------------------------


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    access = _access(request, "reads")
    if isinstance(access, HttpResponse):
        return access
    params = {k: request.GET.get(k, "") for k in ("state", "mode", "plan", "failed", "start", "end")}
    qs = selectors.inspections_filtered(access, params)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    mine: list[Inspection] = []
    assigned: list = []
    plans: list = []
    if access.inspects:
        assigned = [(plan, selectors.plan_totals(plan)) for plan in selectors.plans_assigned(request.user)]
        mine = list(selectors.inspections_visible(access).filter(inspector=request.user, state=Inspection.State.DRAFT))
    if access.reads_region:
        mine_ids = [plan.pk for plan, _ in assigned]
        others = selectors.plans_visible(access).exclude(pk__in=mine_ids)[:20]  # mine are listed above
        plans = [(plan, selectors.plan_totals(plan)) for plan in others]
    return _render(
        request,
        "inspections/index.html",
        {
            "access": access,
            "page": page,
            "params": params,
            "query": query.urlencode(),
            "states": Inspection.State.choices,
            "modes": Mode.choices,
            "assigned": assigned,
            "drafts": mine,
            "plans": plans,
            "all_plans": selectors.plans_visible(access).order_by("-starts_on")[:100] if access.reads_region else [],
        },
    )


# --- checklists ------------------------------------------------------------------------------------------------


@login_required
@require_GET
def checklists(request: HttpRequest) -> HttpResponse:
    access = _access(request, "region")
    if isinstance(access, HttpResponse):
        return access
    editable = set(selectors.checklists_editable(access).values_list("pk", flat=True))
    rows = [(c, c.pk in editable) for c in selectors.checklists_visible(access).order_by("region__path", "name")]
    return _render(request, "inspections/checklists.html", {"access": access, "rows": rows})


def _item_rows(request: HttpRequest) -> list[services.ItemIn]:
    """The item rows posted by the checklist form; blank new rows are skipped."""
    rows = []
    data = request.POST
    count = int(data["rows"]) if (data.get("rows") or "").isdigit() else 0
    for index in range(min(count, 200)):
        key = f"items-{index}"
        raw_id = data.get(f"{key}-id", "")
        text = data.get(f"{key}-text", "")
        if not raw_id and not text.strip():
            continue
        rows.append(
            services.ItemIn(
                id=int(raw_id) if raw_id.isdigit() else None,
                order=data.get(f"{key}-order", ""),
                category=data.get(f"{key}-category", ""),
                text=text,
                guidance=data.get(f"{key}-guidance", ""),
                max_score=data.get(f"{key}-max_score", ""),
                pass_score=data.get(f"{key}-pass_score", ""),
                is_active=bool(data.get(f"{key}-is_active")),
            )
        )
    return rows


def _form_rows(checklist: Checklist | None, posted, blank: int) -> list[dict]:
    """Rows for the checklist form: the posted ones after an error, else the saved items and a few blank rows."""
    if posted:
        count = int(posted.get("rows")) if (posted.get("rows") or "").isdigit() else 0
        names = ("id", "order", "category", "text", "guidance", "max_score", "pass_score", "is_active")
        return [{"index": i, **{n: posted.get(f"items-{i}-{n}", "") for n in names}} for i in range(min(count, 200))]
    rows = []
    items = list(checklist.items.order_by("order", "id")) if checklist else []
    for i, item in enumerate(items):
        rows.append(
            {
                "index": i, "id": item.pk, "order": item.order, "category": item.category, "text": item.text,
                "guidance": item.guidance, "max_score": item.max_score, "pass_score": item.pass_score,
                "is_active": item.is_active,
            }
        )  # fmt: skip
    next_order = (max((item.order for item in items), default=0) // 10 + 1) * 10
    for n in range(blank):
        rows.append(
            {
                "index": len(rows), "id": "", "order": next_order + 10 * n, "category": "", "text": "",
                "guidance": "", "max_score": 10, "pass_score": 6, "is_active": True,
            }
        )  # fmt: skip
    return rows


@login_required
@require_http_methods(["GET", "POST"])
def checklist_new(request: HttpRequest) -> HttpResponse:
    access = _access(request, "manages")
    if isinstance(access, HttpResponse):
        return access
    return _checklist_form(request, access, None)


@login_required
@require_http_methods(["GET", "POST"])
def checklist_edit(request: HttpRequest, pk: int) -> HttpResponse:
    access = _access(request, "region")
    if isinstance(access, HttpResponse):
        return access
    checklist = get_object_or_404(selectors.checklists_visible(access), pk=pk)
    if not selectors.checklists_editable(access).filter(pk=pk).exists():
        if request.method == "POST":
            return _forbidden(request, _("您不能修改该检查表。"))
        items = checklist.items.order_by("order", "id")
        return _render(request, "inspections/checklist.html", {"checklist": checklist, "items": items})
    return _checklist_form(request, access, checklist)


def _checklist_form(request: HttpRequest, access: Access, checklist: Checklist | None) -> HttpResponse:
    regions = selectors.regions_for_manager(access.scope)
    errors: dict[str, str] = {}
    if request.method == "POST":
        chosen = request.POST.get("region") or access.scope.region_id or 0
        region = checklist.region if checklist else regions.filter(pk=chosen).first()
        if region is None:
            errors["region"] = _("请选择适用区划")
        else:
            try:
                saved = services.checklist_save(
                    checklist=checklist,
                    region=region,
                    name=request.POST.get("name", ""),
                    description=request.POST.get("description", ""),
                    is_active=bool(request.POST.get("is_active")),
                    items=_item_rows(request),
                    actor=request.user,
                )
            except DomainError as exc:
                errors = _errors(exc)
            else:
                messages.success(request, _("检查表已保存"))
                return redirect("inspections:checklist_edit", pk=saved.pk)
    posted = request.POST if request.method == "POST" else None
    return _render(
        request,
        "inspections/checklist_form.html",
        {
            "checklist": checklist,
            "regions": regions,
            "rows": _form_rows(checklist, posted, BLANK_ROWS_NEW if checklist is None else BLANK_ROWS_EDIT),
            "errors": errors,
            "posted": posted or {},
            "default_region": access.scope.region_id,
        },
        status=422 if errors else 200,
    )


# --- plans --------------------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def plan_new(request: HttpRequest) -> HttpResponse:
    access = _access(request, "manages")
    if isinstance(access, HttpResponse):
        return access
    regions = selectors.regions_for_manager(access.scope)
    errors: dict[str, str] = {}
    data = request.POST
    if request.method == "POST":
        region = regions.filter(pk=data.get("region") or access.scope.region_id or 0).first()
        if region is None:
            errors["region"] = _("请选择区划")
        else:
            try:
                plan = services.plan_create(
                    region=region,
                    name=data.get("name", ""),
                    checklist_id=data.get("checklist"),
                    mode=data.get("mode", ""),
                    starts_on=_date(data.get("starts_on", "")),
                    ends_on=_date(data.get("ends_on", "")),
                    hall_ids=data.getlist("halls"),
                    window_ids=data.getlist("windows"),
                    inspector_ids=data.getlist("inspectors"),
                    visits=data.get("visits", ""),
                    notes=data.get("notes", ""),
                    actor=request.user,
                )
            except DomainError as exc:
                errors = _errors(exc)
            else:
                messages.success(request, _("检查计划已创建"))
                return redirect("inspections:plan_detail", pk=plan.pk)
    region = Region.objects.get(pk=access.scope.region_id) if access.scope.kind == "region" else None
    candidates = selectors.inspector_candidates_for(access.scope)
    halls = list(selectors.halls_for(access.scope).select_related("region"))
    windows: dict[int, list[Window]] = {}
    for window in Window.objects.filter(hall__in=halls, is_active=True).order_by("code"):
        windows.setdefault(window.hall_id, []).append(window)
    today = timezone.localdate()
    return _render(
        request,
        "inspections/plan_form.html",
        {
            "regions": regions if region is None else [],
            "checklists": selectors.checklists_visible(access).filter(is_active=True),
            "modes": Mode.choices,
            "halls": [(hall, windows.get(hall.pk, [])) for hall in halls],
            "candidates": candidates,
            "errors": errors,
            "posted": data if request.method == "POST" else {},
            "chosen_halls": set(data.getlist("halls")),
            "chosen_windows": set(data.getlist("windows")),
            "chosen_inspectors": set(data.getlist("inspectors")),
            "today": today,
        },
        status=422 if errors else 200,
    )


@login_required
@require_GET
def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access = _access(request, "region")
    if isinstance(access, HttpResponse):
        return access
    plan = get_object_or_404(selectors.plans_visible(access), pk=pk)
    today = timezone.localdate()
    return _render(
        request,
        "inspections/plan_detail.html",
        {
            "plan": plan,
            "progress": selectors.plan_progress(plan),
            "totals": selectors.plan_totals(plan),
            "inspectors": plan.inspectors.order_by("username"),
            "inspections": plan.inspections.select_related("hall", "window", "inspector")[:200],
            "may_start": access.inspects
            and plan.inspectors.filter(pk=request.user.pk).exists()
            and plan.starts_on <= today <= plan.ends_on,
        },
    )


# --- starting an inspection -----------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def start(request: HttpRequest) -> HttpResponse:
    access = _access(request, "inspects")
    if isinstance(access, HttpResponse):
        return access
    errors: dict[str, str] = {}
    source = request.POST if request.method == "POST" else request.GET
    if request.method == "POST":
        try:
            inspection = services.inspection_start(
                actor=request.user,
                scope=access.scope,
                plan_id=source.get("plan") or None,
                hall_id=source.get("hall"),
                window_id=source.get("window") or None,
                mode=source.get("mode", ""),
                checklist_id=source.get("checklist"),
            )
        except DomainError as exc:
            errors = _errors(exc)
        else:
            return redirect("inspections:detail", pk=inspection.pk)
    today = timezone.localdate()
    assigned = list(selectors.plans_assigned(request.user, today=today))
    plan = next((p for p in assigned if str(p.pk) == source.get("plan", "")), None)
    context: dict = {"assigned": assigned, "plan": plan, "errors": errors, "today": today, "modes": Mode.choices}
    if plan is not None:
        context["progress"] = selectors.plan_progress(plan)
        context["in_period"] = plan.starts_on <= today <= plan.ends_on
        plan_windows = {w.hall_id for w in plan.windows.all()}
        context["hall_windows"] = {
            row.hall.pk: row.windows if row.hall.pk in plan_windows else list(row.hall.windows.filter(is_active=True))
            for row in context["progress"]
        }
        context["rows"] = [(row, context["hall_windows"][row.hall.pk]) for row in context["progress"]]
    else:
        halls = selectors.halls_for(access.scope)
        hall = halls.filter(pk=source.get("hall") or 0).first() if (source.get("hall") or "").isdigit() else None
        context["hall"] = hall
        if hall is None:
            context["halls"] = halls.select_related("region")[:500]
        else:
            context["windows"] = hall.windows.filter(is_active=True).select_related("unit")
            context["checklists"] = selectors.checklists_usable_in(hall.region).filter(
                pk__in=selectors.checklists_visible(access).values("pk")
            )
            context["posted"] = source
    return _render(request, "inspections/start.html", context, status=422 if errors else 200)


# --- one inspection: the form, then the report -----------------------------------------------------------------


def _form_state(inspection: Inspection, posted, errors: dict[str, str]) -> list[dict]:
    rows = []
    for row in selectors.inspection_rows(inspection):
        pk = row.item.pk
        if posted is not None and errors:
            value = posted.get(f"score-{pk}", str(row.score.score) if row.score else "")
            note = posted.get(f"note-{pk}", row.score.note if row.score else "")
        else:
            value = str(row.score.score) if row.score else ""
            note = row.score.note if row.score else ""
        rows.append(
            {
                "row": row,
                "item": row.item,
                "value": value,
                "note": note,
                "choices": [(str(c), c, c < row.item.pass_score) for c in row.choices],
                "score_error": errors.get(f"score-{pk}"),
                "note_error": errors.get(f"note-{pk}"),
                "photo_error": errors.get(f"photo-{pk}"),
            }
        )
    return rows


def _save(request: HttpRequest, inspection: Inspection) -> None:
    data = request.POST
    items = selectors.active_items(inspection.checklist)
    scores = {item.pk: data.get(f"score-{item.pk}") for item in items if f"score-{item.pk}" in data}
    notes = {item.pk: data.get(f"note-{item.pk}", "") for item in items if f"note-{item.pk}" in data}
    photos = [services.PhotoIn(upload) for upload in request.FILES.getlist("photo")]
    for item in items:
        photos += [services.PhotoIn(upload, item.pk) for upload in request.FILES.getlist(f"photo-{item.pk}")]
    services.inspection_save(
        inspection.pk,
        actor=request.user,
        scores=scores,
        notes=notes,
        summary=data.get("summary") if "summary" in data else None,
        photos=photos,
    )


@login_required
@require_http_methods(["GET", "POST"])
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    access = _access(request, "reads")
    if isinstance(access, HttpResponse):
        return access
    inspection = get_object_or_404(selectors.inspections_visible(access), pk=pk)
    is_draft = inspection.state == Inspection.State.DRAFT
    may_edit = is_draft and access.inspects and inspection.inspector_id == request.user.pk
    errors: dict[str, str] = {}
    if request.method == "POST":
        if not may_edit:
            if not is_draft:
                return render(
                    request, "web/message.html",
                    {"title": _("已提交"), "message": _("检查记录已提交，不能再修改。")}, status=409,
                )  # fmt: skip
            return _forbidden(request, _("只有开展该次检查的检查人员可以填写和提交。"))
        action = request.POST.get("action", "save")
        try:
            if action == "delete_photo":
                photo_id = request.POST.get("photo", "")
                services.photo_delete(int(photo_id) if photo_id.isdigit() else 0, actor=request.user)
                messages.success(request, _("照片已删除"))
                return redirect("inspections:detail", pk=inspection.pk)
            _save(request, inspection)
        except DomainError as exc:
            errors = _errors(exc)
        else:
            if action == "submit":
                try:
                    services.inspection_submit(inspection.pk, actor=request.user)
                except DomainError as exc:
                    errors = _errors(exc)
                    messages.info(request, _("已保存草稿，尚未提交"))
                else:
                    messages.success(request, _("检查已提交"))
                    return redirect("inspections:detail", pk=inspection.pk)
            else:
                messages.success(request, _("已保存草稿"))
                return redirect("inspections:detail", pk=inspection.pk)
        inspection.refresh_from_db()
    posted = request.POST if request.method == "POST" else None
    rows = _form_state(inspection, posted, errors)
    return _render(
        request,
        "inspections/detail.html",
        {
            "inspection": inspection,
            "rows": rows,
            "general_photos": selectors.general_photos(inspection),
            "may_edit": may_edit,
            "errors": errors,
            "summary": posted.get("summary", inspection.summary) if posted and errors else inspection.summary,
            "scored": sum(1 for r in rows if r["value"] != ""),
            "photo_max_mb": services.photo_max_bytes() // (1024 * 1024),
        },
        status=422 if errors else 200,
    )


@login_required
@require_GET
def photo(request: HttpRequest, pk: int) -> HttpResponse:
    """A photo, only for users who may open its inspection (404 for everyone else)."""
    item = selectors.photo_for(scope_for_request(request), pk)
    if item is None:
        raise Http404(_("照片不存在或不在您的数据范围内"))
    try:
        handle = item.file.open("rb")
    except FileNotFoundError:
        raise Http404(_("照片文件缺失")) from None
    response = FileResponse(handle, content_type=item.content_type)
    response["Content-Disposition"] = content_disposition_header(False, item.name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
