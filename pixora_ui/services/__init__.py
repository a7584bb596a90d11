"""Business services. They take an AsyncSession first, never commit, and never import NiceGUI."""
