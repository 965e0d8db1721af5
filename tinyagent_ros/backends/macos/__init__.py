"""The ``mac`` catalog's 16 tools on macOS: AppleScript, Spotlight, Maps URLs, pypdf and Zoom."""

from tinyagent_ros.backends.macos.backend import MacBackend, MacOSRequired

__all__ = ["MacBackend", "MacOSRequired"]
