"""The production WSGI app's lean path for POST /api/v1/ratings (haochaping.ratings.fastpath), called directly."""

from __future__ import annotations

import io
import json
from wsgiref.util import setup_testing_defaults

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from haochaping.accounts.apikeys import KEY_PREFIX
from haochaping.ratings.fastpath import MAX_BODY, IntakeFastPath
from haochaping.ratings.models import Rating
from haochaping.wsgi import application
from tests.conftest import api_client, post_json

CASE_NO = "BJ2026000101"


def environ(body: bytes | str = b"", *, method: str = "POST", path: str = "/api/v1/ratings", **extra) -> dict:
    if isinstance(body, str):
        body = body.encode()
    env: dict = {}
    setup_testing_defaults(env)
    env.update(REQUEST_METHOD=method, PATH_INFO=path, CONTENT_TYPE="application/json", CONTENT_LENGTH=str(len(body)))
    env["wsgi.input"] = io.BytesIO(body)
    env.update(extra)
    return env


def call(env: dict, app=application) -> tuple[int, dict]:
    seen: dict = {}

    def start_response(status: str, headers: list) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    chunks = app(env, start_response)
    try:
        body = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    assert seen["headers"]["Content-Type"].startswith("application/json")
    assert int(seen["headers"]["Content-Length"]) == len(body)
    return int(seen["status"][:3]), json.loads(body)


def rating(key: str, *, idempotency_key: str | None = None, **body) -> dict:
    data = {"case_no": CASE_NO, "grade": "satisfied", "channel": "hall_tablet", **body}
    extra = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    if idempotency_key:
        extra["HTTP_IDEMPOTENCY_KEY"] = idempotency_key
    return environ(json.dumps(data, ensure_ascii=False), **extra)


def register(world, case_no: str = CASE_NO) -> None:
    body = {"case_no": case_no, "item_code": world.a.item.implementation_code, "hall_code": world.a.hall.code}
    assert post_json(api_client(world.key_a), "/api/v1/cases", body).status_code == 201


def test_it_stores_a_rating_and_answers_201(world):
    register(world)
    status, body = call(rating(world.key_a, comment="窗口人员态度很好，办事效率高"))
    assert status == 201, body
    assert body["created"] is True and body["case_no"] == CASE_NO and body["stage"] == "accept"
    assert (body["grade"], body["is_bad"], body["sequence"]) == ("satisfied", False, 1)
    stored = Rating.objects.get()
    assert str(stored.public_id) == body["rating_id"]
    assert stored.comment == "窗口人员态度很好，办事效率高" and stored.client.startswith("key:")


def test_it_answers_a_retry_with_the_idempotency_key_header_with_200(world):
    register(world)
    first = call(rating(world.key_a, idempotency_key="fp-1"))
    again = call(rating(world.key_a, idempotency_key="fp-1"))
    assert (first[0], again[0]) == (201, 200)
    assert again[1]["rating_id"] == first[1]["rating_id"] and again[1]["created"] is False
    assert Rating.objects.count() == 1


def test_it_refuses_a_request_without_a_valid_key_with_401(world):
    register(world)
    for env in (
        environ(json.dumps({"case_no": CASE_NO, "grade": "basic", "channel": "qr"})),
        rating(f"{KEY_PREFIX}not-a-key"),
        rating("not-even-the-prefix"),
    ):
        status, body = call(env)
        assert status == 401 and "接口密钥" in body["message"]
    assert Rating.objects.count() == 0


def test_it_takes_the_key_from_the_x_api_key_header(world):
    register(world)
    env = environ(json.dumps({"case_no": CASE_NO, "grade": "basic", "channel": "qr"}), HTTP_X_API_KEY=world.key_a)
    assert call(env)[0] == 201


def test_it_names_a_bad_grade_with_422(world):
    register(world)
    status, body = call(rating(world.key_a, grade="excellent"))
    assert status == 422
    assert body["errors"][0]["field"] == "grade" and "grade" in body["message"]


def test_it_answers_a_body_that_is_not_json_with_400(world):
    status, body = call(environ('{"case_no": "BJ', HTTP_AUTHORIZATION=f"Bearer {world.key_a}"))
    assert status == 400 and body["message"] == "请求体不是有效的JSON"


def test_it_refuses_a_huge_body_with_413_without_reading_it(world):
    env = environ(b"", HTTP_AUTHORIZATION=f"Bearer {world.key_a}")
    env["CONTENT_LENGTH"] = str(MAX_BODY + 1)
    env["wsgi.input"] = io.BytesIO(b"x" * (MAX_BODY + 1))
    status, body = call(env)
    assert status == 413 and str(MAX_BODY) in body["message"]
    assert env["wsgi.input"].tell() == 0


def test_it_answers_an_unknown_case_with_404_naming_the_field(world):
    status, body = call(rating(world.key_a, case_no="NO-SUCH-CASE"))
    assert status == 404 and body["errors"][0]["field"] == "case_no"


def test_it_answers_a_case_outside_the_keys_scope_with_404(world):
    register(world)
    status, body = call(rating(world.key_b))
    assert status == 404 and body["errors"][0]["field"] == "case_no"
    assert Rating.objects.count() == 0


def test_it_refuses_a_second_rating_of_the_same_stage_with_409(world):
    register(world)
    assert call(rating(world.key_a))[0] == 201
    status, body = call(rating(world.key_a, grade="very_dissatisfied"))
    assert status == 409 and body["errors"][0]["field"] == "case_no"


def test_it_takes_a_walk_in_rating_of_a_window(world):
    env = rating(world.key_a, case_no=None, window={"hall": world.a.hall.code, "code": "01"}, grade="basic")
    status, body = call(env)
    assert status == 201 and body["case_no"] is None and body["stage"] is None
    stored = Rating.objects.get()
    assert stored.target == "window" and stored.window_id == world.a.window.id


def test_it_passes_every_other_request_to_the_wrapped_app(world):
    passed = []

    def inner(env, start_response):
        passed.append((env["REQUEST_METHOD"], env["PATH_INFO"]))
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "2")])
        return [b"{}"]

    app = IntakeFastPath(inner)
    for method, path in [
        ("GET", "/api/v1/ratings"),
        ("POST", "/api/v1/ratings/batch"),
        ("POST", "/api/v1/ratings/"),
        ("PUT", "/api/v1/ratings"),
        ("POST", "/api/v1/ping"),
    ]:
        assert call(environ(b"{}", method=method, path=path), app) == (200, {})
    assert len(passed) == 5


@pytest.mark.django_db(transaction=True)
def test_it_hands_other_paths_to_django(world):
    # As Django's test client does: keep the request signals from closing the test database connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        assert call(environ(method="GET", path="/api/v1/ping")) == (200, {"status": "ok"})
        status, body = call(environ(method="GET", path="/api/v1/ratings"))
        assert status == 401 and "接口密钥" in body["message"]  # ninja's auth on the list endpoint
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.django_db(transaction=True)
def test_it_commits_outside_a_test_transaction_and_answers_retries(world):
    # Outside an atomic block the write takes the production route (SQLite: the group commit).
    register(world)
    first = call(rating(world.key_a, idempotency_key="fp-2"))
    again = call(rating(world.key_a, idempotency_key="fp-2"))
    other = call(rating(world.key_a, idempotency_key="fp-3", grade="basic"))
    assert (first[0], again[0], other[0]) == (201, 200, 409)
    assert again[1]["rating_id"] == first[1]["rating_id"]
    assert Rating.objects.count() == 1
