//! `fieldmap serve`: the sidecar. Receives vendor webhooks, transforms them with the flows in
//! `--mappings`, stores every accepted record durably in `--data-dir` before answering the
//! sender, and delivers from there with retries; what cannot be delivered goes to the dead
//! letters. See docs/serve.md.

pub mod coalesce;
pub mod deadline;
pub mod deliver;
pub mod flows;
pub mod http;
pub mod openapi;
pub mod outbox;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use self::deliver::{Backoff, Deliverer};
use self::flows::{FlowSet, Flows};
use self::outbox::{Ids, Outbox};

/// How the sidecar runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub mappings: PathBuf,
    /// Serve only these flows (empty: every flow under `mappings`).
    pub only: Vec<String>,
    pub listen: String,
    pub data_dir: PathBuf,
    pub max_body: usize,
    pub request_timeout: Duration,
    pub backoff: Backoff,
    /// How often to look for changed mapping files (None: only on SIGHUP).
    pub watch: Option<Duration>,
    pub shutdown_grace: Duration,
}

/// Start the sidecar and run until SIGTERM or Ctrl-C. Errors are for a sidecar that cannot
/// start (bad mappings, an outbox in use, an address taken).
pub fn serve(opts: ServeOptions) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    rt.block_on(run(opts))
}

async fn run(opts: ServeOptions) -> Result<(), String> {
    let set = FlowSet::load(&opts.mappings, &opts.only).map_err(|errs| {
        format!(
            "{}\n\n{} error(s) in {}; the sidecar did not start",
            errs.join("\n\n"),
            errs.len(),
            opts.mappings.display()
        )
    })?;
    let n_flows = set.flows.len();
    let flows = Flows::new(opts.mappings.clone(), opts.only.clone(), set);
    let outbox = Outbox::open(&opts.data_dir).map_err(|e| e.0)?;
    // Latencies as histograms (Prometheus aggregates those across instances), from 0.5 ms to
    // 30 s.
    const BUCKETS: &[f64] = &[
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    ];
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets(BUCKETS)
        .and_then(|b| b.install_recorder())
        .map_err(|e| tracing::warn!("metrics are disabled: {e}"))
        .ok();
    let deliverer = Deliverer::new(outbox.clone(), flows.clone(), opts.backoff)?;
    let resumed = deliverer.depth();
    let app = http::App {
        flows: flows.clone(),
        outbox: outbox.clone(),
        deliverer: deliverer.clone(),
        ids: Arc::new(Ids::default()),
        metrics,
        max_body: opts.max_body,
        admin_token: std::env::var("FIELDMAP_ADMIN_TOKEN")
            .ok()
            .filter(|t| !t.is_empty()),
    };
    // Around the router rather than on it: `Router::layer` wraps every route, and each request
    // then clones the boxed services of the layers.
    let service = tower::ServiceBuilder::new()
        .layer(deadline::DeadlineLayer::new(
            opts.request_timeout,
            http::timed_out,
        ))
        .service(http::router(app));
    // Signal handlers before the banner: a supervisor may stop (or reload) the sidecar the
    // moment it says it listens, and the default action of SIGTERM and SIGHUP is to die.
    let signals = Signals::install()?;
    let listener = tokio::net::TcpListener::bind(&opts.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", opts.listen))?;
    let addr: SocketAddr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    tracing::info!(%addr, flows = n_flows, data_dir = %opts.data_dir.display(), resumed, "listening");
    // Tests and scripts read this line to find the port of `--listen 127.0.0.1:0`.
    eprintln!(
        "fieldmap serve: listening on http://{addr} ({n_flows} flows, {resumed} pending deliveries resumed)"
    );

    let delivery = tokio::spawn(deliverer.clone().run());
    tokio::spawn(reload_loop(flows.clone(), opts.watch, signals.hangup));

    let service = axum::ServiceExt::<axum::extract::Request>::into_make_service(service);
    axum::serve(coalesce::Listener(listener), service)
        .with_graceful_shutdown(shutdown_signal(signals.terminate, signals.interrupt))
        .await
        .map_err(|e| format!("server error: {e}"))?;
    tracing::info!("stopped accepting; finishing deliveries under way");
    deliverer.stop(opts.shutdown_grace).await;
    delivery.abort();
    // Deliveries are noted in commits that skip the fsync: make them durable before leaving.
    let flushed = tokio::task::spawn_blocking(move || outbox.flush())
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r);
    if let Err(e) = flushed {
        tracing::warn!(error = %e, "the outbox could not be flushed: deliveries of the last moments will be repeated");
    }
    tracing::info!(
        pending = deliverer.depth(),
        "stopped; pending records stay in the outbox"
    );
    Ok(())
}

/// The signals the sidecar handles, installed up front.
struct Signals {
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hangup: tokio::signal::unix::Signal,
    #[cfg(not(unix))]
    terminate: (),
    #[cfg(not(unix))]
    interrupt: (),
    #[cfg(not(unix))]
    hangup: (),
}

impl Signals {
    #[cfg(unix)]
    fn install() -> Result<Signals, String> {
        use tokio::signal::unix::{SignalKind, signal};
        let get =
            |k: SignalKind, name: &str| signal(k).map_err(|e| format!("cannot handle {name}: {e}"));
        Ok(Signals {
            terminate: get(SignalKind::terminate(), "SIGTERM")?,
            interrupt: get(SignalKind::interrupt(), "SIGINT")?,
            hangup: get(SignalKind::hangup(), "SIGHUP")?,
        })
    }

    #[cfg(not(unix))]
    fn install() -> Result<Signals, String> {
        Ok(Signals {
            terminate: (),
            interrupt: (),
            hangup: (),
        })
    }
}

/// SIGTERM or Ctrl-C (SIGINT).
#[cfg(unix)]
async fn shutdown_signal(
    mut term: tokio::signal::unix::Signal,
    mut int: tokio::signal::unix::Signal,
) {
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    tracing::info!("shutting down");
}

#[cfg(not(unix))]
async fn shutdown_signal(_: (), _: ()) {
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutting down");
}

/// Reload on SIGHUP, and when a file under the mappings changes.
async fn reload_loop(
    flows: Flows,
    watch: Option<Duration>,
    #[cfg(unix)] mut hup: tokio::signal::unix::Signal,
    #[cfg(not(unix))] _hup: (),
) {
    let mut stamp = flows.stamp();
    let tick = watch.unwrap_or(Duration::from_secs(3600));
    loop {
        #[cfg(unix)]
        let hup_fired = hup.recv();
        #[cfg(not(unix))]
        let hup_fired = std::future::pending::<()>();
        let why = tokio::select! {
            _ = hup_fired => "SIGHUP",
            _ = tokio::time::sleep(tick) => {
                if watch.is_none() {
                    continue;
                }
                let now = flows.stamp();
                if now == stamp {
                    continue;
                }
                stamp = now;
                "a mapping file changed"
            }
        };
        let f = flows.clone();
        match tokio::task::spawn_blocking(move || f.reload()).await {
            Ok(Ok(n)) => tracing::info!(flows = n, why, "mappings reloaded"),
            Ok(Err(errs)) => {
                tracing::error!(
                    why,
                    errors = errs.len(),
                    "the new mappings have errors; the old ones keep serving"
                );
                for e in errs {
                    tracing::error!("{e}");
                }
            }
            Err(e) => tracing::error!("reload failed: {e}"),
        }
    }
}
