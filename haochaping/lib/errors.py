"""One exception hierarchy for domain errors, translated into a single HTTP error shape.

Shape: {"message": str, "errors": [{"field": str, "message": str}]} with a 4xx status.
"""

from __future__ import annotations


class DomainError(Exception):
    status = 400

    def __init__(self, message: str, *, field: str | None = None, errors: list[dict] | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.errors = errors if errors is not None else ([{"field": field, "message": message}] if field else [])

    def as_dict(self) -> dict:
        return {"message": self.message, "errors": self.errors}


class ValidationFailed(DomainError):
    status = 422


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class Gone(DomainError):
    """A token that expired or was already used."""

    status = 410


class PermissionDenied(DomainError):
    status = 403
