"""The reference bridge (scripts/legacy_bridge.py) against a live server: presses become mapped grades, timeouts
offers; events read while the server is unreachable wait in the buffer file and are sent by the next run."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from haochaping.accounts.scope import ALL_SCOPE
from haochaping.directory.models import Window
from haochaping.evaluator import legacy
from haochaping.evaluator.models import LegacyPress
from haochaping.ratings.models import Rating, RatingOffer

pytestmark = pytest.mark.django_db(transaction=True)  # the live server's thread sees committed rows only

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "legacy_bridge.py"


def run(url: str, key: str, buffer: Path, lines: str) -> subprocess.CompletedProcess:
    args = [sys.executable, str(SCRIPT), "--url", url, "--key", key, "--buffer", str(buffer), "--final-retries", "0"]
    return subprocess.run(args, input=lines, capture_output=True, text=True, timeout=120)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_bridge_buffers_offline_and_posts_presses_as_mapped_grades(world, live_server, tmp_path):
    legacy.default_models()
    Window.objects.create(hall=world.a.hall, code="02", name="综合受理", unit=world.a.dept)
    hall = world.a.hall.code
    legacy.device_register(ALL_SCOPE, serial="B3-LIVE", model_code="btn3-std", hall=hall, window="01")
    legacy.device_register(ALL_SCOPE, serial="B4-LIVE", model_code="btn4-std", hall=hall, window="02")
    buffer = tmp_path / "bridge.jsonl"

    # The server is unreachable: everything read stays in the buffer.
    offline = run(f"http://127.0.0.1:{free_port()}", world.key_a, buffer, "press B3-LIVE 1\npress B3-LIVE 3\n")
    assert offline.returncode == 3, offline.stdout + offline.stderr
    assert "buffered=2" in offline.stdout and "不可达" in offline.stderr
    assert len(buffer.read_text().splitlines()) == 2 and not Rating.objects.exists()

    lines = "\n".join(
        ["# from the serial listener", "press B3-LIVE 2", "press B4-LIVE 1", "press B4-LIVE 4", "timeout B3-LIVE",
         "press B3-LIVE 7", "garbage", ""]
    )  # fmt: skip
    online = run(live_server.url, world.key_a, buffer, lines)
    assert online.returncode == 0, online.stdout + online.stderr
    assert "汇总：read=5，stored=6，duplicates=0，rejected=1，buffered=0" in online.stdout, online.stdout
    assert "无法识别的行" in online.stderr and "按键须为 1–3" in online.stderr
    assert buffer.read_text() == ""
    grades = sorted(Rating.objects.values_list("device_kind", "grade"))
    assert grades == [("buttons3", 2), ("buttons3", 3), ("buttons3", 4), ("buttons4", 2), ("buttons4", 5)]
    assert LegacyPress.objects.filter(kind="timeout").count() == 1
    assert RatingOffer.objects.count() == 6  # five walk-in presses and the timeout

    # A batch whose answer was lost is sent again by the next run: answered from the stored events.
    sent = list(LegacyPress.objects.filter(kind="press").values_list("device__serial", "button", "idempotency_key"))
    buffer.write_text(
        "".join(
            json.dumps({"type": "press", "device": s, "button": b, "idempotency_key": k, "at": None}) + "\n"
            for s, b, k in sent
        )
    )
    again = run(live_server.url, world.key_a, buffer, "")
    assert again.returncode == 0 and "duplicates=5" in again.stdout, again.stdout + again.stderr
    assert Rating.objects.count() == 5
