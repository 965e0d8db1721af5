"""URLs that open Maps and a Messages draft; every value is percent-encoded, nothing passes raw."""

from __future__ import annotations

from urllib.parse import quote

#: Apple Maps' ``dirflg``: d driving, w walking, r public transport.
TRANSPORTS = ("d", "w", "r")


def _query(pairs: list[tuple[str, str]]) -> str:
    # safe="" also encodes "/", "&", "=", "?" and "#", so a value cannot end its own field
    return "&".join(f"{key}={quote(value, safe='')}" for key, value in pairs)


def maps_location_url(location: str) -> str:
    """``maps://?q=...`` showing ``location``."""
    return "maps://?" + _query([("q", location)])


def maps_directions_url(start: str, end: str, transport: str) -> str:
    """``maps://?saddr=...&daddr=...&dirflg=...``; an empty start means "from here" (omitted)."""
    if transport not in TRANSPORTS:
        raise ValueError(f"transport must be one of {', '.join(TRANSPORTS)}, not {transport!r}")
    pairs = [("saddr", start)] if start else []
    return "maps://?" + _query([*pairs, ("daddr", end), ("dirflg", transport)])


def sms_draft_url(recipients: list[str], message: str) -> str:
    """``sms://open?addresses=a,b&body=...``: Messages opens a compose window and sends nothing."""
    addresses = ",".join(quote(r, safe="") for r in recipients)
    return f"sms://open?addresses={addresses}&" + _query([("body", message)])
