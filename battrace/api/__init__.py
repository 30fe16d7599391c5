"""The HTTP API: translates HTTP to services and back, nothing else."""

from battrace.api.app import create_app

__all__ = ["create_app"]
