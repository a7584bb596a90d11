"""ImageKit-style transformation URLs: syntax, rendering, signing and the result cache."""
