//! `latchkey user show`: one account at a glance, as text for a person or JSON for scripts.

use std::fmt::Write;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::service::operator::AccountOverview;

fn at(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn maybe(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| "never".to_owned(), at)
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

pub fn text(o: &AccountOverview) -> String {
    let a = &o.account;
    let f = &o.factors;
    let mut out = String::new();
    // Writing to a String cannot fail.
    let mut line = |s: String| {
        let _ = writeln!(out, "{s}");
    };
    line(format!("{} ({})", a.email, a.id));
    line(format!(
        "  status          {}",
        a.disabled_at.map_or_else(|| "active".to_owned(), |t| format!("DISABLED since {}", at(t)))
    ));
    line(format!("  email verified  {}", yes(a.email_verified)));
    line(format!("  password set    {}", yes(a.password_hash.is_some())));
    line(format!("  created         {}", at(a.created_at)));
    line(format!("  last sign-in    {}", maybe(a.last_login_at)));
    line(format!("  2FA             {}", if f.enabled() { f.methods().join(" + ") } else { "off".to_owned() }));
    line(format!(
        "  authenticator   {}",
        f.totp_created_at.map_or_else(|| "none".to_owned(), |t| format!("since {}", at(t)))
    ));
    line(format!("  backup codes    {} left", f.backup_codes_remaining));
    line(format!("  security keys   {}", o.security_keys.len()));
    for k in &o.security_keys {
        line(format!("    {}  added {}, last used {}", k.name, at(k.created_at), maybe(k.last_used_at)));
    }
    line(format!("  providers       {}", o.providers.len()));
    for p in &o.providers {
        line(format!("    {}  {}  linked {}", p.provider, p.email.as_deref().unwrap_or("-"), at(p.linked_at)));
    }
    line(format!("  API tokens      {}", o.api_tokens.len()));
    for t in &o.api_tokens {
        line(format!("    {}  last used {}, expires {}", t.name, maybe(t.last_used_at), maybe(t.expires_at)));
    }
    line(format!("  sessions        {}", o.sessions.len()));
    for s in &o.sessions {
        line(format!(
            "    {}  {} ({})  {}  {}  last active {}",
            s.id,
            s.device.name,
            s.device.kind.as_str(),
            s.ip,
            s.location.label,
            at(s.last_activity_at)
        ));
    }
    line(format!("  workspaces      {}", o.workspaces.len()));
    for m in &o.workspaces {
        line(format!(
            "    {} ({})  {}  {} plan",
            m.workspace.name,
            m.workspace.id,
            m.role.as_str(),
            m.workspace.plan.as_str()
        ));
    }
    line("  latest sign-ins".to_owned());
    for r in &o.sign_ins {
        let e = &r.event;
        let outcome = if e.success { "ok".to_owned() } else { e.failure.clone().unwrap_or_else(|| "failed".into()) };
        line(format!("    {}  {}  {}  {}  {}", at(e.at), e.method, outcome, e.ip, e.location.label));
    }
    line("  latest security events".to_owned());
    for e in &o.events {
        line(format!("    {}  {}  {}", at(e.at), e.kind, e.detail.as_deref().unwrap_or("")));
    }
    out
}

pub fn json(o: &AccountOverview) -> Value {
    let a = &o.account;
    let f = &o.factors;
    json!({
        "id": a.id,
        "email": a.email,
        "email_verified": a.email_verified,
        "password_set": a.password_hash.is_some(),
        "disabled": a.disabled_at.is_some(),
        "disabled_at": a.disabled_at,
        "created_at": a.created_at,
        "last_login_at": a.last_login_at,
        "two_factor": {
            "enabled": f.enabled(),
            "methods": f.methods(),
            "totp_enabled_at": f.totp_created_at,
            "backup_codes_remaining": f.backup_codes_remaining,
            "security_keys": o.security_keys.iter().map(|k| json!({
                "id": k.id, "name": k.name, "created_at": k.created_at, "last_used_at": k.last_used_at,
            })).collect::<Vec<_>>(),
        },
        "providers": o.providers.iter().map(|p| json!({
            "provider": p.provider, "email": p.email, "linked_at": p.linked_at, "last_used_at": p.last_used_at,
        })).collect::<Vec<_>>(),
        "api_tokens": o.api_tokens.iter().map(|t| json!({
            "id": t.id, "name": t.name, "created_at": t.created_at, "last_used_at": t.last_used_at, "expires_at": t.expires_at,
        })).collect::<Vec<_>>(),
        "sessions": o.sessions.iter().map(|s| json!({
            "id": s.id, "device": s.device, "ip": s.ip, "location": s.location,
            "created_at": s.created_at, "last_activity_at": s.last_activity_at,
        })).collect::<Vec<_>>(),
        "workspaces": o.workspaces.iter().map(|m| json!({
            "id": m.workspace.id, "name": m.workspace.name, "role": m.role.as_str(), "plan": m.workspace.plan.as_str(),
            "require_2fa": m.workspace.policy.require_2fa,
            "accepted_methods": m.workspace.policy.accepted_methods.as_str(), "enforce_at": m.workspace.policy.enforce_at,
        })).collect::<Vec<_>>(),
        "recent_sign_ins": o.sign_ins.iter().map(|r| json!({
            "at": r.event.at, "success": r.event.success, "method": r.event.method, "failure": r.event.failure,
            "ip": r.event.ip, "location": r.event.location, "mfa_challenged": r.event.mfa_challenged,
        })).collect::<Vec<_>>(),
        "recent_security_events": o.events.iter().map(|e| json!({
            "at": e.at, "kind": e.kind, "ip": e.ip, "location": e.location, "detail": e.detail,
        })).collect::<Vec<_>>(),
    })
}
