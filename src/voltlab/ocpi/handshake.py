"""The call-back half of the credentials handshake: with Token B, fetch the eMSP's versions,
pick ours, fetch that version's details. Any failure is OCPI 3001 (credentials chapter,
"Errors during registration")."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from voltlab.ocpi.core import OcpiCore, exchange_evidence, ocpi_status_of
from voltlab.ocpi.credentials_tokens import authorization_header
from voltlab.ocpi.envelope import OcpiError, OcpiStatus
from voltlab.ocpi.findings import HttpEvidence, OcpiObservation
from voltlab.ocpi.peer_address import UNREACHABLE, PeerAddressRefused, PeerUnreachable


@dataclass(frozen=True)
class PeerDiscovery:
    version: str
    details_url: str
    endpoints: list[dict[str, Any]]
    token_b_base64: bool


def _client_api_error(message: str) -> OcpiError:
    return OcpiError(OcpiStatus.CLIENT_API_ERROR, f"Unable to use the client's API: {message}")


async def _get(
    core: OcpiCore,
    cpo_id: str,
    module: str,
    url: str,
    token_b: str,
    *,
    base64_encoded: bool,
    correlation_id: str,
    version: str,
) -> tuple[int, Any, HttpEvidence]:
    headers = {
        "Authorization": authorization_header(token_b, base64_encoded=base64_encoded),
        "X-Request-ID": str(uuid.uuid4()),
        "X-Correlation-ID": correlation_id,
        "Accept": "application/json",
    }
    try:
        await core.peer_policy.check_url(url)
        # Never follow a redirect: it could lead anywhere, past the address policy too.
        response = await core.http.get(url, headers=headers, follow_redirects=False)
        core.peer_policy.check_connected(response)
    except PeerAddressRefused as exc:
        raise _client_api_error(f"GET {url} refused: {exc.reason}") from exc
    except (httpx.HTTPError, PeerUnreachable) as exc:
        await core.count(cpo_id, "out", module, None, None, method="GET", url=url)
        # One text for refused, timed out, unresolvable, not HTTP: no port-state oracle.
        raise _client_api_error(f"GET {url} failed: {UNREACHABLE}") from exc
    try:
        payload: Any = response.json()
    except ValueError:
        payload = None
    await core.count(
        cpo_id,
        "out",
        module,
        response.status_code,
        ocpi_status_of(payload),
        method="GET",
        url=url,
    )
    await core.judge_answer(cpo_id, version, headers, None, response, payload)
    return response.status_code, payload, exchange_evidence(headers, None, response)


async def _get_with_token_b(
    core: OcpiCore,
    cpo_id: str,
    module: str,
    url: str,
    token_b: str,
    *,
    base64_encoded: bool,
    correlation_id: str,
    version: str,
) -> tuple[Any, bool]:
    """GET and unwrap the envelope's data. On 401 retry once with the other token encoding:
    many 2.1.1/2.2 peers expect the token unencoded (transport chapter note). An eMSP that
    takes only the encoding its version does not speak breaks ocpi-token-encoding."""
    status, payload, refused = await _get(
        core,
        cpo_id,
        module,
        url,
        token_b,
        base64_encoded=base64_encoded,
        correlation_id=correlation_id,
        version=version,
    )
    if status == 401:
        base64_encoded = not base64_encoded
        status, payload, taken = await _get(
            core,
            cpo_id,
            module,
            url,
            token_b,
            base64_encoded=base64_encoded,
            correlation_id=correlation_id,
            version=version,
        )
        if 200 <= status < 300 and base64_encoded != (version == "2.2.1"):
            wanted, came = ("Base64", "as is") if version == "2.2.1" else ("as is", "Base64")
            observation = OcpiObservation(
                "ocpi-token-encoding",
                f"expected the eMSP to take Token B {wanted} (OCPI {version}); it answered "
                f"401 to that and took the token {came} (GET {module})",
            )
            await core.record_findings(cpo_id, version, [observation], [refused, taken])
    if not 200 <= status < 300:
        raise _client_api_error(f"GET {url} answered HTTP {status}")
    ocpi_status = ocpi_status_of(payload)
    if ocpi_status is not None and not 1000 <= ocpi_status < 2000:
        raise _client_api_error(f"GET {url} answered OCPI status {ocpi_status}")
    data = payload.get("data") if isinstance(payload, dict) and "data" in payload else payload
    return data, base64_encoded


async def discover_peer(
    core: OcpiCore,
    *,
    cpo_id: str,
    versions_url: str,
    token_b: str,
    version: str,
    correlation_id: str,
) -> PeerDiscovery:
    base64_encoded = version == "2.2.1"
    versions, base64_encoded = await _get_with_token_b(
        core,
        cpo_id,
        "versions",
        versions_url,
        token_b,
        base64_encoded=base64_encoded,
        correlation_id=correlation_id,
        version=version,
    )
    if not isinstance(versions, list):
        raise _client_api_error("the versions endpoint did not return a list of versions")
    match = next(
        (
            entry
            for entry in versions
            if isinstance(entry, dict)
            and str(entry.get("version")) == version
            and isinstance(entry.get("url"), str)
        ),
        None,
    )
    if match is None:
        offered = [str(entry.get("version")) for entry in versions if isinstance(entry, dict)]
        raise _client_api_error(f"no matching version: we speak {version}, peer offers {offered}")
    details_url = str(match["url"])
    details, base64_encoded = await _get_with_token_b(
        core,
        cpo_id,
        "details",
        details_url,
        token_b,
        base64_encoded=base64_encoded,
        correlation_id=correlation_id,
        version=version,
    )
    if not isinstance(details, dict) or not isinstance(details.get("endpoints"), list):
        raise _client_api_error("the version details carry no endpoints list")
    endpoints: list[dict[str, Any]] = []
    for entry in details["endpoints"]:
        if not isinstance(entry, dict):
            continue
        identifier, url = entry.get("identifier"), entry.get("url")
        if not isinstance(identifier, str) or not isinstance(url, str):
            continue
        normalised: dict[str, Any] = {"identifier": identifier, "url": url}
        if isinstance(entry.get("role"), str):
            normalised["role"] = entry["role"]
        endpoints.append(normalised)
    return PeerDiscovery(
        version=version,
        details_url=details_url,
        endpoints=endpoints,
        token_b_base64=base64_encoded,
    )
