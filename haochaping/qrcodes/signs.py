"""Printable A4 window signs (评价牌) in Chinese, drawn with reportlab: one page per window code."""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Sequence
from functools import lru_cache

import segno
from reportlab.lib.colors import HexColor, black
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from haochaping.qrcodes.models import WindowCode
from haochaping.qrcodes.services import staff_on_duty, window_code_url

TITLE = "政务服务“好差评”"
SCAN = "请扫码对本次服务进行评价"
PROMISE = "您的评价将被认真对待，差评将被回访整改"
GRADES = "非常满意 · 满意 · 基本满意 · 不满意 · 非常不满意"
CJK_FAMILIES = ("WenQuanYi Zen Hei", "Noto Sans CJK SC", "Noto Serif CJK SC")
RED = HexColor("#c8102e")


def _fc_match(family: str) -> str | None:
    if not shutil.which("fc-match"):
        return None
    try:
        out = subprocess.run(
            ["fc-match", "-f", "%{file}", family], capture_output=True, text=True, timeout=5, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return out if out.lower().endswith((".ttf", ".ttc")) else None


@lru_cache(maxsize=1)
def sign_font() -> str:
    """The font name to draw Chinese with: an embedded TrueType CJK font if the machine has one, else the
    built-in CID font STSong-Light (not embedded; every PDF reader ships it), so signs work anywhere."""
    for family in CJK_FAMILIES:
        path = _fc_match(family)
        if not path:
            continue
        try:
            font = TTFont("HcpSignCJK", path, subfontIndex=0)
        except Exception:  # noqa: BLE001 - an unreadable or unsupported font file: try the next one
            continue
        # fc-match answers with its best substitute when the family is missing: insist on CJK glyphs.
        if ord("评") in font.face.charToGlyph:
            pdfmetrics.registerFont(font)
            return "HcpSignCJK"
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return "STSong-Light"


def _centred(canvas: Canvas, text: str, y: float, size: float, font: str, max_width: float) -> None:
    """Draw text centred on the page at baseline y, shrinking it to fit max_width (long hall names)."""
    while size > 8 and pdfmetrics.stringWidth(text, font, size) > max_width:
        size -= 1
    canvas.setFont(font, size)
    canvas.drawCentredString(A4[0] / 2, y, text)


def _draw_qr(canvas: Canvas, data: str, x: float, y: float, side: float) -> None:
    """The QR code as vector squares (sharp at any print size); (x, y) is the lower-left corner."""
    qr = segno.make(data, error="m")
    matrix = [list(row) for row in qr.matrix]
    n = len(matrix)
    module = side / n
    canvas.setFillColor(black)
    path = canvas.beginPath()
    for r, row in enumerate(matrix):
        c = 0
        while c < n:
            if row[c]:
                start = c
                while c < n and row[c]:
                    c += 1
                # One rectangle per run of dark modules keeps the page small.
                path.rect(x + start * module, y + (n - 1 - r) * module, (c - start) * module, module)
            else:
                c += 1
    canvas.drawPath(path, stroke=0, fill=1)


def _draw_page(canvas: Canvas, code: WindowCode, font: str) -> None:
    width, height = A4
    window = code.window
    usable = width - 40 * mm
    canvas.setStrokeColor(RED)
    canvas.setLineWidth(3)
    canvas.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    canvas.setFillColor(RED)
    _centred(canvas, TITLE, height - 45 * mm, 40, font, usable)
    canvas.setFillColor(black)
    _centred(canvas, window.hall.name, height - 62 * mm, 20, font, usable)
    _centred(canvas, f"{window.code}号窗口  {window.name}", height - 80 * mm, 30, font, usable)
    _centred(canvas, window.unit.name, height - 93 * mm, 16, font, usable)
    names = "、".join(s.name for s in staff_on_duty(window))
    if names:
        _centred(canvas, f"工作人员：{names}", height - 104 * mm, 16, font, usable)
    side = 110 * mm
    _draw_qr(canvas, window_code_url(code), (width - side) / 2, 78 * mm, side)
    canvas.setFillColor(RED)
    _centred(canvas, SCAN, 62 * mm, 26, font, usable)
    canvas.setFillColor(black)
    _centred(canvas, PROMISE, 50 * mm, 16, font, usable)
    _centred(canvas, GRADES, 40 * mm, 12, font, usable)
    canvas.setFillColor(HexColor("#555555"))
    _centred(canvas, window_code_url(code), 22 * mm, 9, font, usable)


def render_signs(codes: Sequence[WindowCode]) -> bytes:
    """One PDF with an A4 page per window code (codes need window, window.hall and window.unit loaded)."""
    font = sign_font()
    buf = io.BytesIO()
    canvas = Canvas(buf, pagesize=A4, pageCompression=1)
    canvas.setTitle(TITLE + " 窗口评价二维码")
    canvas.setAuthor("haochaping")
    for code in codes:
        _draw_page(canvas, code, font)
        canvas.showPage()
    canvas.save()
    return buf.getvalue()
