"""The PDF assessment memo of each project."""
