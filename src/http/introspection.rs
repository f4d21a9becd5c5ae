//! `POST /api/v1/introspect` (RFC 7662): a backend asks about a bearer token it was given.
//! The client authenticates with HTTP Basic (`latchkey client add`); the token comes as a
//! form body. A live session or API token answers who and how; anything else only
//! `{"active": false}`.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::Error;
use crate::service::introspection::{self, Introspection};
use crate::state::AppState;

use super::error::ErrorBody;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(introspect))
}

#[derive(Deserialize, ToSchema)]
pub struct IntrospectForm {
    /// The session or API token to ask about.
    token: String,
    /// Accepted and ignored (both kinds are looked up).
    #[allow(dead_code)]
    token_type_hint: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct IntrospectionView {
    active: bool,
    /// The account id.
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    /// The account's email.
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    /// `session` or `api_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'static str>,
    /// The session id (sessions only).
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    /// RFC 8176 methods the session proved (`[]` for an API token).
    #[serde(skip_serializing_if = "Option::is_none")]
    amr: Option<Vec<&'static str>>,
    /// Unix seconds of the session's latest proof (sessions only).
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_time: Option<i64>,
    /// Unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    /// Unix seconds, when the token expires.
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
}

/// RFC 7662 token introspection, for the apps `latchkey client add` made (HTTP Basic with
/// `client_id:client_secret`; wrong secrets are counted per client and lock it out
/// progressively). Revocation is seen at once: nothing is cached.
#[utoipa::path(post, path = "/introspect", tag = "introspection",
    request_body(content = IntrospectForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, body = IntrospectionView, description = "`{\"active\": false}` alone for an unknown, signed-out, expired or revoked token, or a disabled account"),
        (status = 400, description = "`invalid_request`: no `token`", body = ErrorBody),
        (status = 401, description = "`unauthenticated` with `WWW-Authenticate: Basic`: a missing or wrong client", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many wrong secrets for this client", body = ErrorBody),
))]
async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<IntrospectForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Some((id, secret)) = basic(&headers) else { return unauthenticated() };
    match introspection::authenticate_client(&state, &id, &secret).await {
        Ok(()) => {}
        Err(Error::Unauthenticated) => return unauthenticated(),
        Err(e) => return e.into_response(),
    }
    let Ok(Form(form)) = form else {
        return Error::InvalidRequest("send the token as a form body: token=...".into()).into_response();
    };
    match introspection::introspect(&state, &form.token).await {
        Ok(answer) => axum::Json(view(answer)).into_response(),
        Err(e) => e.into_response(),
    }
}

fn view(answer: Introspection) -> IntrospectionView {
    match answer {
        Introspection::Inactive => IntrospectionView {
            active: false,
            sub: None,
            username: None,
            token_type: None,
            sid: None,
            amr: None,
            auth_time: None,
            iat: None,
            exp: None,
        },
        Introspection::Active { user_id, email, session_id, amr, auth_time, issued_at, expires_at } => {
            IntrospectionView {
                active: true,
                sub: Some(user_id),
                username: Some(email),
                token_type: Some(if session_id.is_some() { "session" } else { "api_token" }),
                sid: session_id,
                amr: Some(amr.values()),
                auth_time,
                iat: Some(issued_at),
                exp: expires_at,
            }
        }
    }
}

/// `Authorization: Basic base64(client_id:client_secret)`.
fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let (id, secret) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

fn unauthenticated() -> Response {
    let mut response = Error::Unauthenticated.into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"latchkey\""));
    response
}
