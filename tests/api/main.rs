//! The HTTP API, driven over real sockets. One test binary on purpose: each extra
//! binary costs a link. Add modules here, not files next to this one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;
#[path = "../support/soft_passkey.rs"]
mod soft_passkey;

mod abuse;
mod account;
mod api_tokens;
mod architecture;
mod asvs;
mod bursts;
mod cli;
mod crash;
mod database_stall;
mod device_grant;
mod email;
mod errors;
mod forward_auth;
mod forward_auth_caddy;
mod forward_auth_nginx;
mod forward_auth_traefik;
mod history;
mod instances;
mod introspection;
mod load_balancer;
mod logs;
mod mail;
mod oauth;
mod odd_input;
mod oidc;
mod operator;
mod ops;
mod pages;
mod passkeys;
mod places_and_devices;
mod proof;
mod races;
mod return_to;
mod sessions;
mod signup_login;
mod smtp;
mod store;
mod takeover;
mod two_factor;
mod webauthn;
mod workspace_console;
mod workspaces;
