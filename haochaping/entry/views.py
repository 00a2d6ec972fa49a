"""Staff pages for keying hotline calls and paper forms, and the batch import of paper forms (thin views)."""

from __future__ import annotations

from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from haochaping.accounts.scope import Scope, get_in_scope, scope_for_request
from haochaping.cases import opening
from haochaping.cases.models import Case
from haochaping.entry import services
from haochaping.entry.forms import HotlineComplaintForm, HotlineForm, ImportForm, PaperForm, mark_errors
from haochaping.entry.importer import columns, import_paper_forms
from haochaping.entry.models import KeyedEntry
from haochaping.lib.errors import DomainError, NotFound
from haochaping.lib.uploads import UploadStash

STASH = UploadStash("paper-import", session_key="paper_import_uploads")
MAX_ERRORS_SHOWN = 1000


def _writer_scope(request: HttpRequest) -> Scope | HttpResponse:
    """The user's scope if they may key ratings, else the 403 page (auditors, inspectors, window staff)."""
    scope = scope_for_request(request)
    try:
        scope.require_write()
    except DomainError as exc:
        return render(request, "entry/forbidden.html", {"message": exc.message}, status=403)
    return scope


def _stored_message(request: HttpRequest, entry: KeyedEntry) -> None:
    rating = entry.rating
    messages.success(
        request,
        _("已保存%(kind)s评价 %(id)s（%(grade)s，%(unit)s）")
        % {
            "kind": entry.get_kind_display(),
            "id": rating.public_id,
            "grade": rating.get_grade_display(),
            "unit": rating.unit.name,
        },
    )


@login_required
def index(request: HttpRequest) -> HttpResponse:
    scope = _writer_scope(request)
    if isinstance(scope, HttpResponse):
        return scope
    recent = scope.filter(
        KeyedEntry.objects.select_related("rating__unit", "rating__window", "rating__service_case", "keyed_by")
    )
    mine = request.GET.get("mine") == "1"
    if mine:
        recent = recent.filter(keyed_by=request.user)
    return render(request, "entry/index.html", {"entries": recent[:50], "mine": mine})


@login_required
@require_http_methods(["GET", "POST"])
def hotline(request: HttpRequest) -> HttpResponse:
    scope = _writer_scope(request)
    if isinstance(scope, HttpResponse):
        return scope
    form = HotlineForm(request.POST or None, scope=scope)
    if request.method == "POST" and form.is_valid():
        try:
            entry = services.entry_hotline_create(
                user=request.user,
                scope=scope,
                item=form.item(),
                call_ref=form.cleaned_data["call_ref"],
                call_at=form.cleaned_data["call_at"],
            )
        except DomainError as exc:
            form.add_domain_errors(exc)
        else:
            _stored_message(request, entry)
            return redirect("entry:index")
    status = 422 if form.is_bound else 200
    return render(request, "entry/hotline.html", {"form": mark_errors(form)}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def hotline_complaint(request: HttpRequest) -> HttpResponse:
    """A 投诉 taken on the 12345 hotline: opened as a complaint case (channel phone) with the keyer as actor."""
    scope = _writer_scope(request)
    if isinstance(scope, HttpResponse):
        return scope
    opened = None
    if request.method == "GET" and request.GET.get("opened", "").isdigit():
        try:  # only a case the user may see; anything else shows no banner
            opened = get_in_scope(Case.objects.all(), scope, pk=int(request.GET["opened"]))
        except NotFound:
            opened = None
    form = HotlineComplaintForm(request.POST or None, scope=scope)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            case = opening.complaint_open(
                opening.ComplaintIn(
                    content=data["content"],
                    contact_phone=data["caller_phone"],
                    contact_name=data["caller_name"],
                    channel="phone",
                    case_no=data["case_no"].strip(),
                    unit_id=data["unit"],
                ),
                scope=scope,
                actor=request.user,
                actor_label=request.user.get_full_name() or request.user.get_username(),
            )
        except DomainError as exc:
            form.add_domain_errors(exc)
        else:
            # Post/redirect/get: a reload must not open the complaint twice.
            return redirect(f"{reverse('entry:complaint')}?opened={case.pk}")
    status = 422 if form.is_bound else 200
    return render(request, "entry/complaint.html", {"form": mark_errors(form), "opened": opened}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def paper(request: HttpRequest) -> HttpResponse:
    scope = _writer_scope(request)
    if isinstance(scope, HttpResponse):
        return scope
    form = PaperForm(request.POST or None, request.FILES or None, scope=scope)
    if request.method == "POST" and form.is_valid():
        try:
            entry = services.entry_paper_create(
                user=request.user,
                scope=scope,
                item=form.item(),
                form_no=form.cleaned_data["form_no"],
                scan=form.cleaned_data["scan"],
            )
        except DomainError as exc:
            form.add_domain_errors(exc)
        else:
            _stored_message(request, entry)
            return redirect("entry:index")
    status = 422 if form.is_bound else 200
    return render(request, "entry/paper.html", {"form": mark_errors(form)}, status=status)


@login_required
def scan(request: HttpRequest, entry_id: int) -> HttpResponse:
    """A paper form's scan, only for users whose scope includes the rating (404 for everyone else)."""
    try:
        entry = services.entry_scan_get(scope=scope_for_request(request), entry_id=entry_id)
    except NotFound as exc:
        raise Http404(exc.message) from None
    try:
        handle = entry.scan.open("rb")
    except FileNotFoundError:
        raise Http404(_("扫描件文件缺失")) from None
    response = FileResponse(handle, content_type=services.scan_content_type(entry))
    response["Content-Disposition"] = f'inline; filename="scan-{entry.pk}{Path(entry.scan.name).suffix}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


# --- batch import ------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def paper_import(request: HttpRequest) -> HttpResponse:
    scope = _writer_scope(request)
    if isinstance(scope, HttpResponse):
        return scope
    form = ImportForm(request.POST or None, request.FILES or None)
    result, token = None, None
    if request.method == "POST" and form.is_valid():
        confirm = "confirm" in request.POST
        upload = form.cleaned_data["file"]
        if upload and not confirm:
            source = (upload.read(), upload.name)
        else:
            source = STASH.take(request, request.POST.get("token", ""))
        if source is None:
            form.add_error("file", _("文件已失效，请重新上传") if confirm else _("请选择要导入的文件"))
        else:
            data, name = source
            result = import_paper_forms(data, filename=name, user=request.user, scope=scope, dry_run=not confirm)
            if not confirm and result.ok:
                token = STASH.put(request, data, name)
    context = {
        "form": mark_errors(form),
        "result": result,
        "errors_shown": result.errors[:MAX_ERRORS_SHOWN] if result else [],
        "errors_more": max(0, len(result.errors) - MAX_ERRORS_SHOWN) if result else 0,
        "token": token,
        "columns": columns(),
    }
    return render(request, "entry/import.html", context, status=422 if result and result.errors else 200)
