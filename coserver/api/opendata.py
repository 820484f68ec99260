"""Open data of one element: ``GET /api/v1/elements/<username>/jsonld`` and ``.../vcard``.

Both answer 404 (JSON) for unknown, deleted or private elements and for the instance actor. The documents
are built by :mod:`coserver.search.jsonld` and :mod:`coserver.search.vcard`.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict, Field
from quart import Response
from quart_schema import document_response, tag

from coserver.api import blueprint
from coserver.api.schemas import ErrorOut
from coserver.models import Actor
from coserver.search.jsonld import element_jsonld
from coserver.search.vcard import element_vcard
from coserver.services.elements import get_local_actor
from coserver.services.errors import NotFound
from coserver.services.places import coordinates
from coserver.services.profiles import public_copy
from coserver.state import db, settings

JSONLD_TYPE = "application/ld+json"
VCARD_TYPE = "text/vcard; charset=utf-8"


class JsonLdOut(BaseModel):
    """JSON-LD (served as ``application/ld+json``): ActivityStreams id and type plus schema.org terms."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    context: list = Field(alias="@context", description="AS2 context and the schema.org terms")
    id: str = Field(description="ActivityPub id of the element")
    type: list[str] = Field(description='AS2 actor type and schema.org type, e.g. ["Group", "schema:Event"]')
    name: str
    url: str


class VcardOut(BaseModel):
    """A vCard 4.0 (RFC 6350), served as ``text/vcard; charset=utf-8`` (this schema only names it)."""

    vcard: str = Field(description="BEGIN:VCARD ... END:VCARD, CRLF lines folded at 75 octets")


class VcardHeaders(BaseModel):
    content_disposition: str = Field(description='inline; filename="<username>.vcf"')


async def _public_element(username: str) -> Actor:
    async with db().session() as session:
        actor = await get_local_actor(session, username)
    if actor is None or actor.is_private or actor.kind == "application":
        raise NotFound(f"no public element named {username!r}", field="username")
    return public_copy(actor)  # a person's non-public fields stay out of open data


@blueprint.get("/elements/<username>/jsonld")
@tag(["elements", "open data"])
@document_response(JsonLdOut, 200)
@document_response(ErrorOut, 404)
async def get_element_jsonld(username: str) -> Response:
    """One public element as JSON-LD (ActivityStreams + schema.org), ``application/ld+json``.

    An element that opted out of open data gives only its id, types, name and URL.
    """
    actor = await _public_element(username)
    doc = element_jsonld(actor, coordinates(actor.place), settings())
    body = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    return Response(body, content_type=JSONLD_TYPE)


@blueprint.get("/elements/<username>/vcard")
@tag(["elements", "open data"])
@document_response(VcardOut, 200, VcardHeaders)
@document_response(ErrorOut, 404)
async def get_element_vcard(username: str) -> Response:
    """One public element as a vCard 4.0 contact card, ``text/vcard; charset=utf-8``."""
    actor = await _public_element(username)
    card = element_vcard(actor, actor.place, settings())
    response = Response(card.encode("utf-8"), content_type=VCARD_TYPE)
    response.headers["Content-Disposition"] = f'inline; filename="{actor.username}.vcf"'
    return response
