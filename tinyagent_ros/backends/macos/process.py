"""Run one external command so that a skill can be cancelled or time out without leaks.

The command is killed and reaped before ``CancelledError`` (or the timeout's
:class:`SkillFailed`) leaves, so a cancelled plan never leaves an ``osascript``
running behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Sequence

from tinyagent_ros.backends.base import SkillFailed, one_line

#: osascript reports "12:40: execution error: MESSAGE (-2700)"; the MESSAGE is the reason.
_OSA_ERROR = re.compile(r"^(?:\d+:\d+: )?(?:execution error: )?(?P<msg>.*?)(?: \(-?\d+\))?$")


async def run_command(
    argv: Sequence[str], *, stdin: str = "", timeout_s: float, what: str
) -> str:
    """Run ``argv`` with ``stdin`` as its input and return its stdout, one final newline off.

    ``what`` names the tool in failure reasons. Raises :class:`SkillFailed` for
    a non-zero exit (the reason is its stderr, flattened to one line), a missing
    executable, or no exit within ``timeout_s``.
    """
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as err:
        raise SkillFailed(f"{what}: cannot run {argv[0]}: {err.strerror or err}") from None
    except ValueError:  # an argument with a NUL byte: no program can receive it
        raise SkillFailed(f"{what}: an argument contains a NUL character") from None
    try:
        out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), timeout_s)
    except asyncio.TimeoutError:
        await _kill(proc)
        raise SkillFailed(f"{what}: no answer within {timeout_s:g} s") from None
    except BaseException:  # cancelled: stop the process before letting the cancel out
        await _kill(proc)
        raise
    if proc.returncode != 0:
        reason = _OSA_ERROR.match(one_line(err.decode("utf-8", "replace")))
        text = reason.group("msg") if reason else ""
        raise SkillFailed(f"{what}: {text or f'exited with status {proc.returncode}'}")
    text = out.decode("utf-8", "replace")
    return text[:-1] if text.endswith("\n") else text


async def _kill(proc: asyncio.subprocess.Process) -> None:
    """Kill ``proc`` if it still runs and wait for it, so no zombie or orphan remains."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    await proc.wait()
