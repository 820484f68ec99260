"""Running the Alembic migrations from code (``coserver migrate``, ``coserver serve``, the test session)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

import migrations


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def current_heads(url: str) -> str:
    from alembic.script import ScriptDirectory

    return ",".join(ScriptDirectory.from_config(alembic_config(url)).get_heads())
