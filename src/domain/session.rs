//! A session as its owner sees it in the list of active sessions: where and on what it
//! runs, since when, and how it was proven.

use chrono::{DateTime, Utc};

use crate::domain::device::Device;
use crate::domain::location::Location;
use crate::domain::proof::Amr;

#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub id: String,
    pub user_id: String,
    pub device: Device,
    pub ip: String,
    pub location: Location,
    pub created_at: DateTime<Utc>,
    pub last_activity_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub auth_at: DateTime<Utc>,
    pub trusted_device_id: Option<String>,
    pub amr: Amr,
}
