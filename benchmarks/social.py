"""A synthetic territory's social graph and newsfeed for ``benchmarks.timeline`` (numpy, seeded).

100 towns in a 100×100 km square (a French département's size, centred on the default territory point);
N local actors (80 % people), one place per element and for 40 % of people; links: each person follows
~50 actors chosen with a Zipf-like popularity (skewed fan-in) and is a member/contributor/attendee of 1–3
elements (also skewed); M posts over one year, ids increasing with time (walls: the author's own or an
element they belong to; 90 % public, 7 % restricted, 3 % private; 15 % replies on their parent's wall with
its scope; 0–3 hashtags); accounts and API tokens with known plaintexts for 300 people. Loaded with COPY
(``benchmarks.bulk``), the posts and links indexes dropped for the load and rebuilt after it.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import numpy as np

from benchmarks.bulk import (
    DESCRIPTION_WORDS,
    EVENT_NAMES,
    FIRST_NAMES,
    LAST_NAMES,
    ORG_PREFIXES,
    ORG_SUBJECTS,
    PROJECT_NAMES,
    STREETS,
    TAGS,
    LoadLog,
    asyncpg_kwargs,
    copy_rows,
    drop_indexes,
    ewkb,
    rebuild_indexes,
    record_sizes,
    reset_sequences,
)
from benchmarks.tokens import load_tokens
from coserver.models.vocab import EVENT_TYPES, ORGANIZATION_TYPES, PROJECT_STAGES

# Territory: a 100×100 km square (a French département's size) centred on the default territory point.
CENTRE_LAT, CENTRE_LON = -21.115, 55.536
HALF_KM = 50.0
TOWNS = 100
KINDS = ("person", "organization", "project", "event")
KIND_SHARES = (0.80, 0.10, 0.06, 0.04)
MEMBERSHIP = {1: "member", 2: "contributor", 3: "attendee"}  # kind index -> link type
PERSON_PLACE_SHARE = 0.40
PRIVATE_ELEMENT_SHARE = 0.02
FOLLOWS_MEAN = 50
FOLLOW_ZIPF = 0.6  # popularity weight 1/rank^s over all actors
MEMBER_ZIPF = 0.7  # over elements
REPLY_SHARE = 0.15
SCOPES = ("public", "restricted", "private")
SCOPE_SHARES = (0.90, 0.07, 0.03)
TOKEN_PEOPLE = 300
CONTENT_POOL = 4096


def _km_lat(km: float) -> float:
    return km / 111.2


def _km_lon(km: float, lat: float) -> float:
    return km / (111.2 * math.cos(math.radians(lat)))


@dataclass(frozen=True)
class Town:
    name: str
    lat: float
    lon: float
    weight: float
    sigma_km: float


# -- synthetic data (numpy, seeded) ------------------------------------------------------------------------


class Dataset:
    """All generated columns, as numpy arrays indexed by id - 1."""

    def __init__(self, n_actors: int, n_posts: int, base_url: str, seed: int) -> None:
        self.n_actors, self.n_posts, self.base = n_actors, n_posts, base_url.rstrip("/")
        self.seed = seed
        rng = np.random.default_rng(seed)
        self.now = datetime.now(UTC).replace(microsecond=0)
        self._towns(rng)
        self._actors(rng)
        self._links(rng)
        self._posts(rng)
        self._contents(random.Random(seed + 5))

    # territory
    def _towns(self, rng: np.random.Generator) -> None:
        towns = []
        for k in range(TOWNS):
            weight = 1.0 / (k + 1) ** 1.1  # the chef-lieu, a few big towns, many villages
            if k == 0:
                lat, lon = CENTRE_LAT, CENTRE_LON
            else:
                lat = CENTRE_LAT + _km_lat(rng.uniform(-HALF_KM * 0.9, HALF_KM * 0.9))
                lon = CENTRE_LON + _km_lon(rng.uniform(-HALF_KM * 0.9, HALF_KM * 0.9), CENTRE_LAT)
            name = "Chef-Lieu" if k == 0 else f"Commune {k:02d}"
            towns.append(Town(name, lat, lon, weight, 0.6 + 3.5 * math.sqrt(weight)))
        self.towns = towns

    def _actors(self, rng: np.random.Generator) -> None:
        n = self.n_actors
        self.kind = rng.choice(len(KINDS), size=n, p=KIND_SHARES).astype(np.int8)
        self.kind[0] = 0
        is_element = self.kind > 0
        self.private = is_element & (rng.random(n) < PRIVATE_ELEMENT_SHARE)
        has_place = is_element | (rng.random(n) < PERSON_PLACE_SHARE)
        self.place_of = np.zeros(n, dtype=np.int64)  # 0 = none
        self.place_of[has_place] = np.arange(1, int(has_place.sum()) + 1)
        self.n_places = int(has_place.sum())
        # places: around a town (weighted), 15 % scattered anywhere in the territory
        weights = np.array([t.weight for t in self.towns])
        town_of = rng.choice(TOWNS, size=self.n_places, p=weights / weights.sum())
        sigma = np.array([t.sigma_km for t in self.towns])[town_of]
        lat0 = np.array([t.lat for t in self.towns])[town_of]
        lon0 = np.array([t.lon for t in self.towns])[town_of]
        dy, dx = rng.normal(0, 1, self.n_places) * sigma, rng.normal(0, 1, self.n_places) * sigma
        scattered = rng.random(self.n_places) < 0.15
        lat = lat0 + dy / 111.2
        lon = lon0 + dx / (111.2 * math.cos(math.radians(CENTRE_LAT)))
        k = int(scattered.sum())
        lat[scattered] = CENTRE_LAT + rng.uniform(-HALF_KM, HALF_KM, k) / 111.2
        lon[scattered] = CENTRE_LON + rng.uniform(-HALF_KM, HALF_KM, k) / (
            111.2 * math.cos(math.radians(CENTRE_LAT))
        )
        self.place_lat = np.clip(lat, CENTRE_LAT - _km_lat(HALF_KM), CENTRE_LAT + _km_lat(HALF_KM))
        self.place_lon = np.clip(
            lon, CENTRE_LON - _km_lon(HALF_KM, CENTRE_LAT), CENTRE_LON + _km_lon(HALF_KM, CENTRE_LAT)
        )
        self.place_town = np.where(scattered, -1, town_of)
        # who posts (people), who is followed: popular people tend to post more
        self.activity = rng.lognormal(0.0, 1.0, n)
        score = self.activity * rng.lognormal(0.0, 1.0, n)
        rank = np.empty(n, dtype=np.int64)
        rank[np.argsort(-score)] = np.arange(n)
        self.popularity = 1.0 / (rank + 1.0) ** FOLLOW_ZIPF

    def _links(self, rng: np.random.Generator) -> None:
        n = self.n_actors
        people = np.flatnonzero(self.kind == 0)
        elements = np.flatnonzero(self.kind > 0)
        self.people = people
        # follows: ~FOLLOWS_MEAN per person, targets by popularity (fan-in skew)
        counts = np.clip(rng.lognormal(math.log(FOLLOWS_MEAN) - 0.125, 0.5, len(people)), 5, 400).astype(int)
        subjects = np.repeat(people, counts)
        cum = np.cumsum(self.popularity)
        targets = np.searchsorted(cum, rng.random(len(subjects)) * cum[-1])
        targets = np.minimum(targets, n - 1)
        keep = subjects != targets
        pairs = np.unique(subjects[keep].astype(np.int64) * n + targets[keep])
        self.follow_subject, self.follow_object = pairs // n, pairs % n
        # memberships: 1-3 elements per person, elements by their own Zipf popularity
        m = rng.choice((1, 2, 3), size=len(people), p=(0.5, 0.3, 0.2))
        subjects = np.repeat(people, m)
        erank = np.empty(len(elements), dtype=np.int64)
        erank[rng.permutation(len(elements))] = np.arange(len(elements))
        ew = np.cumsum(1.0 / (erank + 1.0) ** MEMBER_ZIPF)
        chosen = elements[
            np.minimum(np.searchsorted(ew, rng.random(len(subjects)) * ew[-1]), len(elements) - 1)
        ]
        pairs = np.unique(subjects.astype(np.int64) * n + chosen)
        self.member_subject, self.member_object = pairs // n, pairs % n  # sorted by subject
        self.member_admin = rng.random(len(pairs)) < 0.05
        starts = np.searchsorted(self.member_subject, np.arange(n))
        ends = np.searchsorted(self.member_subject, np.arange(n), side="right")
        self.member_start, self.member_count = starts, ends - starts

    def _posts(self, rng: np.random.Generator) -> None:
        n, people = self.n_posts, self.people
        pw = self.activity[people]
        author = people[np.searchsorted(np.cumsum(pw), rng.random(n) * pw.sum())].astype(np.int64)
        author = np.minimum(author, self.n_actors - 1)
        # top-level posts: own wall (60 %) or one of the author's elements (40 %)
        wall = author.copy()
        on_element = (rng.random(n) < 0.40) & (self.member_count[author] > 0)
        a = author[on_element]
        pick = self.member_start[a] + (rng.random(len(a)) * self.member_count[a]).astype(np.int64)
        wall[on_element] = self.member_object[pick]
        scope = rng.choice(3, size=n, p=SCOPE_SHARES).astype(np.int8)
        reply = rng.random(n) < REPLY_SHARE
        reply[:1000] = False
        distance = 1 + rng.geometric(1 / 3000, size=n)
        parent = np.where(reply, np.maximum(np.arange(n) - distance, 0), -1)
        reply &= parent >= 0
        # replies inherit the wall and the scope of their thread (sequential: a parent may be a reply)
        wall_l, scope_l, parent_l = wall.tolist(), scope.tolist(), parent.tolist()
        root_l = [-1] * n
        for i in np.flatnonzero(reply).tolist():
            p = parent_l[i]
            wall_l[i], scope_l[i] = wall_l[p], scope_l[p]
            root_l[i] = root_l[p] if root_l[p] >= 0 else p
        self.post_author = author
        self.post_wall = np.array(wall_l, dtype=np.int64)
        self.post_scope = np.array(scope_l, dtype=np.int8)
        self.post_parent = parent
        self.post_root = np.array(root_l, dtype=np.int64)
        self.replies_count = np.bincount(parent[parent >= 0], minlength=n)
        self.likes = rng.poisson(1.5, n)
        self.content_of = rng.integers(0, CONTENT_POOL, n)
        start = (self.now - timedelta(days=365)).timestamp()
        step = 365 * 86400 / n
        us = ((start + (np.arange(n) + rng.random(n) * 0.9) * step) * 1e6).astype(np.int64)
        self.published = us.astype("datetime64[us]")

    def _contents(self, rng: random.Random) -> None:
        names = [t for t, _ in TAGS]
        weights = [w for _, w in TAGS]
        pool = []
        for _ in range(CONTENT_POOL):
            k = rng.choices((0, 1, 2, 3), weights=(40, 35, 18, 7))[0]
            tags = sorted(set(rng.choices(names, weights=weights, k=k)))
            words = " ".join(rng.choices(DESCRIPTION_WORDS, k=rng.randrange(6, 30)))
            html_tags = " ".join(
                f'<a href="{self.base}/tags/{t}" class="mention hashtag" rel="tag">#<span>{t}</span></a>'
                for t in tags
            )
            text = f"{words.capitalize()} {' '.join('#' + t for t in tags)}".strip()
            html = f"<p>{words.capitalize()} {html_tags}</p>"
            pool.append((text, html, "{" + ",".join(tags) + "}"))
        self.pool = pool

    # -- COPY rows (PostgreSQL text format) --

    def place_rows(self, lo: int, hi: int) -> bytes:
        out = []
        for i in range(lo, hi):
            t = int(self.place_town[i])
            town = self.towns[t].name if t >= 0 else self.towns[(i * 7919) % TOWNS].name
            out.append(
                f"{i + 1}\t{1 + i % 150} {STREETS[i % len(STREETS)]}\t974{i % 100:02d}\t{town}\tRE\t"
                f"{ewkb(float(self.place_lon[i]), float(self.place_lat[i]))}\n"
            )
        return "".join(out).encode()

    def actor_rows(self, lo: int, hi: int) -> bytes:
        rng = random.Random(self.seed * 1_000_003 + lo)
        base, out = self.base, []
        created = (self.now - timedelta(days=400)).isoformat()
        for i in range(lo, hi):
            ident, kind = i + 1, int(self.kind[i])
            subtype = stage = r"\N"
            if kind == 0:
                name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            elif kind == 1:
                name = f"{rng.choice(ORG_PREFIXES)} {rng.choice(ORG_SUBJECTS)}"
                subtype = rng.choice(ORGANIZATION_TYPES)
            elif kind == 2:
                name = f"{rng.choice(PROJECT_NAMES)} {rng.choice(DESCRIPTION_WORDS)}"
                stage = rng.choice(PROJECT_STAGES)
            else:
                name = rng.choice(EVENT_NAMES)
                subtype = rng.choice(EVENT_TYPES)
            place = int(self.place_of[i]) or r"\N"
            private = "t" if self.private[i] else "f"
            actor = f"{base}/actors/u{ident}"
            out.append(
                f"{ident}\t{actor}\t{KINDS[kind]}\tt\tu{ident}\t{name}\t{private}\t{subtype}\t{stage}\t"
                f"{place}\t{actor}/inbox\t{base}/inbox\t{actor}/outbox\t{actor}/followers\t"
                f"{actor}/following\t{base}/@u{ident}\t{created}\t{created}\n"
            )
        return "".join(out).encode()

    @property
    def n_links(self) -> int:
        return len(self.follow_subject) + len(self.member_subject)

    def link_rows(self, lo: int, hi: int) -> bytes:
        nf = len(self.follow_subject)
        created = (self.now - timedelta(days=200)).isoformat()
        out = []
        for i in range(lo, hi):
            if i < nf:
                s, o, t, admin = int(self.follow_subject[i]), int(self.follow_object[i]), "follower", "f"
            else:
                j = i - nf
                s, o = int(self.member_subject[j]), int(self.member_object[j])
                t, admin = MEMBERSHIP[int(self.kind[o])], "t" if self.member_admin[j] else "f"
            out.append(f"{i + 1}\t{s + 1}\t{o + 1}\t{t}\taccepted\t{admin}\t{created}\t{created}\n")
        return "".join(out).encode()

    def post_rows(self, lo: int, hi: int) -> bytes:
        base, pool = self.base, self.pool
        stamps = np.datetime_as_string(self.published[lo:hi], unit="us").tolist()
        cols = zip(
            range(lo + 1, hi + 1),
            (self.post_author[lo:hi] + 1).tolist(),
            (self.post_wall[lo:hi] + 1).tolist(),
            self.post_scope[lo:hi].tolist(),
            self.post_parent[lo:hi].tolist(),
            self.post_root[lo:hi].tolist(),
            self.replies_count[lo:hi].tolist(),
            self.likes[lo:hi].tolist(),
            self.content_of[lo:hi].tolist(),
            stamps,
            strict=True,
        )
        out = []
        for ident, author, wall, scope, parent, root, replies, likes, content, stamp in cols:
            text, html, tags = pool[content]
            if parent >= 0:
                reply_to, reply_ap, root_id = str(parent + 1), f"{base}/posts/{parent + 1}", str(root + 1)
            else:
                reply_to = reply_ap = root_id = r"\N"
            out.append(
                f"{ident}\t{base}/posts/{ident}\tt\t{author}\t{wall}\t{SCOPES[scope]}\t{text}\t{html}\t"
                f"{tags}\t{reply_to}\t{reply_ap}\t{root_id}\t{replies}\t{likes}\t{stamp}+00\n"
            )
        return "".join(out).encode()


PLACE_COLUMNS = ("id", "street", "postal_code", "locality", "country", "location")
ACTOR_COLUMNS = (
    "id", "ap_id", "kind", "local", "username", "name", "is_private", "subtype", "stage", "place_id",
    "inbox_url", "shared_inbox_url", "outbox_url", "followers_url", "following_url", "profile_url",
    "created_at", "updated_at",
)  # fmt: skip
LINK_COLUMNS = ("id", "subject_id", "object_id", "type", "state", "is_admin", "created_at", "updated_at")
POST_COLUMNS = (
    "id", "ap_id", "local", "author_id", "wall_id", "scope", "source", "content_html", "tags",
    "in_reply_to_id", "in_reply_to_ap_id", "root_id", "replies_count", "likes_count", "published_at",
)  # fmt: skip


@dataclass
class Fixtures:
    busy_walls: list[int]  # elements with the most public top-level posts
    tokens: dict[int, str]  # person id -> API token


async def load_social(
    url: str, n_actors: int, n_posts: int, base_url: str, seed: int = 42
) -> tuple[Dataset, Fixtures, LoadLog]:
    log = LoadLog()
    with log.step("generate (numpy)", "(ids, links, post structure; row text made during COPY)"):
        data = Dataset(n_actors, n_posts, base_url, seed)
    conn = await asyncpg.connect(**asyncpg_kwargs(url))
    try:
        with log.step("COPY places", f"({data.n_places:,} rows)"):
            await copy_rows(url, "places", PLACE_COLUMNS, data.place_rows, data.n_places)
        with log.step("COPY actors", f"({data.n_actors:,} rows, indexes in place)"):
            await copy_rows(url, "actors", ACTOR_COLUMNS, data.actor_rows, data.n_actors)
        indexes = await drop_indexes(conn, ("links", "posts"))
        follows, members = len(data.follow_subject), len(data.member_subject)
        note = f"({data.n_links:,} rows: {follows:,} follows, {members:,} memberships)"
        with log.step("COPY links", note):
            await copy_rows(url, "links", LINK_COLUMNS, data.link_rows, data.n_links)
        with log.step("COPY posts", f"({data.n_posts:,} rows)"):
            await copy_rows(url, "posts", POST_COLUMNS, data.post_rows, data.n_posts)
        await reset_sequences(conn, ("places", "actors", "links", "posts"))
        with log.step("index builds", f"({len(indexes)} on links and posts, 2 connections)"):
            await rebuild_indexes(url, indexes, log)
        with log.step("accounts + tokens", f"({TOKEN_PEOPLE} people)"):
            tokens = await load_tokens(conn, [int(p) + 1 for p in data.people], data.seed, TOKEN_PEOPLE)
        with log.step("vacuum analyze", "(statistics, visibility map)"):
            await conn.execute("VACUUM (ANALYZE) places, actors, links, posts, accounts, api_tokens")
        await record_sizes(conn, ("places", "actors", "links", "posts"), log)
        busy = await conn.fetch(
            """
            SELECT p.wall_id FROM posts p JOIN actors a ON a.id = p.wall_id
            WHERE a.kind <> 'person' AND NOT a.is_private AND p.in_reply_to_id IS NULL AND p.scope = 'public'
            GROUP BY p.wall_id ORDER BY count(*) DESC LIMIT 200
            """
        )
    finally:
        await conn.close()
    return data, Fixtures([r["wall_id"] for r in busy], tokens), log
