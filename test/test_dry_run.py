"""The dry-run backend records calls and returns placeholders a plan can use."""

from __future__ import annotations

import asyncio

from tinyagent_ros.backends import get_backend
from tinyagent_ros.backends.dry_run import DryRunBackend
from tinyagent_ros.catalog import load_catalog
from tinyagent_ros.executor import Executor
from tinyagent_ros.plan import parse_plan


def run(catalog_name: str, text: str) -> tuple[DryRunBackend, object]:
    catalog = load_catalog(catalog_name)
    backend = get_backend("dry-run", catalog_name=catalog_name)
    assert isinstance(backend, DryRunBackend)
    result = asyncio.run(Executor(catalog, backend).run(parse_plan(text, catalog)))
    return backend, result


def test_mac_plan_records_calls_with_resolved_placeholders():
    backend, result = run(
        "mac",
        '1. get_email_address("Alice Smith")\n'
        '2. open_and_get_file_path("report.pdf")\n'
        '3. compose_new_email(["$1"], [], "Report", "See attached", ["$2"])\n'
        '4. get_phone_number("Bob")\n'
        "5. join()<END_OF_PLAN>",
    )
    assert result.success
    calls = dict(backend.calls)
    assert calls["compose_new_email"] == [
        ["alice.smith@example.com"],
        [],
        "Report",
        "See attached",
        ["/Users/user/Documents/report.pdf"],
    ]
    assert result.answer == ["compose_new_email done (dry run)", "+1-555-0100"]


def test_works_for_the_robot_catalog():
    backend, result = run(
        "robot",
        '1. locate_person("emma")\n2. navigate_to("$1")\n3. get_battery_level()\n'
        "4. join()<END_OF_PLAN>",
    )
    assert result.success
    assert dict(backend.calls)["navigate_to"] == ["living room"]
    assert result.results[3].value == 80
