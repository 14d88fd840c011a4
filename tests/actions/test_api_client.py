"""The one client of the operations API: keys, errors, headers."""

from __future__ import annotations

import json

import pytest

from actions import api_client
from actions.api_client import NotFound, OpsApiClient

pytestmark = pytest.mark.asyncio


async def test_service_key_comes_from_the_var_dir_when_not_in_the_environment(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("OPSDESK_SERVICE_KEY", raising=False)
    monkeypatch.setenv("OPSDESK_VAR_DIR", str(tmp_path))
    assert api_client.service_key() is None
    (tmp_path / "secrets.json").write_text(json.dumps({"service_key": "from-file"}))
    assert api_client.service_key() == "from-file"
    monkeypatch.setenv("OPSDESK_SERVICE_KEY", "from-env")
    assert api_client.service_key() == "from-env"


async def test_wrong_email_and_unknown_order_are_the_same_not_found():
    client = OpsApiClient()
    try:
        with pytest.raises(NotFound) as wrong_email:
            await client.lookup_order("10001", conversation_id="client-1", email="x@example.com")
        with pytest.raises(NotFound) as unknown:
            await client.lookup_order(
                "99999", conversation_id="client-1", email="jane.doe@example.com"
            )
        assert wrong_email.value.code == unknown.value.code == "order_not_found"
    finally:
        await client.aclose()


async def test_wrong_service_key_is_an_api_error_not_a_crash(ops_api):
    client = OpsApiClient(base_url=ops_api.url, key="wrong")
    try:
        with pytest.raises(api_client.ApiError) as error:
            await client.get_return("RMA-000001")
        assert error.value.status == 401
    finally:
        await client.aclose()
