from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QueuingConfig(AppConfig):
    """排队叫号 (queuing): the link to halls' queue-calling systems — ticket called to a window, ticket finished (with
    or without a 办件) — so the window's evaluator prompts at the right moment; per-ticket QR codes for rating on the
    phone (one rating per ticket); ratings keyed by ticket joined to the 办件 once it is known."""

    name = "haochaping.queuing"
    label = "queuing"
    verbose_name = _("排队叫号对接")

    def ready(self) -> None:
        from haochaping.evaluator.services import PROMPT_RATED_HOOKS
        from haochaping.queuing.services import on_prompt_rated

        if on_prompt_rated not in PROMPT_RATED_HOOKS:
            PROMPT_RATED_HOOKS.append(on_prompt_rated)
