"""Outside systems, one module each, behind small interfaces."""
