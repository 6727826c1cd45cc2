"""Models of the client commands of PROTOCOL.md §2, with every limit the protocol sets.

Lengths are counted in UTF-16 code units, as AXP's validators and JavaScript's `.length` do.
The models are the wire edge: wire names appear only as aliases. Validation needs one piece of
configuration, the identifier kinds a tenant accepts, passed as the validation context
(`{"identifier_kinds": frozenset[str]}`; the default kinds otherwise).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Final, Literal, NewType

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    Strict,
    ValidationInfo,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from axp_chat_connector.protocol.codes import DEFAULT_IDENTIFIER_KINDS, CommandType, MessageFormat

CommandId = NewType("CommandId", str)
Seq = NewType("Seq", int)
"""A durable event's number in its session: 1, 2, 3… (0: none yet)."""

ID_MAX: Final = 64
DISPLAY_NAME_MAX: Final = 70
IDENTIFIER_KINDS_MAX: Final = 10
IDENTIFIER_KIND_MAX: Final = 50
IDENTIFIER_VALUES_MAX: Final = 5
IDENTIFIER_VALUE_MAX: Final = 256
PARAMETERS_MAX: Final = 20
PARAMETER_KEY_MAX: Final = 64
PARAMETER_VALUE_MAX: Final = 256
CONVERSATION_MAX: Final = 256
TEXT_MAX: Final = 4096
ACTION_TEXT_MAX: Final = 50
ACTION_PAYLOAD_MAX: Final = 512
HISTORY_LIMIT_MAX: Final = 50
TOKEN_MAX: Final = 4096
ID_TOKEN_MAX: Final = 8192
SEQ_MAX: Final = 2**53 - 1
"""The largest seq or index a client may send (JavaScript's largest safe integer); larger
numbers are refused (`bad_request`) before they reach the store."""


def utf16_length(text: str) -> int:
    """The length of `text` in UTF-16 code units (a character outside the BMP counts 2)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _bounded(low: int, high: int) -> Callable[[str], str]:
    def check(text: str) -> str:
        if text.isascii():
            size = len(text)
        else:
            try:
                size = len(text.encode("utf-16-le")) // 2
            except UnicodeEncodeError:
                raise PydanticCustomError(
                    "invalid_unicode", "must not contain unpaired surrogates"
                ) from None
        if size < low:
            raise PydanticCustomError(
                "too_short", "must be at least {low} characters", {"low": low}
            )
        if size > high:
            raise PydanticCustomError(
                "too_long", "must be at most {high} characters (UTF-16)", {"high": high}
            )
        return text

    return check


@dataclass(frozen=True, slots=True)
class _Text:
    """A string of `low` to `high` UTF-16 code units: checked after the type, published in the JSON
    Schema as `minLength`/`maxLength` (which count code points there: a bound never stricter)."""

    low: int
    high: int

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        check = _bounded(self.low, self.high)
        return core_schema.no_info_after_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        published = handler(schema)
        if self.low:
            published["minLength"] = self.low
        published["maxLength"] = self.high
        return published


def _text(low: int, high: int) -> _Text:
    return _Text(low, high)


def _allowed_kind(kind: str, info: ValidationInfo) -> str:
    context = info.context
    allowed: frozenset[str] = DEFAULT_IDENTIFIER_KINDS
    if isinstance(context, Mapping):
        allowed = context.get("identifier_kinds", DEFAULT_IDENTIFIER_KINDS)
    if kind not in allowed:
        raise PydanticCustomError(
            "unknown_identifier_kind",
            "unknown identifier kind; allowed: {allowed}",
            {"allowed": ", ".join(sorted(allowed))},
        )
    return kind


Id = Annotated[
    CommandId,
    _text(1, ID_MAX),
    Field(description="chosen by the client, unique within the session; the answer's `re`"),
]
IdentifierKind = Annotated[str, _text(1, IDENTIFIER_KIND_MAX), AfterValidator(_allowed_kind)]
IdentifierValues = Annotated[
    list[Annotated[str, _text(1, IDENTIFIER_VALUE_MAX)]],
    Field(min_length=1, max_length=IDENTIFIER_VALUES_MAX),
]
Identifiers = Annotated[
    dict[IdentifierKind, IdentifierValues],
    Field(
        min_length=1,
        max_length=IDENTIFIER_KINDS_MAX,
        description="values by identifier kind, e.g. emailAddresses, phoneNumbers (the kinds "
        "configured for the tenant's Customer Journey)",
    ),
]
Parameters = Annotated[
    dict[
        Annotated[str, _text(1, PARAMETER_KEY_MAX)],
        Annotated[str, _text(0, PARAMETER_VALUE_MAX)],
    ],
    Field(max_length=PARAMETERS_MAX, description="string values by key"),
]
Index = Annotated[int, Field(ge=0, le=SEQ_MAX)]
SeqValue = Annotated[Seq, Field(ge=0, le=SEQ_MAX)]


class _Frame(BaseModel):
    model_config = ConfigDict(
        strict=True, frozen=True, extra="ignore", populate_by_name=True, validate_by_alias=True
    )


class Customer(_Frame):
    """Guest-mode customer data (a pre-chat form)."""

    display_name: Annotated[str, _text(1, DISPLAY_NAME_MAX)] = Field(
        alias="displayName", description="the customer's name as agents see it"
    )
    identifiers: Identifiers


class ChosenAction(_Frame):
    """The customer's answer to an agent's quick reply or button."""

    model_config = ConfigDict(
        json_schema_extra={"anyOf": [{"required": ["text"]}, {"required": ["payload"]}]}
    )
    text: Annotated[str, _text(0, ACTION_TEXT_MAX)] | None = None
    payload: Annotated[str, _text(0, ACTION_PAYLOAD_MAX)] | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> ChosenAction:
        if self.text is None and self.payload is None:
            raise PydanticCustomError("missing", "needs text or payload")
        return self


def _one_of(field: str, names: str) -> PydanticCustomError:
    return PydanticCustomError(
        "one_of", "exactly one of {names} is required", {"names": names, "field": field}
    )


class Login(_Frame):
    model_config = ConfigDict(
        json_schema_extra={"oneOf": [{"required": ["customer"]}, {"required": ["idToken"]}]}
    )
    type: ClassVar[CommandType] = CommandType.LOGIN
    id: Id
    customer: Customer | None = Field(default=None, description="guest mode: pre-chat form data")
    id_token: Annotated[str, _text(1, ID_TOKEN_MAX)] | None = Field(
        default=None, alias="idToken", description="verified mode: a JWT from the site's backend"
    )
    parameters: Parameters = Field(default_factory=dict, description="AXP session parameters")

    @model_validator(mode="after")
    def _one_identity(self) -> Login:
        if (self.customer is None) == (self.id_token is None):
            raise _one_of("customer", "customer, idToken")
        return self


class Resume(_Frame):
    type: ClassVar[CommandType] = CommandType.RESUME
    id: Id
    token: Annotated[str, _text(1, TOKEN_MAX)] = Field(description="the session token")
    after: SeqValue = Field(description="the last seq the client has (0: none)")


class Context(_Frame):
    type: ClassVar[CommandType] = CommandType.CONTEXT
    id: Id
    parameters: Parameters


class Identify(_Frame):
    type: ClassVar[CommandType] = CommandType.IDENTIFY
    id: Id
    identifiers: Identifiers


class Start(_Frame):
    type: ClassVar[CommandType] = CommandType.START
    id: Id
    conversation: Annotated[str, _text(0, CONVERSATION_MAX)] | None = Field(
        default=None, description="AXP's conversation (the topic)"
    )
    parameters: Parameters = Field(default_factory=dict, description="AXP engagement parameters")


class Send(_Frame):
    """Exactly one of `text` (with `format`), `reply` or `postback`."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [{"required": [name]} for name in ("text", "reply", "postback")]
        }
    )
    type: ClassVar[CommandType] = CommandType.SEND
    id: Id
    text: Annotated[str, _text(1, TEXT_MAX)] | None = None
    format: Annotated[MessageFormat, Strict(False)] = MessageFormat.PLAINTEXT
    reply: ChosenAction | None = Field(default=None, description="a chosen quick reply")
    postback: ChosenAction | None = Field(default=None, description="a pressed button")

    @model_validator(mode="after")
    def _one_content(self) -> Send:
        given = (self.text is not None) + (self.reply is not None) + (self.postback is not None)
        if given != 1:
            raise _one_of("text", "text, reply, postback")
        return self


class History(_Frame):
    type: ClassVar[CommandType] = CommandType.HISTORY
    id: Id
    limit: Annotated[int, Field(ge=1, le=HISTORY_LIMIT_MAX)] = HISTORY_LIMIT_MAX
    before: Index | None = Field(default=None, description="only messages with a lower index")


class End(_Frame):
    type: ClassVar[CommandType] = CommandType.END
    id: Id
    reason: Literal["USER_CLOSED"] = "USER_CLOSED"


class Logout(_Frame):
    type: ClassVar[CommandType] = CommandType.LOGOUT
    id: Id


class Ack(_Frame):
    """The only command whose `id` is optional: without one it gets no answer."""

    type: ClassVar[CommandType] = CommandType.ACK
    id: Id | None = None
    seq: SeqValue = Field(description="the last seq the client has")


class Ping(_Frame):
    type: ClassVar[CommandType] = CommandType.PING
    id: Id


Command = Login | Resume | Context | Identify | Start | Send | History | End | Logout | Ack | Ping

MODELS: Final[Mapping[str, type[Command]]] = {
    model.type.value: model
    for model in (Login, Resume, Context, Identify, Start, Send, History, End, Logout, Ack, Ping)
}
"""Command model by wire `type`."""
