//! `/me` and `/me/password`.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::password::Password;
use crate::error::Result;
use crate::service::account;
use crate::state::AppState;

use super::error::ErrorBody;
use super::extract::{ApiJson, Auth, Client, SessionAuth};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(me)).routes(routes!(change_password))
}

#[derive(Serialize, ToSchema)]
pub struct TwoFactorSummary {
    enabled: bool,
    /// Active second factors: `totp`, `webauthn`.
    methods: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MeResponse {
    id: String,
    email: String,
    /// True once the address is shown to be the holder's: made or linked through a
    /// provider that verified it. Until then, the address's owner signing in through
    /// such a provider takes the account over (see the provider sign-in).
    email_verified: bool,
    /// False for accounts made through OAuth that never set a password.
    has_password: bool,
    two_factor: TwoFactorSummary,
    created_at: DateTime<Utc>,
}

/// The signed-in account. The hot path: every surface calls it.
#[utoipa::path(get, path = "/me", tag = "account", security(("bearer" = [])), responses(
    (status = 200, body = MeResponse), (status = 401, body = ErrorBody),
))]
async fn me(Auth(caller): Auth) -> axum::Json<MeResponse> {
    // Authentication read the account with the session, in the same query.
    let account = caller.account;
    axum::Json(MeResponse {
        id: caller.user_id,
        email: account.email,
        email_verified: account.email_verified,
        has_password: account.has_password,
        two_factor: TwoFactorSummary {
            enabled: account.factors.enabled(),
            methods: account.factors.methods().into_iter().map(str::to_owned).collect(),
        },
        created_at: account.created_at,
    })
}

#[derive(Deserialize, ToSchema)]
pub struct ChangePasswordBody {
    /// Required while the account has a password.
    current_password: Option<String>,
    new_password: String,
}

/// Changes the password and signs out every other session of the account.
#[utoipa::path(post, path = "/me/password", tag = "account", security(("bearer" = [])), request_body = ChangePasswordBody, responses(
    (status = 204),
    (status = 401, description = "`invalid_password` or `unauthenticated`", body = ErrorBody),
    (status = 403, description = "`reauth_required`: sign-in older than the re-auth window", body = ErrorBody),
    (status = 422, description = "`password_policy` with `violations`", body = ErrorBody),
    (status = 429, description = "`rate_limited`: repeated wrong current passwords", body = ErrorBody),
))]
async fn change_password(
    State(state): State<AppState>,
    SessionAuth(caller): SessionAuth,
    Client(ctx): Client,
    ApiJson(body): ApiJson<ChangePasswordBody>,
) -> Result<StatusCode> {
    let current = body.current_password.map(Password::new);
    account::change_password(&state, &caller, &ctx, current, Password::new(body.new_password)).await?;
    Ok(StatusCode::NO_CONTENT)
}
