"""django-ninja authentication: API keys of business systems, or the session of a logged-in user.

Each sets ``request.scope`` (accounts/scope.py), which every endpoint uses for its data access.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import APIKeyCookie, APIKeyHeader, HttpBearer

from haochaping.accounts.apikeys import authenticate
from haochaping.accounts.scope import scope_for_user


class BearerKey(HttpBearer):
    """Authorization: Bearer hcp_… — the API key of a calling business system."""

    def authenticate(self, request: HttpRequest, token: str):
        found = authenticate(token)
        if found:
            request.api_key, request.scope = found
            return found[0]
        return None


class HeaderKey(APIKeyHeader):
    """X-API-Key: hcp_…"""

    param_name = "X-API-Key"

    def authenticate(self, request: HttpRequest, key: str | None):
        found = authenticate(key)
        if found:
            request.api_key, request.scope = found
            return found[0]
        return None


class SessionAuth(APIKeyCookie):
    """A user logged in to the web pages (CSRF-checked for unsafe methods by ninja)."""

    param_name = "sessionid"

    def authenticate(self, request: HttpRequest, key: str | None):
        user = request.user
        if user.is_authenticated:
            request.api_key = None
            request.scope = scope_for_user(user)
            return user
        return None


KEY_AUTH = [BearerKey(), HeaderKey()]
KEY_OR_SESSION_AUTH = [BearerKey(), HeaderKey(), SessionAuth()]
