"""Acceptance 4: schemathesis generates requests from /openapi.json against a live server (with
the API key, so writes and rebuilds run too): no 5xx, and every response matches the schema."""

from __future__ import annotations

import shutil

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from service_helpers import API_KEY, AUTH, start_server

EXAMPLES_PER_OPERATION = 60
MIN_CASES = 500


@pytest.fixture(scope="module")
def live_url(tmp_path_factory, tiny_encoder, tiny_sample_index):
    """The tiny random model: the schema is the subject, not the rankings, and the rebuilds and
    searches schemathesis sends are many."""
    from app.main import create_app
    from faqsearch.settings import Settings

    data_dir = tmp_path_factory.mktemp("schemathesis") / "data"
    shutil.copytree(tiny_sample_index, data_dir)
    settings = Settings(data_dir=data_dir, model=tiny_encoder.name, api_key=API_KEY)
    server, thread, url = start_server(create_app(settings, encoder=tiny_encoder))
    yield url
    server.should_exit = True
    thread.join(timeout=120)


def test_api_conforms_to_its_schema(live_url):
    """Each operation gets its own hypothesis run of up to EXAMPLES_PER_OPERATION cases (positive
    and negative), derandomised so every run sends the same requests."""
    from hypothesis import given

    api = schemathesis.openapi.from_url(f"{live_url}/openapi.json")
    counts: dict[str, int] = {}
    for result in api.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case) -> None:
            counts[case.operation.label] = counts.get(case.operation.label, 0) + 1
            case.call_and_validate(
                headers=AUTH, checks=[not_a_server_error, response_schema_conformance], timeout=120
            )

        run()
    assert len(counts) == 19, sorted(counts)  # every operation of the API was exercised
    print(f"schemathesis: {sum(counts.values())} cases over {len(counts)} operations")
    assert sum(counts.values()) >= MIN_CASES, counts
