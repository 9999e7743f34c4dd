"""Test helpers that are not fixtures."""
