"""Errors raised by services; web and API layers turn them into 400/403/404/409 answers."""

from __future__ import annotations


class ServiceError(Exception):
    """Base class. ``field`` names the offending input when there is one."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(ServiceError):
    status = 400


class Forbidden(ServiceError):
    status = 403


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409
