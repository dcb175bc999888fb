"""Reading answers, and whose fault a bad one is: the candidate's (a failure) or another system's (an error)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

from conformance.errors import EngineFailure

if TYPE_CHECKING:
    import httpx

    from conformance.kit.context import ContractContext

__all__ = ["blame", "excerpt", "json_object", "json_or_none", "who"]


def json_or_none(response: httpx.Response) -> Any:
    """The answer's JSON, or None when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def excerpt(response: httpx.Response) -> str:
    """The start of the answer's text on one line, for a finding."""
    return " ".join(response.text[:300].split())


def who(system: str | None) -> str:
    """How a finding names a system: the candidate (None) or the named other system."""
    return "the candidate" if system is None else f"the {system} system"


def blame(c: ContractContext, system: str | None, message: str) -> NoReturn:
    """The candidate (`system` None) broke the standard: a failure. Another system did: an EngineFailure (the
    requirement is an error; nothing about the candidate was measured)."""
    if system is None:
        c.fail(message)
    raise EngineFailure(f"{who(system)} (not the candidate) did not play its part: {message}")


def json_object(c: ContractContext, system: str | None, response: httpx.Response, where: str) -> dict[str, Any]:
    """The answer's JSON object; a body that is not one is the answering system's problem (see `blame`)."""
    try:
        body = response.json()
    except ValueError:
        blame(c, system, f"{where} answered {response.status_code} without JSON: {excerpt(response)}")
    if not isinstance(body, dict):
        blame(c, system, f"{where} answered {response.status_code} with JSON that is not an object: "
                         f"{excerpt(response)}")
    return body
