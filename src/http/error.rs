//! The contract's error body: `{"error": "<code>", "message": "<text>"}` plus extra fields.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::password::Violation;
use crate::error::Error;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable snake_case code to branch on.
    pub error: &'static str,
    /// Human-readable text; may change between versions.
    pub message: String,
    /// With `password_policy`: every rule the new password breaks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub violations: Option<Vec<Violation>>,
    /// With `rate_limited`: seconds to wait before trying again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// With `mfa_required`: the second factors that may be sent (`totp`, `backup_code`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<&'static str>>,
}

impl Error {
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::InvalidRequest(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            Self::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            Self::InsufficientUserAuthentication(_) => (StatusCode::FORBIDDEN, "insufficient_user_authentication"),
            Self::NotAMember => (StatusCode::FORBIDDEN, "not_a_member"),
            Self::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            Self::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            Self::InvalidPassword => (StatusCode::UNAUTHORIZED, "invalid_password"),
            Self::EmailTaken => (StatusCode::CONFLICT, "email_taken"),
            Self::SignupClosed => (StatusCode::FORBIDDEN, "signup_closed"),
            Self::PasswordPolicy(_) => (StatusCode::UNPROCESSABLE_ENTITY, "password_policy"),
            Self::InvalidCode => (StatusCode::UNAUTHORIZED, "invalid_code"),
            Self::CodeRejected => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_code"),
            Self::MfaTokenExpired => (StatusCode::UNAUTHORIZED, "mfa_token_expired"),
            Self::LastFactor => (StatusCode::CONFLICT, "last_factor"),
            Self::SetupRequired => (StatusCode::CONFLICT, "setup_required"),
            Self::TwoFactorNotEnabled => (StatusCode::CONFLICT, "2fa_not_enabled"),
            Self::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            Self::WorkspaceRequires2fa => (StatusCode::FORBIDDEN, "workspace_requires_2fa"),
            Self::EnrolmentRequired => (StatusCode::FORBIDDEN, "2fa_enrolment_required"),
            Self::Enable2faFirst => (StatusCode::CONFLICT, "enable_2fa_first"),
            Self::AlreadyMember => (StatusCode::CONFLICT, "already_member"),
            Self::LastOwner => (StatusCode::CONFLICT, "last_owner"),
            Self::InvitationMismatch => (StatusCode::FORBIDDEN, "invitation_mismatch"),
            Self::PlanRequired => (StatusCode::FORBIDDEN, "plan_required"),
            Self::PlanNotAllowed => (StatusCode::FORBIDDEN, "plan_not_allowed"),
            Self::TooMany(_) => (StatusCode::CONFLICT, "limit_reached"),
            Self::SessionRequired => (StatusCode::FORBIDDEN, "session_required"),
            Self::CeremonyExpired => (StatusCode::BAD_REQUEST, "challenge_expired"),
            Self::InvalidCredential => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_credential"),
            Self::WebauthnUnavailable => (StatusCode::SERVICE_UNAVAILABLE, "webauthn_unavailable"),
            Self::ReauthRequired => (StatusCode::FORBIDDEN, "reauth_required"),
            Self::CsrfFailed => (StatusCode::FORBIDDEN, "csrf_failed"),
            Self::LastSignInMethod => (StatusCode::CONFLICT, "last_sign_in_method"),
            Self::ProviderAlreadyLinked => (StatusCode::CONFLICT, "provider_already_linked"),
            Self::OAuth(f) => {
                use crate::domain::oauth::Failure;
                match f {
                    Failure::StateInvalid | Failure::OtherBrowser => (StatusCode::BAD_REQUEST, "oauth_state_invalid"),
                    Failure::ProviderError { .. } | Failure::InvalidAnswer { .. } => {
                        (StatusCode::BAD_REQUEST, "oauth_provider_error")
                    }
                    Failure::ProviderUnreachable { .. } => (StatusCode::BAD_GATEWAY, "oauth_provider_unreachable"),
                    Failure::EmailMissing { .. } | Failure::EmailUnverified { .. } => {
                        (StatusCode::FORBIDDEN, "oauth_email_unverified")
                    }
                    Failure::LinkedElsewhere { .. } => (StatusCode::CONFLICT, "oauth_linked_elsewhere"),
                }
            }
            Self::DevicePoll(answer) => {
                use crate::domain::device_grant::PollAnswer;
                let code = match answer {
                    PollAnswer::AuthorizationPending => "authorization_pending",
                    PollAnswer::SlowDown => "slow_down",
                    PollAnswer::AccessDenied => "access_denied",
                    PollAnswer::ExpiredToken => "expired_token",
                    PollAnswer::InvalidGrant | PollAnswer::Issue => "invalid_grant",
                };
                (StatusCode::BAD_REQUEST, code)
            }
            Self::InvalidUserCode => (StatusCode::NOT_FOUND, "invalid_user_code"),
            Self::UserCodeExpired => (StatusCode::GONE, "user_code_expired"),
            Self::UserCodeUsed => (StatusCode::CONFLICT, "user_code_used"),
            Self::InvalidToken => (StatusCode::BAD_REQUEST, "invalid_token"),
            Self::MfaRequired { .. } => (StatusCode::UNAUTHORIZED, "mfa_required"),
            Self::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            Self::Overloaded => (StatusCode::SERVICE_UNAVAILABLE, "overloaded"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let Self::Internal(cause) = &self {
            // The cause goes to the log only; the client learns nothing about internals.
            tracing::error!(error = ?cause, "internal error");
        }
        let mut message = self.to_string();
        if let Self::PasswordPolicy(v) = &self {
            let reasons: Vec<_> = v.iter().map(|v| v.describe()).collect();
            message = format!("the password {}", reasons.join("; "));
        }
        let body = ErrorBody {
            error: code,
            message,
            violations: match &self {
                Self::PasswordPolicy(v) => Some(v.clone()),
                _ => None,
            },
            retry_after: match &self {
                Self::RateLimited { retry_after } => Some(*retry_after),
                _ => None,
            },
            methods: match &self {
                Self::MfaRequired { methods } => Some(methods.clone()),
                _ => None,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if let Self::RateLimited { retry_after } = self {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        if let Self::InsufficientUserAuthentication(why) = self {
            let challenge = format!("Bearer error=\"insufficient_user_authentication\", error_description=\"{why}\"");
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}

/// A bare error answer for layers outside the handlers (404 fallback, 405, 413).
pub fn plain(status: StatusCode, code: &'static str, message: impl Into<String>) -> Response {
    (
        status,
        Json(ErrorBody { error: code, message: message.into(), violations: None, retry_after: None, methods: None }),
    )
        .into_response()
}
