"""Our own scripts and stylesheet as the phone downloads them: minified (comments and spaces out,
by rjsmin and rcssmin) when served, so the sources in ``static/`` stay commented and readable.
Third-party files come minified from npm and are served as they are; in debug mode everything is
served as written. A file is minified once per process and change (its modification time)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import rcssmin
import rjsmin
from flask import Flask, Response, request

OWN = ("js/", "css/")  # not vendor/: already minified upstream


@lru_cache(maxsize=64)
def _minified(path: Path, _modified: float) -> bytes:
    text = path.read_text(encoding="utf-8")
    return (rcssmin.cssmin(text) if path.suffix == ".css" else rjsmin.jsmin(text)).encode()


def minified(path: Path) -> bytes:
    return _minified(path, path.stat().st_mtime)


def install(app: Flask) -> None:
    if app.debug:
        return
    serve_as_is = app.view_functions["static"]
    folder = Path(app.static_folder)

    def static(filename: str):
        path = (folder / filename).resolve()
        if not (filename.startswith(OWN) and path.suffix in (".js", ".css") and path.is_relative_to(folder)):
            return serve_as_is(filename=filename)
        if not path.is_file():
            return serve_as_is(filename=filename)  # its 404
        response = Response(minified(path), mimetype="text/css" if path.suffix == ".css" else "text/javascript")
        response.set_etag(f"{path.stat().st_mtime_ns:x}-{path.stat().st_size:x}")
        return response.make_conditional(request)

    app.view_functions["static"] = static
