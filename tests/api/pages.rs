//! The web pages, from the server's side (the browser tests cover the journey).

use reqwest::StatusCode;

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_stale_session_cookie_is_cleared_instead_of_looping() {
    let app = spawn_app().await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = client.get(app.url("/security")).header("cookie", "latchkey_session=lk_ses_stale").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/");
    let cleared = r.headers()["set-cookie"].to_str().unwrap();
    assert!(cleared.starts_with("latchkey_session=;") && cleared.contains("Max-Age=0"), "{cleared}");
}

#[tokio::test]
async fn the_sign_in_page_names_its_fields_and_forbids_framing() {
    let app = spawn_app().await;
    let r = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let csp = r.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"), "{csp}");
    let html = r.text().await.unwrap();
    for label in [">Email<", ">Password<", "Remember this device", ">Sign in<"] {
        assert!(html.contains(label), "{label} missing");
    }
    assert!(!html.contains("<script>"), "no inline script");
}

#[tokio::test]
async fn behind_https_cookies_are_secure_and_hsts_is_sent() {
    let app = crate::helpers::spawn_app_with(|c| c.public_url = c.public_url.replace("http://", "https://")).await;
    assert!(app.state.config.public_url.starts_with("https://localhost:"));
    assert_eq!(app.signup("tls@example.com", crate::helpers::PASSWORD).await.status, StatusCode::CREATED);
    let page = app.client.get(app.url("/")).send().await.unwrap();
    let hsts = page.headers()["strict-transport-security"].to_str().unwrap();
    assert!(hsts.starts_with("max-age=") && hsts.contains("includeSubDomains"), "{hsts}");

    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = no_redirects
        .post(app.url("/login"))
        .header("origin", &app.state.config.public_url)
        .form(&[("email", "tls@example.com"), ("password", crate::helpers::PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookie = r.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("__Host-latchkey_session=lk_ses_"), "the __Host- prefix on https: {cookie}");
    for part in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
        assert!(cookie.split("; ").any(|p| p == part), "{part} missing: {cookie}");
    }
    assert!(!cookie.contains("Domain="), "a __Host- cookie has no Domain: {cookie}");
    // The prefixed cookie is the one read back; the plain name is not accepted on https.
    let token = cookie.split(';').next().unwrap().split_once('=').unwrap().1.to_owned();
    let page = app.client.get(app.url("/api/v1/me")).header("cookie", format!("__Host-latchkey_session={token}"));
    assert_eq!(page.send().await.unwrap().status(), StatusCode::OK);
    let plain_name = app.client.get(app.url("/api/v1/me")).header("cookie", format!("latchkey_session={token}"));
    assert_eq!(plain_name.send().await.unwrap().status(), StatusCode::UNAUTHORIZED);

    // Over plain http (a local set-up) the cookie cannot be Secure, or browsers drop it.
    let plain = spawn_app().await;
    assert!(
        plain.client.get(plain.url("/")).send().await.unwrap().headers().get("strict-transport-security").is_none()
    );
}

/// Opening a device link fills in the code and nothing more; approving takes the page's
/// CSRF-checked POST, and a code that no longer works says why.
#[tokio::test]
async fn the_device_page_approves_only_on_its_own_post() {
    let app = spawn_app().await;
    app.signup("ada@example.com", crate::helpers::PASSWORD).await;
    let token = app.token_for("ada@example.com", crate::helpers::PASSWORD).await;
    let started = app.post("/api/v1/auth/device/code", None, serde_json::json!({"client_name": "cmdop CLI"})).await;
    let user_code = started.body["user_code"].as_str().unwrap().to_owned();
    let device_code = started.body["device_code"].as_str().unwrap().to_owned();
    let cookie = format!("latchkey_session={token}");

    let page = app
        .client
        .get(app.url(&format!("/device?user_code={}", user_code.to_lowercase())))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains(&format!("value=\"{user_code}\"")), "the box is filled");
    assert!(html.contains(">Code<") && html.contains(">Continue<"));
    let poll = app.post("/api/v1/auth/device/token", None, serde_json::json!({"device_code": device_code})).await;
    assert_eq!(poll.body["error"], "authorization_pending", "opening the link approved nothing");

    let origin = format!("http://localhost:{}", app.addr.port());
    let post = |path: &str, form: Vec<(&'static str, String)>| {
        app.client.post(app.url(path)).header("cookie", &cookie).header("origin", &origin).form(&form).send()
    };
    let forged =
        post("/device/approve", vec![("csrf", "forged".into()), ("user_code", user_code.clone())]).await.unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let csrf = html.split("name=\"csrf\" value=\"").nth(1).and_then(|r| r.split('"').next()).unwrap().to_owned();
    let shown = post("/device", vec![("csrf", csrf.clone()), ("user_code", user_code.clone())]).await.unwrap();
    assert_eq!(shown.status(), StatusCode::OK);
    let shown = shown.text().await.unwrap();
    assert!(shown.contains("cmdop CLI") && shown.contains(">Approve<") && shown.contains(">Deny<"), "{shown}");
    let done = post("/device/approve", vec![("csrf", csrf.clone()), ("user_code", user_code.clone())]).await.unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    assert!(done.text().await.unwrap().contains("Approved: cmdop CLI is signed in."));
    let again = post("/device", vec![("csrf", csrf), ("user_code", user_code)]).await.unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert!(again.text().await.unwrap().contains("That code was already used."));
}

/// A signed-out browser that opens a device link signs in and lands back on `/device`
/// with its code; the remembered target is only ever a code, so it cannot redirect
/// anywhere else.
#[tokio::test]
async fn signing_in_from_a_device_link_lands_back_on_the_device_page() {
    let app = spawn_app().await;
    app.signup("ada@example.com", crate::helpers::PASSWORD).await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let set_cookie = |r: &reqwest::Response| {
        r.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    let r = client.get(app.url("/device?user_code=bcdf-ghjk")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let kept = set_cookie(&r).into_iter().find(|c| c.starts_with("latchkey_device=")).expect("remembered");
    assert!(kept.starts_with("latchkey_device=BCDFGHJK;") && kept.contains("HttpOnly"), "{kept}");
    let odd = client.get(app.url("/device?user_code=https://evil.example/")).send().await.unwrap();
    assert!(set_cookie(&odd).iter().any(|c| c.starts_with("latchkey_device=-;")), "only a valid code is kept");

    let origin = format!("http://localhost:{}", app.addr.port());
    let login = |cookie: &'static str| {
        client
            .post(app.url("/login"))
            .header("origin", &origin)
            .header("cookie", cookie)
            .form(&[("email", "ada@example.com"), ("password", crate::helpers::PASSWORD)])
            .send()
    };
    let r = login("latchkey_device=BCDFGHJK").await.unwrap();
    assert_eq!(r.headers()["location"], "/device?user_code=BCDF-GHJK");
    assert!(set_cookie(&r).iter().any(|c| c.starts_with("latchkey_device=;") && c.contains("Max-Age=0")), "forgotten");
    let r = login("latchkey_device=//evil.example").await.unwrap();
    assert_eq!(r.headers()["location"], "/device");
    let r = login("a=b").await.unwrap();
    assert_eq!(r.headers()["location"], "/security");
}
