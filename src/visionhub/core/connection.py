"""Whether the client of a request is still there, for long-polls that are about to act.

A long-poll that claims work when it wakes must not claim it for a client that hung up while it
waited (a worker stopped by SIGTERM cuts its idle poll short): the work would sit leased to
nobody until the lease expired, and count as a failed attempt.
"""

from __future__ import annotations

import socket

from django.http import HttpRequest


def client_connected(request: HttpRequest) -> bool:
    """False when the peer has closed the connection of ``request``; True when it is open or
    when the server gives no way to tell (only gunicorn exposes the socket)."""
    sock = request.META.get("gunicorn.socket")
    if not isinstance(sock, socket.socket):
        return True
    try:
        # A closed peer reads as b"" at once; an open, quiet one would block. A request the
        # client already pipelined behind this one is data: still connected.
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
    except BlockingIOError:
        return True
    except ValueError:  # a TLS socket refuses recv flags: no way to tell
        return True
    except OSError:  # reset by the peer
        return False
