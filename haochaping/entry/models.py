"""Models of the entry app: who keyed which hotline call or paper form into the rating store."""

from __future__ import annotations

import secrets
from pathlib import PurePath

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from haochaping.directory.models import Organisation
from haochaping.ratings.models import Rating


def scan_path(instance: KeyedEntry, filename: str) -> str:
    # A random name: the uploader's file name may carry personal data and must not be guessable.
    suffix = PurePath(filename).suffix.lower()
    return f"paper-scans/{timezone.now():%Y/%m}/{secrets.token_hex(16)}{suffix}"


class KeyedEntry(models.Model):
    """A rating keyed in by staff from a hotline satisfaction call or a paper evaluation form."""

    SCOPE_LOOKUPS = {"region": "rating__region__path", "unit": "rating__unit_id", "staff": "rating__staff_id"}

    class Kind(models.TextChoices):
        HOTLINE = "hotline", _("热线电话")
        PAPER = "paper", _("纸质评价表")

    # No database constraint: see docs/partitioning.md (ratings are never deleted; PROTECT holds in the ORM).
    rating = models.OneToOneField(
        Rating, verbose_name=_("评价"), on_delete=models.PROTECT, related_name="keyed_entry", db_constraint=False
    )
    kind = models.CharField(_("录入类型"), max_length=10, choices=Kind.choices)
    keyed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("录入人"), on_delete=models.PROTECT, related_name="+"
    )
    keyed_at = models.DateTimeField(_("录入时间"), default=timezone.now, db_index=True)
    # The unit a paper form's serial number is unique in (the rated unit): the double-entry guard.
    unit = models.ForeignKey(Organisation, verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+")
    form_no = models.CharField(_("表单编号"), max_length=40, blank=True)
    scan = models.FileField(_("扫描件"), upload_to=scan_path, blank=True, max_length=200)
    call_ref = models.CharField(_("工单号/通话编号"), max_length=60, blank=True)
    call_at = models.DateTimeField(_("通话时间"), null=True, blank=True)
    source = models.CharField(_("来源"), max_length=100, blank=True, help_text=_("表单录入，或批量导入的文件名"))

    class Meta:
        verbose_name = _("录入记录")
        verbose_name_plural = _("热线与纸质评价录入记录")
        ordering = ["-keyed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "form_no"], condition=Q(kind="paper"), name="entry_paper_form_once_per_unit"
            ),
            models.UniqueConstraint(fields=["call_ref"], condition=~Q(call_ref=""), name="entry_call_ref_once"),
            models.CheckConstraint(condition=Q(kind="hotline") | ~Q(form_no=""), name="entry_paper_has_form_no"),
        ]

    def __str__(self) -> str:
        if self.kind == self.Kind.PAPER:
            return f"{self.get_kind_display()} {self.form_no}"
        return f"{self.get_kind_display()} {self.call_ref or self.pk}"
