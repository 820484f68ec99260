"""Alembic migrations of the coserver schema (shipped as a package so installed copies can migrate)."""
