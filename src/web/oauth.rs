//! `GET /auth/oauth/{provider}/start` and `/callback`: sign-in through an OpenID provider.
//!
//! Both are browser navigations, so failures are pages (4xx HTML) that say what went
//! wrong and lead back to the sign-in page, never JSON.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::domain::oauth::Failure;
use crate::domain::token::SecretToken;
use crate::error::Error;
use crate::http::cookies::{self, OAUTH_COOKIE};
use crate::http::extract::{Client, TRUSTED_COOKIE, cookie as read_cookie};
use crate::service::oauth::{self, CallbackParams, FLOW_LIFETIME, Finished};
use crate::service::sessions;
use crate::state::AppState;

use super::render;
use super::sign_in::finish;

#[derive(Template)]
#[template(path = "oauth_error.html")]
struct ErrorPage {
    title: String,
    message: String,
}

pub async fn start(
    State(state): State<AppState>,
    Client(ctx): Client,
    Path(provider): Path<String>,
    headers: HeaderMap,
) -> Response {
    let binding = read_cookie(&headers, OAUTH_COOKIE.name(state.config.is_https()));
    match oauth::start(&state, &ctx, &provider, binding.as_deref()).await {
        Ok(started) => to_provider(&state, &started),
        Err(e) => error_page(&state, &provider, e),
    }
}

/// The redirect to the provider, with the cookie that binds the flow to this browser.
pub(super) fn to_provider(state: &AppState, started: &oauth::Started) -> Response {
    let mut response = Redirect::to(&started.redirect_to).into_response();
    let binding = started.browser_binding.expose();
    let max_age = FLOW_LIFETIME.num_seconds();
    let cookie = cookies::set(&state.config, OAUTH_COOKIE, binding, max_age);
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

pub async fn callback(
    State(state): State<AppState>,
    Client(ctx): Client,
    Path(provider): Path<String>,
    params: Result<Query<CallbackParams>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    // A query that does not even parse (a field twice, say) did not come from the provider.
    let Ok(Query(params)) = params else {
        return error_page(&state, &provider, Failure::StateInvalid.into());
    };
    let https = state.config.is_https();
    let binding = read_cookie(&headers, OAUTH_COOKIE.name(https));
    let trusted = read_cookie(&headers, TRUSTED_COOKIE.name(https));
    // The browser's session, if any: a link flow finishes only in the account that started it.
    let signed_in = match cookies::read_session(&headers, &state.config).as_deref().and_then(SecretToken::parse) {
        Some(token) => sessions::authenticate(&state, &token).await.ok().map(|c| c.user_id),
        None => None,
    };
    match oauth::finish(&state, &ctx, &provider, params, binding.as_deref(), trusted.as_deref(), signed_in.as_deref())
        .await
    {
        Ok(Finished::SignIn(outcome)) => finish(&state, *outcome, false, &headers, None).await,
        Ok(Finished::Linked) => Redirect::to("/security?done=provider_linked").into_response(),
        Err(e) => error_page(&state, &provider, e),
    }
}

fn error_page(state: &AppState, provider: &str, e: Error) -> Response {
    let name = state.oauth.get(provider).map_or_else(|| "the provider".to_owned(), |p| p.name.clone());
    let message = match &e {
        Error::NotFound => "There is no such sign-in provider here.".to_owned(),
        Error::SignupClosed => {
            format!("No account here uses the email {name} gave, and sign-up is closed on this server.")
        }
        Error::OAuth(f) => f.to_string(),
        Error::RateLimited { .. } => "Too many sign-ins from here; wait a few minutes.".to_owned(),
        Error::ProviderAlreadyLinked => format!("{name} is already linked to your account."),
        _ => return e.into_response(),
    };
    let page = ErrorPage { title: format!("Sign-in with {name} did not work"), message };
    let mut response = render(e.status_and_code().0, &page);
    if let Error::RateLimited { retry_after } = e {
        response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(retry_after));
    }
    response
}
