"""haochaping worker: the task consumer and scheduler (huey's run_huey with settings.HUEY's consumer defaults).

Defaults (settings.HUEY["consumer"]): one worker thread, periodic tasks on; huey's options (-w, -k, …) still
apply. Run exactly one scheduler per deployment (docs/operations-cases.md); the tasks are idempotent anyway.
"""

from __future__ import annotations

import logging

from huey.contrib.djhuey.management.commands.run_huey import Command as RunHuey


class Command(RunHuey):
    help = (
        "运行后台任务与定时任务（每15分钟督办差评工单，每日默认评价与短信邀评）/ "
        "run the task worker and scheduler (case sweep every 15 minutes, daily default ratings and SMS invitations)"
    )

    def handle(self, *args, **options):
        # Log through Django's LOGGING (root console handler) only: run_huey adds its own handler to a "huey"
        # logger without one, which printed every line twice.
        logging.getLogger("huey").addHandler(logging.NullHandler())
        return super().handle(*args, **options)
