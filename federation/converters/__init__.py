"""Converters between our models and ActivityStreams 2.0: pure functions, one module per type, both ways."""
