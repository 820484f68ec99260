"""The territorial search engine: parameters, themes, the PostGIS/full-text query, agenda and exports."""
