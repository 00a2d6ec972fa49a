"""LOG_FORMAT=json: one JSON object per log line (haochaping/lib/jsonlog.py)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

from django.test import RequestFactory

from haochaping.lib.jsonlog import JsonFormatter


def record(message: str = "评价已保存 %s", *args, exc_info=None, **extra) -> logging.LogRecord:
    logger = logging.getLogger("haochaping.test")
    out = logger.makeRecord(logger.name, logging.WARNING, __file__, 1, message, args or ("ok",), exc_info, extra=extra)
    return out


def test_a_line_is_one_json_object_with_the_standard_keys():
    line = JsonFormatter().format(record())
    assert "\n" not in line
    data = json.loads(line)
    assert data["level"] == "WARNING" and data["logger"] == "haochaping.test" and data["message"] == "评价已保存 ok"
    assert data["time"].endswith("+00:00") and "T" in data["time"]


def test_extra_fields_are_kept_and_odd_values_written_as_text():
    data = json.loads(JsonFormatter().format(record(status=201, path="/api/v1/ratings", key=object())))
    assert data["status"] == 201 and data["path"] == "/api/v1/ratings"
    assert data["key"].startswith("<object object")


def test_the_request_django_attaches_is_left_out():
    request = RequestFactory().get("/r/secret-token/?phone=13800138000")
    line = JsonFormatter().format(record(request=request, status_code=404))
    assert "13800138000" not in line and json.loads(line)["status_code"] == 404


def test_an_exception_is_written_with_its_traceback():
    try:
        raise ValueError("坏的输入")
    except ValueError:
        data = json.loads(JsonFormatter().format(record(exc_info=sys.exc_info())))
    assert "Traceback" in data["exception"] and "ValueError: 坏的输入" in data["exception"]


def test_log_format_json_switches_the_console_handler():
    script = (
        "import django, logging; django.setup(); "
        "logging.getLogger('haochaping.x').warning('hello', extra={'rating_id': 7})"
    )
    env = {**os.environ, "HAOCHAPING_TESTING": "1", "DJANGO_SETTINGS_MODULE": "haochaping.settings"}
    done = subprocess.run(
        [sys.executable, "-c", script], env={**env, "LOG_FORMAT": "json"}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stderr.strip().splitlines()[-1])
    assert data["message"] == "hello" and data["rating_id"] == 7
    bad = subprocess.run(
        [sys.executable, "-c", script], env={**env, "LOG_FORMAT": "xml"}, capture_output=True, text=True
    )
    assert bad.returncode != 0 and "LOG_FORMAT" in bad.stderr
