"""battrace: a digital ID and lifecycle trace for every EV power battery."""

__version__ = "0.1.0"
