"""The local imaging engine: image I/O, models and tools (no database, no network, no UI)."""
