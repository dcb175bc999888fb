"""Start pygeoapi (the OGC API - Features server from PyPI) on 127.0.0.1 with a port the system picks, and
announce it as the harness's launcher expects: `listening on URL`. pygeoapi writes its own URL into every link,
so the port is bound first, then the configuration is read with that URL, then the app is served on it.

    python serve.py CONFIG WORKDIR
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server


class _Later:
    """A WSGI app that is set once the server is bound (pygeoapi reads its URL when it is imported)."""

    app: Any = None

    def __call__(self, environ: Any, start_response: Any) -> Any:
        return self.app(environ, start_response)


def main() -> None:
    config, workdir = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    holder = _Later()
    server = make_server("127.0.0.1", 0, holder, threaded=True)
    url = f"http://127.0.0.1:{server.port}"
    os.environ.update({"PYGEOAPI_SERVER_URL": url, "PYGEOAPI_CONFIG": str(config),
                       "STATIONS_DATA": str(config.parent / "stations.geojson")})
    from pygeoapi.openapi import generate_openapi_document

    openapi = workdir / "pygeoapi-openapi.yml"
    openapi.write_text(generate_openapi_document(config, "yaml"), encoding="utf-8")
    os.environ["PYGEOAPI_OPENAPI"] = str(openapi)
    from pygeoapi.flask_app import APP

    holder.app = APP
    print(f"listening on {url}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
