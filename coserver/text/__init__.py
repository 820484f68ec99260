"""Text handling: sanitising incoming (federated) HTML and rendering local plain text to HTML.

- :mod:`coserver.text.sanitize` -- ``sanitize_html`` (Mastodon ``MASTODON_STRICT`` subset, via bleach) and
  ``sanitize_plain`` (names, short descriptions); its allowlists live in ``sanitize_policy``, its token
  filters in ``sanitize_filters``, and the bounded html5lib parser (linear time on hostile input) in
  ``html5bounded``.
- :mod:`coserver.text.render` -- ``render_text`` / ``render_description``: plain text typed by local users
  to the same HTML subset (paragraphs, links, hashtags, mentions).
"""
