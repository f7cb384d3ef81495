"""CDS Hooks 2.0 request and response bodies (https://cds-hooks.hl7.org/2.0/).

Field names are the specification's (camelCase). Optional attributes without a value are
omitted from responses, never null or empty, as the specification requires. The request's
top level refuses unknown fields; hook contexts and FHIR resources are open (clients send
more than this service reads).
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.schemas.base import RequestModel

Indicator = Literal["info", "warning", "critical"]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)


class CodingIn(_Open):
    system: str | None = Field(default=None, max_length=300)
    code: str | None = Field(default=None, max_length=100)
    display: str | None = Field(default=None, max_length=500)


class CodeableConceptIn(_Open):
    coding: list[CodingIn] = Field(default_factory=list, max_length=20)


class ResourceIn(_Open):
    resourceType: str = Field(max_length=64)
    id: str | None = Field(default=None, max_length=64)
    medicationCodeableConcept: CodeableConceptIn | None = None


class BundleEntryIn(_Open):
    resource: ResourceIn | None = None


class BundleIn(_Open):
    resourceType: Literal["Bundle"]
    entry: list[BundleEntryIn] = Field(default_factory=list, max_length=200)


class HookContextIn(_Open):
    userId: str = Field(min_length=1, max_length=200)
    patientId: str = Field(min_length=1, max_length=64)
    encounterId: str | None = Field(default=None, min_length=1, max_length=64)
    selections: list[str] | None = Field(default=None, max_length=200)
    draftOrders: BundleIn | None = None


class HookRequestIn(RequestModel):
    hook: str = Field(min_length=1, max_length=100)
    hookInstance: str = Field(min_length=1, max_length=100)
    fhirServer: str | None = Field(default=None, max_length=2000)
    fhirAuthorization: dict[str, Any] | None = None
    context: HookContextIn
    prefetch: dict[str, Any] | None = None
    extension: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _order_select_has_orders(self) -> "HookRequestIn":
        if self.hook == "order-select" and (
            self.context.selections is None or self.context.draftOrders is None
        ):
            raise ValueError("an order-select context needs selections and draftOrders")
        return self


class ServiceOut(BaseModel):
    hook: str
    title: str
    description: str
    id: str
    prefetch: dict[str, str] | None = None


class DiscoveryOut(BaseModel):
    services: list[ServiceOut]


class CodingOut(BaseModel):
    system: str
    code: str
    display: str


class SourceOut(BaseModel):
    label: str
    url: str | None = None
    topic: CodingOut | None = None


class ActionOut(BaseModel):
    type: Literal["create", "update", "delete"]
    description: str
    resourceId: str | None = None


class SuggestionOut(BaseModel):
    label: str
    uuid: str | None = None
    isRecommended: bool | None = None
    actions: list[ActionOut] | None = None


class LinkOut(BaseModel):
    label: str
    url: str
    type: Literal["absolute", "smart"]


class CardOut(BaseModel):
    uuid: str
    summary: str = Field(max_length=139)
    detail: str | None = None
    indicator: Indicator
    source: SourceOut
    suggestions: list[SuggestionOut] | None = None
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    overrideReasons: list[CodingOut] | None = None
    links: list[LinkOut] | None = None
    extension: dict[str, Any] | None = None


class CardsOut(BaseModel):
    cards: list[CardOut]
