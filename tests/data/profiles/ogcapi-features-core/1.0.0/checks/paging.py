"""OAF-CORE-007: page through a collection by the server's own `next` links, from the first page to the last
(bounded), checking that every feature is reached once and that each page's `self` link returns that page.

Only the path and query of a link are followed, always on the target: a link is never requested elsewhere.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from conformance.kit import ContractContext, contract_check, json_object, listed

ITEMS = "/collections/stations/items"
PAGE = 5
MAX_PAGES = 20
ACCEPT = {"Accept": "application/geo+json"}


def _href(page: dict[str, Any], rel: str) -> str | None:
    for link in page.get("links") or []:
        if isinstance(link, dict) and link.get("rel") == rel and isinstance(link.get("href"), str):
            return str(link["href"])
    return None


def _get(c: ContractContext, href: str, step: str) -> tuple[dict[str, Any], list[str]]:
    """The page a link names (its path from `/collections/` on, and its query, sent to the target)."""
    parts = urllib.parse.urlsplit(href)
    at = parts.path.find("/collections/")
    if at < 0:
        c.fail(f"{step}: the link {href} does not lead to a collection's items")
    response = c.send("GET", parts.path[at:], query=dict(urllib.parse.parse_qsl(parts.query)), headers=ACCEPT,
                      step=step)
    if response.status_code != 200:
        c.fail(f"{step}: {href} answered {response.status_code}, expected 200")
    page = json_object(c, None, response, step)
    return page, [str(f.get("id")) for f in page.get("features") or [] if isinstance(f, dict)]


@contract_check("ogcapi.paging", requirements=("OAF-CORE-007",))
def paging(c: ContractContext) -> None:
    response = c.send("GET", ITEMS, query={"limit": PAGE}, headers=ACCEPT, step="first page")
    if response.status_code != 200:
        c.fail(f"the first page answered {response.status_code}, expected 200")
    page = json_object(c, None, response, "the first page")
    ids = [str(f.get("id")) for f in page.get("features") or [] if isinstance(f, dict)]
    matched = page.get("numberMatched")
    seen: list[str] = []
    for number in range(1, MAX_PAGES + 1):
        where = f"page {number}"
        self_href = _href(page, "self")
        if self_href is None:
            c.fail(f"{where} has no self link")
        _, again = _get(c, self_href, f"{where}: its self link")
        if again != ids:
            c.fail(f"{where} holds {listed(ids)}, but its self link {self_href} returns {listed(again)}: the self "
                   "link names another page")
        seen.extend(ids)
        next_href = _href(page, "next")
        if next_href is None:
            break
        page, ids = _get(c, next_href, f"page {number + 1} (the next link of {where})")
    else:
        c.fail(f"the next links did not end within {MAX_PAGES} pages of {PAGE} ({len(seen)} features read)")
    repeated = sorted({i for i in seen if seen.count(i) > 1})
    if repeated:
        c.fail(f"following the next links reads {listed(repeated)} more than once")
    if isinstance(matched, int) and len(seen) != matched:
        c.fail(f"the first page says {matched} features match, following the next links reads {len(seen)}")
    if not seen:
        c.fail("the collection's pages hold no feature: nothing to page through")
