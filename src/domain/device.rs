//! What kind of device a sign-in came from, and its name, from the login body or the user
//! agent.

use serde::{Deserialize, Serialize};

/// The surface a sign-in came from, as the Active sessions list shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    Desktop,
    Browser,
    Mobile,
}

impl DeviceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Desktop => "desktop",
            Self::Browser => "browser",
            Self::Mobile => "mobile",
        }
    }

    pub fn from_db(s: &str) -> Self {
        match s {
            "desktop" => Self::Desktop,
            "mobile" => Self::Mobile,
            _ => Self::Browser,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Device {
    pub kind: DeviceKind,
    pub name: String,
}

const MAX_NAME: usize = 100;

impl Device {
    /// What the client said about itself wins (the desktop app knows it is one); the
    /// User-Agent fills in whatever it left out.
    pub fn identify(claimed_kind: Option<DeviceKind>, claimed_name: Option<&str>, user_agent: Option<&str>) -> Self {
        let parsed = user_agent.map(parse_user_agent);
        let kind = claimed_kind.or(parsed.as_ref().map(|p| p.0)).unwrap_or(DeviceKind::Browser);
        // Control characters go before the emptiness check: a name of only those is no name.
        let name = claimed_name
            .map(|n| n.chars().filter(|c| !c.is_control()).take(MAX_NAME).collect::<String>().trim().to_owned())
            .filter(|n| !n.is_empty())
            .or(parsed.map(|p| p.1))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "Unknown device".to_owned());
        Self { kind, name }
    }
}

/// Kind and label ("Firefox on Linux") from a User-Agent string.
fn parse_user_agent(ua: &str) -> (DeviceKind, String) {
    let parsed = woothee::parser::Parser::new().parse(ua);
    let Some(r) = parsed else {
        return (DeviceKind::Browser, fallback_label(ua));
    };
    let kind = match r.category {
        "smartphone" | "mobilephone" => DeviceKind::Mobile,
        _ => DeviceKind::Browser,
    };
    let known = |s: &str| !s.is_empty() && s != woothee::woothee::VALUE_UNKNOWN;
    // Without an OS woothee's names are generic ("HTTP Library"); the product token says more.
    let label = match (known(r.name), known(r.os)) {
        (true, true) => format!("{} on {}", r.name, r.os),
        (false, true) => format!("Unknown browser on {}", r.os),
        _ => fallback_label(ua),
    };
    (kind, label)
}

/// `curl/8.5.0` → `curl`: the product name of the first token, for agents woothee does not know.
fn fallback_label(ua: &str) -> String {
    let product: String =
        ua.split(['/', ' ']).next().unwrap_or_default().chars().filter(|c| !c.is_control()).take(40).collect();
    if product.is_empty() { "Unknown device".to_owned() } else { product }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIREFOX_LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
    const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
    const CHROME_ANDROID: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36";

    #[test]
    fn desktop_browsers_are_browsers_with_a_readable_label() {
        let d = Device::identify(None, None, Some(FIREFOX_LINUX));
        assert_eq!(d, Device { kind: DeviceKind::Browser, name: "Firefox on Linux".into() });
    }

    #[test]
    fn phones_are_mobile() {
        assert_eq!(Device::identify(None, None, Some(SAFARI_IPHONE)).kind, DeviceKind::Mobile);
        assert_eq!(Device::identify(None, None, Some(CHROME_ANDROID)).kind, DeviceKind::Mobile);
    }

    #[test]
    fn the_clients_own_claim_wins() {
        let d = Device::identify(Some(DeviceKind::Desktop), Some("CMDOP Desktop 2.3 (macOS)"), Some(FIREFOX_LINUX));
        assert_eq!(d, Device { kind: DeviceKind::Desktop, name: "CMDOP Desktop 2.3 (macOS)".into() });
    }

    #[test]
    fn unknown_agents_get_their_product_name() {
        let d = Device::identify(None, None, Some("curl/8.5.0"));
        assert_eq!(d.kind, DeviceKind::Browser);
        assert_eq!(d.name, "curl");
        assert_eq!(Device::identify(None, None, None).name, "Unknown device");
    }

    #[test]
    fn claimed_names_are_cleaned_and_capped() {
        let long = "x".repeat(500);
        assert_eq!(Device::identify(None, Some(&long), None).name.len(), MAX_NAME);
        assert_eq!(Device::identify(None, Some("a\u{0}b"), None).name, "ab");
        assert_eq!(Device::identify(None, Some("   "), Some("curl/1")).name, "curl");
    }
}
