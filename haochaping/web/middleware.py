"""Language selection: zh-hans unless the user picked another language with the switch."""

from __future__ import annotations

from django.utils.deprecation import MiddlewareMixin


class IgnoreBrowserLanguageMiddleware(MiddlewareMixin):
    """Drop Accept-Language before LocaleMiddleware sees it.

    The product's language is zh-hans for everyone (a clerk's browser set to English must not turn the 政务服务
    pages English); English is chosen explicitly with the language switch, which sets the language cookie.
    """

    def process_request(self, request) -> None:
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
