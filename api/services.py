"""What one running app holds: settings, database, secrets, policies, limiter, metrics."""

from dataclasses import dataclass, field
from datetime import timedelta

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from api.metrics import Metrics
from api.tokens import AccessTokenCodec
from transactional.database import Database
from transactional.identity.signin import AuthPolicy
from transactional.secrets import Secrets, load_secrets
from transactional.settings import Settings
from warehouse.client import Warehouse


@dataclass
class Services:
    settings: Settings
    database: Database
    warehouse: Warehouse
    secrets: Secrets
    tokens: AccessTokenCodec
    policy: AuthPolicy
    token_rate: RateLimitItem
    limiter: MovingWindowRateLimiter = field(
        default_factory=lambda: MovingWindowRateLimiter(MemoryStorage())
    )
    metrics: Metrics = field(default_factory=Metrics)

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        database: Database | None = None,
        warehouse: Warehouse | None = None,
    ) -> "Services":
        secrets = load_secrets(settings)
        return cls(
            settings=settings,
            database=database or Database.from_settings(settings),
            warehouse=warehouse or Warehouse.from_settings(settings),
            secrets=secrets,
            tokens=AccessTokenCodec(
                secret=secrets.jwt_secret,
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                ttl=timedelta(minutes=settings.access_token_minutes),
            ),
            policy=AuthPolicy(
                refresh_ttl=timedelta(hours=settings.refresh_token_hours),
                idle_timeout=timedelta(minutes=settings.idle_timeout_minutes),
                lockout_threshold=settings.lockout_threshold,
                lockout_duration=timedelta(minutes=settings.lockout_minutes),
            ),
            token_rate=parse(settings.token_rate_limit),
        )
