"""Admin page for the bulk import of the directory: upload, dry run, confirm. The work is in importer.py.

After a clean dry run the uploaded file is kept under DATA_DIR (named by a random token remembered in the
session) so that "确认导入" does not ask for the file again.
"""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path

from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from haochaping.accounts.scope import scope_for_user
from haochaping.directory.import_template import template_xlsx
from haochaping.directory.importer import IMPORTERS, KINDS, SHEET_NAMES, import_file, require_import_scope
from haochaping.lib.errors import DomainError

SESSION_KEY = "directory_import_uploads"
STASH_MAX_AGE_S = 24 * 3600
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


def _stash_dir() -> Path:
    return Path(settings.DATA_DIR) / "uploads" / "directory-import"


def _stash(request: HttpRequest, data: bytes, name: str) -> str:
    folder = _stash_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():  # uploads nobody confirmed
        if old.stat().st_mtime < time.time() - STASH_MAX_AGE_S:
            old.unlink(missing_ok=True)
    token = secrets.token_urlsafe(18)
    (folder / token).write_bytes(data)
    request.session[SESSION_KEY] = {**request.session.get(SESSION_KEY, {}), token: name}
    return token


def _unstash(request: HttpRequest, token: str) -> tuple[bytes, str] | None:
    """The file of a dry run this session made, removed from the stash (a token is good for one import)."""
    uploads = dict(request.session.get(SESSION_KEY, {}))
    if not re.fullmatch(r"[A-Za-z0-9_-]{10,64}", token or "") or token not in uploads:
        return None
    name = uploads.pop(token)
    request.session[SESSION_KEY] = uploads
    path = _stash_dir() / token
    if not path.is_file():
        return None
    data = path.read_bytes()
    path.unlink(missing_ok=True)
    return data, name


def directory_import(request: HttpRequest, admin_site) -> HttpResponse:
    scope = scope_for_user(request.user)
    if not can_import(request.user):
        raise PermissionDenied
    form = ImportForm(request.POST or None, request.FILES or None)
    result, token = None, None
    if request.method == "POST" and form.is_valid():
        dry_run = "import" not in request.POST and "confirm" not in request.POST
        upload = form.cleaned_data["file"]
        source = (upload.read(), upload.name) if upload else _unstash(request, request.POST.get("token", ""))
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
                token = _stash(request, data, name)
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
