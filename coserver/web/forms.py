"""Form helpers shared by the web pages: reading a posted form, collecting per-field errors in the user's
language, and turning service errors into them."""

from __future__ import annotations

from typing import Any

from quart import request

from coserver.services.errors import ServiceError
from coserver.web.i18n import _


class FormErrors(dict[str, str]):
    """Field name → message (``_form`` for the whole form); falsy when there is no error."""

    def add(self, field: str | None, message: str) -> None:
        self.setdefault(field or "_form", message)

    def from_service(self, exc: ServiceError) -> None:
        """A service error shown next to its field, translated when the catalogue knows its message."""
        self.add(exc.field, _(exc.message))


async def form_values() -> dict[str, Any]:
    """The posted form as a dict of stripped strings (lists for repeated fields), without the CSRF token."""
    form = await request.form
    values: dict[str, Any] = {}
    for key in form:
        items = form.getlist(key)
        values[key] = [v.strip() for v in items] if len(items) > 1 else items[0].strip()
    values.pop("csrf_token", None)
    return values
