"""`main.py bench`: the benchmark runner (`runner`) and its cases, one module per group of tools
(`cases`)."""
