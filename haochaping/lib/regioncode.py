"""行政区划代码 (12-digit statistical division code): 2 province, 2 city, 2 county, 3 township, 3 village."""

from __future__ import annotations

LEVEL_PROVINCE, LEVEL_CITY, LEVEL_COUNTY, LEVEL_TOWNSHIP, LEVEL_VILLAGE = 1, 2, 3, 4, 5


def region_code_error(code: str) -> str | None:
    if len(code) != 12 or not code.isdigit():
        return "行政区划代码应为12位数字"
    if code[:2] == "00":
        return "行政区划代码省级部分不能为00"
    return None


def region_level(code: str) -> int:
    """Infer the level from the trailing zeros of a 12-digit code."""
    if code[2:] == "0000000000":
        return LEVEL_PROVINCE
    if code[4:] == "00000000":
        return LEVEL_CITY
    if code[6:] == "000000":
        return LEVEL_COUNTY
    if code[9:] == "000":
        return LEVEL_TOWNSHIP
    return LEVEL_VILLAGE


def parent_code(code: str) -> str | None:
    """The code of the enclosing division implied by the code itself, or None for a province."""
    level = region_level(code)
    if level == LEVEL_PROVINCE:
        return None
    keep = {LEVEL_CITY: 2, LEVEL_COUNTY: 4, LEVEL_TOWNSHIP: 6, LEVEL_VILLAGE: 9}[level]
    return code[:keep].ljust(12, "0")


def to_gb9(code: str) -> str:
    """GB/T 39046 table 9 行政区划 is n..9: the first 9 digits of the 12-digit code."""
    return code[:9]


def from_gb9(code: str) -> str:
    return code.ljust(12, "0")
