"""Density models p(x | θ): the normalizing flow, its training, loading and sampling."""
