"""ORM models. Importing this package registers every table on ``coserver.db.Base.metadata``."""

from coserver.models.accounts import Account, ApiToken
from coserver.models.actors import Actor
from coserver.models.history import ElementEdit
from coserver.models.links import Link
from coserver.models.places import Place
from coserver.models.posts import Post, Reaction, Share
from coserver.models.queues import Delivery, DomainHealth, InboxItem
from coserver.models.web import PasswordReset, RateLimitHit, WebSession
from coserver.models.zones import ActorZone, Zone

__all__ = [
    "Account",
    "Actor",
    "ActorZone",
    "ApiToken",
    "Delivery",
    "DomainHealth",
    "ElementEdit",
    "InboxItem",
    "Link",
    "PasswordReset",
    "Place",
    "Post",
    "RateLimitHit",
    "Reaction",
    "Share",
    "WebSession",
    "Zone",
]
