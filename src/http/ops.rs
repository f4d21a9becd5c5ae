//! Operations: liveness (no database: also the benchmark's baseline route), health,
//! metrics, and the OpenAPI description.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use utoipa::openapi::OpenApi;

use crate::state::AppState;

pub fn router(openapi: &OpenApi) -> axum::Router<AppState> {
    // Rendered once: the description does not change while the server runs.
    let spec = openapi.to_pretty_json().unwrap_or_default();
    axum::Router::new()
        .route("/livez", get(|| async { "ok" }))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let spec = spec.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], spec) }
            }),
        )
}

async fn healthz(State(state): State<AppState>) -> Response {
    match crate::service::maintenance::database_answers(&state).await {
        Ok(()) => (StatusCode::OK, Json(serde_json::json!({"status": "ok"}))).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: database does not answer");
            super::error::plain(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the database does not answer")
        }
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], state.metrics.render())
}
