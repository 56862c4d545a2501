"""Server-rendered web UI: base layout, public site pages, shared templates and static assets."""
