//! Where the sign-in page, `/step-up` and forward auth may send a browser back to (`rd`):
//! a path on the public URL, or an absolute http(s) URL whose origin is allowed. Anything
//! else (another origin, `//evil.example`, `https:evil.example`, `javascript:`, encoded or
//! backslashed variants) is no return address at all: no open redirect.

use url::Url;

/// The URL to return to, absolute, or `None` when `rd` may not be followed. `public_url`
/// is Latchkey's own (its origin is always allowed); `origins` are further allowed origins
/// such as `https://app.example.com`.
pub fn allowed(rd: &str, public_url: &str, origins: &[String]) -> Option<String> {
    let base = Url::parse(public_url).ok()?;
    // Browsers read a backslash as a slash and drop tabs and newlines: refuse them
    // rather than guess, as well as anything that is not printable ASCII.
    if rd.is_empty() || rd.len() > 2048 || rd.chars().any(|c| !c.is_ascii_graphic()) || rd.contains('\\') {
        return None;
    }
    let target = if rd.starts_with('/') {
        // A path, never a scheme-relative `//host`.
        if rd.starts_with("//") {
            return None;
        }
        base.join(rd).ok()?
    } else {
        Url::parse(rd).ok()?
    };
    if !matches!(target.scheme(), "http" | "https") || target.cannot_be_a_base() {
        return None;
    }
    let origin = target.origin().ascii_serialization();
    let ok = origin == base.origin().ascii_serialization() || origins.iter().any(|o| o.trim_end_matches('/') == origin);
    ok.then(|| target.to_string())
}

#[cfg(test)]
mod tests {
    use super::allowed;

    const PUBLIC: &str = "https://id.example.com";

    #[test]
    fn paths_and_allowed_origins_return_and_nothing_else_does() {
        let apps = vec!["https://app.example.com".to_owned()];
        let ok = |rd: &str| allowed(rd, PUBLIC, &apps);
        assert_eq!(ok("/security").as_deref(), Some("https://id.example.com/security"));
        assert_eq!(ok("https://app.example.com/x?y=1").as_deref(), Some("https://app.example.com/x?y=1"));
        assert_eq!(ok("https://id.example.com/a").as_deref(), Some("https://id.example.com/a"));
        for evil in [
            "//evil.example",
            "//evil.example/path",
            "https:evil.example",
            "https:/evil.example",
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,hi",
            "https://evil.example",
            "https://app.example.com.evil.example/",
            "https://app.example.com@evil.example/",
            "http://app.example.com/",
            "/\\evil.example",
            "\\\\evil.example",
            "/\t/evil.example",
            " https://app.example.com/",
            "%2F%2Fevil.example",
            "",
        ] {
            assert_eq!(ok(evil), None, "{evil:?}");
        }
    }
}

#[cfg(test)]
mod port_tests {
    #[test]
    fn a_public_url_with_a_port() {
        assert_eq!(
            super::allowed("/tokens?x=1", "http://localhost:42655", &[]).as_deref(),
            Some("http://localhost:42655/tokens?x=1")
        );
    }
}
