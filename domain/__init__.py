"""Domain layer: aggregates, events and rules. Imports only eventsourcing."""
