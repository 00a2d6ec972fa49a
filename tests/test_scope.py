"""Data scope, role by role: a user or key of county A gets 404/403 for anything of county B.

The scope is decided in one place (haochaping/accounts/scope.py); these tests go through every surface that
exists: the JSON API (keys and sessions), the admin (lists and change pages) and the home page.
"""

from __future__ import annotations

import pytest
from django.test import Client

from haochaping.accounts.scope import ALL_SCOPE, scope_for_user
from haochaping.directory.models import Hall, Organisation, ServiceItem, Staff, Window
from haochaping.ratings.intake import submit_ratings
from haochaping.ratings.models import Rating
from haochaping.ratings.services import service_case_register
from tests.conftest import api_client, post_json

A_ROLES = ["a_admin", "a_dept_admin", "a_handler", "a_clerk", "a_inspector", "a_auditor"]


@pytest.fixture
def rated(world):
    """One case and one rating in each county; the county-A case was served by the clerk."""
    for county, no in ((world.a, "A-1"), (world.b, "B-1")):
        service_case_register(
            scope=ALL_SCOPE,
            case_no=no,
            item_code=county.item.implementation_code,
            hall_code=county.hall.code,
            window_code="01",
            staff_code=county.clerk.code,
        )
        submit_ratings(
            [{"case_no": no, "grade": "dissatisfied", "channel": "hall_tablet"}], scope=ALL_SCOPE, client="test"
        )
    return world


def session(world, username: str) -> Client:
    client = Client()
    client.force_login(world.users[username])
    return client


@pytest.mark.parametrize("username", A_ROLES)
def test_it_lists_only_county_a_ratings_for_each_role(rated, username):
    r = session(rated, username).get("/api/v1/ratings")
    assert r.status_code == 200
    cases = {row["case_no"] for row in r.json()["items"]}
    assert cases == {"A-1"}


def test_it_gives_the_city_admin_both_counties(rated):
    r = session(rated, "city_admin").get("/api/v1/ratings")
    assert {row["case_no"] for row in r.json()["items"]} == {"A-1", "B-1"}


def test_it_gives_window_staff_only_their_own_ratings(rated):
    Rating.objects.filter(service_case__case_no="A-1").update(staff=None)
    r = session(rated, "a_clerk").get("/api/v1/ratings")
    assert r.json()["items"] == []


def test_it_gives_a_user_without_membership_nothing(rated):
    r = session(rated, "nobody").get("/api/v1/ratings")
    assert r.json()["items"] == []


def test_it_refuses_anonymous_listing(rated):
    assert Client().get("/api/v1/ratings").status_code == 401


def test_it_stops_a_county_b_key_from_rating_a_county_a_case(rated):
    r = post_json(
        api_client(rated.key_b),
        "/api/v1/ratings",
        {"case_no": "A-1", "grade": "basic", "channel": "sms", "stage": "complete"},
    )
    assert r.status_code == 404


def test_it_stops_a_county_b_key_from_registering_with_a_county_a_item(rated):
    r = post_json(
        api_client(rated.key_b), "/api/v1/cases", {"case_no": "B-2", "item_code": rated.a.item.implementation_code}
    )
    assert r.status_code == 404
    assert r.json()["errors"][0]["field"] == "item_code"


def test_it_stops_a_county_b_key_from_taking_over_a_county_a_case_number(rated):
    r = post_json(
        api_client(rated.key_b), "/api/v1/cases", {"case_no": "A-1", "item_code": rated.b.item.implementation_code}
    )
    assert r.status_code == 409


def test_it_lets_the_city_key_rate_in_both_counties(rated):
    r = post_json(
        api_client(rated.key_city),
        "/api/v1/ratings",
        {"case_no": "B-1", "grade": "basic", "channel": "sms", "stage": "complete"},
    )
    assert r.status_code == 201


def test_it_lists_only_key_scope_ratings(rated):
    r = api_client(rated.key_b).get("/api/v1/ratings")
    assert {row["case_no"] for row in r.json()["items"]} == {"B-1"}


@pytest.mark.parametrize(
    "model,attr",
    [
        (Organisation, "dept"),
        (Hall, "hall"),
        (Window, "window"),
        (Staff, "clerk"),
        (ServiceItem, "item"),
    ],
)
@pytest.mark.parametrize("username", ["a_admin", "a_dept_admin", "a_auditor"])
def test_it_answers_404_in_the_admin_for_county_b_objects(rated, model, attr, username):
    from django.contrib.auth.models import Permission

    # With full model permissions, the scope alone must hide county B's objects.
    rated.users[username].user_permissions.add(*Permission.objects.filter(content_type__app_label="directory"))
    obj = getattr(rated.b, attr)
    opts = model._meta
    url = f"/admin/{opts.app_label}/{opts.model_name}/{obj.pk}/change/"
    assert session(rated, username).get(url).status_code == 404


def test_it_shows_county_a_objects_in_the_admin_to_its_agency(rated):
    client = session(rated, "a_admin")
    rated.users["a_admin"].user_permissions.add(*_view_perms())
    r = client.get("/admin/directory/organisation/")
    assert r.status_code == 200
    assert rated.a.dept.name in r.content.decode() and rated.b.dept.name not in r.content.decode()


def test_it_keeps_auditors_read_only_in_the_admin(rated):
    from django.contrib.auth.models import Permission

    rated.users["a_auditor"].user_permissions.add(*Permission.objects.filter(codename__endswith="_organisation"))
    client = session(rated, "a_auditor")
    url = f"/admin/directory/organisation/{rated.a.dept.pk}/change/"
    assert client.get(url).status_code == 200
    r = client.post(url, {"name": "改名"})
    assert r.status_code == 403
    rated.a.dept.refresh_from_db()
    assert rated.a.dept.name != "改名"


def test_it_counts_only_scope_objects_on_the_home_page(rated):
    r = session(rated, "a_admin").get("/")
    assert r.status_code == 200
    assert r.context["counts"]["cases"] == 1 and r.context["ratings"]["total"] == 1


def test_scope_kinds_per_role(world):
    kinds = {name: scope_for_user(world.users[name]).kind for name in world.users}
    assert kinds == {
        "root": "all",
        "city_admin": "region",
        "a_admin": "region",
        "b_admin": "region",
        "a_dept_admin": "units",
        "a_handler": "units",
        "a_clerk": "staff",
        "a_inspector": "region",
        "a_auditor": "region",
        "nobody": "none",
    }
    assert scope_for_user(world.users["a_auditor"]).read_only
    assert scope_for_user(world.users["a_clerk"]).read_only


def _view_perms():
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(codename__startswith="view_")


def _grant(user, app_label: str, model: str) -> None:
    from django.contrib.auth.models import Permission

    user.user_permissions.add(*Permission.objects.filter(content_type__app_label=app_label, content_type__model=model))


def test_it_refuses_an_api_key_for_another_county_in_the_admin(world):
    from haochaping.accounts.models import ApiKey

    _grant(world.users["a_admin"], "accounts", "apikey")
    client = session(world, "a_admin")
    r = client.post("/admin/accounts/apikey/add/", {"name": "越权", "region": world.b.region.pk})
    assert r.status_code == 200 and "region" in r.context["adminform"].form.errors
    assert not ApiKey.objects.filter(name="越权").exists()
    r = client.post("/admin/accounts/apikey/add/", {"name": "本区", "region": world.a.region.pk})
    assert r.status_code == 302 and ApiKey.objects.filter(name="本区").exists()


def test_it_never_lets_an_agency_admin_grant_the_system_admin_role(world):
    from haochaping.accounts.models import Membership

    _grant(world.users["a_admin"], "accounts", "membership")
    client = session(world, "a_admin")
    nobody = world.users["nobody"]
    r = client.post(
        "/admin/accounts/membership/add/", {"user": nobody.pk, "unit": world.a.dept.pk, "role": "system_admin"}
    )
    assert r.status_code == 200 and "role" in r.context["adminform"].form.errors
    own = Membership.objects.get(user=world.users["a_admin"])
    assert (
        client.post(
            f"/admin/accounts/membership/{own.pk}/change/",
            {"user": own.user_id, "unit": own.unit_id, "role": "system_admin"},
        ).status_code
        == 403
    )
    own.refresh_from_db()
    assert own.role == "agency_admin"


def test_supervisor_pages_are_for_agencies_department_admins_inspectors_and_auditors(world):
    from haochaping.accounts.scope import scope_for_user

    supervises = {name: scope_for_user(user).supervises for name, user in world.users.items()}
    assert supervises == {
        "root": True,
        "city_admin": True,
        "a_admin": True,
        "b_admin": True,
        "a_dept_admin": True,
        "a_handler": False,
        "a_clerk": False,
        "a_inspector": True,
        "a_auditor": True,
        "nobody": False,
    }
