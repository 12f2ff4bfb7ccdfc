"""The OCPI router on its own (no gateway middleware in front): a body nested deeper than the
JSON parser can go is a transport error in OCPI's envelope (HTTP 400, 2001), not a 500/3000."""

from __future__ import annotations

from typing import Any

URL = "/ocpi/2.2.1/tokens/NL/EMS/RFID1"


async def test_deeply_nested_body_is_400_2001(harness: Any, emsp: Any) -> None:
    auth = harness.auth(await harness.registered_cpo(emsp))
    for body in (b"[" * 100_000, b'{"a":' * 100_000):
        response = await harness.client.put(
            URL, content=body, headers={**auth, "Content-Type": "application/json"}
        )
        assert response.status_code == 400, response.text
        assert response.json()["status_code"] == 2001
        assert "nested too deeply" in response.json()["status_message"]
    # The token store is untouched and the router still answers.
    missing = await harness.client.get(URL, headers=auth)
    assert missing.status_code == 404 and missing.json()["status_code"] == 2004
