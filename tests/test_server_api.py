"""Property-based tests of the job API against its own OpenAPI spec (schemathesis, pinned major version 4) on a
running `pii_gen serve`: whatever requests the spec admits (and many it does not), no 5xx, and every answer's
status, content type and body are what the spec says.  Previews and cleanup start processes or reach out to
databases named in the request: their own tests cover them."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from serving import Server


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201 - a schemathesis schema
    with Server(tmp_path_factory.mktemp("api") / "data", "--max-rows", "300000", "--max-jobs", "1",
                "--grace", "2", "--heartbeat", "0.2") as running:
        yield schemathesis.openapi.from_url(running.url + "/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema").exclude(path=["/preview", "/cleanup"])


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_operation_answers_as_its_spec_says(case) -> None:  # noqa: ANN001 - a schemathesis case
    # A request the spec admits may still be refused for what it means (a pack or scenario that does not
    # exist, a window the wrong way round): 422 with its one line, so "valid means accepted" is not checked.
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
