"""The posting engine."""
