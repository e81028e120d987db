"""The Teams layer: the only package that imports botbuilder, so a later SDK port touches it alone."""
