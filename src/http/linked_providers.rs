//! `/me/linked-providers`: the OpenID providers an account signs in with.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::Result;
use crate::service::oauth;
use crate::state::AppState;

use super::error::ErrorBody;
use super::extract::{ApiPath, Auth, Client, SessionAuth};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(unlink))
}

#[derive(Serialize, ToSchema)]
pub struct LinkedProviderView {
    /// The provider's id, as in `GET /auth/providers`.
    provider: String,
    /// Its display name; the id when the provider is no longer configured.
    name: String,
    /// The email the provider last gave.
    email: Option<String>,
    linked_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
}

/// Providers linked to the account: a sign-in through one of them opens this account.
/// A link is made on the first provider sign-in, through the email the provider verified.
#[utoipa::path(get, path = "/me/linked-providers", tag = "auth", security(("bearer" = [])), responses(
    (status = 200, body = [LinkedProviderView]), (status = 401, body = ErrorBody),
))]
async fn list(State(state): State<AppState>, Auth(caller): Auth) -> Result<axum::Json<Vec<LinkedProviderView>>> {
    let linked = oauth::linked(&state, &caller).await?;
    Ok(axum::Json(
        linked
            .into_iter()
            .map(|l| LinkedProviderView {
                name: state.oauth.display_name(&l.provider),
                provider: l.provider,
                email: l.email,
                linked_at: l.linked_at,
                last_used_at: l.last_used_at,
            })
            .collect(),
    ))
}

/// Unlinks a provider. Refused with 409 `last_sign_in_method` while it is the account's
/// only way in (no password and no other provider): set a password first. Needs a
/// recent sign-in or re-auth.
#[utoipa::path(delete, path = "/me/linked-providers/{provider}", tag = "auth", security(("bearer" = [])),
    params(("provider" = String, Path)), responses(
    (status = 204), (status = 401, body = ErrorBody),
    (status = 403, description = "`reauth_required` or `session_required`", body = ErrorBody),
    (status = 404, description = "not linked", body = ErrorBody),
    (status = 409, description = "`last_sign_in_method`", body = ErrorBody),
))]
async fn unlink(
    State(state): State<AppState>,
    SessionAuth(caller): SessionAuth,
    Client(ctx): Client,
    ApiPath(provider): ApiPath<String>,
) -> Result<StatusCode> {
    oauth::unlink(&state, &caller, &ctx, &provider).await?;
    Ok(StatusCode::NO_CONTENT)
}
