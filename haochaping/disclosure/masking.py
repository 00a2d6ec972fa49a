"""Personal data removed from texts before publication (整改公开): ``mask_public(text)``.

The comment-mining pipeline (insight/text.py: ``pipeline().mask``) already replaces phones, landlines, 身份证,
bank cards, e-mail addresses and names (after a cue, surname + title, every staff name of the directory) by
placeholders such as ``[手机号]``. Publication adds, on top of it:

- street addresses at house level: a road, street, lane, village, 小区 or building name followed by house, building,
  unit or room numbers (解放路123号4幢2单元301室 → [地址]); the district-level part before it (杭州市上城区) stays;
  two or more house-level parts in a row (4幢2单元, 5弄12号) and room numbers (301室) without a road name too;
- the rest of an address after a cue (住址/地址/家住/居住地), keeping its province/city/district/town part;
- a name right after a word for a person (评价人张三丰（…, 联系了王芳，), and the case's own contact name and phone
  wherever they appear (``known``);
- a surname with a title anywhere in a phrase (联系李科长, 的王师傅, 王小明主任 → [姓名]科长 …);
- QQ, WeChat and similar account IDs after a cue (QQ 123456789, 微信号 abc_123) → [账号];
- any remaining run of 6 or more digits (optionally with single spaces), each digit → ＊.

Ordinary text stays: dates (2026年11月3日), 5个工作日, 1号窗口, 3号楼 on its own, amounts under six digits.
"""

from __future__ import annotations

import re

from haochaping.insight.text import NAME, TITLES, _surnames, mask, pipeline

ADDRESS = "[地址]"
ACCOUNT = "[账号]"
DIGIT_MASK = "＊"

_NUM = r"(?:\d+(?:-\d+)?|[一二三四五六七八九十百零〇两]+)"
_UNIT = r"(?:号楼|号院|号|幢|栋|单元|室|楼|层|组|户|弄|排|座)"
_PART = rf"\s?{_NUM}\s?{_UNIT}"
# A place name: up to six CJK characters that are not administrative suffixes (those stay visible), ending in a
# road/street/estate word, then at least one house-level part (123号, 4幢, 2单元, 301室) and maybe a bare room number.
_NAME_CHAR = r"(?:(?![省市区县镇乡])[\u4e00-\u9fff])"
_PLACE_END = r"(?:大道|大街|路|街|巷|弄|村|小区|花园|公寓|大厦|新村|家园|苑|社区|广场|里)"
_ROOM_TAIL = r"(?:[-\s]?\d{2,5}(?![\d个天日月年分元次人件号]))?"
PLACE_RE = re.compile(rf"{_NAME_CHAR}{{1,6}}?{_PLACE_END}(?:{_PART})+{_ROOM_TAIL}")
# Little words that often come just before an address: kept when a place match starts with them.
_LEAD = "在住于到从往至的是我家去过来自"
# Without a road name: a building part then a unit/house/room part (4幢2单元, 5弄12号, 3号楼2单元301室); 3号楼2层
# and 2楼3号窗口 (a hall's own directions) stay.
PARTS_RE = re.compile(rf"(?<![\d\w]){_NUM}\s?(?:幢|栋|号楼|弄)\s?{_NUM}\s?(?:单元|号|室)(?:{_PART})*{_ROOM_TAIL}")
ROOM_RE = re.compile(r"(?<!\d)\d{3,4}\s?(?:室|房间)")
ADDRESS_CUE_RE = re.compile(r"(?<!\[)(住址|地址|家住|居住地|户籍地)([:：]?\s?)([^\s，。；;,!！?？）)]{2,40})")
_ADMIN_PREFIX_RE = re.compile(r"(?:[^\s，。；;,]{1,8}?(?:省|自治区|市|区|县|镇|乡|街道))+")
ACCOUNT_RE = re.compile(r"(qq号?|微信号?|vx|v信|wx|weixin|wechat|抖音号?)(\s?[:：]?\s?)([a-z0-9_\-]{5,20})", re.I)
DIGITS_RE = re.compile(r"\d(?: ?\d){5,}")
_TITLE_RE: re.Pattern | None = None


_PERSON_CUE_RE: re.Pattern | None = None
_PERSON_CUES = "|".join(
    ("评价人", "群众", "投诉人", "办事人", "申请人", "当事人", "市民", "联系了?", "致电", "告知", "工作人员",
     "窗口人员", "经办人", "负责人", "窗口的?", "名叫", "叫做", "找的是", "找了")
)  # fmt: skip


def _person_cue_re() -> re.Pattern:
    """A name right after a word for a person (评价人张三丰（…）, 联系了王芳，): a surname and one or two characters,
    then punctuation, a space, a title or the end — so 评价人对处理结果 stays."""
    global _PERSON_CUE_RE
    if _PERSON_CUE_RE is None:
        _PERSON_CUE_RE = re.compile(
            rf"({_PERSON_CUES})[{_surnames()}][\u4e00-\u9fff]{{1,2}}(?=[（(，,。.;；:：!！?？、\s]|$|{TITLES})"
        )
    return _PERSON_CUE_RE


def _title_re() -> re.Pattern:
    """A surname and up to two more characters before a title (的王师傅, 联系李科长, 王小明主任), wherever it stands:
    the insight pipeline only takes a surname + title at the start of a phrase."""
    global _TITLE_RE
    if _TITLE_RE is None:
        _TITLE_RE = re.compile(f"[{_surnames()}][\u4e00-\u9fff]{{0,2}}?(?={TITLES})")
    return _TITLE_RE


def _cue_address(m: re.Match) -> str:
    rest = m.group(3)
    if rest.startswith("[") or rest == ADDRESS:
        return m.group(0)
    prefix = _ADMIN_PREFIX_RE.match(rest)
    kept = prefix.group(0) if prefix else ""
    tail = rest[len(kept) :]
    if not tail or tail.startswith(ADDRESS):
        return m.group(0)
    return f"{m.group(1)}{m.group(2)}{kept}{ADDRESS}"


def _place(m: re.Match) -> str:
    """Keep what comes before the place name: up to the last little word (到/在/住 …) in the part before the road
    word, so 工作人员已到文三路188号 keeps 工作人员已到 (the leftmost match starts inside the sentence)."""
    found = m.group(0)
    name_part = re.match(rf".*?{_PLACE_END}", found)
    head = name_part.group(0) if name_part else found
    cut = max((head.rfind(ch) for ch in _LEAD), default=-1)
    return found[: cut + 1] + ADDRESS


def mask_addresses(text: str) -> str:
    """House-level address detail → [地址]; district-level parts stay."""
    text = PLACE_RE.sub(_place, text)
    text = PARTS_RE.sub(ADDRESS, text)
    text = ROOM_RE.sub(ADDRESS, text)
    return ADDRESS_CUE_RE.sub(_cue_address, text)


def mask_extra(text: str) -> str:
    """What publication removes beyond the insight pipeline (``text`` already normalised and masked)."""
    text = ACCOUNT_RE.sub(lambda m: m.group(1) + m.group(2) + ACCOUNT, text)
    text = _title_re().sub(NAME, text)
    text = _person_cue_re().sub(lambda m: m.group(1) + NAME, text)
    text = mask_addresses(text)
    return DIGITS_RE.sub(lambda m: re.sub(r"\d", DIGIT_MASK, m.group(0)), text)


# Full-width ASCII (Ａ-Ｚ, ０-９, ＠, ＋ …) becomes half-width so the patterns see digits and letters; the Chinese
# punctuation readers expect (，：；！？（）) stays as written. Latin letters are lower-cased (the patterns expect it).
_KEEP_WIDE = set("，：；！？（）")
_HALF = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F) if chr(cp) not in _KEEP_WIDE} | {0x3000: 0x20}


def normalise(text: str) -> str:
    """Like insight.text.normalise, but keeping Chinese punctuation for reading."""
    return " ".join(text.translate(_HALF).split()).lower()


def mask_public(text: str, known: tuple[str, ...] | list[str] = ()) -> str:
    """A text as it may be published: personal data replaced by placeholders (see the module docstring).

    ``known``: names and numbers known to belong to this text's people (the case's contact name and phone): every
    occurrence goes too, whatever stands around it."""
    if not text or not text.strip():
        return ""
    text = normalise(text)
    for value in sorted({normalise(v) for v in known if v and len(normalise(v)) >= 2}, key=len, reverse=True):
        text = text.replace(value, NAME if not any(ch.isdigit() for ch in value) else "[手机号]")
    return mask_extra(mask(text, pipeline().names))
