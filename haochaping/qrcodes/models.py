"""Models of the qrcodes app: the static QR code of each window (窗口评价码)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from haochaping.directory.models import Window


class WindowCode(models.Model):
    """A window's static rating code: the slug printed on the sign at the counter.

    A window has at most one active code; resetting revokes the old one (its sign stops working, answering
    410) and issues a new slug, so a leaked or defaced sign can be replaced. Revoked rows are kept as history.
    """

    SCOPE_LOOKUPS = {"region": "window__hall__region__path", "unit": "window__unit_id"}

    window = models.ForeignKey(Window, verbose_name=_("窗口"), on_delete=models.PROTECT, related_name="qr_codes")
    slug = models.CharField(_("码值"), max_length=40, unique=True, editable=False)
    created_at = models.DateTimeField(_("生成时间"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("生成人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    revoked_at = models.DateTimeField(_("作废时间"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("窗口二维码")
        verbose_name_plural = _("窗口二维码")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["window"], condition=models.Q(revoked_at__isnull=True), name="one_active_code_per_window"
            )
        ]

    def __str__(self) -> str:
        return f"{self.window} · {self.slug}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
