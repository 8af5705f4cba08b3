"""Serves the built browser app with history fallback, for local runs without nginx."""

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

# Paths the API owns: an unknown one is a 404 there, never the app's page.
API_PREFIXES = ("/auth", "/face", "/docs", "/redoc", "/openapi.json", "/health")


def is_app_route(path: str) -> bool:
    """A client-side route: not the API's, and not a missing build file under `/assets/`.

    Route parameters may hold dots (mailed links carry JWTs), so a dot proves nothing.
    """
    first_segment = "/" + path.lstrip("/").split("/", 1)[0]

    return first_segment not in (*API_PREFIXES, "/assets")


class SinglePageApp(StaticFiles):
    """Static files; unknown paths get `index.html` so client-side routes survive a reload."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory, html=True, check_dir=True)

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            return await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code != 404 or scope["method"] not in ("GET", "HEAD"):
                raise
            if not is_app_route(scope["path"]):
                raise
            return await super().get_response("index.html", scope)
