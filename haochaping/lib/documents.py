"""Uploaded documents (scans, evidence): only JPEG, PNG or PDF, recognised by their first bytes, within a size."""

from __future__ import annotations

from pathlib import PurePath

from django.core.files.uploadedfile import UploadedFile

from haochaping.lib.errors import ValidationFailed

MAGIC = {".jpg": b"\xff\xd8\xff", ".jpeg": b"\xff\xd8\xff", ".png": b"\x89PNG\r\n\x1a\n", ".pdf": b"%PDF-"}
CONTENT_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".pdf": "application/pdf"}


def check_document(upload: UploadedFile, *, field: str, what: str, max_bytes: int) -> str:
    """The content type of a valid upload; ValidationFailed naming ``field`` otherwise."""
    suffix = PurePath(upload.name or "").suffix.lower()
    if upload.size is not None and upload.size > max_bytes:
        raise ValidationFailed(f"{what}不能超过 {max_bytes // (1024 * 1024)} MB", field=field)
    magic = MAGIC.get(suffix)
    if magic is None:
        raise ValidationFailed(f"{what}须为 JPG、PNG 图片或 PDF 文件", field=field)
    upload.seek(0)
    head = upload.read(len(magic))
    upload.seek(0)
    if head != magic:
        raise ValidationFailed(f"{what}内容与文件类型不符（须为 JPG、PNG 或 PDF）", field=field)
    return CONTENT_TYPES[suffix]
