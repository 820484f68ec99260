"""What a logged-in person does with posts from the web pages: publish on a wall, comment, react, share,
edit and delete. Small POST forms, answered with a redirect (303) back to the page they came from; the
services (``posting``, ``interactions``) check the rules and federate.
"""

from __future__ import annotations

from quart import abort, flash, g, redirect, render_template, request
from sqlalchemy.ext.asyncio import AsyncSession

from coserver.models import Actor, Post
from coserver.services import interactions
from coserver.services.errors import ServiceError
from coserver.services.posting import delete_post, edit_post, is_admin, post_on_wall
from coserver.state import db, settings
from coserver.web import blueprint
from coserver.web.feed_common import post_path, publish
from coserver.web.feed_pages import render_wall, visible_element, visible_post
from coserver.web.forms import FormErrors, form_values
from coserver.web.i18n import _
from coserver.web.session import login_required, safe_next


def _back(values: dict, default: str, post_id: int | None = None) -> str:
    """Where to go after the action: the page the form was on, at the post."""
    target = safe_next(values.get("next") if isinstance(values.get("next"), str) else None, default)
    if post_id is not None and "#" not in target:
        target += f"#post-{post_id}"
    return target


async def _me(session: AsyncSession) -> Actor:
    person = await session.get(Actor, g.person.id)
    assert person is not None
    return person


@blueprint.post("/@<username>/wall")
@login_required
async def publish_on_wall(username: str):
    """The posting box of a wall (also the home timeline's and the live's, which post on one's own wall)."""
    values = await form_values()
    async with db().session() as session:  # services raise before writing anything: no rollback needed
        person = await _me(session)
        wall = await visible_element(session, username, person)
        post, errors = await publish(session, person, wall, values)
        if post is None:
            return await render_wall(session, person, wall, values=values, errors=errors, status=400)
        await session.commit()
        target = _back(values, f"/@{wall.username}/wall", post.id)
    await flash(_("Your post is published."))
    return redirect(target, 303)


async def _acted(action, post_id: int, done: str):
    """Run ``action(session, person, post)`` on a post the person can see; flash ``done`` or the refusal."""
    values = await form_values()
    async with db().session() as session:
        person = await _me(session)
        post, wall = await visible_post(session, post_id, person)
        default = post_path(post, wall)
        try:
            await action(session, person, post, values)
        except ServiceError as exc:
            await flash(_(exc.message), "error")
            return redirect(_back(values, default, post.id), 303)
        await session.commit()
    await flash(done)
    return redirect(_back(values, default, post.id), 303)


@blueprint.post("/posts/<int:post_id>/react")
@login_required
async def react_to_post(post_id: int):
    async def act(session, person, post, values):
        await interactions.react(session, person, post, str(values.get("emoji", "")))

    return await _acted(act, post_id, _("Your reaction is recorded."))


@blueprint.post("/posts/<int:post_id>/share")
@login_required
async def share_post(post_id: int):
    async def act(session, person, post, values):
        await interactions.share(session, person, post)

    return await _acted(act, post_id, _("Shared with your followers."))


@blueprint.post("/posts/<int:post_id>/comment")
@login_required
async def comment_post(post_id: int):
    async def act(session, person, post, values):
        wall = await session.get(Actor, post.wall_id)
        await post_on_wall(
            session, settings(), person, wall, str(values.get("text", "")), scope=post.scope, in_reply_to=post
        )

    return await _acted(act, post_id, _("Your comment is published."))


async def _editable(session: AsyncSession, post_id: int) -> tuple[Actor, Post, Actor]:
    person = await _me(session)
    post, wall = await visible_post(session, post_id, person)
    if not post.local:
        abort(404)
    return person, post, wall


@blueprint.route("/posts/<int:post_id>/edit", methods=["GET", "POST"])
@login_required
async def edit_post_page(post_id: int):
    async with db().session() as session:
        person, post, wall = await _editable(session, post_id)
        default = post_path(post, wall)
        errors = FormErrors()
        if request.method == "POST":
            values = await form_values()
            try:
                await edit_post(session, settings(), person, post, str(values.get("text", "")))
            except ServiceError as exc:
                if exc.field is None:  # not the author nor an admin
                    abort(403)
                errors.from_service(exc)
            else:
                await session.commit()
                await flash(_("Your changes are saved."))
                return redirect(_back(values, default, post_id), 303)
        else:
            if post.author_id != person.id and not await is_admin(session, person, wall):
                abort(403)
            values = {"text": post.source or "", "next": request.args.get("next", "")}
    body = await render_template(
        "feed/edit.html",
        post=post,
        values=values,
        errors=errors,
        next=safe_next(values.get("next") or None, default),
    )
    return body, 400 if errors else 200


@blueprint.post("/posts/<int:post_id>/delete")
@login_required
async def delete_post_action(post_id: int):
    values = await form_values()
    async with db().session() as session:
        person, post, wall = await _editable(session, post_id)
        try:
            await delete_post(session, settings(), person, post)
        except ServiceError as exc:
            await flash(_(exc.message), "error")
            return redirect(_back(values, post_path(post, wall), post.id), 303)
        await session.commit()
        own_page = post_path(post, wall).split("#")[0]
        wall_page = f"/@{wall.username}/wall" if wall.local else "/"
    target = safe_next(values.get("next") if isinstance(values.get("next"), str) else None, wall_page)
    if target.split("#")[0] == own_page:
        target = wall_page
    await flash(_("The post is deleted."))
    return redirect(target, 303)
