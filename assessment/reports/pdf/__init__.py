"""The engine's PDFs: their look (style) and building blocks (flowables)."""
