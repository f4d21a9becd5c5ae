//! The words of every message Latchkey sends: subject, text, and the same in HTML. Plain
//! Rust, so each is unit tested; the outbox stores what these produce and the mail module
//! only delivers it.

use std::fmt::Write;

use chrono::Duration;

/// The wait before the next try of a message that failed `attempts` times: 2 s, doubling,
/// at most 15 minutes. A message is never given up on; the operator sees it waiting.
pub fn retry_delay(attempts: i64) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    Duration::seconds(2i64.saturating_mul(1 << doublings).min(15 * 60))
}

/// A message as it is queued: to whom, and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Where and from what something happened, for alerts.
#[derive(Debug, Clone, Default)]
pub struct Circumstances {
    /// "2026-12-04 10:31 UTC".
    pub when: String,
    pub ip: Option<String>,
    /// "Berlin, Germany" or "Unknown".
    pub place: Option<String>,
    /// "Chrome on Linux".
    pub device: Option<String>,
}

/// The pieces every message is built from: paragraphs, then an optional button (a link in
/// the text part), then an optional closing paragraph.
struct Draft<'a> {
    paragraphs: Vec<String>,
    action: Option<(&'a str, &'a str)>,
    after: Vec<String>,
}

impl Draft<'_> {
    fn letter(self, to: &str, subject: &str) -> Letter {
        let mut text = String::new();
        let mut html = String::from(
            "<!doctype html><html><body style=\"font-family:system-ui,sans-serif;line-height:1.5;color:#111\">",
        );
        for p in &self.paragraphs {
            let _ = write!(text, "{p}\n\n");
            let _ = write!(html, "<p>{}</p>", escape(p));
        }
        if let Some((label, url)) = self.action {
            let _ = write!(text, "{label}:\n{url}\n\n");
            let _ = write!(
                html,
                "<p><a href=\"{}\" style=\"display:inline-block;padding:.5em 1em;background:#1d4ed8;color:#fff;border-radius:6px;text-decoration:none\">{}</a></p>",
                escape(url),
                escape(label)
            );
        }
        for p in &self.after {
            let _ = write!(text, "{p}\n\n");
            let _ = write!(html, "<p style=\"color:#555\">{}</p>", escape(p));
        }
        text.push_str("-- \nLatchkey\n");
        html.push_str("</body></html>");
        Letter { to: to.to_owned(), subject: subject.to_owned(), text, html }
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn lines(c: &Circumstances) -> Vec<String> {
    let mut out = vec![format!("When: {}", c.when)];
    if let Some(ip) = &c.ip {
        out.push(format!("From: {ip}{}", c.place.as_ref().map(|p| format!(" ({p})")).unwrap_or_default()));
    }
    if let Some(device) = &c.device {
        out.push(format!("Device: {device}"));
    }
    out
}

pub fn verify_email(to: &str, link: &str) -> Letter {
    Draft {
        paragraphs: vec![
            "Confirm that this address is yours, so that Latchkey can reach you about your account.".into(),
        ],
        action: Some(("Confirm email", link)),
        after: vec!["The link works once, for 24 hours. If you did not ask for it, ignore this message.".into()],
    }
    .letter(to, "Confirm your email address")
}

/// To the old address when someone asks to move the account to `new`.
pub fn email_change_notice(to: &str, new: &str, lock_link: &str) -> Letter {
    Draft {
        paragraphs: vec![format!(
            "Someone signed in to your Latchkey account asked to change its email address to {new}. \
             It changes only when the link sent there is used."
        )],
        action: Some(("This wasn't me: lock my account", lock_link)),
        after: vec!["Locking signs out every session and API token and sends you a link to set a new password.".into()],
    }
    .letter(to, "Your email address is about to change")
}

pub fn password_reset(to: &str, link: &str, has_password: bool) -> Letter {
    let what = if has_password { "reset your password" } else { "set a password for your account" };
    Draft {
        paragraphs: vec![format!("Someone asked to {what}. If it was you, use the link below.")],
        action: Some(("Set new password", link)),
        after: vec![
            "The link works once, for 30 minutes, and only the newest one works. If your account has \
             two-factor authentication, you will also need a code."
                .into(),
            "If you did not ask, ignore this message: your password stays as it is.".into(),
        ],
    }
    .letter(to, if has_password { "Reset your password" } else { "Set a password" })
}

/// A security alert: `what` happened, in these circumstances; with the "this wasn't me" link.
pub fn alert(to: &str, subject: &str, what: &str, circumstances: &Circumstances, lock_link: &str) -> Letter {
    let mut paragraphs = vec![what.to_owned()];
    paragraphs.extend(lines(circumstances));
    Draft {
        paragraphs,
        action: Some(("This wasn't me: lock my account", lock_link)),
        after: vec![
            "If this was you, there is nothing to do. If not, the link signs out every session, revokes \
             every API token and sends you a link to set a new password. It works once, for 7 days."
                .into(),
        ],
    }
    .letter(to, subject)
}

/// An invitation to join `workspace` as `role`. Says nothing of whether the address has
/// an account: the same letter goes out either way.
pub fn invitation(to: &str, workspace: &str, role: &str, link: &str) -> Letter {
    Draft {
        paragraphs: vec![format!(
            "You are invited to join the workspace \"{workspace}\" on Latchkey as {role}. Sign in (or create \
             an account) with this address, confirm the address, then accept."
        )],
        action: Some(("Accept invitation", link)),
        after: vec!["The link works once, for 7 days. If you do not know this workspace, ignore this message.".into()],
    }
    .letter(to, &format!("You are invited to join {workspace}"))
}

/// To a member a workspace's new policy holds back: what it accepts and from when.
pub fn workspace_policy_notice(
    to: &str,
    workspace: &str,
    accepts: &str,
    deadline: &str,
    security_page: &str,
) -> Letter {
    Draft {
        paragraphs: vec![format!(
            "The workspace \"{workspace}\" now requires two-factor authentication with {accepts}. \
             From {deadline} you cannot use the workspace until you add one."
        )],
        action: Some(("Set up two-factor authentication", security_page)),
        after: vec!["Your own account pages stay open to you in any case.".into()],
    }
    .letter(to, &format!("{workspace} requires two-factor authentication"))
}

pub fn test_message(to: &str) -> Letter {
    Draft {
        paragraphs: vec!["This is a test message from Latchkey: mail delivery works.".into()],
        action: None,
        after: Vec::new(),
    }
    .letter(to, "Latchkey test message")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_is_in_both_parts_and_html_is_escaped() {
        let link = "https://id.example.com/reset-password?token=lk_rst_a&b";
        let l = password_reset("ada@example.com", link, true);
        assert_eq!(l.subject, "Reset your password");
        assert!(l.text.contains(link));
        assert!(l.html.contains("token=lk_rst_a&amp;b"), "{}", l.html);
        assert!(!l.html.contains("a&b"));
        assert!(l.text.ends_with("-- \nLatchkey\n"));
    }

    #[test]
    fn an_alert_says_what_when_where_and_how_to_lock() {
        let c = Circumstances {
            when: "2026-12-04 10:31 UTC".into(),
            ip: Some("203.0.113.9".into()),
            place: Some("Berlin, Germany".into()),
            device: Some("Chrome on Linux <script>".into()),
        };
        let l = alert(
            "ada@example.com",
            "Your password was changed",
            "Your password was changed.",
            &c,
            "https://x/lock?token=t",
        );
        for part in [
            "Your password was changed.",
            "When: 2026-12-04 10:31 UTC",
            "From: 203.0.113.9 (Berlin, Germany)",
            "https://x/lock?token=t",
        ] {
            assert!(l.text.contains(part), "{part}: {}", l.text);
        }
        assert!(l.html.contains("Chrome on Linux &lt;script&gt;"));
        assert!(l.html.contains("This wasn&#39;t me"));
    }

    #[test]
    fn retries_back_off_from_two_seconds_to_a_quarter_hour() {
        let waits: Vec<i64> = (1..=12).map(|n| retry_delay(n).num_seconds()).collect();
        assert_eq!(waits, [2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900]);
        assert_eq!(retry_delay(0).num_seconds(), 2);
        assert_eq!(retry_delay(i64::MAX).num_seconds(), 900);
    }

    #[test]
    fn workspace_letters_name_the_workspace_and_escape_it() {
        let l = invitation("a@example.com", "Engines <&>", "admin", "https://x/invite?token=t");
        assert_eq!(l.subject, "You are invited to join Engines <&>");
        assert!(l.text.contains("https://x/invite?token=t") && l.text.contains("as admin"));
        assert!(l.html.contains("Engines &lt;&amp;&gt;"));
        let n = workspace_policy_notice(
            "a@example.com",
            "Engines",
            "a security key or a passkey",
            "2026-12-08 00:00 UTC",
            "https://x/security",
        );
        assert!(n.text.contains("a security key or a passkey") && n.text.contains("From 2026-12-08 00:00 UTC"));
    }

    #[test]
    fn a_provider_only_account_is_asked_to_set_its_first_password() {
        assert_eq!(password_reset("a@example.com", "https://x", false).subject, "Set a password");
    }
}
