"""The accounts, health and blob rows of the stranger matrix (``tests/strangers.py``): none of
them names another user's thing."""

from __future__ import annotations

from tests.strangers import Open, Row

TOKENS = "accounts/test_tokens.py"
PEOPLE = "accounts/test_people.py"

ROWS: list[Row] = [
    Open(
        "GET",
        "/health",
        "needs no account and tells nothing of anyone",
        "cli/test_serve_and_version.py",
    ),
    Open(
        "POST",
        "/auth/login",
        "needs no account; a wrong password tells nothing",
        "accounts/test_login_api.py",
    ),
    Open("POST", "/auth/logout", "ends the caller's own session", "accounts/test_login_api.py"),
    Open("POST", "/auth/refresh", "renews the caller's own session", "accounts/test_login_api.py"),
    Open("GET", "/users/me", "the caller himself", TOKENS),
    Open("GET", "/users/me/tokens", "the caller's own tokens", TOKENS),
    Open("POST", "/users/me/tokens", "a token of the caller's own", TOKENS),
    Open("DELETE", "/users/me/tokens/{token_id}", "another's token id is not found", TOKENS),
    Open("POST", "/users/me/password", "the caller's own password", PEOPLE),
    Open("GET", "/users", "staff only: 403 admin_only for everyone else", PEOPLE),
    Open("GET", "/users/search", "staff only: 403 admin_only for everyone else", PEOPLE),
    Open("DELETE", "/users/{username}", "staff only: 403 before any lookup", PEOPLE),
    Open("POST", "/users/{username}/reset-password", "staff only: 403 before any lookup", PEOPLE),
    Open(
        "GET",
        "/blobs/{sha256}",
        "needs a signed link, not an account: unsigned is 404",
        "storage/test_blob_endpoint.py",
    ),
]
