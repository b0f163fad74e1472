"""Plumbing every stage shares: errors, atomic I/O, the script runner, configs, paths."""
