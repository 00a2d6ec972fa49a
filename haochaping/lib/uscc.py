"""统一社会信用代码 (18-character unified social credit code) validation per GB 32100-2015.

Layout: 1 registration authority, 1 organisation kind, 6 region code, 9 organisation code
(itself ending in a GB 11714 check character), 1 check character over the first 17.
"""

from __future__ import annotations

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # I, O, S, V, Z are never used
_USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
_ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def org_code_check_char(first8: str) -> str:
    total = sum(_ORG_ALPHABET.index(c) * w for c, w in zip(first8, _ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def uscc_error(code: str) -> str | None:
    """Return why `code` is not a valid USCC, or None when it is valid."""
    if len(code) != 18:
        return f"统一社会信用代码应为18位，实际为{len(code)}位"
    bad = [c for c in code if c not in USCC_ALPHABET]
    if bad:
        return f"统一社会信用代码含非法字符：{''.join(sorted(set(bad)))}"
    if not code[2:8].isdigit():
        return "统一社会信用代码第3–8位应为行政区划码数字"
    org = code[8:17]
    if all(c in _ORG_ALPHABET for c in org[:8]) and org[8] in "0123456789X":
        if org_code_check_char(org[:8]) != org[8]:
            return "统一社会信用代码第9–17位（组织机构代码）校验位错误"
    else:
        return "统一社会信用代码第9–17位（组织机构代码）格式错误"
    if uscc_check_char(code[:17]) != code[17]:
        return "统一社会信用代码校验位错误"
    return None


def make_uscc(authority: str, kind: str, region6: str, org8: str) -> str:
    """Build a valid USCC from its parts (used by the demo generator and tests)."""
    org = org8 + org_code_check_char(org8)
    first17 = authority + kind + region6 + org
    return first17 + uscc_check_char(first17)
