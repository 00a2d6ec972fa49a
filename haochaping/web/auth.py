"""The site's sign-in for every staff member (the admin's own login admits only admin users)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.shortcuts import render

from haochaping.lib.ratelimit import RateLimited, client_ip, hit

LOGIN_ATTEMPTS_PER_MINUTE = 10


class SiteLoginView(auth_views.LoginView):
    """Case handlers and window staff sign in here; attempts are limited per address (429 beyond)."""

    template_name = "web/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        try:
            hit("login", client_ip(request), limit=LOGIN_ATTEMPTS_PER_MINUTE, window_seconds=60)
        except RateLimited as exc:
            response = render(request, "web/message.html", {"title": "请稍后再试", "message": exc.message}, status=429)
            response["Retry-After"] = str(exc.retry_after)
            return response
        return super().post(request, *args, **kwargs)
