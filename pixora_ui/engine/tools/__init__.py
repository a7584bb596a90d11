"""The tool registry (`registry`), every tool definition (one module per group) and `catalog`,
which lists them all. Nothing is imported here: the command line reads `create_options` alone."""
