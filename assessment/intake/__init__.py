"""Intake: open workbooks and candidate lists, read their cells into typed, validated tables."""
