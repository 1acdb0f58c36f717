"""Projections: read models fed with recorded events in position order."""
