//! Sign-in through an OpenID provider (CONTRACT §3), against a real one: panva/oidc-provider.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, assert_error};
use crate::oidc::{Browser, PROVIDER_ID, PROVIDER_NAME, Person, spawn_app_with_provider};

fn person<'a>(sub: &'a str, email: &'a str) -> Person<'a> {
    Person { sub, email, verified: true }
}

mod linking;
mod refusals;
mod sign_in;
