//! hello_axum with a handler that works: it spins for a set time on every request, and answers
//! with a body of a set size. It calibrates `scripts/bench-serve.sh`: how many requests per
//! second a server that spends N µs of CPU per request can answer on this machine, next to
//! hello_axum, with the load generator sharing the cores (see docs/performance.md).
//!
//!     BUSY_NS=15000 BUSY_BYTES=1500 cargo run --release --example busy_axum -- 127.0.0.1:PORT
//!
//! Every method on every path answers 200 with `BUSY_BYTES` bytes (default 2) after spinning
//! for `BUSY_NS` nanoseconds (default 0), except `GET /healthz`.

use axum::Router;
use axum::routing::get;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v.parse().unwrap_or_else(|_| {
            eprintln!("busy_axum: {name} must be a whole number, not {v:?}");
            std::process::exit(2);
        }),
        Err(_) => default,
    }
}

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let spin = std::time::Duration::from_nanos(env_number("BUSY_NS", 0));
    let bytes = usize::try_from(env_number("BUSY_BYTES", 2)).unwrap_or(usize::MAX);
    let body: &'static str = "x".repeat(bytes).leak();
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .fallback(move |request: axum::body::Bytes| async move {
            let start = std::time::Instant::now();
            while start.elapsed() < spin {
                std::hint::black_box(request.len());
            }
            body
        });
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("busy_axum: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = axum::serve(listener, app).await {
        eprintln!("busy_axum: {e}");
        std::process::exit(1);
    }
}
