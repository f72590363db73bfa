"""Test and benchmark support, not used when rendering: graphs with known shapes and weights."""
