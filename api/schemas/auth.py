from pydantic import Field

from api.schemas.base import RequestModel, ResponseModel


class TokenPair(ResponseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 - OAuth2 token type, not a secret
    expires_in: int = Field(description="Seconds until the access token expires.")


class RefreshRequest(RequestModel):
    refresh_token: str = Field(min_length=1, max_length=512)


class MfaEnrolment(ResponseModel):
    secret: str = Field(description="Base32 TOTP secret, shown once.")
    otpauth_uri: str


class MfaEnrolRequest(RequestModel):
    password: str = Field(min_length=1, max_length=1024, description="The current password.")


class MfaConfirm(RequestModel):
    otp: str = Field(pattern=r"^\d{6}$")


class MfaStatus(ResponseModel):
    mfa_enabled: bool
