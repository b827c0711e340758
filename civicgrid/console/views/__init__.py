"""The operator console's pages (server-rendered, HTMX fragments start with ``_``)."""
