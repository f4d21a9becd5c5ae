//! The Security & 2FA page's model: everything it shows, gathered from the services.

use askama::Template;

use crate::domain::workspace::{Access, AccountPolicy};
use crate::error::Result;
use crate::service::second_factor::security_keys;
use crate::service::{Caller, account, events, history, oauth, sessions, trusted_devices, workspaces};
use crate::state::AppState;

use super::when;

pub struct SetupView {
    pub secret: String,
    pub qr_svg: String,
    pub error: Option<String>,
}

pub struct SessionRow {
    pub id: String,
    pub device_name: String,
    pub device_kind: &'static str,
    pub location: String,
    pub ip: String,
    pub last_activity: String,
    pub current: bool,
}

pub struct HistoryRow {
    pub at: String,
    pub success: bool,
    pub failure: String,
    pub method: String,
    pub ip: String,
    pub location: String,
    pub device_kind: &'static str,
    pub mfa_challenged: bool,
    pub user_agent: String,
}

pub struct DeviceRow {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub location: String,
    pub last_used: String,
    pub expires: String,
    pub current: bool,
}

pub struct KeyRow {
    pub id: String,
    pub name: String,
    /// "Passkey" or "Security key".
    pub kind: &'static str,
    /// Whether the authenticator syncs it: "Synced", "This device only" or "Not synced yet".
    pub synced: &'static str,
    pub created: String,
    pub last_used: String,
}

pub struct WorkspaceRow {
    pub id: String,
    pub name: String,
    pub role: &'static str,
    pub plan: &'static str,
    pub require_2fa: bool,
    /// What the policy accepts, in words.
    pub accepts: &'static str,
    /// `ok`, `grace` or `locked`.
    pub access: &'static str,
    pub deadline: Option<String>,
    /// Owners and admins get a link to the console.
    pub manages: bool,
}

pub struct ProviderRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub linked: String,
}

pub struct EventRow {
    pub at: String,
    pub kind: String,
    pub detail: String,
    pub place: String,
}

#[derive(Template)]
#[template(path = "security.html")]
pub struct SecurityPage {
    pub(super) csrf: String,
    pub(super) email: String,
    pub(super) has_password: bool,
    /// False shows the banner with "Resend".
    pub(super) email_verified: bool,
    /// The new-sign-in alert switch.
    pub(super) new_sign_in_alerts: bool,
    /// Linked providers; unlinking shows only while another way to sign in remains.
    pub(super) providers: Vec<ProviderRow>,
    pub(super) can_unlink: bool,
    /// Configured providers not linked yet: (id, name), each with a "Link {name}" button.
    pub(super) linkable: Vec<(String, String)>,
    pub(super) notice: Option<String>,
    /// The backup codes of a first key, shown on the page this once (never kept in the
    /// browser's storage).
    pub(super) new_key_codes: Vec<String>,
    pub(super) password_errors: Vec<String>,
    pub(super) two_factor_enabled: bool,
    pub(super) totp_since: Option<String>,
    pub(super) backup_codes_remaining: u64,
    /// The operator requires a second factor of every account (`LATCHKEY_REQUIRE_2FA`).
    pub(super) required_by_server: bool,
    /// What the password form says the rules are.
    pub(super) password_rules: &'static str,
    pub(super) totp_setup: Option<SetupView>,
    pub(super) sessions: Vec<SessionRow>,
    pub(super) history: Vec<HistoryRow>,
    pub(super) trusted: Vec<DeviceRow>,
    pub(super) trusted_days: u32,
    pub(super) team_plan: bool,
    pub(super) keys: Vec<KeyRow>,
    /// A passkey just removed, by credential id (base64url) and RP id, for the browser's
    /// WebAuthn Signal API so its password manager stops offering it.
    pub(super) forget_credential: Option<(String, String)>,
    pub(super) workspaces: Vec<WorkspaceRow>,
    pub(super) events: Vec<EventRow>,
}

pub(super) async fn load(state: &AppState, caller: &Caller) -> Result<SecurityPage> {
    let account = &caller.account;
    let factors = &account.factors;
    let sessions = sessions::list(state, caller).await?;
    let logins = history::list(state, caller, Some(20)).await?;
    let devices = trusted_devices::list(state, caller).await?;
    let spaces = workspaces::list_mine(state, caller).await?;
    let policy = AccountPolicy::fold_from(spaces.iter().map(|w| w.membership.workspace.plan));
    let events = events::list(state, caller, 10, None).await?;
    let keys = security_keys::list(state, caller).await?;
    let linked = oauth::linked(state, caller).await?;
    let can_unlink = account.has_password || linked.len() > 1 || keys.iter().any(|k| k.passkey);
    let linkable = state
        .oauth
        .configured()
        .filter(|p| !linked.iter().any(|l| l.provider == p.id.as_str()))
        .map(|p| (p.id.as_str().to_owned(), p.name.clone()))
        .collect();
    Ok(SecurityPage {
        linkable,
        providers: linked
            .into_iter()
            .map(|l| ProviderRow {
                name: state.oauth.display_name(&l.provider),
                id: l.provider,
                email: l.email.unwrap_or_default(),
                linked: when(l.linked_at),
            })
            .collect(),
        can_unlink,
        csrf: state.secrets.csrf_token(caller.credential_id()),
        email: account.email.clone(),
        has_password: account.has_password,
        notice: None,
        new_key_codes: Vec::new(),
        password_errors: Vec::new(),
        two_factor_enabled: factors.enabled(),
        email_verified: account.email_verified,
        new_sign_in_alerts: account::new_sign_in_alerts(state, caller).await?,
        totp_since: factors.totp_created_at.map(when),
        backup_codes_remaining: factors.backup_codes_remaining,
        required_by_server: caller.require_enrolment(state).is_err(),
        password_rules: state.config.settings.password_rules.hint(),
        totp_setup: None,
        sessions: sessions
            .into_iter()
            .map(|s| SessionRow {
                current: s.id == caller.credential_id(),
                id: s.id,
                device_name: s.device.name,
                device_kind: s.device.kind.as_str(),
                location: s.location.label,
                ip: s.ip,
                last_activity: when(s.last_activity_at),
            })
            .collect(),
        history: logins
            .into_iter()
            .map(|r| {
                let e = r.event;
                HistoryRow {
                    at: when(e.at),
                    success: e.success,
                    failure: e.failure.unwrap_or_default().replace('_', " "),
                    method: e.method,
                    ip: e.ip,
                    location: e.location.label,
                    device_kind: e.device_kind.as_str(),
                    mfa_challenged: e.mfa_challenged,
                    user_agent: e.user_agent.unwrap_or_default(),
                }
            })
            .collect(),
        trusted: devices
            .into_iter()
            .map(|d| DeviceRow {
                current: caller.session().and_then(|s| s.trusted_device_id.as_deref()) == Some(d.id.as_str()),
                id: d.id,
                name: d.device.name,
                kind: d.device.kind.as_str(),
                location: d.location.label,
                last_used: when(d.last_used_at),
                expires: when(d.expires_at),
            })
            .collect(),
        trusted_days: state.config.settings.trusted_device_days,
        team_plan: policy.may_use_webauthn(state.config.settings.webauthn_plans),
        keys: keys
            .into_iter()
            .map(|k| KeyRow {
                id: k.id,
                name: k.name,
                kind: if k.passkey { "Passkey" } else { "Security key" },
                synced: match (k.backup_eligible, k.backed_up) {
                    (true, true) => "Synced",
                    (true, false) => "Not synced yet",
                    (false, _) => "This device only",
                },
                created: when(k.created_at),
                last_used: k.last_used_at.map_or_else(|| "never".to_owned(), when),
            })
            .collect(),
        forget_credential: None,
        workspaces: spaces
            .into_iter()
            .map(|w| WorkspaceRow {
                id: w.membership.workspace.id,
                name: w.membership.workspace.name,
                role: w.membership.role.as_str(),
                plan: w.membership.workspace.plan.as_str(),
                require_2fa: w.membership.workspace.policy.require_2fa,
                accepts: w.membership.workspace.policy.accepted_methods.describe(),
                access: match w.access {
                    Access::Ok => "ok",
                    Access::Grace => "grace",
                    Access::TwoFactorRequired => "locked",
                },
                deadline: w.deadline.map(when),
                manages: w.membership.role.manages(),
            })
            .collect(),
        events: events
            .into_iter()
            .map(|e| EventRow {
                at: when(e.at),
                kind: e.kind.replace('_', " "),
                detail: e.detail.unwrap_or_default(),
                place: e.ip.map(|ip| format!("{ip}, {}", e.location.label)).unwrap_or_default(),
            })
            .collect(),
    })
}
