"""The community service: joining rules, invitations, admin requests, the last-admin protection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from coserver.models import Actor
from coserver.services import community
from coserver.services.elements import is_member
from coserver.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from tests.factories import make_element, make_person


async def test_validation_rule(db, make_settings):
    settings = make_settings()
    marie = await make_person(db, settings, "marie")
    paul = await make_person(db, settings, "paul")
    org = await make_element(db, settings, "organization", "kaz", admin=marie)
    project = await make_element(db, settings, "project", "jardin", admin=marie)
    private = await make_element(db, settings, "project", "secret", admin=marie, is_private=True)
    moderated = await make_element(
        db,
        settings,
        "event",
        "fete",
        admin=marie,
        manually_approves_followers=True,
        starts_at=datetime.now(UTC) + timedelta(days=1),
    )
    poi = await make_element(db, settings, "poi", "boite")
    async with db.transaction() as s:
        p = await s.get(Actor, paul.id)
        states = {}
        for element in (org, project, private, moderated):
            states[element.username] = (await community.join(s, p, await s.get(Actor, element.id))).state
        with pytest.raises(InvalidInput):
            await community.join(s, p, await s.get(Actor, poi.id))
        with pytest.raises(Conflict):
            await community.join(s, p, await s.get(Actor, project.id))
        with pytest.raises(Conflict):
            await community.join(s, p, await s.get(Actor, org.id))  # already waiting
        with pytest.raises(Forbidden):
            await community.join(s, await s.get(Actor, org.id), await s.get(Actor, project.id))
    assert states == {
        "kaz": "to_be_validated",
        "jardin": "accepted",
        "secret": "to_be_validated",
        "fete": "to_be_validated",
    }


async def test_admin_rights_and_last_admin(db, make_settings):
    settings = make_settings()
    marie = await make_person(db, settings, "marie")
    paul = await make_person(db, settings, "paul")
    org = await make_element(db, settings, "organization", "kaz", admin=marie)
    async with db.transaction() as s:
        m, p, kaz = await s.get(Actor, marie.id), await s.get(Actor, paul.id), await s.get(Actor, org.id)
        await community.join(s, p, kaz)
        with pytest.raises(Forbidden):
            await community.decide_request(s, p, kaz, p, accept=True)
        await community.decide_request(s, m, kaz, p, accept=True)
        with pytest.raises(NotFound):
            await community.decide_request(s, m, kaz, p, accept=True)  # nothing pending any more
        await community.request_admin(s, p, kaz)
        assert await is_member(s, p, kaz)  # still a member while asking
        with pytest.raises(Conflict):
            await community.request_admin(s, p, kaz)
        await community.decide_request(s, m, kaz, p, accept=True)
        assert await community.is_admin(s, p, kaz) and await community.admin_count(s, kaz) == 2
        await community.set_admin(s, p, kaz, m, value=False)
        with pytest.raises(Conflict):
            await community.set_admin(s, p, kaz, p, value=False)
        with pytest.raises(Conflict):
            await community.leave(s, p, kaz)
        await community.leave(s, m, kaz)  # a plain member leaves
        assert [a.username for a, _ in await community.members(s, kaz)] == ["paul"]


async def test_invitations_and_parent_check(db, make_settings):
    settings = make_settings()
    marie = await make_person(db, settings, "marie")
    paul = await make_person(db, settings, "paul")
    org = await make_element(db, settings, "organization", "kaz", admin=marie)
    wiki = await make_element(db, settings, "project", "wiki", open_edition=True)
    async with db.transaction() as s:
        m, p, kaz = await s.get(Actor, marie.id), await s.get(Actor, paul.id), await s.get(Actor, org.id)
        with pytest.raises(Forbidden):
            await community.invite(s, p, kaz, m)
        with pytest.raises(NotFound):
            await community.invite(s, m, kaz, kaz)
        link = await community.invite(s, m, kaz, p)
        assert link.state == "invited" and link.invited_by_id == m.id
        assert [(a.username, li.state) for a, li in await community.pending(s, kaz)] == [("paul", "invited")]
        with pytest.raises(Conflict):
            await community.invite(s, m, kaz, p)
        with pytest.raises(Forbidden):
            await community.check_parent(s, p, kaz)  # not a member yet
        await community.join(s, p, kaz)  # joining accepts the invitation
        assert await is_member(s, p, kaz)
        await community.check_parent(s, p, kaz)
        await community.check_parent(s, p, await s.get(Actor, wiki.id))  # open edition
        with pytest.raises(InvalidInput):
            await community.check_parent(s, p, m)
        with pytest.raises(NotFound):
            await community.answer_invitation(s, p, kaz, accept=True)
