"""deploy/ and docs/deploy.md stay true to the code: the env example names settings that exist, the systemd units
run existing commands with existing flags, nginx has the upstreams and the static location, and every
`haochaping <command>` in the deployment guide exists."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import get_commands, load_command_class

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
SECRET_NAMES = re.compile(r'envsecret\("([A-Z0-9_]+)"')
ENV_NAMES = re.compile(r'(?:envstr|envbool|envint|envsecret|_cidrs)\("([A-Z0-9_]+)"')


def names_the_code_reads() -> set[str]:
    source = (ROOT / "haochaping" / "settings.py").read_text(encoding="utf-8")
    names = set(ENV_NAMES.findall(source))
    names |= {f"{name}_FILE" for name in SECRET_NAMES.findall(source)}  # envsecret also reads NAME_FILE
    return names


def test_the_env_example_names_only_settings_that_settings_reads():
    text = (DEPLOY / "haochaping.env.example").read_text(encoding="utf-8")
    named = re.findall(r"^#?([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE)
    assert named, "no settings found"
    unknown = sorted(set(named) - names_the_code_reads())
    assert unknown == []
    for required in (
        "SECRET_KEY_FILE",
        "DATABASE_URL",
        "HAOCHAPING_QUEUE_URL",
        "CACHE_URL",
        "HAOCHAPING_PII_KEYS_FILE",
        "HAOCHAPING_PII_HASH_KEY_FILE",
        "HAOCHAPING_SEAL_KEY_FILE",
        "ALLOWED_HOSTS",
        "CSRF_TRUSTED_ORIGINS",
        "SITE_URL",
        "SECURE_PROXY_SSL_HEADER",
        "LOG_FORMAT",
        "HAOCHAPING_DATA_DIR",
        "HAOCHAPING_METRICS_ALLOW",
        "HAOCHAPING_UPSTREAM_URL",
        "HAOCHAPING_UPSTREAM_KEY_FILE",
        "HAOCHAPING_PLATFORM_CODE",
    ):
        assert required in named, required


def exec_commands() -> list[tuple[str, list[str]]]:
    found = []
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        for line in unit.read_text(encoding="utf-8").splitlines():
            if line.startswith("ExecStart="):
                argv = shlex.split(line.removeprefix("ExecStart=").replace("%i", "8001").replace("%%", "%"))
                if argv[:2] == ["/bin/sh", "-c"]:
                    argv = shlex.split(argv[2].removeprefix("exec "))
                found.append((unit.name, argv))
    return found


def test_every_unit_runs_an_existing_command_with_existing_flags():
    commands = get_commands()
    units = exec_commands()
    assert {name for name, _ in units} == {
        "haochaping-web@.service",
        "haochaping-worker.service",
        "haochaping-verify.service",
        "haochaping-push.service",
    }
    for unit, argv in units:
        assert argv[0] == "/opt/haochaping/.venv/bin/haochaping", unit
        name, args = argv[1], argv[2:]
        assert name in commands, (unit, name)
        parser = load_command_class(commands[name], name).create_parser("haochaping", name)
        options = {o for action in parser._actions for o in action.option_strings}
        for arg in args:
            if arg.startswith("--"):
                assert arg.split("=")[0] in options, (unit, arg)
        if name == "verify":
            assert "--since" in args
    web = dict(exec_commands())["haochaping-web@.service"]
    assert {"--no-migrate", "--no-collectstatic"} <= set(web) and web[web.index("--port") + 1] == "8001"
    push = dict(exec_commands())["haochaping-push.service"]
    assert push[1] == "pushserver" and push[push.index("--port") + 1] == "8010"


def test_the_push_server_has_its_unit_and_an_unbuffered_nginx_location():
    unit = (DEPLOY / "systemd" / "haochaping-push.service").read_text(encoding="utf-8")
    limit = int(re.search(r"^LimitNOFILE=(\d+)$", unit, flags=re.MULTILINE).group(1))
    assert limit > 20000  # 20,000 open streams, one descriptor each
    conf = (DEPLOY / "nginx" / "haochaping.conf").read_text(encoding="utf-8")
    assert re.search(r"upstream haochaping_push \{[^}]*127\.0\.0\.1:8010", conf)
    events = re.search(r"location = /api/v1/evaluator/device/events \{(.*?)\n    \}", conf, flags=re.DOTALL).group(1)
    assert "proxy_pass http://haochaping_push;" in events
    assert "proxy_buffering off;" in events and "proxy_http_version 1.1;" in events
    assert 'proxy_set_header Connection "";' in events
    timeout = re.search(r"proxy_read_timeout (\d+)([smh]);", events)
    seconds = int(timeout.group(1)) * {"s": 1, "m": 60, "h": 3600}[timeout.group(2)]
    assert seconds > settings.HAOCHAPING_EVALUATOR_STREAM_HEARTBEAT * 3
    env = (DEPLOY / "haochaping.env.example").read_text(encoding="utf-8")
    assert "HAOCHAPING_EVALUATOR_EVENTS_URL=/api/v1/evaluator/device/events" in env


def test_the_timer_runs_the_verify_daily():
    timer = (DEPLOY / "systemd" / "haochaping-verify.timer").read_text(encoding="utf-8")
    assert "OnCalendar=" in timer and "Persistent=true" in timer


def test_nginx_has_the_two_instances_static_files_and_a_closed_metrics_location():
    conf = (DEPLOY / "nginx" / "haochaping.conf").read_text(encoding="utf-8")
    proxy = (DEPLOY / "nginx" / "haochaping-proxy.conf").read_text(encoding="utf-8")
    assert re.search(r"upstream haochaping \{[^}]*127\.0\.0\.1:8001[^}]*127\.0\.0\.1:8002[^}]*keepalive", conf)
    static = re.search(r"location /static/ \{(.*?)\n    \}", conf, flags=re.DOTALL).group(1)
    assert "gzip_static on;" in static and "alias /var/lib/haochaping/static/;" in static
    assert "immutable" in conf and "max;" in conf
    metrics = re.search(r"location = /metrics \{(.*?)\}", conf, flags=re.DOTALL).group(1)
    assert "deny all;" in metrics
    assert "location = /healthz" in conf and "location = /readyz" in conf
    for header in ("X-Real-IP $remote_addr", "X-Forwarded-For", "X-Forwarded-Proto $scheme"):
        assert header in proxy
    size = re.search(r"client_max_body_size (\d+)m;", conf).group(1)
    assert int(size) * 1024 * 1024 > settings.HAOCHAPING_EVIDENCE_MAX_BYTES


def test_every_command_in_the_deployment_guide_exists():
    guide = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    blocks = "\n".join(re.findall(r"```(?:sh|bash|console)?\n(.*?)```", guide, flags=re.DOTALL))
    # A command line that runs haochaping (directly or with sudo), not a user or database of that name.
    used = set(re.findall(r"^\s*(?:sudo\s+)?haochaping\s+([a-z_]+)", blocks, flags=re.MULTILINE))
    assert {"migrate", "backup", "restore", "copy_database", "verify"} <= used
    missing = sorted(used - set(get_commands()) - {"help"})
    assert missing == []


@pytest.mark.parametrize("unit", ["haochaping-web@.service", "haochaping-worker.service", "haochaping-push.service"])
def test_services_read_the_env_file(unit):
    text = (DEPLOY / "systemd" / unit).read_text(encoding="utf-8")
    assert "EnvironmentFile=/etc/haochaping/haochaping.env" in text and "User=haochaping" in text
