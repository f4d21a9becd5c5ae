//! Putting the pieces together: state from configuration, and the running server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;
use tokio::net::TcpListener;

use crate::clock::Clock;
use crate::config::Config;
use crate::geo::GeoLookup;
use crate::hasher::Hasher;
use crate::secrets::Secrets;
use crate::state::{AppState, Services};
use crate::store::Store;

/// Connects to the database, applies migrations and builds the shared state.
pub async fn build_state(config: Config, clock: Clock) -> anyhow::Result<AppState> {
    let store = Store::connect(&config.database_url, config.db_pool_size)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the database: {e}"))?;
    store.migrate().await?;
    let secret_key = config.secret_key.as_ref().map(ExposeSecret::expose_secret);
    let secrets = Secrets::load(secret_key, &config.data_dir)?;
    check_key(&store, &secrets).await?;
    let geo = GeoLookup::open(&config.geoip_dbs);
    let webauthn = crate::service::second_factor::security_keys::relying_party(&config.public_url);
    let oauth = crate::oidc::Providers::new(&config.oauth_providers, &config.public_url)?;
    let mailer = crate::mail::Mailer::new(&config.mail, &config.data_dir)?;
    Ok(AppState::new(Services {
        store,
        hasher: Hasher::for_this_machine()?,
        config: Arc::new(config),
        geo: Arc::new(geo),
        secrets: Arc::new(secrets),
        webauthn: webauthn.map(Arc::new),
        metrics: Arc::default(),
        oauth: Arc::new(oauth),
        mailer: Arc::new(mailer),
        mail_wake: Arc::default(),
        clock,
        refusals: Default::default(),
        dead_links: Default::default(),
        breached: Default::default(),
    }))
}

/// The first start seals a sample; every later start must open it, so a wrong or lost
/// key stops the server with a clear message instead of failing every 2FA sign-in.
async fn check_key(store: &Store, secrets: &Secrets) -> anyhow::Result<()> {
    const SAMPLE: &[u8] = b"latchkey key check";
    let context = crate::service::key_rotation::KEY_CHECK_CONTEXT;
    let sealed = store.key_check(&secrets.seal(SAMPLE, context)?).await?;
    match secrets.open(&sealed, context) {
        Ok(v) if v == SAMPLE => Ok(()),
        _ => anyhow::bail!(
            "the secret key does not match the one this database was set up with \
             (check LATCHKEY_SECRET_KEY, or secret.key in the data dir)"
        ),
    }
}

/// Every route: the API and the pages, composed here (neither surface builds the
/// other's), behind the layers every request passes.
pub fn app(state: AppState) -> axum::Router {
    let routes = crate::http::routes(state.clone()).merge(crate::web::router());
    crate::http::layered(routes, state)
}

/// Serves until the listener fails; the caller decides when to stop (tests drop the task).
pub async fn run(state: AppState, listener: TcpListener) -> std::io::Result<()> {
    tokio::spawn(crate::service::mail_delivery::run(state.clone()));
    tokio::spawn(crate::service::breached::keep_current(state.clone()));
    let app = app(state);
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await
}

/// `latchkey serve`: migrations, the listener, retention in the background, and a
/// graceful stop on Ctrl-C or SIGTERM.
pub async fn serve(mut config: Config) -> anyhow::Result<()> {
    let listen = config.listen;
    let listener = TcpListener::bind(listen).await.map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    // `--listen HOST:0` takes a free port; the default public URL names the one taken
    // (tests start servers so, rather than guess a free port and race for it).
    if listen.port() == 0 && config.public_url == "http://localhost:0" {
        config.public_url = format!("http://localhost:{}", listener.local_addr()?.port());
    }
    let state = build_state(config, Clock::default()).await?;
    let public_url = state.config.public_url.clone();
    tokio::spawn(prune_periodically(state.clone()));
    tokio::spawn(crate::service::mail_delivery::run(state.clone()));
    tokio::spawn(crate::service::breached::keep_current(state.clone()));
    tracing::info!(transport = %state.mailer.describe(), "mail goes out");
    let app = app(state.clone());
    // The public URL is the address to open: pages refuse forms sent from any other. One
    // line: whoever started us may stop reading after it.
    println!(
        "Latchkey is listening on http://{} (public URL {public_url}): open {public_url}/ in a browser",
        listener.local_addr()?
    );
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    state.store.close().await;
    Ok(())
}

async fn prune_periodically(state: AppState) {
    let mut every = tokio::time::interval(Duration::from_secs(3600));
    loop {
        every.tick().await;
        if let Err(e) = crate::service::maintenance::prune(&state).await {
            tracing::warn!(error = %e, "retention pass failed; will retry");
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}
