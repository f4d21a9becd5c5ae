//! TOTP two-factor with backup codes, through the API.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, assert_error, spawn_app};

mod enrolment;
mod second_step;
