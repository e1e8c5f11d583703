//! A minimal axum server: the baseline of `scripts/bench-serve.sh`, and the stand-in receiver
//! that the sidecar delivers to in that benchmark.
//!
//!     cargo run --release --example hello_axum -- 127.0.0.1:PORT
//!
//! Every method on every path answers 200 `OK`, except:
//! - `GET /healthz`: 200 `ok` (not counted);
//! - `GET /count`: the number of requests answered so far (other than /healthz and /count).
//!
//! Port 0 picks a free port; the address is printed on standard error as
//! `hello_axum: listening on http://ADDR`. On SIGTERM or Ctrl-C it prints
//! `hello_axum: answered N requests` and exits 0.
//!
//! Same runtime as `fieldmap serve` (tokio's multi-threaded one, one worker per core) and the
//! same allocator, so the difference between the two is the sidecar's own work.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::State;
use axum::routing::get;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Count = Arc<AtomicU64>;

async fn ok(State(n): State<Count>) -> &'static str {
    n.fetch_add(1, Ordering::Relaxed);
    "OK"
}

async fn count(State(n): State<Count>) -> String {
    format!("{}\n", n.load(Ordering::Relaxed))
}

async fn shutdown() {
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
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let n: Count = Arc::default();
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/count", get(count))
        .fallback(ok)
        .with_state(n.clone());
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("hello_axum: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    let local = listener.local_addr().expect("a bound address");
    eprintln!("hello_axum: listening on http://{local}");
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await
    {
        eprintln!("hello_axum: {e}");
        std::process::exit(1);
    }
    eprintln!(
        "hello_axum: answered {} requests",
        n.load(Ordering::Relaxed)
    );
}
