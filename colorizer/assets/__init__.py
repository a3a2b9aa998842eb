"""Data files shipped with the package (the quantised ab gamut)."""
