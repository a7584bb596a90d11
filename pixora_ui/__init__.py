"""Pixora core: settings, services, engine, providers, storage, jobs, billing and auth (no UI code)."""

__version__ = "0.1.0"
