//! `/me/tokens`: personal access tokens.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::api_token::ApiToken;
use crate::error::Result;
use crate::service::api_tokens;
use crate::state::AppState;

use super::error::ErrorBody;
use super::extract::{ApiJson, ApiPath, Client, SessionAuth};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create, list)).routes(routes!(delete))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateTokenBody {
    name: String,
    /// 1 to 365 (the `api_token_max_days` setting); 90 when left out.
    expires_in_days: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    id: String,
    name: String,
    /// `lk_pat_...`: shown only now.
    token: String,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenView {
    id: String,
    name: String,
    created_at: DateTime<Utc>,
    /// Written at most once a minute.
    last_used_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
}

impl From<ApiToken> for TokenView {
    fn from(t: ApiToken) -> Self {
        Self {
            id: t.id,
            name: t.name,
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            expires_at: t.expires_at,
        }
    }
}

/// Creates a token for a bot or script. Needs a recent sign-in; an API token cannot
/// create another.
#[utoipa::path(post, path = "/me/tokens", tag = "api-tokens", security(("bearer" = [])), request_body = CreateTokenBody, responses(
    (status = 201, body = CreatedToken),
    (status = 400, body = ErrorBody),
    (status = 403, description = "`reauth_required` or `session_required`", body = ErrorBody),
    (status = 409, description = "`limit_reached`: 50 tokens per account", body = ErrorBody),
))]
async fn create(
    State(state): State<AppState>,
    SessionAuth(caller): SessionAuth,
    Client(ctx): Client,
    ApiJson(body): ApiJson<CreateTokenBody>,
) -> Result<(StatusCode, axum::Json<CreatedToken>)> {
    let (token, t) = api_tokens::create(&state, &caller, &ctx, &body.name, body.expires_in_days).await?;
    let created = CreatedToken {
        id: t.id,
        name: t.name,
        token: token.expose().to_owned(),
        created_at: t.created_at,
        expires_at: t.expires_at,
    };
    Ok((StatusCode::CREATED, axum::Json(created)))
}

/// The account's tokens, without their secrets.
#[utoipa::path(get, path = "/me/tokens", tag = "api-tokens", security(("bearer" = [])), responses(
    (status = 200, body = [TokenView]), (status = 403, description = "`session_required`", body = ErrorBody),
))]
async fn list(State(state): State<AppState>, SessionAuth(caller): SessionAuth) -> Result<axum::Json<Vec<TokenView>>> {
    Ok(axum::Json(api_tokens::list(&state, &caller).await?.into_iter().map(TokenView::from).collect()))
}

/// Deletes a token; it is refused from the next request on.
#[utoipa::path(delete, path = "/me/tokens/{id}", tag = "api-tokens", security(("bearer" = [])), params(("id" = String, Path)), responses(
    (status = 204), (status = 403, description = "`session_required`", body = ErrorBody), (status = 404, body = ErrorBody),
))]
async fn delete(
    State(state): State<AppState>,
    SessionAuth(caller): SessionAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode> {
    api_tokens::delete(&state, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
