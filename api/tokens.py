"""Short-lived JWT access tokens (HS256). Refresh tokens are opaque and live in the database."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from transactional.identity.models import AuthSession, User

ALGORITHM = "HS256"


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    tenant_id: uuid.UUID
    session_id: uuid.UUID
    role: str


class InvalidAccessToken(Exception):
    pass


@dataclass(frozen=True)
class AccessTokenCodec:
    secret: str
    issuer: str
    audience: str
    ttl: timedelta

    def issue(self, *, user: User, auth_session: AuthSession, now: datetime) -> str:
        claims = {
            "sub": str(user.id),
            "tid": str(user.tenant_id),
            "sid": str(auth_session.id),
            "role": user.role,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": int(now.timestamp()),
            "exp": int((now + self.ttl).timestamp()),
            "jti": uuid.uuid4().hex,
            "typ": "access",
        }
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def decode(self, token: str) -> AccessClaims:
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["sub", "tid", "sid", "exp", "iat", "iss", "aud"]},
            )
            if claims.get("typ") != "access":
                raise InvalidAccessToken("not an access token")
            return AccessClaims(
                user_id=uuid.UUID(claims["sub"]),
                tenant_id=uuid.UUID(claims["tid"]),
                session_id=uuid.UUID(claims["sid"]),
                role=str(claims["role"]),
            )
        except (jwt.PyJWTError, ValueError, KeyError) as exc:
            raise InvalidAccessToken(type(exc).__name__) from exc
