"""The twelve Communecter themes ("filières") as tag lists, in French and English.

Communecter maps each theme to a handful of English tags (CO2 ``config/CO2/filliaireCategories.json``); our
territories tag in French (the demo: alimentation, compost, jardinpartage, maloya, vélo...), so each theme
lists both, plus the specific tags that obviously belong to it. Tags are lower case and may carry accents:
:func:`tag_variants` adds the unaccented spelling of every tag, and :func:`expand_tag` maps a tag typed
without accents back to the accented spellings we know ("dechets" also finds "déchets").
"""

from __future__ import annotations

import unicodedata
from functools import cache


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


THEMES: dict[str, tuple[str, ...]] = {
    "food": _words(
        "alimentation agriculture nourriture cuisine nutrition amap bio circuitcourt circuit-court "
        "maraîchage potager géranium jardin jardinpartage jardin-partagé vanille apiculture épicerie vrac "
        "marché paniers food organic farming gardening communitygarden"
    ),
    "health": _words(
        "santé prévention diabète soin soins bien-être handicap parentalité nutrition health care "
        "wellbeing disability"
    ),
    "waste": _words(
        "déchets déchet zérodéchet zerodechet zéro-déchet compost compostage recyclage réemploi "
        "réparation repaircafé ressourcerie vrac waste zerowaste recycling reuse repair"
    ),
    "transport": _words(
        "transport transports mobilité vélo covoiturage autopartage bus urbanisme cycling bike bicycle "
        "carpooling mobility urbanism"
    ),
    "education": _words(
        "éducation école formation enseignement jeunesse enfance lecture transmission atelier "
        "sciencesparticipatives education school training youth childhood reading"
    ),
    "citizenship": _words(
        "citoyenneté citoyen démocratie participation solidarité inclusion société bénévolat associatif "
        "famille citizenship citizen democracy society solidarity volunteering"
    ),
    "economy": _words(
        "économie ess économiesocialeetsolidaire commerce emploi coopérative entreprise "
        "financementparticipatif circuitcourt tourisme coworking economy socialeconomy crowdfunding "
        "employment cooperative tourism"
    ),
    "energy": _words(
        "énergie solaire photovoltaïque éolien climat sobriété rénovation energy solar climate renewable"
    ),
    "culture": _words(
        "culture musique maloya séga kabar concert festival cinéma théâtre danse patrimoine histoire art "
        "streetart broderie couture lecture animation music heritage history cinema theatre dance"
    ),
    "environment": _words(
        "environnement biodiversité écologie nature forêt lagon mer endémique plantes tamarin randonnée "
        "climat sciencesparticipatives environment biodiversity ecology forest sea hiking"
    ),
    "digital": _words(
        "numérique informatique internet logiciellibre opendata fablab médiationnumérique "
        "inclusionnumérique digital numeric itc ict opensource freesoftware makers"
    ),
    "sport": _words(
        "sport sports trail grandraid randonnée course football natation surf plongée vélo running hiking "
        "swimming diving"
    ),
}

# Other names people type for a theme (Communecter's own keys, the French names).
THEME_ALIASES: dict[str, str] = {
    "citizen": "citizenship",
    "numeric": "digital",
    "environnement": "environment",
    "alimentation": "food",
    "santé": "health",
    "sante": "health",
    "déchets": "waste",
    "dechets": "waste",
    "éducation": "education",
    "citoyenneté": "citizenship",
    "citoyennete": "citizenship",
    "économie": "economy",
    "economie": "economy",
    "énergie": "energy",
    "energie": "energy",
    "numérique": "digital",
    "numerique": "digital",
}

THEME_NAMES: tuple[str, ...] = tuple(THEMES)


def unaccent(text: str) -> str:
    """``"déchets"`` → ``"dechets"`` (strip combining marks after NFKD decomposition)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def normalise_tag(tag: str) -> str:
    """How tags are stored: lower case, NFC, without a leading ``#``."""
    return unicodedata.normalize("NFC", tag.strip().lstrip("#").strip().lower())


def tag_variants(tag: str) -> tuple[str, ...]:
    """The tag as given and without accents (one element when it has none)."""
    tag = normalise_tag(tag)
    plain = unaccent(tag)
    return (tag,) if plain == tag else (tag, plain)


@cache
def _known_accented() -> dict[str, tuple[str, ...]]:
    """Unaccented spelling → the accented spellings appearing in the theme lists."""
    index: dict[str, set[str]] = {}
    for tags in THEMES.values():
        for tag in tags:
            plain = unaccent(tag)
            if plain != tag:
                index.setdefault(plain, set()).add(tag)
    return {plain: tuple(sorted(spellings)) for plain, spellings in index.items()}


def expand_tag(tag: str) -> tuple[str, ...]:
    """Every spelling one requested tag should match: as given, unaccented, and known accented forms."""
    variants = list(tag_variants(tag))
    for spelling in _known_accented().get(variants[-1], ()):
        if spelling not in variants:
            variants.append(spelling)
    return tuple(variants)


def resolve_theme(name: str) -> str | None:
    """The canonical theme name for ``name`` (English key, Communecter key or French name), or None."""
    key = normalise_tag(name)
    if key in THEMES:
        return key
    return THEME_ALIASES.get(key)


@cache
def theme_tags(theme: str) -> tuple[str, ...]:
    """All tags of a theme with their unaccented spellings, without duplicates, in a stable order."""
    seen: dict[str, None] = {}
    for tag in THEMES[theme]:
        for variant in tag_variants(tag):
            seen.setdefault(variant, None)
    return tuple(seen)
