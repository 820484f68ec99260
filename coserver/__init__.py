"""coserver: a federated territorial social network server.

People, organizations, projects and events are ActivityPub actors, found on a map.

``create_app`` lives in :mod:`coserver.app` (keeps ``import coserver`` light for the CLI).
"""

__version__ = "0.1.0"
