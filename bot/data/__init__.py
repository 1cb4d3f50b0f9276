"""Data tables of the bot layer (TSV), read with importlib.resources."""
