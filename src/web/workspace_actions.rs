//! The workspace console's forms: invite, revoke, change a role, remove, save the policy.
//! Each runs for a manager of the workspace and returns to the console with a notice; a
//! refusal the owner can fix (the last owner, a bad date) is shown on the console itself.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveDate, TimeZone, Utc};
use serde::Deserialize;

use crate::domain::workspace::roles::MemberChange;
use crate::domain::workspace::{AcceptedMethods, Membership, PolicyRequest, Role};
use crate::error::Error;
use crate::service::Caller;
use crate::service::workspaces::{self, invitations, members};
use crate::state::AppState;

use super::workspace_console::{problem, show};
use super::{CheckedForm, CsrfField, CsrfForm, fail};

/// Runs a console action for a manager of the workspace, then returns to the console
/// with `done`; a refusal the owner can fix is shown on the console itself.
async fn act<F>(state: &AppState, caller: &Caller, id: &str, done: &str, action: F) -> Response
where
    F: AsyncFnOnce(&Membership) -> crate::error::Result<()>,
{
    let by = match workspaces::authorize(state, caller, id).await {
        Ok(by) => by,
        Err(e) => return problem(state, caller, e),
    };
    match action(&by).await {
        Ok(()) => Redirect::to(&format!("/workspaces/{id}?done={done}")).into_response(),
        Err(e @ (Error::InvalidRequest(_) | Error::LastOwner | Error::Enable2faFirst | Error::RateLimited { .. })) => {
            let message = e.to_string();
            show(state, caller, id, StatusCode::CONFLICT, None, |p| p.error = Some(message)).await
        }
        Err(Error::Forbidden) => problem(state, caller, Error::Forbidden),
        Err(Error::ReauthRequired) => {
            super::reauth::reauth_prompt_back(state, caller, None, &format!("/workspaces/{id}"))
        }
        Err(e) => fail(state, Some(caller), e),
    }
}

#[derive(Deserialize)]
pub struct InviteForm {
    csrf: String,
    email: String,
    role: String,
}

impl CsrfField for InviteForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

fn parse_role(text: &str) -> crate::error::Result<Role> {
    Role::parse(text).ok_or_else(|| Error::InvalidRequest("role must be owner, admin or member".into()))
}

pub async fn invite(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CheckedForm(caller, form): CheckedForm<InviteForm>,
) -> Response {
    act(&state, &caller, &id, "invited", async |by| {
        invitations::send(&state, &caller, by, &form.email, parse_role(&form.role)?).await.map(|_| ())
    })
    .await
}

pub async fn revoke(
    State(state): State<AppState>,
    Path((id, invitation)): Path<(String, String)>,
    CheckedForm(caller, _): CheckedForm<CsrfForm>,
) -> Response {
    act(&state, &caller, &id, "revoked", async |by| invitations::revoke(&state, &caller, by, &invitation).await).await
}

#[derive(Deserialize)]
pub struct RoleForm {
    csrf: String,
    role: String,
}

impl CsrfField for RoleForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn set_role(
    State(state): State<AppState>,
    Path((id, user)): Path<(String, String)>,
    CheckedForm(caller, form): CheckedForm<RoleForm>,
) -> Response {
    act(&state, &caller, &id, "role", async |by| {
        members::change(&state, &caller, by, &user, MemberChange::SetRole(parse_role(&form.role)?)).await
    })
    .await
}

pub async fn remove(
    State(state): State<AppState>,
    Path((id, user)): Path<(String, String)>,
    CheckedForm(caller, _): CheckedForm<CsrfForm>,
) -> Response {
    if user == caller.user_id {
        // Leaving: allowed even while the policy locks the member out.
        return match workspaces::membership(&state, &caller, &id).await {
            Ok(by) => match members::change(&state, &caller, &by, &user, MemberChange::Remove).await {
                Ok(()) => Redirect::to("/security#workspaces-h").into_response(),
                Err(e @ Error::LastOwner) => {
                    let message = e.to_string();
                    show(&state, &caller, &id, StatusCode::CONFLICT, None, |p| p.error = Some(message)).await
                }
                Err(e) => problem(&state, &caller, e),
            },
            Err(e) => problem(&state, &caller, e),
        };
    }
    act(&state, &caller, &id, "removed", async |by| {
        members::change(&state, &caller, by, &user, MemberChange::Remove).await
    })
    .await
}

#[derive(Deserialize)]
pub struct PolicyForm {
    csrf: String,
    require_2fa: Option<String>,
    accepted_methods: String,
    /// `YYYY-MM-DD`: from midnight UTC of that day; empty: at once.
    enforce_from: Option<String>,
}

impl CsrfField for PolicyForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

fn parse_policy(form: &PolicyForm, now: chrono::DateTime<Utc>) -> crate::error::Result<PolicyRequest> {
    let accepted_methods = AcceptedMethods::parse(&form.accepted_methods)
        .ok_or_else(|| Error::InvalidRequest("choose which methods the workspace accepts".into()))?;
    let enforce_at = match form.enforce_from.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        None => None,
        Some(day) => {
            let date = NaiveDate::parse_from_str(day, "%Y-%m-%d")
                .map_err(|_| Error::InvalidRequest("the date must look like 2026-12-31".into()))?;
            Some(Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).unwrap_or_default()))
        }
    };
    Ok(PolicyRequest {
        require_2fa: form.require_2fa.is_some(),
        accepted_methods: Some(accepted_methods),
        // The form shows the deadline, so an empty box means at once (where the API's
        // left-out field would keep the old one).
        enforce_at: Some(enforce_at.unwrap_or(now)),
    })
}

pub async fn set_policy(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CheckedForm(caller, form): CheckedForm<PolicyForm>,
) -> Response {
    act(&state, &caller, &id, "policy", async |by| {
        workspaces::policy::set(&state, &caller, by, parse_policy(&form, state.clock.now())?).await.map(|_| ())
    })
    .await
}
