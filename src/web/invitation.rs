//! `/invite?token=`: the page an invitation's link opens, and its `Accept invitation`.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::error::Error;
use crate::http::extract::SessionAuth;
use crate::service::Caller;
use crate::service::workspaces::invitations;
use crate::state::AppState;

use super::{CheckedForm, CsrfField, fail, render};

#[derive(Template)]
#[template(path = "invite.html")]
struct InvitePage {
    csrf: String,
    signed_in: bool,
    signup_open: bool,
    token: String,
    workspace: String,
    role: &'static str,
    email: String,
    return_here: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "oauth_error.html")]
struct DeadLink {
    title: &'static str,
    message: &'static str,
}

fn dead_link() -> Response {
    let page = DeadLink {
        title: "This invitation is no longer valid",
        message: "It expired, was revoked or was used already. Ask the workspace's owner for a new one.",
    };
    render(StatusCode::BAD_REQUEST, &page)
}

async fn show(
    state: &AppState,
    caller: Option<&Caller>,
    token: &str,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let (invite, workspace) = match invitations::preview(state, token).await {
        Ok(found) => found,
        Err(Error::InvalidToken) => return dead_link(),
        Err(e) => return fail(state, caller, e),
    };
    let here = format!("/invite?token={token}");
    let page = InvitePage {
        csrf: caller.map(|c| state.secrets.csrf_token(c.credential_id())).unwrap_or_default(),
        signed_in: caller.is_some(),
        signup_open: state.config.settings.signup_open,
        token: token.to_owned(),
        workspace,
        role: invite.role.as_str(),
        email: invite.email,
        return_here: here,
        error,
    };
    render(status, &page)
}

#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

/// Open to anyone with the link; the accept button needs the invited, verified address.
pub async fn page(
    State(state): State<AppState>,
    caller: Result<SessionAuth, Error>,
    Query(q): Query<TokenQuery>,
) -> Response {
    let caller = caller.ok().map(|SessionAuth(c)| c);
    show(&state, caller.as_ref(), q.token.as_deref().unwrap_or_default(), StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub struct AcceptForm {
    csrf: String,
    token: String,
}

impl CsrfField for AcceptForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn accept(State(state): State<AppState>, CheckedForm(caller, form): CheckedForm<AcceptForm>) -> Response {
    match invitations::accept(&state, &caller, &form.token).await {
        Ok((workspace_id, role)) if role.manages() => {
            Redirect::to(&format!("/workspaces/{workspace_id}")).into_response()
        }
        Ok(_) => Redirect::to("/security#workspaces-h").into_response(),
        Err(Error::InvalidToken) => dead_link(),
        Err(e @ Error::InvitationMismatch) => {
            show(&state, Some(&caller), &form.token, StatusCode::FORBIDDEN, Some(e.to_string())).await
        }
        Err(e) => fail(&state, Some(&caller), e),
    }
}
