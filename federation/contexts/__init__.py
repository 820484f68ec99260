"""Bundled JSON-LD contexts: ActivityStreams, security, identity, DID, data integrity, multikey, Mastodon."""
