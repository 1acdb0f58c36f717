"""The event store: eventsourcing persistence on PostgreSQL (psycopg2) and SQLite.

Gapless positions and an RFC 6962 Merkle seal computed inside every write. Knows
nothing of prisons: it stores opaque events for any eventsourcing application.
"""
