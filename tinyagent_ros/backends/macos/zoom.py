"""Create a Zoom meeting through Zoom's REST API with a user-supplied token; nothing else."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from tinyagent_ros.backends.base import SkillFailed, one_line

TOKEN_ENV = "TINYAGENT_ZOOM_TOKEN"
MEETINGS_URL = "https://api.zoom.us/v2/users/me/meetings"
NO_TOKEN = f"zoom: no API token configured (set {TOKEN_ENV})"

#: ``urllib.request.urlopen``'s shape: (request, timeout=...) -> response with ``read()``.
Opener = Callable[..., Any]


@dataclass(frozen=True)
class ZoomMeetings:
    """Zoom's "create a meeting" endpoint for the token's own user."""

    token: str
    opener: Opener = urllib.request.urlopen
    timeout_s: float = 20.0

    def request(
        self, topic: str, start: datetime, duration_min: int, invitees: list[str]
    ) -> urllib.request.Request:
        """The POST request for a scheduled meeting (type 2), start time sent in UTC."""
        body = {
            "topic": topic,
            "type": 2,
            "start_time": _utc(start),
            "duration": duration_min,
            "settings": {"meeting_invitees": [{"email": e} for e in invitees]},
        }
        return urllib.request.Request(
            MEETINGS_URL,
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            method="POST",
        )

    def create(self, topic: str, start: datetime, duration_min: int, invitees: list[str]) -> str:
        """Create the meeting and return its join URL; SkillFailed on any refusal. Blocks."""
        req = self.request(topic, start, duration_min, invitees)
        try:
            with self.opener(req, timeout=self.timeout_s) as response:
                answer = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as err:
            raise SkillFailed(f"zoom: HTTP {err.code}: {one_line(_message(err))}") from None
        except urllib.error.URLError as err:
            raise SkillFailed(f"zoom: cannot reach Zoom: {one_line(err.reason)}") from None
        except (OSError, ValueError) as err:
            raise SkillFailed(f"zoom: bad answer from Zoom: {one_line(err)}") from None
        url = answer.get("join_url") if isinstance(answer, dict) else None
        if not isinstance(url, str) or not url:
            raise SkillFailed("zoom: Zoom's answer has no join_url")
        return url


def _utc(moment: datetime) -> str:
    """Zoom's UTC form; a naive time is local time, as the planner writes it."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _message(err: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(err.read().decode("utf-8")).get("message") or err.reason)
    except (OSError, ValueError, AttributeError):
        return str(err.reason)
