"""Business rules: plain async functions taking an ``AsyncSession``.

Web, API, CLI and federation call them.
"""
