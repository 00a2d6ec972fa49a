"""Code validation and data protection helpers (haochaping/lib)."""

from __future__ import annotations

import pytest

from haochaping.lib import protect
from haochaping.lib.regioncode import from_gb9, parent_code, region_code_error, region_level, to_gb9
from haochaping.lib.uscc import make_uscc, uscc_error
from haochaping.ratings import codes


@pytest.mark.parametrize("code", ["9144030071526726XG", "91330100716105852F", "91110108551385082Q"])
def test_it_accepts_real_credit_codes(code):
    assert uscc_error(code) is None


@pytest.mark.parametrize(
    "code,reason",
    [
        ("9144030071526726XH", "校验位"),
        ("9144030071526726X", "18位"),
        ("9144030071526726IG", "非法字符"),
        ("91440300715267260G", "组织机构代码"),
    ],
)
def test_it_explains_bad_credit_codes(code, reason):
    assert reason in uscc_error(code)


def test_make_uscc_builds_valid_codes():
    assert uscc_error(make_uscc("1", "1", "330100", "00250001")) is None


def test_region_codes():
    assert region_code_error("33010") and region_code_error("000000000000")
    assert region_level("330000000000") == 1 and region_level("330102000000") == 3
    assert region_level("330102001000") == 4 and region_level("330102001001") == 5
    assert parent_code("330102001000") == "330102000000" and parent_code("330000000000") is None
    assert to_gb9("330102001000") == "330102001" and from_gb9("330102001") == "330102001000"


def test_protect_encrypts_hashes_and_masks(settings):
    token = protect.encrypt("138 0013 8000")
    assert "13800138000" not in token and protect.decrypt(token) == "13800138000"
    assert protect.lookup_hash("13800138000") == protect.lookup_hash(" 138 0013 8000 ")
    assert protect.mask_phone("13800138000") == "138****8000"
    assert protect.mask_cert("330102199001011234") == "33**************34"
    settings.PII_KEYS = ["a-new-key", *settings.PII_KEYS]  # rotation: old values still decrypt
    assert protect.decrypt(token) == "13800138000"


def test_grade_codes_map_in_both_directions():
    assert codes.grade_to_gb(codes.Grade.VERY_SATISFIED) == 1 and codes.grade_to_gb(codes.Grade.VERY_DISSATISFIED) == 5
    assert codes.grade_to_provincial(codes.Grade.VERY_SATISFIED) == 5
    for g in codes.Grade:
        assert codes.grade_from_gb(codes.grade_to_gb(g)) == g
        assert codes.grade_from_provincial(codes.grade_to_provincial(g)) == g
    with pytest.raises(ValueError):
        codes.grade_from_gb(6)


def test_channels_map_to_pf_codes(settings):
    assert codes.channel_to_pf("hall_tablet") == 4 and codes.channel_from_pf(3) == "qr"
    settings.HAOCHAPING_PF6, settings.HAOCHAPING_PF7 = "sms", "default"
    assert codes.channel_from_pf(6) == "sms" and codes.channel_to_pf("default") == 7
    with pytest.raises(ValueError):
        codes.channel_from_pf(9)


def test_label_sets(settings):
    assert codes.grade_label(5) == "非常满意"
    settings.HAOCHAPING_GRADE_LABELS = "quality"
    assert codes.grade_label(5) == "很好" and codes.grade_label(1) == "很差"
    assert codes.grade_label(1, "en") == "Very poor"
