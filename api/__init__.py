"""API layer: HTTP, console and CLI; the one place that wires the parts."""
