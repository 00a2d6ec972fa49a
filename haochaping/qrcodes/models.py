"""Models of the qrcodes app."""
