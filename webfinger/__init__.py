"""Discovery: WebFinger (RFC 7033), host-meta (RFC 6415) and NodeInfo 2.0/2.1 endpoints, and the client that
resolves remote ``@user@domain`` handles to ActivityPub actor URLs.

- :mod:`webfinger.routes`: the ``/.well-known/*`` and ``/nodeinfo/*`` blueprint.
- :mod:`webfinger.nodeinfo`: the NodeInfo documents and the usage counts behind them.
- :mod:`webfinger.client`: :func:`~webfinger.client.resolve_handle` and
  :func:`~webfinger.client.parse_handle`.
"""
