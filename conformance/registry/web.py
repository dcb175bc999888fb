"""The registry's web application (FastAPI): the upload and listing API, and the server-rendered pages
(pages.py). `create_app(db_url)` migrates the database and reads the profile catalogue.

Who is asking: an API token (`Authorization: Bearer crg_...`), or, for the pages, the same token given once on
/login and kept in an HttpOnly, SameSite=Strict cookie. Without one, only public listings are shown.

API
    POST /api/bundles[?visibility=private]   body: the bundle's bytes. 201 accepted (a new listing), 200 the same
                                             bundle again (the same listing), 401 no or unknown token, 403 not
                                             allowed, 409 another organisation's bundle, 411 no length, 413 too
                                             large, 422 refused: {"accepted": false, "reason", "checks"}
    GET  /api/listings[?profile=ID@VERSION]  the listings the caller may see
    POST /api/listings/{id}/revoke           an inspector's token; body {"reason": "..."}
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from conformance.registry.accounts import organisation_for_token
from conformance.registry.catalogue import Catalogue
from conformance.registry.database import migrate, open_engine, reader, writer
from conformance.registry.tables import Listing, Organisation
from conformance.registry.uploads import Receiver, Refused, UploadLimits, Uploads
from conformance.registry.views import listing_dict, revoke, visible, visible_listing

__all__ = ["COOKIE", "create_app", "viewer_of"]

COOKIE = "registry_token"
JSON_BODY_LIMIT = 64 * 1024


def create_app(db_url: str, *, profiles: list[Path] | None = None, limits: UploadLimits | None = None,
               catalogue: Catalogue | None = None) -> FastAPI:
    """The application on the database at `db_url` (migrated here), listing the profile versions in `profiles`
    (default: the harness's own), or those of an already read `catalogue`."""
    from conformance.registry import pages

    engine = open_engine(db_url)
    migrate(engine)
    app = FastAPI(title="Conformance registry", docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    app.state.engine = engine
    app.state.read, app.state.write = reader(engine), writer(engine)
    app.state.catalogue = catalogue or Catalogue.load(profiles)
    app.state.uploads = Uploads(app.state.read, app.state.write, app.state.catalogue, limits or UploadLimits())
    app.post("/api/bundles")(upload)
    app.get("/api/listings")(api_listings)
    app.post("/api/listings/{listing_id}/revoke")(api_revoke)
    pages.register(app)
    return app


def viewer_of(request: Request) -> Organisation | None:
    header = request.headers.get("authorization", "")
    token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else request.cookies.get(COOKIE)
    with request.app.state.read() as session:
        return organisation_for_token(session, token)


def _refusal(status: int, reason: str) -> JSONResponse:
    return JSONResponse(Refused(status, reason).to_dict(), status_code=status)


async def upload(request: Request, visibility: str = "public") -> Response:
    org = await run_in_threadpool(viewer_of, request)
    if org is None or "authorization" not in request.headers:
        return _refusal(401, "no valid API token: send `Authorization: Bearer <token>` (`conformance registry org "
                             "token`)")
    if visibility not in ("public", "private"):
        return _refusal(422, f"visibility {visibility[:20]!r}: public or private")
    uploads: Uploads = request.app.state.uploads
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > uploads.limits.max_bytes):
        return _refusal(413, f"the upload is larger than the registry's limit of {uploads.limits.max_bytes >> 20} "
                             "MiB")
    with tempfile.NamedTemporaryFile(prefix="conformance-upload-", suffix=".tar.gz") as file:
        receiver = Receiver(file, uploads.limits.max_bytes)
        try:
            async for chunk in request.stream():
                receiver.feed(chunk)
            file.flush()
            if receiver.size == 0:
                raise Refused(422, "an empty upload: send the bundle's bytes as the request body")
            done = await run_in_threadpool(uploads.accept, Path(file.name), receiver.sha256, org.id,
                                           private=visibility == "private")
        except Refused as refused:
            return JSONResponse(refused.to_dict(), status_code=refused.status)
    return JSONResponse(done.to_dict(), status_code=200 if done.duplicate else 201)


def _listings(request: Request, profile: str | None) -> list[dict[str, Any]]:
    viewer = viewer_of(request)
    catalogue: Catalogue = request.app.state.catalogue
    query = visible(viewer).order_by(Listing.id)
    if profile:
        pid, _, version = profile.partition("@")
        query = query.where(Listing.profile_id == pid, *([Listing.profile_version == version] if version else []))
    with request.app.state.read() as session:
        return [listing_dict(item, _validity(catalogue, item)) for item in session.scalars(query)]


def _validity(catalogue: Catalogue, listing: Listing) -> dict[str, Any] | None:
    version = catalogue.by_digest.get(listing.profile_digest)
    return version.validity() if version is not None else None


async def api_listings(request: Request, profile: str | None = None) -> JSONResponse:
    return JSONResponse(await run_in_threadpool(_listings, request, profile))


async def api_revoke(request: Request, listing_id: int) -> JSONResponse:
    if "authorization" not in request.headers:  # the API takes a token, never the pages' cookie
        return JSONResponse({"revoked": False, "reason": "send `Authorization: Bearer <inspector token>`"},
                            status_code=401)
    body = await request.body()
    try:
        reason = json.loads(body[:JSON_BODY_LIMIT]).get("reason", "") if len(body) <= JSON_BODY_LIMIT else ""
    except (ValueError, AttributeError):
        reason = ""
    status, answer = await run_in_threadpool(revoke_listing, request, listing_id, str(reason))
    return JSONResponse(answer, status_code=status)


def revoke_listing(request: Request, listing_id: int, reason: str) -> tuple[int, dict[str, Any]]:
    viewer = viewer_of(request)
    if viewer is None:
        return 401, {"revoked": False, "reason": "no valid token: only an inspector revokes a listing"}
    with request.app.state.write() as session, session.begin():
        listing = visible_listing(session, viewer, listing_id)
        if listing is None:
            return 404, {"revoked": False, "reason": f"no listing {listing_id}"}
        try:
            revoke(session, listing, viewer, reason)
        except PermissionError as exc:
            return 403, {"revoked": False, "reason": str(exc)}
        except ValueError as exc:
            return 422, {"revoked": False, "reason": str(exc)}
        return 200, {"revoked": True, "listing": listing_id, "reason": listing.revoked_reason}
