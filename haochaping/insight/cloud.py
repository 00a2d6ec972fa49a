"""The word cloud (词云) as a PNG, drawn server-side by the ``wordcloud`` package with a CJK font of the machine.

The font is looked up with fc-match among the families the window signs use (fonts-wqy-zenhei is installed by the
set-up). Without a CJK font there is no image (``None``): the page says so instead of drawing empty boxes. Images are
cached (Django cache) by their parameters and the newest indexed comment, so a repeated request is fast and a new
comment gives a new image.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Sequence
from functools import lru_cache

from django.core.cache import cache

from haochaping.insight.models import CommentDoc
from haochaping.insight.words import HotWord
from haochaping.qrcodes.signs import CJK_FAMILIES, _fc_match

WIDTH, HEIGHT = 800, 450
CACHE_SECONDS = 3600
PROBE = "评价"  # characters the font must have


def _has_cjk(path: str) -> bool:
    try:
        from PIL import ImageFont

        font = ImageFont.truetype(path, 20)
        # A font without the glyph draws the same .notdef box for every character.
        masks = {(font.getmask(ch).size, bytes(font.getmask(ch))) for ch in PROBE + "口"}
    except Exception:  # noqa: BLE001 - an unreadable font: not usable
        return False
    return len(masks) == len(PROBE + "口")


@lru_cache(maxsize=1)
def cjk_font_path() -> str | None:
    """The file of a CJK font on this machine, or None."""
    for family in CJK_FAMILIES:
        path = _fc_match(family)
        if path and _has_cjk(path):
            return path
    return None


def render(words: Sequence[HotWord], *, font_path: str | None = None) -> bytes | None:
    """PNG bytes of the cloud (word size by score), or None without a CJK font or without words."""
    font_path = font_path or cjk_font_path()
    if not font_path or not words:
        return None
    from wordcloud import WordCloud

    weights = {w.term: max(w.score, 0.01) for w in words}
    cloud = WordCloud(
        font_path=font_path,
        width=WIDTH,
        height=HEIGHT,
        background_color="white",
        random_state=7,
        prefer_horizontal=0.9,
        max_words=len(weights),
        colormap="tab10",
    ).generate_from_frequencies(weights)
    buf = io.BytesIO()
    cloud.to_image().save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def cache_key(params: dict[str, str]) -> str:
    latest = CommentDoc.objects.order_by("-id").values_list("id", flat=True).first() or 0
    raw = "&".join(f"{k}={params[k]}" for k in sorted(params)) + f"#{latest}"
    return "insight:cloud:" + hashlib.sha256(raw.encode()).hexdigest()[:32]


def cached_png(params: dict[str, str], words: Callable[[], Sequence[HotWord]]) -> bytes | None:
    """The PNG for these parameters from the cache, else rendered (``words`` is called only on a miss)."""
    if cjk_font_path() is None:
        return None
    key = cache_key(params)
    png = cache.get(key)
    if png is None:
        png = render(words()) or b""
        cache.set(key, png, CACHE_SECONDS)
    return png or None
