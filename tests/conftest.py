"""Shared fixture: a small realistic world with two counties, named users per role and known API keys.

Setup goes through the real services (api_key_create, service_case_register), as Zulip's tests do.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from haochaping.accounts.apikeys import api_key_create, clear_cache
from haochaping.accounts.models import Membership, Role
from haochaping.directory.models import Hall, Organisation, Region, ServiceItem, Staff, Window
from haochaping.lib.uscc import make_uscc
from haochaping.ratings.intake import clear_caches


@dataclass
class County:
    region: Region
    agency: Organisation
    dept: Organisation
    hall: Hall
    window: Window
    clerk: Staff
    item: ServiceItem


@dataclass
class World:
    province: Region
    city: Region
    a: County
    b: County
    key_a: str
    key_b: str
    key_city: str
    users: dict


def _county(city: Region, code: str, name: str, serial: int) -> County:
    region = Region.objects.create(code=code, name=name, parent=city)
    r6 = code[:6]
    agency = Organisation.objects.create(
        uscc=make_uscc("1", "1", r6, f"{serial:04d}0001"),
        name=f"{name}政务服务管理办公室",
        kind=Organisation.Kind.AGENCY,
        region=region,
    )
    dept = Organisation.objects.create(
        uscc=make_uscc("1", "1", r6, f"{serial:04d}0002"), name=f"{name}市场监督管理局", region=region
    )
    hall = Hall.objects.create(code=f"H{r6}", name=f"{name}政务服务中心", region=region, unit=agency)
    window = Window.objects.create(hall=hall, code="01", name="市场准入", unit=dept)
    clerk = Staff.objects.create(code=f"S{r6}01", name="王小明", unit=dept, window=window)
    item = ServiceItem.objects.create(
        basic_code="000101001000",
        implementation_code=f"{dept.uscc}000101001000",
        name="食品经营许可（新办）",
        item_type="01",
        service_objects="1,2",
        unit=dept,
        region=region,
    )
    return County(region, agency, dept, hall, window, clerk, item)


@pytest.fixture
def world(db) -> World:
    clear_cache()
    clear_caches()
    province = Region.objects.create(code="330000000000", name="浙江省")
    city = Region.objects.create(code="330100000000", name="杭州市", parent=province)
    city_agency = Organisation.objects.create(
        uscc=make_uscc("1", "1", "330100", "00010001"),
        name="杭州市数据资源管理局",
        kind=Organisation.Kind.AGENCY,
        region=city,
    )
    a = _county(city, "330102000000", "上城区", 1)
    b = _county(city, "330105000000", "拱墅区", 2)
    _, key_a = api_key_create(name="上城区审批系统", unit=a.dept)
    _, key_b = api_key_create(name="拱墅区审批系统", unit=b.dept)
    _, key_city = api_key_create(name="杭州市统一受理平台", region=city)
    User = get_user_model()
    users = {}

    def make(username: str, role: str | None, unit: Organisation | None, **extra):
        user = User.objects.create_user(username=username, password="pw-" + username, **extra)
        if role:
            Membership.objects.create(user=user, unit=unit, role=role)
        users[username] = user
        return user

    make("root", None, None, is_superuser=True, is_staff=True)
    make("city_admin", Role.AGENCY_ADMIN, city_agency, is_staff=True)
    make("a_admin", Role.AGENCY_ADMIN, a.agency, is_staff=True)
    make("b_admin", Role.AGENCY_ADMIN, b.agency, is_staff=True)
    make("a_dept_admin", Role.DEPARTMENT_ADMIN, a.dept, is_staff=True)
    make("a_handler", Role.CASE_HANDLER, a.dept)
    clerk_user = make("a_clerk", Role.WINDOW_STAFF, a.dept)
    a.clerk.user = clerk_user
    a.clerk.save()
    make("a_inspector", Role.INSPECTOR, a.agency)
    make("a_auditor", Role.AUDITOR, a.agency, is_staff=True)
    make("nobody", None, None)
    return World(province, city, a, b, key_a, key_b, key_city, users)


def api_client(key: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def post_json(client: Client, path: str, data) -> object:
    return client.post(path, data, content_type="application/json")


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate-limit counters live in the (per-process) cache: every test starts with none."""
    from django.core.cache import cache

    from haochaping.cases import opening, policy, workdays

    cache.clear()
    opening.clear_cache()
    policy.clear_cache()
    workdays.clear_cache()
    yield


@pytest.fixture(autouse=True)
def _own_drop_dir(settings, tmp_path_factory):
    """The file drop writes folders (the demo enables one): never into the checkout's var/."""
    settings.HAOCHAPING_DROP_DIR = str(tmp_path_factory.mktemp("drop"))
