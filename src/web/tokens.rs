//! `/tokens`: the small API tokens page linked from the Security page.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::http::extract::Client;
use crate::service::{Caller, api_tokens};
use crate::state::AppState;

use super::{Browser, CheckedForm, CsrfField, CsrfForm, fail, render, when};

pub struct TokenRow {
    id: String,
    name: String,
    created: String,
    last_used: String,
    expires: String,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    csrf: String,
    new_token: Option<String>,
    error: Option<String>,
    max_days: u32,
    tokens: Vec<TokenRow>,
}

async fn load(state: &AppState, caller: &Caller) -> Result<TokensPage> {
    let tokens = api_tokens::list(state, caller).await?;
    Ok(TokensPage {
        csrf: state.secrets.csrf_token(caller.credential_id()),
        new_token: None,
        error: None,
        max_days: state.config.settings.api_token_max_days,
        tokens: tokens
            .into_iter()
            .map(|t| TokenRow {
                id: t.id,
                name: t.name,
                created: when(t.created_at),
                last_used: t.last_used_at.map_or_else(|| "never".to_owned(), when),
                expires: t.expires_at.map_or_else(|| "never".to_owned(), when),
            })
            .collect(),
    })
}

async fn show(state: &AppState, caller: &Caller, status: StatusCode, edit: impl FnOnce(&mut TokensPage)) -> Response {
    match load(state, caller).await {
        Ok(mut page) => {
            edit(&mut page);
            render(status, &page)
        }
        Err(e) => fail(state, Some(caller), e),
    }
}

pub async fn page(State(state): State<AppState>, Browser(caller): Browser) -> Response {
    show(&state, &caller, StatusCode::OK, |_| {}).await
}

#[derive(Deserialize)]
pub struct CreateForm {
    csrf: String,
    name: String,
    expires_in_days: Option<u32>,
}

impl CsrfField for CreateForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn create(
    State(state): State<AppState>,
    Client(ctx): Client,
    CheckedForm(caller, form): CheckedForm<CreateForm>,
) -> Response {
    let result = async { api_tokens::create(&state, &caller, &ctx, &form.name, form.expires_in_days).await }.await;
    match result {
        Ok((token, _)) => {
            let secret = token.expose().to_owned();
            show(&state, &caller, StatusCode::CREATED, |p| p.new_token = Some(secret)).await
        }
        Err(Error::InvalidRequest(message)) => {
            show(&state, &caller, StatusCode::BAD_REQUEST, |p| p.error = Some(message)).await
        }
        Err(e) => fail(&state, Some(&caller), e),
    }
}

pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CheckedForm(caller, _): CheckedForm<CsrfForm>,
) -> Response {
    let result = async { api_tokens::delete(&state, &caller, &id).await }.await;
    match result {
        Ok(()) => Redirect::to("/tokens").into_response(),
        Err(e) => fail(&state, Some(&caller), e),
    }
}
