"""The HTTP side of `opsbook serve`: health endpoints, /metrics, and (later) the API and UI."""
