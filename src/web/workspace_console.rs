//! `/workspaces/{id}`: the console where owners and admins roll 2FA out to a team —
//! members and their factors, invitations, the policy, the activity log. Its forms are in
//! `workspace_actions`; they call the same services as the API and come back here.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use crate::domain::workspace::{AcceptedMethods, Access, Membership, Role};
use crate::error::Error;
use crate::service::Caller;
use crate::service::workspaces::{self, activity, invitations, members};
use crate::state::AppState;

use super::{Browser, fail, render, when};

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
pub(super) struct ConsolePage {
    csrf: String,
    id: String,
    name: String,
    plan: &'static str,
    my_role: &'static str,
    notice: Option<String>,
    pub(super) error: Option<String>,
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
pub(super) fn problem(state: &AppState, caller: &Caller, e: Error) -> Response {
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

pub(super) async fn show(
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
