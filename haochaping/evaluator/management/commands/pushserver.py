"""haochaping pushserver: the evaluator push server (ASGI, granian) holding the kiosks' event streams.

See docs/evaluator-push.md. It runs beside the WSGI site (haochaping serve): nginx sends
/api/v1/evaluator/device/events here. One worker holds tens of thousands of streams; each open stream is a socket,
so the soft open-files limit is raised to the hard limit first (systemd: LimitNOFILE=65536).
"""

from __future__ import annotations

import os

from django.conf import settings
from django.core.management.base import BaseCommand

from haochaping.web.management.commands.serve import granian_command

APPLICATION = "haochaping.evaluator.events:app"


def raise_open_files_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; returns the soft limit now in force."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = max(soft, 1 << 20) if soft != resource.RLIM_INFINITY else soft
    if soft != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return soft


def pushserver_argv(
    *, host: str, port: int, workers: int = 1, max_connections: int = 50000, backlog: int = 4096, app: str = APPLICATION
) -> list[str]:
    """The push server's command line: granian, ASGI with lifespan, HTTP/1.1 only (event streams), no websockets.

    --backpressure is granian's cap on requests in progress per worker (default backlog/workers = 1024): each open
    stream is one, so it must exceed the connections a worker is to hold.
    """
    return [
        *granian_command(interface="asgi", host=host, port=port, workers=workers),
        "--http",
        "1",
        "--no-ws",
        "--backlog",
        str(backlog),
        "--backpressure",
        str(max_connections),
        "--log-level",
        "warning",
        app,
    ]


FILES_RESERVED = 256


class Command(BaseCommand):
    help = "启动评价器推送服务（granian，ASGI，事件流）/ start the evaluator push server (event streams)"

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="监听地址 / bind address")
        parser.add_argument("--port", type=int, default=8010, help="端口 / port")
        parser.add_argument("--workers", type=int, default=1, help="工作进程数 / worker processes (1 is enough)")
        parser.add_argument(
            "--max-connections",
            type=int,
            default=None,
            help="每进程最多同时连接数 / open streams per worker (granian --backpressure; default: what the "
            "open-files limit allows, at most 50000)",
        )
        parser.add_argument("--backlog", type=int, default=4096, help="监听队列 / listen backlog")

    def handle(self, *args, host: str, port: int, workers: int, max_connections: int | None, backlog: int, **options):
        limit = raise_open_files_limit()
        # Each worker is a process with its own descriptors: a stream takes one, the rest need a few dozen.
        allowed = max(limit - FILES_RESERVED, 1) if limit else 50000
        if max_connections is None:
            max_connections = min(50000, allowed)
        elif max_connections > allowed:
            self.stderr.write(
                f"注意 / note: open-files limit {limit} lets each worker hold about {allowed} streams, fewer than "
                f"--max-connections {max_connections}; raise LimitNOFILE (ulimit -n) or add --workers"
            )
        display_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        self.stdout.write(
            self.style.SUCCESS(f"评价器推送服务已启动 / push server at http://{display_host}:{port}/healthz")
        )
        self.stdout.flush()
        argv = pushserver_argv(host=host, port=port, workers=workers, max_connections=max_connections, backlog=backlog)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "haochaping.settings")
        os.environ["PYTHONPATH"] = os.pathsep.join([str(settings.BASE_DIR.parent), os.environ.get("PYTHONPATH", "")])
        os.execv(argv[0], argv)
