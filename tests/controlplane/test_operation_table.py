"""The operation table agrees with botocore's ``apigatewayv2`` service model,
which is what the AWS SDKs and the AWS CLI send."""

from __future__ import annotations

import botocore.session

from framer.controlplane import ControlPlane


def test_every_operation_has_the_sdks_method_and_path() -> None:
    model = botocore.session.get_session().get_service_model("apigatewayv2")
    operations = ControlPlane.operations()
    assert len({op.name for op in operations}) == len(operations) == 35
    for op in operations:
        http = model.operation_model(op.name).http
        assert (op.method, op.path) == (http["method"], http["requestUri"]), op.name
