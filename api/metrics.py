"""Prometheus metrics, one registry per app. Labels are route templates and codes, never PHI."""

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "emr_http_requests",
            "HTTP requests by route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "emr_http_request_duration_seconds",
            "HTTP request latency by route template.",
            ["method", "route"],
            registry=self.registry,
        )
        self.auth_events = Counter(
            "emr_auth_events",
            "Sign-in, refresh and sign-out attempts by outcome.",
            ["event", "outcome"],
            registry=self.registry,
        )
        self.permission_denials = Counter(
            "emr_permission_denials",
            "Requests refused for a missing permission.",
            ["permission"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
