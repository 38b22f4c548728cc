"""The officer's desk: the assessment register and the web service over the library (a shell,
like the CLI: it adds no assessment logic)."""
