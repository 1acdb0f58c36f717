"""The inspectors' console: server-rendered pages under ``/console``.

Read-only pages over the same services the API uses, behind the same roles (a token
pasted once at sign-in, then kept in an HTTP-only cookie). Every page works without
JavaScript; charts are SVG drawn on the server.
"""

from pathlib import Path

STATIC = Path(__file__).parent / "static"
