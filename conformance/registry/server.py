"""`conformance registry serve`: the application on a loopback (or given) socket with uvicorn, announcing
"registry listening on URL" once the socket listens (the form conformance/engine/processes.py `launched` waits
for). A SIGTERM or SIGINT stops it cleanly; a SIGKILL loses nothing committed (each upload is one transaction)."""

from __future__ import annotations

import signal
import socket
import sys
from pathlib import Path

from conformance.registry.uploads import UploadLimits

__all__ = ["serve"]


def serve(db: str, *, profiles: list[Path] | None, host: str, port: int, limits: UploadLimits) -> None:
    import uvicorn

    from conformance.registry.web import create_app

    app = create_app(db, profiles=profiles, limits=limits)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(512)
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    print(f"registry listening on http://{shown}:{sock.getsockname()[1]}", flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=5,
                                           timeout_keep_alive=5, h11_max_incomplete_event_size=64 * 1024,
                                           limit_concurrency=200))
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    try:
        server.run(sockets=[sock])
    finally:
        app.state.engine.dispose()
