"""Tamper evidence: a keyed seal per record version, and the hash chain of blocks that commits to the seals.

A ``Seal`` is an HMAC-SHA256 over the canonical content of one record version (seal/sealing.py), written in the
transaction that writes the record. ``Block`` rows chain the seals: each block lists the seals it covers through
``Seal.block`` and stores the SHA-256 digest of their lines, and its hash commits to the previous block's hash.
``DailyDigest`` keeps the last block hash of each local day (to be published). Nothing here is updated or deleted
through the product, except ``Seal.block``, set once when the sealer chains the seal.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    RATING = "rating", _("评价")
    EVENT = "event", _("工单记录")


class Seal(models.Model):
    kind = models.CharField(_("类别"), max_length=10, choices=Kind.choices)
    record_id = models.BigIntegerField(_("记录编号"))
    # Corrections are new versions: a not-adopted decision adds version n+1 of the rating's seal, the old one stays.
    version = models.PositiveIntegerField(_("版本"), default=1)
    key_id = models.CharField(_("密钥标识"), max_length=16)
    mac = models.CharField(_("签名"), max_length=64)
    sealed_at = models.DateTimeField(_("签名时间"))
    block = models.BigIntegerField(_("区块"), null=True, blank=True)

    class Meta:
        verbose_name = _("记录签名")
        verbose_name_plural = _("记录签名")
        constraints = [
            models.UniqueConstraint(fields=["kind", "record_id", "version"], name="seal_unique_record_version")
        ]
        indexes = [
            # The sealer's queue (seals not chained yet) and the page's lag: a small partial index.
            models.Index(fields=["id"], condition=Q(block__isnull=True), name="seal_unchained"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.record_id}:{self.version}"


class Block(models.Model):
    """One link of the chain. ``id`` is the block number; append-only."""

    prev_hash = models.CharField(_("上一块哈希"), max_length=64, unique=True)  # unique: the chain cannot fork
    digest = models.CharField(_("签名列表摘要"), max_length=64)
    seal_count = models.PositiveIntegerField(_("签名数"))
    ratings = models.PositiveIntegerField(_("评价签名数"), default=0)
    events = models.PositiveIntegerField(_("工单记录签名数"), default=0)
    first_seal_id = models.BigIntegerField(_("首个签名编号"))
    last_seal_id = models.BigIntegerField(_("末个签名编号"))
    created_at = models.DateTimeField(_("生成时间"))
    hash = models.CharField(_("区块哈希"), max_length=64, unique=True)

    class Meta:
        verbose_name = _("哈希链区块")
        verbose_name_plural = _("哈希链区块")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.hash[:16]}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("哈希链区块只能追加，不能修改")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("哈希链区块只能追加，不能删除")


class DailyDigest(models.Model):
    """每日摘要: the hash of the last block sealed on a local day, with totals; publishable."""

    day = models.DateField(_("日期"), unique=True)
    last_block = models.BigIntegerField(_("末个区块"))
    block_hash = models.CharField(_("末个区块哈希"), max_length=64)
    blocks = models.PositiveIntegerField(_("当日区块数"))
    seals = models.PositiveIntegerField(_("当日签名数"))
    updated_at = models.DateTimeField(_("更新时间"))

    class Meta:
        verbose_name = _("每日摘要")
        verbose_name_plural = _("每日摘要")
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"{self.day} #{self.last_block} {self.block_hash[:16]}"


class VerifyRun(models.Model):
    """The outcome of one ``haochaping verify`` run, shown on the chain page."""

    started_at = models.DateTimeField(_("开始时间"))
    finished_at = models.DateTimeField(_("结束时间"))
    since = models.DateField(_("检查起始日期"), null=True, blank=True)
    checked = models.JSONField(_("检查数量"), default=dict)
    findings = models.PositiveIntegerField(_("发现问题数"))
    report = models.TextField(_("报告"), blank=True)

    class Meta:
        verbose_name = _("校验记录")
        verbose_name_plural = _("校验记录")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.finished_at:%Y-%m-%d %H:%M} {self.findings}"
