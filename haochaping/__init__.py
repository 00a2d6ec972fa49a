"""haochaping: the government-service 好差评 (good/bad review) platform."""

__version__ = "0.1.0"
