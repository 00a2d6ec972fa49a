"""bench/evaluator_push.py --quick: 500 evaluators on the real push server and web server, pushes delivered.

The bench starts `haochaping serve` and `haochaping pushserver` on a temp SQLite database of its own, opens 500
event streams from two client processes, pushes prompts for 5 s and checks that every push reached its window's
tablet, once, and was shown. It uses its own SQLite database whatever the suite runs on, so it is skipped when
the suite runs on PostgreSQL (it would only repeat the SQLite run).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench" / "evaluator_push.py"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")),
        reason="the bench runs on SQLite of its own: once per suite, in the SQLite run",
    ),
    pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk not installed (apt-get install -y wrk)"),
]


def _free_port_pair() -> int:
    for _ in range(50):
        with socket.socket() as a:
            a.bind(("127.0.0.1", 0))
            port = a.getsockname()[1]
        if port >= 65000:
            continue
        with socket.socket() as b:
            try:
                b.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two free ports")


def test_quick_bench_delivers_every_push_to_its_tablet(tmp_path):
    out = tmp_path / "figures.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.pop("DATABASE_URL", None)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--port", str(_free_port_pair()), "--json", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    figures = json.loads(out.read_text())
    drive = figures["drive"]
    assert figures["ramp"]["established"] == figures["ramp"]["hello"] == 500
    assert figures["ramp"]["failed"] == 0
    assert drive["pushed"] == drive["scheduled"] == 250
    assert drive["delivered"] == drive["shown"] == drive["pushed"]
    assert drive["wrong_device"] == drive["duplicates"] == drive["unexpected"] == drive["dropped_streams"] == 0
    assert drive["event"]["p99_ms"] < 5000  # generous: the machine is shared; the bench reports the real figure
    assert elapsed < 120, f"the quick bench took {elapsed:.0f} s"
