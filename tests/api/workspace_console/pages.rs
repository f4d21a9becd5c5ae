//! The console's forms over HTTP, as a browser sends them: a stale session is asked to
//! confirm and comes back to the console (never to another site), and non-members get a
//! page, not JSON.

use chrono::Duration;
use reqwest::StatusCode;

use super::workspace;
use crate::helpers::spawn_app;

#[tokio::test]
async fn a_stale_session_confirms_and_comes_back_to_the_console_and_nowhere_else() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    let (auth, _) = app.enable_totp(&token).await;
    let ws = workspace(&app, &token, "Engines").await;
    let cookie = format!("latchkey_session={token}");
    let origin = format!("http://localhost:{}", app.addr.port());
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let post = |path: String, form: Vec<(&'static str, String)>| {
        client.post(app.url(&path)).header("cookie", &cookie).header("origin", &origin).form(&form).send()
    };
    let page = client.get(app.url(&format!("/workspaces/{ws}"))).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let csrf = html.split("name=\"csrf\" value=\"").nth(1).and_then(|r| r.split('"').next()).unwrap().to_owned();

    app.advance_clock(Duration::minutes(11));
    let policy = || {
        vec![
            ("csrf", csrf.clone()),
            ("require_2fa", "on".to_owned()),
            ("accepted_methods", "any".to_owned()),
            ("enforce_from", String::new()),
        ]
    };
    let asked = post(format!("/workspaces/{ws}/policy"), policy()).await.unwrap();
    assert_eq!(asked.status(), StatusCode::FORBIDDEN);
    let prompt = asked.text().await.unwrap();
    assert!(prompt.contains(&format!("name=\"back\" value=\"/workspaces/{ws}\"")), "{prompt}");

    let confirm = |back: &str| vec![("csrf", csrf.clone()), ("code", app.next_code(&auth)), ("back", back.to_owned())];
    let r = post("/security/reauth".into(), confirm(&format!("/workspaces/{ws}"))).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], format!("/workspaces/{ws}").as_str());
    let saved = post(format!("/workspaces/{ws}/policy"), policy()).await.unwrap();
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(saved.headers()["location"], format!("/workspaces/{ws}?done=policy").as_str());
    assert_eq!(app.get(&format!("/api/v1/workspaces/{ws}/policy"), &token).await.body["require_2fa"], true);

    // `back` names a path of this site or nothing: another origin is dropped.
    for evil in ["//evil.example/x", "https://evil.example/", "/\\evil.example"] {
        app.advance_clock(Duration::seconds(31));
        let r = post("/security/reauth".into(), confirm(evil)).await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{evil}");
        assert_eq!(r.headers()["location"], "/security?done=reauthenticated", "{evil}");
    }

    // Someone else's console is a page that says so.
    let stranger = app.signed_in_user("eve@example.com").await;
    let r = client
        .get(app.url(&format!("/workspaces/{ws}")))
        .header("cookie", format!("latchkey_session={stranger}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("<h1>No such workspace</h1>"));
}
