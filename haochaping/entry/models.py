"""Models of the entry app."""
