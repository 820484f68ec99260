"""The demo territory (La Réunion) and its loader."""
