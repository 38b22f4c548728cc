"""Criteria: derived indicators, the rule tables, their condition language and their evaluation."""
