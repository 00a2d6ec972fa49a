"""Cache invalidation: the working-day calendar and the deadline policies are cached per process.

``workdays`` caches the ``CalendarDay`` overrides and ``policy`` the ``CasePolicy`` rows for a few seconds; a
change through the admin (or a data load) clears the cache of this process at once, so the next deadline is
computed on the new rule. Other processes pick the change up when their short cache expires.
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from haochaping.cases import policy, workdays
from haochaping.cases.models import CalendarDay, CasePolicy


@receiver(post_save, sender=CalendarDay, dispatch_uid="cases.calendar_day_saved")
@receiver(post_delete, sender=CalendarDay, dispatch_uid="cases.calendar_day_deleted")
def calendar_day_changed(sender, **kwargs) -> None:
    workdays.clear_cache()


@receiver(post_save, sender=CasePolicy, dispatch_uid="cases.case_policy_saved")
@receiver(post_delete, sender=CasePolicy, dispatch_uid="cases.case_policy_deleted")
def case_policy_changed(sender, **kwargs) -> None:
    policy.clear_cache()
