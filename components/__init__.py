"""Reusable NiceGUI widgets. They call services, never SQLAlchemy, SDK clients or model runtimes."""
