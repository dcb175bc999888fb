"""The registry's server-rendered pages (Jinja2, autoescaped; no JavaScript; one small stylesheet that fits a
phone). Everything a supplier wrote (names, products, versions, findings) reaches a page only through the
template's escaping, and every page but the comparison (which carries the report's own policy) is served with a
Content-Security-Policy that allows nothing but this site's stylesheet and forms.

    /                                    the profile versions and how many listings each has
    /profiles/{id}/{version}             its lifecycle and validity, its listings (compare chosen ones), its changelog
    /suppliers/{name}                    a supplier's history per product and profile, regressions marked, diffs
    /listings/{id}                       one listing: what was measured, who signed, revocation (an inspector's form)
    /listings/{id}/bundle.tar.gz         the bundle as uploaded;  scorecard.json, report.html: the run's own
    /listings/{id}/diff?against={id}     what changed between two listings of one product
    /compare?id=..&id=..                 the comparison `conformance compare` writes, of the chosen listings
    /evaluations                         the signed-in organisation's private evaluations
    /login, /logout                      give a token once; kept in an HttpOnly cookie
"""

from __future__ import annotations

import functools
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.concurrency import run_in_threadpool

from conformance.registry.catalogue import Catalogue, ProfileVersion
from conformance.registry.tables import Listing, Organisation
from conformance.registry.views import (
    comparison_of,
    diff_of,
    history,
    private_listings,
    profile_counts,
    profile_listings,
    visible_listing,
)
from conformance.registry.web import COOKIE, revoke_listing, viewer_of
from conformance.reporters.html import render_comparison_html, render_html

__all__ = ["register"]

CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")
FORM_LIMIT = 16 * 1024
MAX_COMPARED = 20


@functools.cache
def _environment() -> Environment:
    return Environment(loader=PackageLoader("conformance.registry", "templates"), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = _environment().get_template(template).render(viewer=request.state.viewer, **context)
    return HTMLResponse(html, status_code=status, headers={"Content-Security-Policy": CSP,
                                                           "X-Content-Type-Options": "nosniff",
                                                           "Referrer-Policy": "same-origin"})


def _missing(request: Request, what: str) -> HTMLResponse:
    return _page(request, "message.html", 404, title="Not found", message=what)


def register(app: FastAPI) -> None:
    @app.middleware("http")
    async def who(request: Request, call_next: Any) -> Response:
        request.state.viewer = None
        if not request.url.path.startswith("/api/"):
            request.state.viewer = await run_in_threadpool(viewer_of, request)
        response: Response = await call_next(request)
        return response

    app.get("/", response_class=HTMLResponse)(index)
    app.get("/registry.css")(stylesheet)
    app.get("/profiles/{profile_id}/{version}", response_class=HTMLResponse)(profile_page)
    app.get("/suppliers/{supplier:path}", response_class=HTMLResponse)(supplier_page)
    app.get("/listings/{listing_id}", response_class=HTMLResponse)(listing_page)
    app.get("/listings/{listing_id}/bundle.tar.gz")(bundle_file)
    app.get("/listings/{listing_id}/scorecard.json")(scorecard_file)
    app.get("/listings/{listing_id}/report.html", response_class=HTMLResponse)(report_file)
    app.get("/listings/{listing_id}/diff", response_class=HTMLResponse)(diff_page)
    app.post("/listings/{listing_id}/revoke")(revoke_form)
    app.get("/compare", response_class=HTMLResponse)(compare_page)
    app.get("/evaluations", response_class=HTMLResponse)(evaluations_page)
    app.get("/login", response_class=HTMLResponse)(login_page)
    app.post("/login")(login)
    app.post("/logout")(logout)


def _catalogue(request: Request) -> Catalogue:
    catalogue: Catalogue = request.app.state.catalogue
    return catalogue


def _version_of(request: Request, listing: Listing) -> ProfileVersion | None:
    return _catalogue(request).by_digest.get(listing.profile_digest)


def _with_session(request: Request, work: Any) -> Any:
    with request.app.state.read() as session:
        return work(session)


async def index(request: Request) -> HTMLResponse:
    counts = await run_in_threadpool(_with_session, request, profile_counts)
    return _page(request, "index.html", versions=_catalogue(request).versions, counts=counts)


async def stylesheet() -> Response:
    from importlib import resources

    css = (resources.files("conformance.registry") / "templates" / "registry.css").read_text(encoding="utf-8")
    return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=3600"})


async def profile_page(request: Request, profile_id: str, version: str) -> HTMLResponse:
    found = _catalogue(request).by_ref.get(f"{profile_id}@{version}")
    if found is None:
        return _missing(request, f"this registry lists no profile version {profile_id}@{version}")
    listings = await run_in_threadpool(_with_session, request,
                                       lambda s: profile_listings(s, profile_id, version))
    return _page(request, "profile.html", version=found, validity=found.validity(), listings=listings)


async def supplier_page(request: Request, supplier: str) -> HTMLResponse:
    lines = await run_in_threadpool(_with_session, request,
                                    lambda s: history(s, request.state.viewer, supplier))
    if not lines:
        return _missing(request, f"no listings of the supplier {supplier!r}")
    return _page(request, "supplier.html", supplier=supplier, lines=lines, version_of=lambda x: _version_of(request, x))


def _listing(request: Request, listing_id: int) -> Listing | None:
    with request.app.state.read() as session:
        return visible_listing(session, request.state.viewer, listing_id)


async def listing_page(request: Request, listing_id: int) -> HTMLResponse:
    found = await run_in_threadpool(_listing, request, listing_id)
    if found is None:
        return _missing(request, f"no listing {listing_id}")
    version = _version_of(request, found)
    return _page(request, "listing.html", listing=found, validity=version.validity() if version else None)


async def bundle_file(request: Request, listing_id: int) -> Response:
    def content(session: Any) -> bytes | None:
        found = visible_listing(session, request.state.viewer, listing_id)
        return found.bundle.content if found is not None else None

    data = await run_in_threadpool(_with_session, request, content)
    if data is None:
        return _missing(request, f"no listing {listing_id}")
    return Response(data, media_type="application/gzip", headers={
        "Content-Disposition": f'attachment; filename="listing-{listing_id}.tar.gz"'})


async def scorecard_file(request: Request, listing_id: int) -> Response:
    found = await run_in_threadpool(_listing, request, listing_id)
    if found is None:
        return _missing(request, f"no listing {listing_id}")
    return Response(json.dumps(found.scorecard, indent=2), media_type="application/json")


async def report_file(request: Request, listing_id: int) -> Response:
    found = await run_in_threadpool(_listing, request, listing_id)
    if found is None:
        return _missing(request, f"no listing {listing_id}")
    return HTMLResponse(render_html(found.scorecard))  # the report carries its own Content-Security-Policy


async def diff_page(request: Request, listing_id: int, against: int) -> HTMLResponse:
    new = await run_in_threadpool(_listing, request, listing_id)
    old = await run_in_threadpool(_listing, request, against)
    if new is None or old is None:
        return _missing(request, f"no listing {listing_id if new is None else against}")
    if new.profile_id != old.profile_id:
        return _page(request, "message.html", 422, title="Not comparable",
                     message="these two listings measured different profiles; a diff needs one profile")
    return _page(request, "diff.html", old=old, new=new, diff=diff_of(old, new))


async def compare_page(request: Request) -> Response:
    ids = []
    for text in request.query_params.getlist("id")[:MAX_COMPARED]:
        if text.isdigit():
            ids.append(int(text))
    found = [await run_in_threadpool(_listing, request, i) for i in dict.fromkeys(ids)]
    listings = [item for item in found if item is not None]
    if not listings:
        return _page(request, "message.html", 422, title="Nothing to compare",
                     message="choose listings to compare on a profile's page (their boxes, then Compare)")
    digests = {item.profile_digest for item in listings}
    if len({(item.profile_id, item.profile_version) for item in listings}) != len(digests):
        return _page(request, "message.html", 422, title="Not comparable",
                     message="listings of one profile version measured against different contents")
    try:
        comparison = comparison_of(listings)
    except ValueError as exc:  # UsageError: e.g. different waivers or weights (different tenders)
        return _page(request, "message.html", 422, title="Not comparable", message=str(exc))
    return HTMLResponse(render_comparison_html(comparison))


async def evaluations_page(request: Request) -> HTMLResponse:
    viewer: Organisation | None = request.state.viewer
    if viewer is None:
        return RedirectResponse("/login", status_code=303)  # type: ignore[return-value]
    listings = await run_in_threadpool(_with_session, request, lambda s: private_listings(s, viewer))
    return _page(request, "evaluations.html", listings=listings)


async def login_page(request: Request) -> HTMLResponse:
    return _page(request, "login.html", error=None)


async def _form(request: Request) -> dict[str, str] | None:
    """The url-encoded form of a POST from this site (a cross-site POST is refused), or None."""
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host"):
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > FORM_LIMIT:
            return None
    fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
    return {key: values[0] for key, values in fields.items()}


async def login(request: Request) -> Response:
    form = await _form(request) or {}
    token = form.get("token", "").strip()

    def check(session: Any) -> Organisation | None:
        from conformance.registry.accounts import organisation_for_token
        return organisation_for_token(session, token)

    org = await run_in_threadpool(_with_session, request, check)
    if org is None:
        return _page(request, "login.html", 401, error="not a valid token")
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https",
                        max_age=8 * 3600)
    return response


async def logout(request: Request) -> Response:
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE)
    return response


async def revoke_form(request: Request, listing_id: int) -> Response:
    form = await _form(request)
    if form is None:
        return _page(request, "message.html", 403, title="Refused", message="a revocation is made from this site")
    status, answer = await run_in_threadpool(revoke_listing, request, listing_id, form.get("reason", ""))
    if status != 200:
        return _page(request, "message.html", status, title="Not revoked", message=answer["reason"])
    return RedirectResponse(f"/listings/{listing_id}", status_code=303)
