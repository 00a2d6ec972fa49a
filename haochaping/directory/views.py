"""Admin page for the bulk import of the directory: upload, dry run, confirm. The work is in importer.py.

After a clean dry run the uploaded file is kept under DATA_DIR (named by a random token remembered in the
session) so that "确认导入" does not ask for the file again.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from haochaping.accounts.scope import scope_for_user
from haochaping.directory.import_template import template_xlsx
from haochaping.directory.importer import IMPORTERS, KINDS, SHEET_NAMES, import_file, require_import_scope
from haochaping.lib.errors import DomainError
from haochaping.lib.uploads import UploadStash

STASH = UploadStash("directory-import", session_key="directory_import_uploads")
MAX_ERRORS_SHOWN = 1000


class ImportForm(forms.Form):
    file = forms.FileField(label=_("文件（CSV 或 Excel .xlsx）"), required=False)
    kind = forms.ChoiceField(
        label=_("导入类型"),
        required=False,
        choices=[("", _("按文件判断（Excel 工作簿按工作表名导入全部类型）"))]
        + [(kind, f"{SHEET_NAMES[kind]}（{kind}）") for kind in KINDS],
    )


def importable_kinds(user) -> set[str]:
    """Kinds whose model the user may both add and change in the admin (accounts/roles.py groups)."""
    return {
        kind
        for kind in KINDS
        if all(
            user.has_perm(f"directory.{action}_{IMPORTERS[kind].model._meta.model_name}")
            for action in ("add", "change")
        )
    }


def can_import(user) -> bool:
    try:
        require_import_scope(scope_for_user(user))
    except DomainError:
        return False
    return bool(importable_kinds(user))


def directory_import(request: HttpRequest, admin_site) -> HttpResponse:
    scope = scope_for_user(request.user)
    if not can_import(request.user):
        raise PermissionDenied
    form = ImportForm(request.POST or None, request.FILES or None)
    result, token = None, None
    if request.method == "POST" and form.is_valid():
        dry_run = "import" not in request.POST and "confirm" not in request.POST
        upload = form.cleaned_data["file"]
        source = (upload.read(), upload.name) if upload else STASH.take(request, request.POST.get("token", ""))
        if source is None:
            form.add_error(
                "file", _("请选择要导入的文件") if "confirm" not in request.POST else _("文件已失效，请重新上传")
            )
        else:
            data, name = source
            kind = form.cleaned_data["kind"] or None
            result = import_file(
                data,
                filename=name,
                kind=kind,
                dry_run=dry_run,
                scope=scope,
                allowed_kinds=importable_kinds(request.user),
            )
            if dry_run and result.ok:
                token = STASH.put(request, data, name)
    context = {
        **admin_site.each_context(request),
        "title": _("批量导入目录"),
        "form": form,
        "result": result,
        "errors_shown": result.errors[:MAX_ERRORS_SHOWN] if result else [],
        "errors_more": max(0, len(result.errors) - MAX_ERRORS_SHOWN) if result else 0,
        "token": token,
        "kind": form.cleaned_data.get("kind", "") if form.is_bound and form.is_valid() else "",
        "sheets": "、".join(SHEET_NAMES[k] for k in KINDS),
    }
    return TemplateResponse(request, "admin/directory/import.html", context)


def directory_import_template(request: HttpRequest) -> HttpResponse:
    if not can_import(request.user):
        raise PermissionDenied
    response = HttpResponse(
        template_xlsx(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = "attachment; filename=directory-template.xlsx"
    return response
