"""The pure core: rotation rules and support state, with no network or SDK imports."""
