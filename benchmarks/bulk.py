"""Bulk loading shared by the 1,000,000-row benchmarks (``benchmarks.search``, ``benchmarks.timeline``).

``copy_rows`` streams generated rows with ``COPY`` (text format, asyncpg) over two connections, the next
chunk generated in a thread while the server parses the previous one; foreign-key triggers are skipped
during the load (``session_replication_role = replica``, as ``pg_restore --disable-triggers`` does: the
generated data is consistent by construction). ``drop_indexes``/``rebuild_indexes`` take the loaded tables'
secondary indexes away for the load and rebuild them after it, two at a time. ``LoadLog`` times the steps.
The French word lists give the synthetic rows realistic text (accents, stems, hashtags).
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import asyncpg
from sqlalchemy.engine import make_url

CHUNK = 20_000  # rows per COPY chunk

# fmt: off
TAGS = (  # (tag, relative frequency)
    ("compost", 8), ("jardin", 9), ("vélo", 8), ("zérodéchet", 6), ("culture", 10), ("sport", 10),
    ("santé", 7), ("alimentation", 7), ("éducation", 7), ("énergie", 4), ("numérique", 6), ("musique", 7),
    ("théâtre", 4), ("cinéma", 4), ("lecture", 4), ("solidarité", 6), ("logement", 3), ("mobilité", 4),
    ("climat", 5), ("biodiversité", 4), ("agriculture", 4), ("circuitcourt", 3), ("réparation", 3),
    ("recyclerie", 2), ("économiesociale", 3), ("citoyenneté", 4), ("démocratie", 2), ("jeunesse", 4),
    ("seniors", 2), ("handicap", 2), ("emploi", 3), ("formation", 4), ("logiciellibre", 2), ("fablab", 2),
    ("danse", 3), ("randonnée", 3), ("eau", 2), ("forêt", 2), ("patrimoine", 3), ("marché", 3),
)
FIRST_NAMES = (
    "Élodie", "Françoise", "Hélène", "Loïc", "Zoé", "Chloé", "Gaëlle", "Jérôme", "Benoît", "Noël", "Anaïs",
    "Clément", "Léa", "Inès", "Maël", "Raphaël", "Célia", "Mathéo", "Timothée", "Agnès", "Cécile", "Joël",
    "Aurélien", "Sébastien", "Valérie", "Amélie", "Grégoire", "Éric", "Jean", "Marie", "Pierre", "Sophie",
    "Lucas", "Emma", "Hugo", "Camille", "Nathalie", "Thomas", "Manon", "Paul", "Louise", "Arthur", "Jules",
    "Alice", "Océane",
)
LAST_NAMES = (
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
    "Simon", "Laurent", "Lefèbvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier",
    "Morel", "Girard", "André", "Lefèvre", "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Martinez",
    "Legrand", "Garnier", "Faure", "Rousseau", "Blanc", "Guérin", "Müller", "Henry", "Roussel", "Nicolas",
    "Perrin", "Chevalier", "Gauthier", "Lemoine", "Bréhat", "Le Goff", "Kerouac", "Ménard", "Ségalen",
    "Château",
)
ORG_PREFIXES = (
    "Association", "Collectif", "Coopérative", "Amicale", "Maison", "Atelier", "Réseau", "Comité",
    "Fédération", "Club", "Société", "Ressourcerie",
)
ORG_SUBJECTS = (
    "du jardin partagé", "des jardins ouvriers", "vélo et mobilité douce", "zéro déchet",
    "de l'économie solidaire", "des amis du théâtre", "de quartier", "des habitants",
    "de compostage collectif", "des producteurs locaux", "santé et bien-être", "culture et patrimoine",
    "pour la forêt", "du numérique libre", "de randonnée pédestre", "d'éducation populaire",
    "de la réparation", "des énergies citoyennes", "de musique traditionnelle", "sportive et laïque",
)
PROJECT_NAMES = (
    "Jardin partagé", "Potager collectif", "Composteur de quartier", "Atelier vélo", "Épicerie participative",
    "Café réparation", "Bibliothèque de rue", "Fresque murale", "Centrale solaire citoyenne", "Forêt urbaine",
    "Cantine solidaire", "Tiers-lieu", "Ruches partagées", "Grainothèque", "Recyclerie",
    "Médiation numérique",
)
EVENT_NAMES = (
    "Atelier compost", "Fête du vélo", "Marché de producteurs", "Concert au jardin", "Conférence climat",
    "Disco soupe", "Troc de graines", "Repair café", "Festival des solidarités", "Balade botanique",
    "Ciné-débat", "Tournoi de pétanque", "Journée portes ouvertes", "Chantier participatif au jardin",
    "Bal folk", "Atelier zéro déchet", "Course solidaire", "Exposition photo", "Vide-grenier",
    "Café des sciences",
)
POI_NAMES = (
    "Composteur", "Boîte à livres", "Fresque", "Point de collecte", "Station de réparation vélo",
    "Jardin de poche", "Fontaine", "Lavoir", "Œuvre d'art", "Fablab", "Espace de coworking", "Scène ouverte",
)
DESCRIPTION_WORDS = (
    "partage", "convivialité", "quartier", "habitants", "écologie", "découverte", "entraide", "bénévoles",
    "ateliers", "rencontres", "jardin", "potager", "légumes", "vélo", "réparation", "déchets", "compost",
    "citoyens", "numérique", "solidaire", "échanges", "enfants", "familles", "musique", "spectacle", "sport",
    "santé", "nature", "forêt", "rivière", "marché", "local", "producteurs", "énergie", "climat",
    "éducation", "formation", "culture", "patrimoine",
)
STREETS = (
    "rue de la République", "avenue Jean Jaurès", "place de l'Église", "rue Victor Hugo",
    "boulevard Gambetta", "chemin des Vignes", "rue Pasteur", "allée des Tilleuls", "rue du Moulin",
    "impasse des Écoles", "quai de la Loire", "rue Émile Zola",
)
# fmt: on

_EWKB_POINT_4326 = "0101000020E6100000"  # little-endian Point with SRID 4326


def ewkb(lon: float, lat: float) -> str:
    """A point as hex EWKB, the text form COPY accepts for a geography column."""
    return _EWKB_POINT_4326 + struct.pack("<dd", lon, lat).hex()


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
        "server_settings": {"timezone": "UTC", "application_name": "coserver-bench", "jit": "off"},
    }


@dataclass
class LoadLog:
    """Timed load steps, printed as they end, then summarised."""

    steps: list[tuple[str, float, str]] = field(default_factory=list)
    index_times: dict[str, float] = field(default_factory=dict)
    sizes: dict[str, str] = field(default_factory=dict)

    @contextmanager
    def step(self, name: str, note: str = "") -> Iterator[list[str]]:
        notes = [note] if note else []
        t0 = time.perf_counter()
        yield notes  # the step may append a note (row counts...)
        seconds = time.perf_counter() - t0
        self.steps.append((name, seconds, " ".join(notes)))
        print(f"    {name}: {seconds:.1f} s {' '.join(notes)}", flush=True)

    @property
    def total(self) -> float:
        return sum(s for _, s, _ in self.steps)

    def lines(self) -> list[str]:
        out = [f"  {name:<20} {s:7.1f} s   {note}" for name, s, note in self.steps]
        slowest = sorted(self.index_times.items(), key=lambda kv: -kv[1])[:6]
        out += [f"      {name:<40} {s:6.1f} s" for name, s in slowest]
        out.append(f"  {'total':<20} {self.total:7.1f} s")
        out.append("  sizes (table + indexes): " + ", ".join(f"{k} {v}" for k, v in self.sizes.items()))
        return out


async def copy_rows(
    url: str,
    table: str,
    columns: tuple[str, ...],
    rows: Callable[[int, int], bytes],
    n: int,
    streams: int = 2,
) -> None:
    """COPY ``n`` rows, ``rows(lo, hi)`` giving rows lo..hi-1 in text format, over ``streams`` connections."""
    bounds = [n * k // streams for k in range(streams + 1)]

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

            await conn.copy_to_table(table, source=source(), columns=list(columns), format="text")
        finally:
            await conn.close()

    await asyncio.gather(
        *(stream(bounds[k], bounds[k + 1]) for k in range(streams) if bounds[k] < bounds[k + 1])
    )


@dataclass(frozen=True)
class IndexDef:
    table: str
    name: str
    definition: str
    constraint: str | None  # the unique constraint it backs, if any


async def drop_indexes(conn: asyncpg.Connection, tables: tuple[str, ...]) -> list[IndexDef]:
    """Drop the tables' indexes except primary keys (unique constraints too); returns them for rebuilding."""
    rows = await conn.fetch(
        """
        SELECT t.relname AS table, i.relname AS name, pg_get_indexdef(i.oid) AS definition,
               c.conname AS constraint, c.contype::text AS contype
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        LEFT JOIN pg_constraint c ON c.conindid = i.oid AND c.conrelid = t.oid AND c.contype IN ('p', 'u')
        WHERE t.relname = ANY($1::text[]) AND t.relnamespace = 'public'::regnamespace
        """,
        list(tables),
    )
    indexes = [
        IndexDef(r["table"], r["name"], r["definition"], r["constraint"]) for r in rows if r["contype"] != "p"
    ]
    for ix in indexes:
        if ix.constraint:
            await conn.execute(f'ALTER TABLE {ix.table} DROP CONSTRAINT "{ix.constraint}"')
        else:
            await conn.execute(f'DROP INDEX "{ix.name}"')
    return indexes


def _cost(ix: IndexDef) -> int:
    d = ix.definition.lower()
    return 100 * ("search_vector" in d) + 80 * ("gist" in d) + 50 * ("gin" in d) + 20 * ("ap_id" in d)


async def rebuild_indexes(url: str, indexes: list[IndexDef], log: LoadLog, workers: int = 2) -> None:
    """Rebuild ``indexes`` on ``workers`` connections, the costliest first."""
    queue: asyncio.Queue[IndexDef] = asyncio.Queue()
    for ix in sorted(indexes, key=_cost, reverse=True):
        queue.put_nowait(ix)

    async def worker() -> None:
        conn = await asyncpg.connect(**asyncpg_kwargs(url))
        try:
            await conn.execute("SET maintenance_work_mem = '512MB'")
            await conn.execute("SET max_parallel_maintenance_workers = 0")  # two builds run at once
            while not queue.empty():
                ix = queue.get_nowait()
                t0 = time.perf_counter()
                await conn.execute(ix.definition)
                if ix.constraint:
                    await conn.execute(
                        f'ALTER TABLE {ix.table} ADD CONSTRAINT "{ix.constraint}" '
                        f'UNIQUE USING INDEX "{ix.name}"'
                    )
                log.index_times[f"{ix.table}.{ix.name}"] = time.perf_counter() - t0
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(workers)))


async def reset_sequences(conn: asyncpg.Connection, tables: tuple[str, ...]) -> None:
    for table in tables:
        await conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
        )


async def record_sizes(conn: asyncpg.Connection, tables: tuple[str, ...], log: LoadLog) -> None:
    for table in tables:
        log.sizes[table] = await conn.fetchval(
            "SELECT pg_size_pretty(pg_table_size($1::regclass)) || ' + ' "
            "|| pg_size_pretty(pg_indexes_size($1::regclass))",
            table,
        )
