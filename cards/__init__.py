"""Adaptive Cards 1.5 as plain dicts, one module per card family."""
