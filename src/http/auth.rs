//! `/auth/*`: sign-up, sign-in, sign-out.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::device::DeviceKind;
use crate::domain::password::Password;
use crate::error::{Error, Result};
use crate::service::auth::{self, LoginInput};
use crate::service::second_factor::challenge;
use crate::service::sign_in::LoginOutcome;
use crate::state::AppState;

use super::error::ErrorBody;
use super::extract::{ApiJson, Client, SessionAuth, TRUSTED_COOKIE, cookie};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signup))
        .routes(routes!(login))
        .routes(routes!(mfa))
        .routes(routes!(reauth))
        .routes(routes!(reauth_passkey_start))
        .routes(routes!(logout))
        .routes(routes!(providers))
}

#[derive(Deserialize, ToSchema)]
pub struct SignupBody {
    email: String,
    password: String,
}

#[derive(Serialize, ToSchema)]
pub struct SignupResponse {
    id: String,
    email: String,
}

/// Creates an account with a password. Open unless the `signup` setting is off.
#[utoipa::path(post, path = "/auth/signup", tag = "auth", request_body = SignupBody, responses(
    (status = 201, body = SignupResponse),
    (status = 400, description = "malformed body or email", body = ErrorBody),
    (status = 403, description = "`signup_closed`", body = ErrorBody),
    (status = 409, description = "`email_taken`", body = ErrorBody),
    (status = 422, description = "`password_policy` with `violations`", body = ErrorBody),
    (status = 429, description = "`rate_limited`: too many sign-ups from this address", body = ErrorBody),
))]
async fn signup(
    State(state): State<AppState>,
    Client(ctx): Client,
    ApiJson(body): ApiJson<SignupBody>,
) -> Result<impl IntoResponse> {
    let user = auth::signup(&state, &ctx, &body.email, Password::new(body.password)).await?;
    Ok((StatusCode::CREATED, axum::Json(SignupResponse { id: user.id, email: user.email })))
}

#[derive(Deserialize, ToSchema)]
pub struct DeviceClaim {
    /// `desktop`, `browser` or `mobile`; from the User-Agent when left out.
    pub(super) kind: Option<DeviceKind>,
    /// A label such as `CMDOP Desktop 2.3 (macOS)`; from the User-Agent when left out.
    pub(super) name: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct LoginBody {
    email: String,
    password: String,
    /// Ask for a trusted-device token that skips 2FA on this device for a while.
    #[serde(default)]
    remember_device: bool,
    /// A token from an earlier `remember_device`; the `latchkey_trusted` cookie works too.
    trusted_device_token: Option<String>,
    device: Option<DeviceClaim>,
}

#[derive(Serialize, ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum LoginResponse {
    /// Signed in: `token` is the bearer token of the new session.
    Ok {
        token: String,
        session_id: String,
        /// Present when `remember_device` was asked: send it as `trusted_device_token` at
        /// the next sign-in to skip the second factor on this device.
        #[serde(skip_serializing_if = "Option::is_none")]
        trusted_device_token: Option<String>,
    },
    /// The password was right and a second factor is needed: send `mfa_token` to
    /// `POST /auth/mfa` within 5 minutes. `methods` lists what the account can use.
    MfaRequired {
        mfa_token: String,
        methods: Vec<String>,
        /// PublicKeyCredentialRequestOptions JSON for `navigator.credentials.get`, when the
        /// account has security keys.
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(value_type = Option<Object>)]
        webauthn: Option<serde_json::Value>,
    },
}

impl From<LoginOutcome> for LoginResponse {
    fn from(outcome: LoginOutcome) -> Self {
        match outcome {
            LoginOutcome::SignedIn { token, session_id, trusted_device_token, .. } => Self::Ok {
                token: token.expose().to_owned(),
                session_id,
                trusted_device_token: trusted_device_token.map(|t| t.expose().to_owned()),
            },
            LoginOutcome::MfaRequired { mfa_token, methods, webauthn } => Self::MfaRequired {
                mfa_token: mfa_token.expose().to_owned(),
                methods: methods.into_iter().map(str::to_owned).collect(),
                webauthn: webauthn.and_then(|o| serde_json::to_value(o).ok()),
            },
        }
    }
}

/// Signs in with email and password. Unknown email and wrong password answer the same
/// 401 `invalid_credentials` in the same time.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginBody, responses(
    (status = 200, body = LoginResponse),
    (status = 400, body = ErrorBody),
    (status = 401, description = "`invalid_credentials`", body = ErrorBody),
    (status = 429, description = "`rate_limited` with `retry_after`: progressive delays after 5 failures per account \
(1 s, 3 s, 5 s, 10 s, 30 s, 60 s, then 5 min, over a 15-minute window), and at most 99 failures per client address (an IPv6 address by its /64) in 15 minutes; when both are locked, `retry_after` is the wait until the later lock ends. \
Each attempt is counted before the password is checked (and given back when it is right), so parallel requests get no more checks than sequential ones; \
refused attempts write at most one `rate_limited` history row per account in 15 minutes", body = ErrorBody),
    (status = 503, description = "`overloaded`: too many sign-ins queued", body = ErrorBody),
))]
async fn login(
    State(state): State<AppState>,
    Client(ctx): Client,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<axum::Json<LoginResponse>> {
    let (device_kind, device_name) = body.device.map_or((None, None), |d| (d.kind, d.name));
    let input = LoginInput {
        email: body.email,
        password: Password::new(body.password),
        remember_device: body.remember_device,
        trusted_device_token: body
            .trusted_device_token
            .or_else(|| cookie(&headers, TRUSTED_COOKIE.name(state.config.is_https()))),
        device_kind,
        device_name,
    };
    Ok(axum::Json(auth::login(&state, &ctx, input).await?.into()))
}

#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum MfaMethod {
    Totp,
    BackupCode,
    Webauthn,
}

#[derive(Deserialize, ToSchema)]
pub struct MfaBody {
    mfa_token: String,
    method: MfaMethod,
    /// The 6-digit code, or a backup code (`xxxxx-xxxxx`, any case, dash optional).
    code: Option<String>,
    /// With `webauthn`: the PublicKeyCredential from `navigator.credentials.get`.
    #[schema(value_type = Option<Object>)]
    credential: Option<serde_json::Value>,
    /// Also honoured when asked at the password step.
    #[serde(default)]
    remember_device: bool,
}

/// The second sign-in step. Five wrong codes, or five minutes, end the `mfa_token`.
#[utoipa::path(post, path = "/auth/mfa", tag = "auth", request_body = MfaBody, responses(
    (status = 200, body = LoginResponse),
    (status = 400, body = ErrorBody),
    (status = 401, description = "`invalid_code` or `mfa_token_expired`", body = ErrorBody),
    (status = 429, description = "`rate_limited` after repeated wrong codes for the account; each code is counted (against the `mfa_token` and the account) before it is checked, so parallel guesses get no more than 5 answers per `mfa_token`", body = ErrorBody),
))]
async fn mfa(
    State(state): State<AppState>,
    Client(ctx): Client,
    ApiJson(body): ApiJson<MfaBody>,
) -> Result<axum::Json<LoginResponse>> {
    let method = match body.method {
        MfaMethod::Totp => challenge::Method::Totp,
        MfaMethod::BackupCode => challenge::Method::BackupCode,
        MfaMethod::Webauthn => challenge::Method::Webauthn,
    };
    let input = challenge::MfaInput {
        mfa_token: body.mfa_token,
        method,
        code: body.code,
        credential: body.credential,
        remember_device: body.remember_device,
    };
    Ok(axum::Json(challenge::complete(&state, &ctx, input).await?.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct ReauthBody {
    /// The account's password...
    password: Option<String>,
    /// ...or a fresh code from its authenticator app...
    code: Option<String>,
    /// ...or a passkey: the `challenge_id` of `POST /auth/reauth/passkey/start`...
    challenge_id: Option<String>,
    /// ...and the PublicKeyCredential from `navigator.credentials.get`.
    #[schema(value_type = Option<Object>)]
    credential: Option<serde_json::Value>,
}

/// Proves the password, a fresh authenticator code or a passkey again, refreshing the
/// 10-minute window that sensitive actions (password change, disabling 2FA, backup codes,
/// adding or removing a factor) need. An account with only passkeys uses the last.
#[utoipa::path(post, path = "/auth/reauth", tag = "auth", security(("bearer" = [])), request_body = ReauthBody, responses(
    (status = 204),
    (status = 400, description = "none of `password`, `code`, or `challenge_id` with `credential`", body = ErrorBody),
    (status = 401, description = "`invalid_password`, `invalid_code`, `unauthenticated`, or `mfa_required` with `methods` when a password is sent for an account with a second factor (it proves that factor instead: a TOTP or backup code, or a key)", body = ErrorBody),
    (status = 429, description = "`rate_limited`", body = ErrorBody),
))]
async fn reauth(
    State(state): State<AppState>,
    Client(ctx): Client,
    SessionAuth(caller): SessionAuth,
    ApiJson(body): ApiJson<ReauthBody>,
) -> Result<StatusCode> {
    let proof = match (body.password, body.code, body.challenge_id, body.credential) {
        (Some(p), ..) => auth::Proof::Password(Password::new(p)),
        (None, Some(c), ..) => auth::Proof::Code(c),
        (None, None, Some(challenge_id), Some(credential)) => auth::Proof::Passkey {
            challenge_id,
            credential: serde_json::from_value(credential)
                .map_err(|e| Error::InvalidRequest(format!("credential: {e}")))?,
        },
        _ => return Err(Error::InvalidRequest("send `password`, `code`, or `challenge_id` with `credential`".into())),
    };
    auth::reauth(&state, &ctx, &caller, proof).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct ReauthStart {
    /// Send back with the credential to `POST /auth/reauth` within 5 minutes.
    challenge_id: String,
    /// PublicKeyCredentialRequestOptions JSON, listing the account's passkeys, user
    /// verification required.
    #[schema(value_type = Object)]
    options: serde_json::Value,
}

/// Starts a re-authentication with one of the account's passkeys.
#[utoipa::path(post, path = "/auth/reauth/passkey/start", tag = "auth", security(("bearer" = [])), responses(
    (status = 200, body = ReauthStart),
    (status = 400, description = "the account has no passkey", body = ErrorBody),
    (status = 401, body = ErrorBody),
    (status = 403, description = "`session_required`", body = ErrorBody),
))]
async fn reauth_passkey_start(
    State(state): State<AppState>,
    SessionAuth(caller): SessionAuth,
) -> Result<axum::Json<ReauthStart>> {
    let (challenge_id, options) = crate::service::passkeys::start_reauth(&state, &caller).await?;
    Ok(axum::Json(ReauthStart { challenge_id, options: serde_json::to_value(options).map_err(Error::internal)? }))
}

/// Ends the calling session; its token is refused from the next request on.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", security(("bearer" = [])), responses(
    (status = 204), (status = 401, body = ErrorBody),
))]
async fn logout(State(state): State<AppState>, SessionAuth(caller): SessionAuth) -> Result<StatusCode> {
    auth::logout(&state, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct Provider {
    id: String,
    name: String,
}

/// The OAuth / OpenID Connect providers configured for sign-in (`[[oauth.providers]]`).
/// A browser signs in with one at `GET /auth/oauth/{id}/start` (outside `/api/v1`).
#[utoipa::path(get, path = "/auth/providers", tag = "auth", responses((status = 200, body = [Provider])))]
async fn providers(State(state): State<AppState>) -> axum::Json<Vec<Provider>> {
    axum::Json(
        state.oauth.configured().map(|p| Provider { id: p.id.as_str().to_owned(), name: p.name.clone() }).collect(),
    )
}
