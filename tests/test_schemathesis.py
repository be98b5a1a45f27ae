"""schemathesis against our own OpenAPI schema: generated requests for every operation, valid
and invalid, answered without a 500 and with responses that match the schema.

One check is left out: `positive_data_acceptance` expects every schema-valid request to succeed,
but a schema-valid body carries any string as its source, and most strings are not programs:
those are answered 422 with a span, as they should be.
"""

from __future__ import annotations

import schemathesis
from chainrule.server.app import create_app
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())


@schema.parametrize()
@settings(max_examples=500, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case: schemathesis.Case) -> None:
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
