//! What every request handler may use: the store, the hasher, the configuration and the
//! rest, behind one pointer.

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Config;
use crate::geo::GeoLookup;
use crate::hasher::Hasher;
use crate::mail::Mailer;
use crate::metrics::Metrics;
use crate::oidc::Providers;
use crate::secrets::Secrets;
use crate::store::Store;

/// Everything a request handler may use. One pointer: extractors and middleware clone
/// it several times per request, and each clone of the fields would touch every `Arc`.
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl AppState {
    pub fn new(services: Services) -> Self {
        Self(Arc::new(services))
    }
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

pub struct Services {
    pub store: Store,
    pub hasher: Hasher,
    pub config: Arc<Config>,
    pub geo: Arc<GeoLookup>,
    pub secrets: Arc<Secrets>,
    /// `None` when the public URL cannot be a WebAuthn relying party (an IP address).
    pub webauthn: Option<Arc<webauthn_rs::Webauthn>>,
    pub metrics: Arc<Metrics>,
    /// The OpenID providers to sign in with.
    pub oauth: Arc<Providers>,
    pub mailer: Arc<Mailer>,
    /// Rung when a message is queued, so this instance's worker sends it at once.
    pub mail_wake: Arc<tokio::sync::Notify>,
    pub clock: Clock,
    /// Keys this instance saw locked, refused without a database round trip until then.
    pub refusals: crate::refusals::Refusals,
    /// Reset links the database refused (unknown, used, expired, voided or out of tries):
    /// none can ever work again, so a flood of them is refused without a round trip. Kept
    /// apart from `refusals` so that a spray of made-up links cannot crowd out the locks.
    pub dead_links: crate::refusals::Refusals,
    /// The breached-password list this instance checks against.
    pub breached: crate::domain::breached::LoadedList,
}
