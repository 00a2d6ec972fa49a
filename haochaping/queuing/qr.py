"""QR images of ticket rating links (segno): inline SVG for the API answer, PNG data URI, and HTTP responses."""

from __future__ import annotations

import io

import segno


def _qr(url: str) -> segno.QRCode:
    return segno.make(url, error="m")


def qr_svg_text(url: str) -> str:
    buf = io.BytesIO()
    _qr(url).save(buf, kind="svg", scale=4, border=2, title="扫码评价", xmldecl=False)
    return buf.getvalue().decode()


def qr_png_data_uri(url: str) -> str:
    return _qr(url).png_data_uri(scale=4, border=2)
