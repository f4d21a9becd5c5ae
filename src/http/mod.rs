//! The HTTP API: one router per area, merged here with the cross-cutting layers.

mod access_log;
mod api_tokens;
mod auth;
pub mod cookies;
mod device_grant;
mod email;
pub mod error;
pub mod extract;
mod forward_auth;
mod history;
mod introspection;
mod linked_providers;
mod me;
mod metrics;
mod nul_guard;
mod openapi;
mod ops;
mod passkeys;
mod security_events;
mod security_headers;
mod security_keys;
mod sessions;
mod trusted_devices;
mod two_factor;
mod workspaces;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// Bodies are small JSON documents; anything bigger is refused before it is read.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

/// The JSON API and the operational routes (`/healthz`, `/metrics`, the OpenAPI document).
pub fn routes(state: AppState) -> Router<AppState> {
    let (api, mut spec) = api_router(state).split_for_parts();
    openapi::add_common_errors(&mut spec);
    // Tokens, secrets and codes travel in these answers: no cache may keep any of them.
    let api = api.layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    ));
    Router::new().merge(api).merge(ops::router(&spec)).route("/auth/verify", axum::routing::get(forward_auth::verify))
}

/// What every request passes, whatever answers it: the contract's 404 and 405, the NUL
/// guard, metrics and the access log, the body limit, the security headers, tracing.
pub fn layered(routes: Router<AppState>, state: AppState) -> Router {
    let https = state.config.is_https();
    routes
        .fallback(|| async { error::plain(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .method_not_allowed_fallback(|| async {
            error::plain(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this route does not answer that method")
        })
        .layer(axum::middleware::from_fn(nul_guard::refuse_nul))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(security_headers::layer(https, &state.config.settings.return_origins))
        // The path, never the query: a provider's callback carries its code and state there.
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
            tracing::debug_span!("request", method = %request.method(), path = %request.uri().path())
        }))
        .with_state(state)
}

/// Every `/api/v1` route, with its OpenAPI description.
pub fn api_router(state: AppState) -> OpenApiRouter<AppState> {
    let routes = OpenApiRouter::new()
        .merge(auth::router())
        .merge(passkeys::router())
        .merge(email::router())
        .merge(device_grant::router())
        .merge(me::router())
        .merge(sessions::router())
        .merge(history::router())
        .merge(two_factor::router())
        .merge(security_keys::router())
        .merge(security_events::router())
        .merge(trusted_devices::router())
        .merge(linked_providers::router())
        .merge(workspaces::router(state))
        .merge(api_tokens::router())
        .merge(introspection::router());
    OpenApiRouter::with_openapi(openapi::base()).nest("/api/v1", routes)
}
