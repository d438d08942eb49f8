"""The web UI: server-rendered pages over the same access and services functions as the API."""
