"""Application resources (the icon SVG); installed as the package ``nst_desktop.resources``."""
