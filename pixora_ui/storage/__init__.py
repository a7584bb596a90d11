"""File storage behind one interface: local disk (default) or ImageKit."""
