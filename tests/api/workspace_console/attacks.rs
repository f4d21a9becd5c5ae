//! The console's limits and fields attacked: 200 requests at once against each limit,
//! one invitation link raced, and odd bytes into every field the console's routes take.

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{invite_path, verified_user, workspace};
use crate::helpers::spawn_app;
use crate::mail::app_mailing_to;
use crate::smtp::{SmtpSink, link_token};

#[tokio::test]
async fn two_hundred_invitations_at_once_get_fifty_and_the_address_five_mails() {
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    let owner = app.signed_in_user("ada@example.com").await;
    let ws = workspace(&app, &owner, "Engines").await;
    let body = json!({"email": "target@example.com", "role": "member"});
    let path = invite_path(&ws);
    let answers = join_all((0..200).map(|_| app.post(&path, Some(&owner), body.clone()))).await;
    let sent = answers.iter().filter(|r| r.status == StatusCode::ACCEPTED).count();
    let limited = answers.iter().filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((sent, limited), (50, 150), "{:?}", answers.iter().map(|r| r.status).collect::<Vec<_>>());
    sink.wait_for("target@example.com", 5).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let mails = sink.messages().iter().filter(|m| m["headers"]["to"] == "target@example.com").count();
    assert_eq!(mails, 5, "counted before anything was sent");
}

#[tokio::test]
async fn one_invitation_raced_two_hundred_times_lets_one_in() {
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    let owner = app.signed_in_user("ada@example.com").await;
    let ws = workspace(&app, &owner, "Engines").await;
    let bob = verified_user(&app, &sink, "bob@example.com").await;
    let r = app.post(&invite_path(&ws), Some(&owner), json!({"email": "bob@example.com", "role": "admin"})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let link = link_token(&sink.message("bob@example.com", "You are invited to join Engines").await, "invite");
    let body = json!({"token": link});
    let answers = join_all((0..200).map(|_| app.post("/api/v1/invitations/accept", Some(&bob), body.clone()))).await;
    let ok = answers.iter().filter(|r| r.status == StatusCode::OK).count();
    let spent = answers.iter().filter(|r| r.body["error"] == "invalid_token").count();
    assert_eq!((ok, spent), (1, 199), "{:?}", answers.iter().map(|r| r.status).collect::<Vec<_>>());
    let joined = app.get(&format!("/api/v1/workspaces/{ws}/events"), &owner).await.body;
    let accepted = joined.as_array().unwrap().iter().filter(|e| e["kind"] == "invitation_accepted").count();
    assert_eq!(accepted, 1);
}

#[tokio::test]
async fn odd_bytes_into_the_consoles_fields_get_a_clear_answer() {
    let app = spawn_app().await;
    let owner = app.signed_in_user("ada@example.com").await;
    app.enable_totp(&owner).await;
    let ws = workspace(&app, &owner, "Engines").await;
    let me = app.get("/api/v1/me", &owner).await.body["id"].as_str().unwrap().to_owned();
    let long = "x".repeat(20_000);
    for v in ["a\u{0}b", "\u{7}", long.as_str(), "\u{ff}\u{fe}", ""] {
        let bodies: [(Method, String, Value); 8] = [
            (Method::POST, invite_path(&ws), json!({"email": v, "role": "member"})),
            (Method::POST, invite_path(&ws), json!({"email": "x@example.com", "role": v})),
            (Method::POST, "/api/v1/invitations/accept".into(), json!({"token": v})),
            (Method::PUT, format!("/api/v1/workspaces/{ws}/members/{me}"), json!({"role": v})),
            (Method::PUT, format!("/api/v1/workspaces/{ws}/policy"), json!({"require_2fa": true, "enforce_at": v})),
            (
                Method::PUT,
                format!("/api/v1/workspaces/{ws}/policy"),
                json!({"require_2fa": true, "accepted_methods": v}),
            ),
            (Method::POST, format!("/api/v1/workspaces/{ws}/members"), json!({"email": v, "role": "member"})),
            (Method::PUT, format!("/api/v1/workspaces/{ws}/policy"), json!({"require_2fa": v})),
        ];
        for (method, path, body) in bodies {
            let r = app.request(method, &path, Some(&owner), Some(body)).await;
            assert!(r.status.is_client_error(), "{path} with {v:.20?}: {} {}", r.status, r.text);
            assert!(r.body["error"].is_string(), "{path}: {}", r.text);
        }
        let enc: String = url::form_urlencoded::byte_serialize(v.as_bytes()).collect();
        for path in [
            format!("/api/v1/workspaces/{ws}/events?before={enc}"),
            format!("/api/v1/workspaces/{ws}/members?two_factor={enc}"),
            format!("/api/v1/workspaces/{ws}/invitations/{enc}x"),
            format!("/api/v1/workspaces/{enc}x/members"),
        ] {
            let r = app.get(&path, &owner).await;
            assert!(r.status.as_u16() < 500, "{path}: {} {}", r.status, r.text);
        }
    }
    for path in [invite_path(&ws), "/api/v1/invitations/accept".to_owned()] {
        let r = app
            .client
            .post(app.url(&path))
            .bearer_auth(&owner)
            .header("content-type", "application/json")
            .body(b"{\"token\": \"\xff\xfe\", \"email\": \"\xc3\x28\", \"role\": \"member\"}".to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{path}");
    }
    for page in ["/invite?token=%00%FF", "/invite?token=%FF%FE", "/workspaces/%FF", "/invite"] {
        let r = app.client.get(app.url(page)).send().await.unwrap();
        assert!(r.status().as_u16() < 500, "{page}: {}", r.status());
    }
}
