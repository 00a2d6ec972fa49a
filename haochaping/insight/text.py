"""The text pipeline of comment mining: normalise, mask personal data, segment into terms.

Every comment goes through ``prepare`` before anything is stored in the analysis tables or shown:

1. ``normalise``: NFKC (full-width letters, digits and punctuation become half-width), whitespace collapsed,
   Latin letters lower-cased.
2. ``mask``: phone numbers, certificate (身份证) numbers, bank-card numbers, e-mail addresses and names are replaced
   by placeholders such as ``[手机号]``. Names are caught three ways: after a cue (我叫…, 姓名…, 联系人…), as a
   surname with a title (王先生 → [姓名]先生), and as any name in the directory's staff list.
3. ``terms``: rjieba (jieba-rs) segmentation with the government-service dictionary kept in ``data/domain_dict.txt``
   plus the directory's service, unit, hall and place names (added automatically, refreshed every few minutes);
   stop words (``data/stopwords.txt``), punctuation, numbers, placeholders and single characters (except a few
   that carry a complaint on their own: 慢, 差, 乱 …) are dropped. Each term appears once per comment.
"""

from __future__ import annotations

import re
import threading
import time
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).parent / "data"

# Placeholders shown instead of personal data; PLACEHOLDER_RE finds them again (they are never terms).
PHONE, LANDLINE, CERT, CARD, EMAIL, NAME = "[手机号]", "[电话]", "[证件号]", "[卡号]", "[邮箱]", "[姓名]"
PLACEHOLDER_RE = re.compile(r"\[(?:手机号|电话|证件号|卡号|邮箱|姓名)\]")

_SEP = r"[\s\-]?"
# Certificate numbers before phones and cards: an 18-digit 身份证 contains 11-digit runs.
CERT_RE = re.compile(r"(?<![0-9a-z])(?:[1-9]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[0-9x]"
                     r"|[1-9]\d{7}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3})(?![0-9a-z])")  # fmt: skip
PHONE_RE = re.compile(r"(?<!\d)(?:\+?86[\s\-]?)?1[3-9]\d" + _SEP + r"\d{4}" + _SEP + r"\d{4}(?!\d)")
LANDLINE_RE = re.compile(r"(?<!\d)0\d{2,3}[\s\-]?\d{7,8}(?!\d)")
CARD_RE = re.compile(r"(?<!\d)(?:\d[\s\-]?){15,18}\d(?!\d)")
EMAIL_RE = re.compile(r"[a-z0-9._%+\-]+@[a-z0-9.\-]+\.[a-z]{2,}")
# 我叫张三 / 姓名：张三 / 联系人李四: the cue stays, the name goes.
NAME_CUE_RE = re.compile(r"(我叫|本人叫|姓名[:：]?|名字叫|名字是|联系人[:：]?)([\u4e00-\u9fff]{2,3})")
TITLES = "先生|女士|小姐|师傅|老师|同志|阿姨|大爷|大妈|大姐|主任|科长|经理"

# Single characters worth keeping as terms: each is a complaint (or praise) on its own.
KEEP_SINGLE = frozenset("慢差乱贵难累挤脏吵烦冷热坏拖推卡慌凶好快")
_TERM_RE = re.compile(r"[\u4e00-\u9fffa-z]")  # a term has at least one CJK character or letter


def normalise(text: str) -> str:
    """Full-width to half-width (NFKC), whitespace collapsed, Latin lower-cased."""
    text = unicodedata.normalize("NFKC", text or "")
    return " ".join(text.split()).lower()


@cache
def _surnames() -> str:
    return (DATA / "surnames.txt").read_text(encoding="utf-8").split()[0]


@cache
def _title_re() -> re.Pattern:
    surnames = "".join(sorted(set(_surnames())))
    return re.compile(f"(?<![\u4e00-\u9fff])[{surnames}](?={TITLES})|(?<=[叫是])[{surnames}](?={TITLES})")


class NameList:
    """Names to mask wherever they appear (the directory's staff), found by their first two characters."""

    def __init__(self, names: list[str] = ()) -> None:
        self.by_prefix: dict[str, list[str]] = {}
        for name in sorted({n.strip() for n in names if len(n.strip()) >= 2}, key=len, reverse=True):
            self.by_prefix.setdefault(name[:2], []).append(name)

    def mask(self, text: str) -> str:
        if not self.by_prefix:
            return text
        out, i, n = [], 0, len(text)
        while i < n - 1:
            candidates = self.by_prefix.get(text[i : i + 2])
            hit = next((c for c in candidates if text.startswith(c, i)), None) if candidates else None
            if hit:
                out.append(NAME)
                i += len(hit)
            else:
                out.append(text[i])
                i += 1
        out.append(text[i:])
        return "".join(out)


def mask(text: str, names: NameList | None = None) -> str:
    """Personal data replaced by placeholders; ``text`` should be normalised first (half-width digits)."""
    text = EMAIL_RE.sub(EMAIL, text)
    text = CERT_RE.sub(CERT, text)
    text = PHONE_RE.sub(PHONE, text)
    text = LANDLINE_RE.sub(LANDLINE, text)
    text = CARD_RE.sub(CARD, text)
    text = NAME_CUE_RE.sub(lambda m: m.group(1) + NAME, text)
    text = _title_re().sub(NAME, text)
    if names is not None:
        text = names.mask(text)
    return text


@cache
def stop_words() -> frozenset[str]:
    lines = (DATA / "stopwords.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(w for line in lines if not line.startswith("#") for w in line.split())


@cache
def domain_words() -> tuple[str, ...]:
    lines = (DATA / "domain_dict.txt").read_text(encoding="utf-8").splitlines()
    return tuple(w for line in lines if not line.startswith("#") for w in line.split())


class Segmenter:
    """rjieba with the domain dictionary and the given directory words; thread-safe for reading."""

    def __init__(self, extra_words: list[str] = ()) -> None:
        import rjieba

        self.jieba = rjieba.Jieba()
        for word in (*domain_words(), *extra_words):
            if 2 <= len(word) <= 40:
                self.jieba.add_word(word, None, None)
        self.stop = stop_words()

    def terms(self, masked: str) -> list[str]:
        """Distinct terms of a masked text, in order of first appearance."""
        stop, seen, out = self.stop, set(), []
        for token in self.jieba.cut(PLACEHOLDER_RE.sub("，", masked), False):
            if token in seen or token in stop or not _TERM_RE.search(token):
                continue
            if len(token) == 1 and token not in KEEP_SINGLE or len(token) > 32:
                continue
            seen.add(token)
            out.append(token)
        return out


@dataclass(frozen=True)
class Prepared:
    text: str  # normalised and masked: safe to store and show
    terms: list[str]

    @property
    def tokens(self) -> str:
        """The terms as stored in CommentDoc.tokens: space-separated, with a space at both ends."""
        return f" {' '.join(self.terms)} " if self.terms else " "


class Pipeline:
    """normalise → mask → segment, with one directory's names and words."""

    def __init__(self, names: list[str] = (), words: list[str] = ()) -> None:
        self.names = NameList(names)
        self.segmenter = Segmenter(words)

    def prepare(self, raw: str) -> Prepared:
        text = mask(normalise(raw), self.names)
        return Prepared(text, self.segmenter.terms(text))

    def mask(self, raw: str) -> str:
        return mask(normalise(raw), self.names)


# --- the installation's pipeline: directory names and words, refreshed every few minutes ---------------------

REFRESH_SECONDS = 300
_lock = threading.Lock()
_current: tuple[float, Pipeline] | None = None


def directory_vocabulary() -> tuple[list[str], list[str]]:
    """(staff names to mask, words to keep whole): service item, unit, hall and region names of the directory."""
    from haochaping.directory.models import Hall, Organisation, Region, ServiceItem, Staff

    names = list(Staff.objects.values_list("name", flat=True))
    words: set[str] = set()
    for model, fields in ((ServiceItem, ("name",)), (Organisation, ("name", "short_name")), (Hall, ("name",)),
                          (Region, ("name",))):  # fmt: skip
        for row in model.objects.values_list(*fields):
            words.update(normalise(w) for w in row if w)
    return names, sorted(words)


def pipeline(refresh: bool = False) -> Pipeline:
    """The shared pipeline (built on first use, rebuilt after REFRESH_SECONDS so new directory entries count)."""
    global _current
    with _lock:
        if refresh or _current is None or time.monotonic() - _current[0] > REFRESH_SECONDS:
            names, words = directory_vocabulary()
            _current = (time.monotonic(), Pipeline(names, words))
        return _current[1]


def reset() -> None:
    """Forget the shared pipeline (tests, after a directory import)."""
    global _current
    with _lock:
        _current = None
