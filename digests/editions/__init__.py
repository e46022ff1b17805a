"""Editions: which articles go in, composing them, when they are due, and who gets which copy."""
