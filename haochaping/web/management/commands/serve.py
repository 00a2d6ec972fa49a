"""haochaping serve: migrate, collect static files and run the production WSGI server (granian).

Behind a service manager (deploy/systemd/haochaping-web@.service) migrations and collectstatic are deploy steps,
not start steps: --no-migrate --no-collectstatic, so a restart of one instance cannot change the schema under the
others.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

APPLICATION = "haochaping.wsgi:application"


def granian_command(*, interface: str, host: str, port: int, workers: int) -> list[str]:
    """The start of a granian command line: the venv's granian, interface, address and workers (serve, pushserver)."""
    granian = shutil.which("granian", path=os.path.dirname(sys.executable)) or shutil.which("granian")
    return [
        granian or "granian",
        "--interface",
        interface,
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]


def granian_argv(*, host: str, port: int, workers: int, threads: int, app: str = APPLICATION) -> list[str]:
    """The production server's command line (bench/intake_http.py starts its no-op twin with the same one)."""
    return [
        *granian_command(interface="wsgi", host=host, port=port, workers=workers),
        "--blocking-threads",
        str(threads),
        "--log-level",
        "warning",
        "--no-ws",
        app,
    ]


class Command(BaseCommand):
    help = "启动生产服务器（granian，WSGI）/ start the production server"

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="监听地址 / bind address")
        parser.add_argument("--port", type=int, default=8000, help="端口 / port")
        parser.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("WEB_WORKERS", os.cpu_count() or 2)),
            help="工作进程数 / worker processes",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=int(os.environ.get("WEB_THREADS", 4)),
            help="每进程线程数 / threads per worker",
        )
        parser.add_argument("--no-migrate", action="store_true", help="不执行数据库迁移 / skip migrations")
        parser.add_argument(
            "--no-collectstatic", action="store_true", help="不收集静态文件 / skip collectstatic (deploy step)"
        )

    def handle(
        self,
        *args,
        host: str,
        port: int,
        workers: int,
        threads: int,
        no_migrate: bool,
        no_collectstatic: bool = False,
        **options,
    ):
        if not no_migrate:
            call_command("migrate", interactive=False, verbosity=0)
        if not no_collectstatic:
            call_command("collectstatic", interactive=False, verbosity=0)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_directory(port))
        display_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        # Evaluation links and QR codes need the absolute address: default it to where we listen.
        os.environ.setdefault("SITE_URL", f"http://{display_host}:{port}")
        self.stdout.write(self.style.SUCCESS(f"haochaping 已启动 / running at http://{display_host}:{port}/"))
        self.stdout.flush()
        argv = granian_argv(host=host, port=port, workers=workers, threads=threads)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "haochaping.settings")
        os.environ["PYTHONPATH"] = os.pathsep.join([str(settings.BASE_DIR.parent), os.environ.get("PYTHONPATH", "")])
        os.execv(argv[0], argv)


def metrics_directory(port: int) -> Path:
    """Where granian's workers keep their metric files (prometheus_client multiprocess mode).

    Unset PROMETHEUS_MULTIPROC_DIR: DATA_DIR/prometheus/<port>, emptied at each start, since the files of a
    previous run would be summed into this one's. One directory per instance (port): a restart of one instance
    must not delete the files of another still running. A directory set by the operator is used as it is.
    """
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        Path(given).mkdir(parents=True, exist_ok=True)
        return Path(given)
    directory = Path(settings.DATA_DIR) / "prometheus" / str(port)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink(missing_ok=True)
    return directory
