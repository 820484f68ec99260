"""Benchmark accounts and API tokens with known plaintexts (stored as SHA-256, as the server stores them)."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import asyncpg

from benchmarks.bulk import reset_sequences


async def load_tokens(
    conn: asyncpg.Connection, people: Sequence[int], seed: int, count: int
) -> dict[int, str]:
    """Accounts and API tokens for ``count`` of ``people`` (person ids), chosen with ``seed``, in use (last
    used a minute ago: no ``last_used_at`` touch during the run, as for a token used every few minutes).
    Returns person id -> token."""
    used = datetime.now(UTC) - timedelta(minutes=1)
    rng = random.Random(seed + 11)
    chosen = sorted(rng.sample(list(people), min(count, len(people))))
    tokens = {
        pid: f"co_bench{pid:07d}{hashlib.sha256(f'{seed}:{pid}'.encode()).hexdigest()[:24]}" for pid in chosen
    }
    await conn.copy_records_to_table(
        "accounts",
        records=[(k + 1, pid, "!bench-no-password") for k, pid in enumerate(chosen)],
        columns=["id", "person_id", "password_hash"],
    )
    await conn.copy_records_to_table(
        "api_tokens",
        records=[
            (k + 1, k + 1, hashlib.sha256(tokens[pid].encode()).hexdigest(), "bench", used)
            for k, pid in enumerate(chosen)
        ],
        columns=["id", "account_id", "token_hash", "name", "last_used_at"],
    )
    await reset_sequences(conn, ("accounts", "api_tokens"))
    return tokens
