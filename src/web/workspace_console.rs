//! `/workspaces/{id}`: the console where owners and admins roll 2FA out to a team —
//! members and their factors, invitations, the policy, the activity log. The forms call
//! the same services as the API and come back here with a notice.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveDate, TimeZone, Utc};
use serde::Deserialize;

use crate::domain::workspace::roles::MemberChange;
use crate::domain::workspace::{AcceptedMethods, Access, Membership, PolicyRequest, Role};
use crate::error::Error;
use crate::service::Caller;
use crate::service::workspaces::{self, activity, invitations, members};
use crate::state::AppState;

use super::{Browser, CheckedForm, CsrfField, CsrfForm, fail, render, when};

pub struct MemberRow {
    user_id: String,
    email: String,
    role: &'static str,
    two_factor: String,
    access: &'static str,
    is_me: bool,
}

pub struct InvitationRow {
    id: String,
    email: String,
    role: &'static str,
    expires: String,
}

pub struct EventRow {
    at: String,
    actor: String,
    kind: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "workspace.html")]
struct ConsolePage {
    csrf: String,
    id: String,
    name: String,
    plan: &'static str,
    my_role: &'static str,
    notice: Option<String>,
    error: Option<String>,
    without_2fa_only: bool,
    members: Vec<MemberRow>,
    roles: Vec<&'static str>,
    invitable: Vec<&'static str>,
    invitations: Vec<InvitationRow>,
    require_2fa: bool,
    phishing_resistant: bool,
    enforce_from: String,
    policy_summary: String,
    events: Vec<EventRow>,
}

#[derive(Template)]
#[template(path = "problem.html")]
struct ProblemPage {
    title: &'static str,
    message: String,
    link: &'static str,
    link_label: &'static str,
}

/// The console's refusals as pages: not a member (404), not a manager or locked out (403).
fn problem(state: &AppState, caller: &Caller, e: Error) -> Response {
    let (status, title) = match &e {
        Error::NotFound => (StatusCode::NOT_FOUND, "No such workspace"),
        Error::Forbidden => (StatusCode::FORBIDDEN, "Owners and admins only"),
        Error::WorkspaceRequires2fa | Error::EnrolmentRequired => {
            (StatusCode::FORBIDDEN, "Two-factor authentication required")
        }
        _ => return fail(state, Some(caller), e),
    };
    let page = ProblemPage { title, message: e.to_string(), link: "/security", link_label: "Go to your security page" };
    render(status, &page)
}

const ROLES: [Role; 3] = [Role::Owner, Role::Admin, Role::Member];

fn methods_label(factors: &crate::domain::factors::Factors) -> String {
    let mut parts = Vec::new();
    if factors.totp_created_at.is_some() {
        parts.push("authenticator app".to_owned());
    }
    if factors.webauthn_keys > 0 {
        parts.push(format!("{} key{}", factors.webauthn_keys, if factors.webauthn_keys == 1 { "" } else { "s" }));
    }
    if parts.is_empty() { "none".to_owned() } else { parts.join(", ") }
}

async fn load(
    state: &AppState,
    caller: &Caller,
    by: &Membership,
    filter: Option<members::TwoFactorFilter>,
) -> crate::error::Result<ConsolePage> {
    let rows = members::list(state, by, filter).await?;
    let pending = invitations::pending(state, by).await?;
    let events = activity::list(state, by, 50, None).await?;
    let policy = by.workspace.policy;
    let policy_summary = if policy.require_2fa {
        let from = policy.enforce_at.map(when).unwrap_or_default();
        format!("Members need {} (enforced from {from}).", policy.accepted_methods.describe())
    } else {
        "Two-factor authentication is not required.".to_owned()
    };
    Ok(ConsolePage {
        csrf: state.secrets.csrf_token(caller.credential_id()),
        id: by.workspace.id.clone(),
        name: by.workspace.name.clone(),
        plan: by.workspace.plan.as_str(),
        my_role: by.role.as_str(),
        notice: None,
        error: None,
        without_2fa_only: filter == Some(members::TwoFactorFilter::Off),
        members: rows
            .into_iter()
            .map(|s| MemberRow {
                is_me: s.member.user_id == caller.user_id,
                two_factor: methods_label(&s.member.factors),
                user_id: s.member.user_id,
                email: s.member.email,
                role: s.member.role.as_str(),
                access: match s.access {
                    Access::Ok => "ok",
                    Access::Grace => "grace",
                    Access::TwoFactorRequired => "locked",
                },
            })
            .collect(),
        roles: ROLES.iter().map(|r| r.as_str()).collect(),
        invitable: ROLES.iter().filter(|r| by.role.may_grant(**r)).map(|r| r.as_str()).collect(),
        invitations: pending
            .into_iter()
            .map(|i| InvitationRow { id: i.id, email: i.email, role: i.role.as_str(), expires: when(i.expires_at) })
            .collect(),
        require_2fa: policy.require_2fa,
        phishing_resistant: policy.accepted_methods == AcceptedMethods::PhishingResistant,
        enforce_from: policy
            .enforce_at
            .filter(|at| *at > state.clock.now())
            .map(|at| at.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        policy_summary,
        events: events
            .into_iter()
            .map(|e| EventRow {
                at: when(e.at),
                actor: e.actor_email.unwrap_or_else(|| "operator".to_owned()),
                kind: e.kind.replace('_', " "),
                detail: e.detail.summary(),
            })
            .collect(),
    })
}

async fn show(
    state: &AppState,
    caller: &Caller,
    workspace_id: &str,
    status: StatusCode,
    filter: Option<members::TwoFactorFilter>,
    edit: impl FnOnce(&mut ConsolePage),
) -> Response {
    let by = match workspaces::authorize(state, caller, workspace_id).await {
        Ok(by) if by.role.manages() => by,
        Ok(_) => return problem(state, caller, Error::Forbidden),
        Err(e) => return problem(state, caller, e),
    };
    match load(state, caller, &by, filter).await {
        Ok(mut page) => {
            edit(&mut page);
            render(status, &page)
        }
        Err(e) => problem(state, caller, e),
    }
}

#[derive(Deserialize)]
pub struct ConsoleQuery {
    two_factor: Option<String>,
    done: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<ConsoleQuery>,
    Browser(caller): Browser,
) -> Response {
    let filter = (q.two_factor.as_deref() == Some("off")).then_some(members::TwoFactorFilter::Off);
    let notice = q.done.as_deref().and_then(|d| match d {
        "invited" => Some("Invitation sent."),
        "revoked" => Some("Invitation revoked."),
        "role" => Some("Role changed."),
        "removed" => Some("Member removed."),
        "policy" => Some("Policy saved."),
        _ => None,
    });
    show(&state, &caller, &id, StatusCode::OK, filter, |p| p.notice = notice.map(str::to_owned)).await
}

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
