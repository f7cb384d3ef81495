"""How claims leave the building: the `ClaimGateway` interface, its offline implementation,
and the one factory that picks the implementation from the settings.

A clearinghouse is a service we cannot run in tests, so the interface ships its own
in-process implementation (the offline gateway) and callers receive a gateway instead of
constructing one. The HTTP client lives in `http_gateway.py`.
"""

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Protocol

from transactional.settings import Settings

ClaimDocument = dict[str, Any]


@dataclass(frozen=True)
class Receipt:
    """What the gateway answered: the id under which it tracks the submission."""

    tracking_id: str


class GatewayError(Exception):
    """The gateway did not take the claim. The message says why without any claim content."""


class ClaimGateway(Protocol):
    def submit(self, claim: ClaimDocument) -> Receipt:
        """Hand one claim over; raise `GatewayError` if it was not taken."""
        ...


def canonical(claim: ClaimDocument) -> bytes:
    return json.dumps(claim, sort_keys=True, separators=(",", ":"), default=str).encode()


@dataclass
class OfflineClaimGateway:
    """Records each submission in memory and answers a tracking id derived from the claim,
    so the same claim always gets the same id (deterministic tests and demos)."""

    submissions: list[ClaimDocument] = field(default_factory=list)

    def submit(self, claim: ClaimDocument) -> Receipt:
        body = canonical(claim)
        self.submissions.append(json.loads(body))
        return Receipt(f"OFFLINE-{hashlib.sha256(body).hexdigest()[:20].upper()}")


def claim_gateway(settings: Settings) -> ClaimGateway:
    """The gateway the product uses: HTTP when `claim_gateway_url` is set, else offline."""
    if settings.claim_gateway_url is None:
        return OfflineClaimGateway()
    from transactional.billing.http_gateway import HttpClaimGateway

    return HttpClaimGateway(
        url=settings.claim_gateway_url, timeout=settings.claim_gateway_timeout_seconds
    )
