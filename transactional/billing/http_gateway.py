"""A clearinghouse over HTTP: POST the claim as JSON, read `{"tracking_id": ...}` back.

Standard library only (urllib). Every failure becomes a `GatewayError` whose message names
the kind of failure and never the claim, the response body or the server's error text.
The claim's id travels as `Idempotency-Key`, so a gateway can recognise a retried submission.
"""

import json
import re
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from transactional.billing.gateway import ClaimDocument, GatewayError, Receipt, canonical

MAX_ANSWER_BYTES = 64 * 1024
_TRACKING_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class HttpClaimGateway:
    def __init__(self, *, url: str, timeout: float) -> None:
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            raise ValueError("the claim gateway URL must be an http(s) URL")
        if timeout <= 0:
            raise ValueError("the claim gateway timeout must be positive")
        self.url = url
        self.timeout = timeout

    def submit(self, claim: ClaimDocument) -> Receipt:
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            self.url,
            data=canonical(claim),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Idempotency-Key": str(claim.get("submission_id", "")),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                body = response.read(MAX_ANSWER_BYTES + 1)
        except urllib.error.HTTPError as error:
            error.close()
            raise GatewayError(f"the claim gateway refused the claim (HTTP {error.code})") from None
        except TimeoutError:
            raise self._timed_out() from None
        except urllib.error.URLError as error:
            if isinstance(error.reason, TimeoutError):
                raise self._timed_out() from None
            raise GatewayError("the claim gateway could not be reached") from None
        except OSError:
            raise GatewayError("the claim gateway could not be reached") from None
        return Receipt(self._tracking_id(body))

    def _timed_out(self) -> GatewayError:
        return GatewayError(f"the claim gateway did not answer within {self.timeout:g} s")

    @staticmethod
    def _tracking_id(body: bytes) -> str:
        if len(body) > MAX_ANSWER_BYTES:
            raise GatewayError("the claim gateway's answer is too large")
        try:
            answer = json.loads(body)
        except ValueError:
            raise GatewayError("the claim gateway's answer is not JSON") from None
        tracking_id = answer.get("tracking_id") if isinstance(answer, dict) else None
        if not isinstance(tracking_id, str) or not _TRACKING_ID.match(tracking_id):
            raise GatewayError("the claim gateway's answer has no valid tracking_id")
        return tracking_id
