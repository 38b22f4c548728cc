"""Shared plumbing of every layer: safe file writing, packaged data, strict YAML."""
