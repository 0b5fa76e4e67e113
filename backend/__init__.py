"""netspace backend: design spaces, analysis, services, API and CLI."""

__version__ = "0.1.0"
