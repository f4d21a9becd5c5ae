//! Latchkey: the account-security service.
//!
//! - `domain`: the rules (password policy, tokens, devices, client address) — no I/O.
//! - `service`: the use cases, called by both the HTTP API and the command line.
//! - `store`: SQL, on SQLite or PostgreSQL.
//! - `http`: thin handlers, extractors and the error mapping of the contract.
//! - `web`: the server-rendered sign-in and Security & 2FA pages.
//! - `metrics`, `secrets`, `hasher`, `geo`, `oidc`, `refusals`: the service's own machinery, below
//!   the services. docs/architecture.md says which may call which.

pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod geo;
pub mod hasher;
pub mod http;
pub mod mail;
pub mod metrics;
pub mod oidc;
pub mod refusals;
pub mod secrets;
pub mod server;
pub mod service;
pub mod state;
pub mod store;
pub mod web;
