"""The REST API's request and response models: they validate what comes in, shape what goes out, and the
OpenAPI document is generated from them (one source of truth)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

FLOW_ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"
# Version numbers are database integers: anything larger is refused as input, never sent to the database.
MAX_VERSION = 999_999_999
VersionNumber = Annotated[int, Field(ge=1, le=MAX_VERSION)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ErrorItem(_Model):
    step: str | None = Field(description="The flow step the problem concerns, when it concerns one")
    field: str | None = Field(description="The field (dotted path) that is wrong")
    message: str


class ErrorDocument(_Model):
    errors: list[ErrorItem]


class LocalizedTitle(_Model):
    en: str
    zh: str


class FlowListItem(_Model):
    flow_id: str
    title: LocalizedTitle
    published_version: int | None
    has_draft: bool


class FlowList(_Model):
    flows: list[FlowListItem]


class VersionItem(_Model):
    version: int
    published_by: str
    note: str
    created_at: datetime


class DraftOut(_Model):
    definition: dict[str, Any]
    updated_by: str
    updated_at: datetime
    warnings: list[ErrorItem]


class FlowOut(_Model):
    flow_id: str
    published_version: int | None
    published: dict[str, Any] | None
    draft: DraftOut | None
    versions: list[VersionItem]


class FlowDefinitionBody(BaseModel):
    """A flow definition (see flows.flow_json_schema()); validated in full, every problem reported."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"additionalProperties": True})


class DraftSaved(_Model):
    flow_id: str
    warnings: list[ErrorItem]


class PublishResult(_Model):
    version: int


class VersionOut(_Model):
    flow_id: str
    version: int
    definition: dict[str, Any]


class DiffQuery(_Model):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    from_: int = Field(alias="from", ge=1, le=MAX_VERSION)
    to: int = Field(ge=1, le=MAX_VERSION)


class DiffOut(_Model):
    flow_id: str
    from_version: int
    to_version: int
    changes: list[str]


class RollbackRequest(_Model):
    version: VersionNumber


class SimulateRequest(_Model):
    source: Literal["draft"] | VersionNumber = Field(description='"draft" or a published version number')
    lang: Literal["en", "zh"] = "en"
    channel: Literal["web", "telegram", "wechat", "slack"] = "web"
    messages: list[str] = Field(min_length=1, max_length=60)


class ButtonOut(_Model):
    value: str
    label: str


class RenderedReply(_Model):
    text: str
    buttons: list[ButtonOut]


class ProposalOut(_Model):
    field: str
    value: str
    label: str
    confidence: float


class SimulatedTurn(_Model):
    said: str
    replies: list[RenderedReply]
    proposals: list[ProposalOut]
    step: str | None
    case_filed: bool


class SimulateOut(_Model):
    flow_id: str
    version: int | None
    channel: str
    turns: list[SimulatedTurn]


class CaseFilters(_Model):
    """The case list's filters, shared by the list (GET /api/v1/cases) and the export."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    status: str | None = Field(default=None, max_length=32)
    team: str | None = Field(default=None, max_length=100)
    category: str | None = Field(default=None, max_length=100)
    product: str | None = Field(default=None, max_length=200)
    channel: str | None = Field(default=None, max_length=16)
    language: str | None = Field(default=None, max_length=8)
    since: datetime | None = None
    until: datetime | None = None

    @field_validator("status", "team", "category", "product", "channel", "language")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        # No stored value holds one, and the databases refuse it in text (and the audit entry's JSON).
        if value is not None and "\x00" in value:
            raise ValueError("must not contain a NUL character")
        return value


class CaseListQuery(CaseFilters):
    text: str | None = Field(default=None, max_length=200)
    cursor: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=50, ge=1, le=200)


class CaseListItem(_Model):
    number: str
    status: str
    channel: str
    lang: str
    name: str | None
    product: str | None
    category: str | None
    team: str | None
    assignee: str | None
    created_at: datetime


class CaseList(_Model):
    cases: list[CaseListItem]
    next_cursor: str | None


class EvidenceOut(_Model):
    id: int
    file_name: str
    media_type: str
    size: int
    sha256: str
    url: str


class TranscriptOut(_Model):
    direction: str
    author: str
    text: str
    created_at: datetime


class EventOut(_Model):
    kind: str
    actor: str
    data: dict[str, Any]
    created_at: datetime


class CaseOut(_Model):
    number: str
    status: str
    channel: str
    sender_id: str
    lang: str
    name: str | None
    phone: str | None
    email: str | None
    description: str | None
    occurred_at: str | None
    occurred_where: str | None
    product: str | None
    product_confidence: float | None
    category: str | None
    category_confidence: float | None
    expected_resolution: str | None
    extra: dict[str, Any]
    team: str | None
    assignee: str | None
    resolution_summary: str | None
    resolution_code: str | None
    flow_id: str | None
    flow_version: int | None
    contacts_masked: bool
    created_at: datetime
    updated_at: datetime
    evidence: list[EvidenceOut]
    transcript: list[TranscriptOut]
    events: list[EventOut]
    priority: str | None = None
    linked_cases: list[str] = []


CaseActionName = Literal["acknowledge", "assign", "reply", "note", "reclassify", "resolve", "close", "reopen"]


class CaseActionRequest(_Model):
    action: CaseActionName
    assignee: str | None = Field(default=None, min_length=1, max_length=100)
    text: str | None = Field(default=None, min_length=1, max_length=4000)
    product: str | None = Field(default=None, max_length=200)
    category: str | None = Field(default=None, max_length=100)
    summary: str | None = Field(default=None, min_length=1, max_length=4000)
    code: str | None = Field(default=None, min_length=1, max_length=64)


class CaseActionResult(_Model):
    outcome: Literal["applied", "duplicate"]
    case_number: str
    status: str


class AuditQuery(_Model):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    actor: str | None = Field(default=None, max_length=300)
    object: str | None = Field(default=None, max_length=32, description="flow, case, user, token, ...")
    object_id: str | None = Field(default=None, max_length=255)
    since: datetime | None = None
    until: datetime | None = None
    cursor: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=50, ge=1, le=200)


class AuditEntryOut(_Model):
    id: int
    actor: str
    via: str
    source_ip: str | None
    action: str
    object: str
    object_id: str
    changes: list[str]
    before: Any
    after: Any
    created_at: datetime


class AuditList(_Model):
    entries: list[AuditEntryOut]
    next_cursor: str | None


# --- desk settings: catalog, taxonomy, routing, SLA policies ----------------------------------------------------

SETTINGS_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"


def _readable(value: str) -> str:
    """No control characters, no lone surrogates (broken JSON): texts a database stores and a person reads."""
    if any((ch < " " and ch not in "\t\n\r") or "\ud800" <= ch <= "\udfff" for ch in value):
        raise ValueError("contains control characters or broken Unicode")
    return value


Readable = AfterValidator(_readable)
Term = Annotated[str, Field(min_length=1, max_length=200), Readable]


class LocalizedText(_Model):
    en: Term
    zh: Term


class LocalizedTerms(_Model):
    en: list[Term] = Field(default_factory=list, max_length=200)
    zh: list[Term] = Field(default_factory=list, max_length=200)


class CatalogProduct(_Model):
    id: str = Field(pattern=SETTINGS_ID_PATTERN, description="What cases store: keep it stable")
    label: LocalizedText
    names: LocalizedTerms = Field(default_factory=LocalizedTerms, description="What customers call the product")
    aliases: list[Term] = Field(default_factory=list, max_length=200)
    skus: list[Term] = Field(default_factory=list, max_length=200)
    model_prefixes: list[Annotated[str, Field(min_length=2, max_length=20, pattern=r"^[A-Za-z0-9-]+$")]] = Field(
        default_factory=list, max_length=20
    )
    related: LocalizedTerms = Field(default_factory=LocalizedTerms, description="Words that point to it indirectly")


class CatalogDocument(_Model):
    """The product catalog, in the order products are offered as buttons."""

    products: list[CatalogProduct] = Field(min_length=1, max_length=2000)
    services_under_product: bool = Field(
        True, description="A complaint about a service around a product (its delivery, installation, repair visit, "
                          "refund, warranty) is about that product; false: no product is proposed for it (the "
                          "customer is asked)")


class TaxonomyCategory(_Model):
    id: str = Field(pattern=SETTINGS_ID_PATTERN)
    label: LocalizedText


class TaxonomyDocument(_Model):
    """The complaint categories (the shipped category models predict their ids)."""

    categories: list[TaxonomyCategory] = Field(min_length=1, max_length=500)


class SettingsDocumentBody(BaseModel):
    """A routing or SLA document (the YAML file's shape, as JSON; or YAML with Content-Type:
    application/yaml); validated in full, every problem reported."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"additionalProperties": True})


class SettingsOut(_Model):
    kind: str
    version: int = Field(description="0: the shipped or configured file is in force (never edited here)")
    saved_by: str | None
    saved_at: datetime | None
    document: dict[str, Any]


class SettingsSaved(_Model):
    kind: str
    version: int


# --- webhook subscriptions -----------------------------------------------------------------------------------

WebhookEventName = Literal[
    "case.filed", "case.updated", "case.status_changed", "case.resolved", "case.reopened", "csat.received",
    "sla.breached", "spike.detected",
]


def _webhook_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host name")
    if parts.username or parts.password:
        raise ValueError("must not carry credentials (they would show in listings and logs)")
    return value


WebhookUrl = Annotated[str, Field(min_length=8, max_length=2000), Readable, AfterValidator(_webhook_url)]


class WebhookCreate(_Model):
    url: WebhookUrl
    events: list[WebhookEventName] = Field(min_length=1, max_length=8)
    secret: Annotated[str, Readable] | None = Field(default=None, min_length=16, max_length=255,
                               description="Signs every delivery; omitted: Plaint makes one and shows it once")
    personal_data: bool = Field(default=False, description="Send names and contacts unmasked")


class WebhookOut(_Model):
    id: int
    url: str
    events: list[str]
    personal_data: bool
    active: bool
    created_at: datetime


class WebhookWithSecret(_Model):
    webhook: WebhookOut
    secret: str = Field(description="Shown once: store it where the receiver verifies signatures")


class WebhookList(_Model):
    webhooks: list[WebhookOut]


class DeliveryOut(_Model):
    id: int
    webhook_id: int | None
    event_id: str
    event: str
    case_number: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    replay_of: int | None
    created_at: datetime
    delivered_at: datetime | None


class DeliveryList(_Model):
    deliveries: list[DeliveryOut]


class DeliveryQuery(_Model):
    model_config = ConfigDict(extra="ignore", frozen=True)

    status: Literal["pending", "delivered", "failed", "dead", "cancelled"] | None = None
    limit: int = Field(default=50, ge=1, le=200)


class Removed(_Model):
    removed: int


# --- saved case views ------------------------------------------------------------------------------------------

CASE_VIEW_FILTERS = ("status", "team", "category", "product", "channel", "language", "text", "since", "until")


class CaseViewCreate(_Model):
    name: Annotated[str, Field(min_length=1, max_length=100), Readable]
    filters: dict[str, Annotated[str, Field(max_length=200), Readable]] = Field(
        description=f"The case list's filters: {', '.join(CASE_VIEW_FILTERS)}"
    )

    @field_validator("filters")
    @classmethod
    def _known_filters(cls, filters: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(filters) - set(CASE_VIEW_FILTERS))
        if unknown:
            raise ValueError(f"unknown filter(s) {', '.join(unknown)} (one of {', '.join(CASE_VIEW_FILTERS)})")
        return {key: value.strip() for key, value in filters.items() if value.strip()}


class CaseViewOut(_Model):
    id: int
    name: str
    filters: dict[str, str]
    created_by: str
    created_at: datetime


class CaseViewList(_Model):
    views: list[CaseViewOut]
