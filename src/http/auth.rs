//! `/auth/*`: sign-up, sign-in, sign-out.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::device::DeviceKind;
use crate::domain::password::Password;
use crate::error::Result;
use crate::service::auth::{self, LoginInput, LoginOutcome};
use crate::state::AppState;

use super::error::ErrorBody;
use super::extract::{ApiJson, Auth, Client};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signup))
        .routes(routes!(login))
        .routes(routes!(logout))
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
))]
async fn signup(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SignupBody>,
) -> Result<impl IntoResponse> {
    let user = auth::signup(&state, &body.email, Password::new(body.password)).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(SignupResponse {
            id: user.id,
            email: user.email,
        }),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct DeviceClaim {
    /// `desktop`, `browser` or `mobile`; from the User-Agent when left out.
    kind: Option<DeviceKind>,
    /// A label such as `CMDOP Desktop 2.3 (macOS)`; from the User-Agent when left out.
    name: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct LoginBody {
    email: String,
    password: String,
    #[serde(default)]
    #[allow(dead_code)]
    // Read once trusted devices land; accepted now so clients need not change.
    remember_device: bool,
    #[allow(dead_code)]
    trusted_device_token: Option<String>,
    device: Option<DeviceClaim>,
}

#[derive(Serialize, ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum LoginResponse {
    /// Signed in: `token` is the bearer token of the new session.
    Ok { token: String, session_id: String },
}

/// Signs in with email and password. Unknown email and wrong password answer the same
/// 401 `invalid_credentials` in the same time.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginBody, responses(
    (status = 200, body = LoginResponse),
    (status = 400, body = ErrorBody),
    (status = 401, description = "`invalid_credentials`", body = ErrorBody),
    (status = 503, description = "`overloaded`: too many sign-ins queued", body = ErrorBody),
))]
async fn login(
    State(state): State<AppState>,
    Client(ctx): Client,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<axum::Json<LoginResponse>> {
    let (device_kind, device_name) = body.device.map_or((None, None), |d| (d.kind, d.name));
    let input = LoginInput {
        email: body.email,
        password: Password::new(body.password),
        device_kind,
        device_name,
    };
    match auth::login(&state, &ctx, input).await? {
        LoginOutcome::SignedIn { token, session_id } => Ok(axum::Json(LoginResponse::Ok {
            token: token.expose().to_owned(),
            session_id,
        })),
    }
}

/// Ends the calling session; its token is refused from the next request on.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", security(("bearer" = [])), responses(
    (status = 204), (status = 401, body = ErrorBody),
))]
async fn logout(State(state): State<AppState>, Auth(caller): Auth) -> Result<StatusCode> {
    auth::logout(&state, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}
