//! End-to-end tests of `fieldmap serve`: the real binary, real HTTP both ways, a real outbox on
//! disk, real signals. The destination is a receiver in this process (axum on 127.0.0.1) that
//! records every request and answers as each test programs it: errors, `Retry-After`, down and
//! then up on the same port. Nothing of fieldmap's own code is mocked.
//!
//! The repo's flows are served from `mappings/` with `--retry-base 20ms`; the flows of
//! `tests/serve/mappings/` (a `receiver` vendor profile with small timeouts) cover what the
//! repo's flows do not have: no reply of their own, an inbound token, a file to edit for reload.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Shared runtime and HTTP client (the test's side: senders, admin calls).

fn rt() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("HTTP client")
    })
}

/// An answer the test got.
#[derive(Debug)]
struct Resp {
    status: u16,
    content_type: String,
    request_id: Option<String>,
    body: String,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }
}

fn try_send(rb: reqwest::RequestBuilder) -> Result<Resp, String> {
    rt().block_on(async move {
        let r = rb.send().await.map_err(|e| e.to_string())?;
        let status = r.status().as_u16();
        let content_type = r
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let request_id = r
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = r.text().await.map_err(|e| e.to_string())?;
        Ok(Resp {
            status,
            content_type,
            request_id,
            body,
        })
    })
}

fn send(rb: reqwest::RequestBuilder) -> Resp {
    try_send(rb).expect("request to the sidecar")
}

fn get(url: &str) -> Resp {
    send(client().get(url))
}

fn post_json(url: &str, body: impl Into<String>) -> Resp {
    send(
        client()
            .post(url)
            .header("Content-Type", "application/json")
            .body(body.into()),
    )
}

/// Poll `f` every 20 ms until it gives a value; panic with `what` (and `context()`) after
/// `timeout`.
fn wait_for<T>(
    what: &str,
    timeout: Duration,
    context: impl Fn() -> String,
    mut f: impl FnMut() -> Option<T>,
) -> T {
    let until = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() > until {
            panic!(
                "timed out after {timeout:?} waiting for {what}\n{}",
                context()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------------------------
// The receiver: a real HTTP server that records and answers as programmed.

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Hit {
    at: Instant,
    method: String,
    /// Path and query, as sent.
    uri: String,
    /// Header names in lower case.
    headers: Vec<(String, String)>,
    body: String,
    /// The status the receiver answered.
    answered: u16,
}

impl Hit {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn key(&self) -> &str {
        self.header("idempotency-key")
            .unwrap_or_else(|| panic!("no Idempotency-Key: {self:?}"))
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("the delivered body is not JSON ({e}): {}", self.body))
    }
}

/// What the receiver answers.
#[derive(Debug, Clone)]
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
    /// Wait this long before answering (the request is recorded on arrival).
    delay: Duration,
}

impl Reply {
    fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: if status < 300 {
                "OK".into()
            } else {
                format!("error {status}")
            },
            delay: Duration::ZERO,
        }
    }
}

struct ReceiverState {
    hits: Mutex<Vec<Hit>>,
    /// Answers for the next requests, in order; then `default`.
    script: Mutex<VecDeque<Reply>>,
    default: Mutex<Reply>,
    /// Requests being answered now, and the most at once.
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

struct Receiver {
    port: u16,
    state: Arc<ReceiverState>,
    stop: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
}

async fn record(
    axum::extract::State(s): axum::extract::State<Arc<ReceiverState>>,
    req: axum::extract::Request,
) -> axum::response::Response {
    let at = Instant::now();
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let reply = s
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or_else(|| s.default.lock().unwrap().clone());
    s.hits.lock().unwrap().push(Hit {
        at,
        method: parts.method.to_string(),
        uri: parts
            .uri
            .path_and_query()
            .map_or_else(String::new, |p| p.to_string()),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
        answered: reply.status,
    });
    let now = s.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    s.max_in_flight.fetch_max(now, Ordering::SeqCst);
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    s.in_flight.fetch_sub(1, Ordering::SeqCst);
    let mut r = axum::response::Response::new(axum::body::Body::from(reply.body));
    *r.status_mut() = axum::http::StatusCode::from_u16(reply.status).unwrap();
    for (k, v) in reply.headers {
        r.headers_mut()
            .insert(k, axum::http::HeaderValue::from_str(&v).unwrap());
    }
    r
}

impl Receiver {
    /// A receiver with a port of its own that does not listen yet: connections are refused
    /// until [`Receiver::listen`].
    fn down() -> Receiver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        Receiver {
            port,
            state: Arc::new(ReceiverState {
                hits: Mutex::new(Vec::new()),
                script: Mutex::new(VecDeque::new()),
                default: Mutex::new(Reply::status(200)),
                in_flight: AtomicUsize::new(0),
                max_in_flight: AtomicUsize::new(0),
            }),
            stop: Mutex::new(None),
        }
    }

    /// A receiver listening, answering 200 unless told otherwise.
    fn up() -> Receiver {
        let r = Receiver::down();
        r.listen();
        r
    }

    /// Start listening on the receiver's port.
    fn listen(&self) {
        let state = self.state.clone();
        let port = self.port;
        let listener = rt()
            .block_on(tokio::net::TcpListener::bind(("127.0.0.1", port)))
            .unwrap_or_else(|e| panic!("the receiver cannot listen on {port}: {e}"));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let app = axum::Router::new().fallback(record).with_state(state);
        rt().spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        *self.stop.lock().unwrap() = Some(tx);
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Answer the next `n` requests with `reply`, then as before.
    fn then(&self, n: usize, reply: Reply) {
        let mut s = self.state.script.lock().unwrap();
        for _ in 0..n {
            s.push_back(reply.clone());
        }
    }

    /// Answer every request not scripted with `reply`.
    fn always(&self, reply: Reply) {
        *self.state.default.lock().unwrap() = reply;
    }

    /// The most requests the receiver was answering at once.
    fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }

    fn hits(&self) -> Vec<Hit> {
        self.state.hits.lock().unwrap().clone()
    }

    /// Wait until the receiver has had `n` requests (or more).
    fn wait_hits(&self, n: usize, timeout: Duration, sidecar: &Sidecar) -> Vec<Hit> {
        wait_for(
            &format!("{n} request(s) at the receiver"),
            timeout,
            || {
                format!(
                    "receiver got: {:#?}\nsidecar log:\n{}",
                    self.hits(),
                    sidecar.log()
                )
            },
            || {
                let h = self.hits();
                (h.len() >= n).then_some(h)
            },
        )
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.lock().unwrap().take() {
            let _ = tx.send(());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The sidecar: `fieldmap serve` as a child process.

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(rel: &str) -> String {
    std::fs::read_to_string(root().join("tests/fixtures").join(rel)).expect("read fixture")
}

const DELACON: &str = "delacon-call-end-to-leadsquared-call-log";
const RING: &str = "callerready-ring-request";
const ADMIN: &str = "admin-t0ken-for-tests";

/// Variables the sidecar must not inherit from whoever runs the tests.
const CLEARED: &[&str] = &[
    "FIELDMAP_ADMIN_TOKEN",
    "LEADSQUARED_CALL_LOG_URL",
    "CALLERREADY_BASE_URL",
    "SERVE_TEST_RECEIVER",
    "SERVE_TEST_TOKEN",
    "RUST_LOG",
    "http_proxy",
    "HTTP_PROXY",
    "all_proxy",
    "ALL_PROXY",
];

struct Sidecar {
    child: Child,
    port: u16,
    /// Everything it printed on stderr (a thread keeps reading it, so the pipe never fills).
    log: Arc<Mutex<String>>,
    /// The line that said it listens.
    banner: String,
}

impl Sidecar {
    /// Start `fieldmap serve ARGS --listen 127.0.0.1:0` with `env`; returns once it listens.
    fn start(args: &[&str], env: &[(&str, &str)]) -> Sidecar {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_fieldmap"));
        cmd.arg("serve")
            .args(args)
            .args(["--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for k in CLEARED {
            cmd.env_remove(k);
        }
        cmd.env("NO_COLOR", "1")
            .env("NO_PROXY", "127.0.0.1,localhost");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start fieldmap serve");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if line.starts_with("fieldmap serve: listening on http://") {
                        let _ = tx.send(line.clone());
                    }
                    let mut l = log.lock().unwrap();
                    l.push_str(&line);
                    l.push('\n');
                }
            });
        }
        let banner = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(b) => b,
            Err(_) => {
                let _ = child.kill();
                let status = child.wait();
                // Let the reader thread take the rest.
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "fieldmap serve {args:?} did not start ({status:?}):\n{}",
                    log.lock().unwrap()
                );
            }
        };
        let port = banner
            .trim_start_matches("fieldmap serve: listening on http://")
            .split(' ')
            .next()
            .and_then(|a| a.rsplit(':').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {banner:?}"));
        Sidecar {
            child,
            port,
            log,
            banner,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.pid()])
            .status()
            .expect("run kill");
        assert!(ok.success(), "kill {sig} failed");
    }

    /// Wait for the process to end (at most `timeout`).
    fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let until = Instant::now() + timeout;
        loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                return s;
            }
            if Instant::now() > until {
                let _ = self.child.kill();
                panic!(
                    "fieldmap serve did not exit within {timeout:?}\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, and the exit status.
    fn terminate(&mut self) -> ExitStatus {
        self.signal("-TERM");
        self.wait_exit(Duration::from_secs(20))
    }

    /// SIGKILL (what `Child::kill` sends).
    fn kill9(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("wait");
    }

    /// The sum of every series of a metric.
    fn metric(&self, name: &str) -> f64 {
        let text = get(&self.url("/metrics")).body;
        text.lines()
            .filter(|l| {
                l.strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// `/readyz`: (pending, dead).
    fn counts(&self) -> (u64, u64) {
        let r = get(&self.url("/readyz")).json();
        (
            r["pending"].as_u64().expect("pending"),
            r["dead"].as_u64().expect("dead"),
        )
    }

    fn wait_counts(&self, want: (u64, u64), timeout: Duration) {
        wait_for(
            &format!("(pending, dead) = {want:?}"),
            timeout,
            || self.log(),
            || (self.counts() == want).then_some(()),
        );
    }
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn dir_arg(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// The repo's mappings, one flow, fast retries, no watching.
fn repo_flow<'a>(flow: &'a str, data: &'a Path, retry_base: &'a str) -> Vec<&'a str> {
    static MAPPINGS: OnceLock<String> = OnceLock::new();
    let m = MAPPINGS.get_or_init(|| root().join("mappings").to_str().unwrap().to_owned());
    vec![
        "--mappings",
        m.as_str(),
        "--flow",
        flow,
        "--data-dir",
        dir_arg(data),
        "--retry-base",
        retry_base,
        "--watch",
        "0s",
    ]
}

/// The Delacon flow, its call log going to `receiver`.
fn delacon(data: &Path, receiver: &Receiver, retry_base: &str, admin: bool) -> Sidecar {
    let url = format!("{}/api/CallLog?key=test-key", receiver.url());
    let mut env = vec![("LEADSQUARED_CALL_LOG_URL", url.as_str())];
    if admin {
        env.push(("FIELDMAP_ADMIN_TOKEN", ADMIN));
    }
    Sidecar::start(&repo_flow(DELACON, data, retry_base), &env)
}

/// Delacon's full call-end push (fixture 06) with its own call id.
fn delacon_push(call_id: &str) -> String {
    let mut v: Value =
        serde_json::from_str(&fixture(&format!("{DELACON}/06-full-push-answered.json"))).unwrap();
    v["PLA_Call_Id"] = json!(call_id);
    v.to_string()
}

/// Send a Delacon push; the call id when Delacon was told "success".
fn push_delacon(sidecar: &Sidecar, call_id: &str) -> Resp {
    post_json(
        &sidecar.url(&format!("/in/{DELACON}")),
        delacon_push(call_id),
    )
}

fn assert_delacon_success(r: &Resp, call_id: &str) {
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.json(),
        json!({"PLA_Call_Id": call_id, "success": "true", "error": ""}),
        "{r:?}"
    );
}

/// The CallSessionIds the receiver was sent, with how many times each was accepted (2xx).
fn delivered_ids(receiver: &Receiver) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for h in receiver.hits() {
        if (200..300).contains(&h.answered) {
            let id = h.json()["CallSessionId"].as_str().unwrap_or("").to_owned();
            *m.entry(id).or_insert(0) += 1;
        }
    }
    m
}

fn is_key(k: &str) -> bool {
    k.len() == 32 && k.bytes().all(|b| b.is_ascii_hexdigit())
}

// ---------------------------------------------------------------------------------------------
// 1. Delacon call end -> LeadSquared call log.

#[test]
fn delacon_call_end_is_answered_in_delacon_format_and_delivered_to_leadsquared() {
    let data = tempfile::tempdir().unwrap();
    let receiver = Receiver::up();
    let sc = delacon(data.path(), &receiver, "20ms", false);
    assert!(sc.banner.contains("(1 flows, 0 pending"), "{}", sc.banner);

    let r = send(
        client()
            .post(sc.url(&format!("/in/{DELACON}")))
            .header("Content-Type", "application/json")
            .header("X-Request-Id", "delacon-req-1")
            .body(fixture(&format!("{DELACON}/06-full-push-answered.json"))),
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.content_type, "application/json");
    assert_eq!(r.request_id.as_deref(), Some("delacon-req-1"));
    // Exactly Delacon's answer, byte for byte.
    assert_eq!(
        r.body,
        r#"{"PLA_Call_Id":"1122340","success":"true","error":""}"#
    );

    let hits = receiver.wait_hits(1, Duration::from_secs(10), &sc);
    let h = &hits[0];
    assert_eq!(h.method, "POST");
    assert_eq!(h.uri, "/api/CallLog?key=test-key");
    assert_eq!(h.header("content-type"), Some("application/json"));
    assert!(is_key(h.key()), "Idempotency-Key {:?}", h.key());
    let b = h.json();
    assert_eq!(b["SourceNumber"], "+61412345678");
    assert_eq!(b["DestinationNumber"], "+61298765432");
    assert_eq!(b["DisplayNumber"], "+61288889999");
    assert_eq!(b["Status"], "Answered");
    assert_eq!(b["Direction"], "Inbound");
    assert_eq!(b["CallDuration"], "312");
    assert_eq!(b["CallSessionId"], "1122340");
    assert_eq!(b["StartTime"], "2019-05-02 10:12:17");
    sc.wait_counts((0, 0), Duration::from_secs(5));
    // The logs of the delivery carry the sender's request id and the record's key.
    let log = sc.log();
    assert!(
        log.lines().any(|l| l.contains(" delivered ")
            && l.contains("request_id=delacon-req-1")
            && l.contains(h.key())),
        "{log}"
    );
    assert!(
        !log.contains("test-key"),
        "the endpoint's key is not logged"
    );

    // Delacon's published sample (trailing comma, no caller number): read, refused with the
    // reason in Delacon's format, not delivered.
    let r = post_json(
        &sc.url(&format!("/in/{DELACON}")),
        fixture(&format!("{DELACON}/01-published-sample.json")),
    );
    assert_eq!(r.status, 200, "{r:?}");
    let v = r.json();
    assert_eq!(v["PLA_Call_Id"], "1122334");
    assert_eq!(v["success"], "false");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .starts_with("SourceNumber is required but its value is empty"),
        "{v}"
    );
    assert_eq!(
        v.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["PLA_Call_Id", "success", "error"]
    );
    assert_eq!(sc.counts(), (0, 0), "nothing stored for a refused push");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        receiver.hits().len(),
        1,
        "the refused push is not delivered"
    );
    assert_eq!(sc.metric("fieldmap_rejected_total"), 1.0);
    assert_eq!(sc.metric("fieldmap_delivered_total"), 1.0);
}

// ---------------------------------------------------------------------------------------------
// 2. CallerReady's ring request, answered synchronously and delivered.

#[test]
fn callerready_ring_request_is_answered_with_the_agents_and_delivered_as_a_get() {
    let data = tempfile::tempdir().unwrap();
    let receiver = Receiver::up();
    let sc = Sidecar::start(
        &repo_flow(RING, data.path(), "20ms"),
        &[("CALLERREADY_BASE_URL", &receiver.url())],
    );
    let query = fixture(&format!("{RING}/02-doc-step2-example-agents-nv.txt"));
    let r = get(&sc.url(&format!("/in/{RING}?{}", query.trim())));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.content_type, "application/x-www-form-urlencoded");
    let pairs: Vec<(String, String)> = r
        .body
        .split('&')
        .map(|p| {
            let (k, v) = p.split_once('=').expect("k=v");
            (
                k.to_owned(),
                percent_encoding::percent_decode_str(&v.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned(),
            )
        })
        .collect();
    let keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "TrackingGuid",
            "AgentEmailAddresses",
            "AgentFiveMinApps",
            "AgentID",
            "ShowAgentRealID",
            "AgentOverrideIVR",
            "AgentNames",
            "AgentNMLS",
            "AgentPhones",
            "AgentTier",
            "AgentRow"
        ]
    );
    assert_eq!(pairs[0].1, "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX");
    for (k, v) in &pairs[1..] {
        assert_eq!(v.split(',').count(), 2, "{k}={v}: one element per agent");
    }
    let m: HashMap<&str, &str> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(m["AgentID"], "328290,328999");
    assert_eq!(m["AgentNames"], "Anthony Smith,Erin Jones");
    assert_eq!(m["AgentPhones"], "8885551111,9492651111");

    let hits = receiver.wait_hits(1, Duration::from_secs(10), &sc);
    let h = &hits[0];
    assert_eq!(h.method, "GET");
    assert_eq!(h.uri, format!("/responsecollect.aspx?{}", r.body));
    assert_eq!(h.body, "");
    assert!(is_key(h.key()));
    sc.wait_counts((0, 0), Duration::from_secs(5));
}

// ---------------------------------------------------------------------------------------------
// 3. 500 three times, then 200.

#[test]
fn a_destination_that_fails_three_times_gets_the_record_once_with_one_key() {
    let data = tempfile::tempdir().unwrap();
    let receiver = Receiver::up();
    receiver.then(3, Reply::status(500));
    let sc = delacon(data.path(), &receiver, "20ms", false);
    assert_delacon_success(&push_delacon(&sc, "retry-500"), "retry-500");

    let hits = receiver.wait_hits(4, Duration::from_secs(10), &sc);
    sc.wait_counts((0, 0), Duration::from_secs(5));
    let answered: Vec<u16> = hits.iter().map(|h| h.answered).collect();
    assert_eq!(answered, [500, 500, 500, 200]);
    let key = hits[0].key();
    assert!(hits.iter().all(|h| h.key() == key), "{hits:#?}");
    assert!(hits.iter().all(|h| h.body == hits[0].body));
    assert!(
        hits.windows(2).all(|w| w[1].at > w[0].at),
        "attempts one after the other"
    );
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(receiver.hits().len(), 4, "no attempt after the 200");
    assert_eq!(sc.metric("fieldmap_retried_total"), 3.0);
    assert_eq!(sc.metric("fieldmap_delivered_total"), 1.0);
    assert_eq!(sc.metric("fieldmap_dead_lettered_total"), 0.0);
}

#[test]
fn a_record_that_keeps_failing_goes_to_the_dead_letters_after_max_attempts() {
    let data = tempfile::tempdir().unwrap();
    let receiver = Receiver::up();
    receiver.always(Reply {
        body: "maintenance".into(),
        ..Reply::status(503)
    });
    // The LeadSquared profile gives no `delivery`: 10 attempts.
    let sc = delacon(data.path(), &receiver, "1ms", true);
    assert_delacon_success(&push_delacon(&sc, "hopeless"), "hopeless");
    sc.wait_counts((0, 1), Duration::from_secs(15));
    let hits = receiver.hits();
    assert_eq!(hits.len(), 10, "{hits:#?}");
    assert!(hits.iter().all(|h| h.key() == hits[0].key()));
    let list = dlq(&sc);
    assert_eq!(list[0]["id"], hits[0].key());
    assert_eq!(list[0]["attempts"], 10);
    let err = list[0]["last_error"].as_str().unwrap();
    assert!(
        err.starts_with("gave up after 10 attempt(s) over ")
            && err.ends_with("HTTP 503: maintenance"),
        "{err}"
    );
    assert_eq!(sc.metric("fieldmap_retried_total"), 9.0);
    assert_eq!(sc.metric("fieldmap_dead_lettered_total"), 1.0);
}

#[test]
fn a_destination_slower_than_the_endpoint_timeout_is_tried_again_with_the_same_key() {
    let data = tempfile::tempdir().unwrap();
    let receiver = Receiver::up();
    // The receiver profile's hook endpoint waits 1 s.
    receiver.then(
        1,
        Reply {
            delay: Duration::from_millis(1500),
            ..Reply::status(200)
        },
    );
    let m = test_mappings();
    let sc = Sidecar::start(
        &[
            "--mappings",
            dir_arg(&m),
            "--flow",
            "json-hook",
            "--data-dir",
            dir_arg(data.path()),
            "--retry-base",
            "20ms",
            "--watch",
            "0s",
        ],
        &[("SERVE_TEST_RECEIVER", &receiver.url())],
    );
    let r = post_json(&sc.url("/in/json-hook"), r#"{"id": "slow"}"#);
    assert_eq!(r.status, 202, "{r:?}");
    let hits = receiver.wait_hits(2, Duration::from_secs(10), &sc);
    sc.wait_counts((0, 0), Duration::from_secs(10));
    let gap = hits[1].at - hits[0].at;
    assert!(
        gap >= Duration::from_millis(950) && gap < Duration::from_secs(3),
        "the second attempt came {gap:?} after the first"
    );
    assert_eq!(hits[0].key(), hits[1].key());
    assert_eq!(hits[1].json()["Id"], "slow");
    assert!(sc.log().contains("reason=timed out"), "{}", sc.log());
    assert_eq!(sc.metric("fieldmap_retried_total"), 1.0);
}

// ---------------------------------------------------------------------------------------------
// 4. Destination down, then up.

#[test]
fn records_accepted_while_the_destination_is_down_are_delivered_once_it_is_up() {
    let data = tempfile::tempdir().unwrap();
    let receiver = Receiver::down();
    let sc = delacon(data.path(), &receiver, "50ms", false);
    let ids = ["down-1", "down-2", "down-3"];
    for id in ids {
        assert_delacon_success(&push_delacon(&sc, id), id);
    }
    // Every record has failed at least once against the closed port.
    wait_for(
        "a failed attempt of each record",
        Duration::from_secs(10),
        || sc.log(),
        || (sc.metric("fieldmap_retried_total") >= 3.0).then_some(()),
    );
    assert_eq!(sc.counts(), (3, 0));
    receiver.listen();
    sc.wait_counts((0, 0), Duration::from_secs(15));
    let got = delivered_ids(&receiver);
    for id in ids {
        assert_eq!(got.get(id), Some(&1), "{got:?}");
    }
    assert_eq!(receiver.hits().len(), 3);
}

// ---------------------------------------------------------------------------------------------
// 5. 400: no retry, dead letters, replay.

fn dlq(sc: &Sidecar) -> Vec<Value> {
    let r = send(client().get(sc.url("/dlq")).bearer_auth(ADMIN));
    assert_eq!(r.status, 200, "{r:?}");
    r.json().as_array().expect("a list").clone()
}

fn fieldmap(args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fieldmap"));
    for k in CLEARED {
        cmd.env_remove(k);
    }
    cmd.args(args).output().expect("run fieldmap")
}

#[test]
fn a_400_is_not_retried_goes_to_the_dead_letters_and_is_delivered_on_replay() {
    let data = tempfile::tempdir().unwrap();
    let receiver = Receiver::up();
    receiver.always(Reply {
        body: "bad phone".into(),
        ..Reply::status(400)
    });
    let mut sc = delacon(data.path(), &receiver, "20ms", true);

    // The admin API wants the token.
    assert_eq!(get(&sc.url("/dlq")).status, 401);
    let r = send(client().get(sc.url("/dlq")).bearer_auth("wrong"));
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["reason"], "unauthorized");

    assert_delacon_success(&push_delacon(&sc, "refused-a"), "refused-a");
    sc.wait_counts((0, 1), Duration::from_secs(10));
    let list = dlq(&sc);
    assert_eq!(list.len(), 1, "{list:?}");
    let a = &list[0];
    let key_a = a["id"].as_str().unwrap().to_owned();
    assert_eq!(a["flow"], DELACON);
    assert_eq!(a["endpoint"], "leadsquared/call-log");
    assert_eq!(a["attempts"], 1);
    assert_eq!(a["last_error"], "HTTP 400: bad phone");
    let body: Value = serde_json::from_str(a["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["CallSessionId"], "refused-a");
    // One attempt, and no other: with --retry-base 20ms a retry would be there by now.
    std::thread::sleep(Duration::from_millis(300));
    let hits = receiver.hits();
    assert_eq!(hits.len(), 1, "{hits:#?}");
    assert_eq!(hits[0].key(), key_a);
    assert_eq!(sc.metric("fieldmap_retried_total"), 0.0);
    assert_eq!(sc.metric("fieldmap_dead_lettered_total"), 1.0);
    let shown = send(
        client()
            .get(sc.url(&format!("/dlq/{key_a}")))
            .bearer_auth(ADMIN),
    );
    assert_eq!(shown.json()["id"], key_a.as_str());

    // While it runs, the data directory is its own; `fieldmap dlq --server` goes through the API.
    let o = fieldmap(&["dlq", "list", "--data-dir", dir_arg(data.path())]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("in use by another fieldmap"),
        "{o:?}"
    );
    let o = Command::new(env!("CARGO_BIN_EXE_fieldmap"))
        .args(["dlq", "list", "--server", &sc.url("")])
        .env("FIELDMAP_ADMIN_TOKEN", ADMIN)
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    let listed: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(listed[0]["id"], key_a.as_str());

    assert_delacon_success(&push_delacon(&sc, "refused-b"), "refused-b");
    sc.wait_counts((0, 2), Duration::from_secs(10));
    let key_b = dlq(&sc)
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .find(|k| *k != key_a)
        .expect("the second dead letter");

    // Replay through the API: delivered at once, with the same key.
    receiver.always(Reply::status(200));
    let r = send(
        client()
            .post(sc.url(&format!("/dlq/{key_a}/replay")))
            .bearer_auth(ADMIN),
    );
    assert_eq!((r.status, r.json()), (200, json!({"replayed": 1})));
    sc.wait_counts((0, 1), Duration::from_secs(10));
    let hits = receiver.hits();
    assert_eq!(hits.len(), 3, "{hits:#?}");
    assert_eq!((hits[2].key(), hits[2].answered), (key_a.as_str(), 200));
    assert_eq!(hits[2].json()["CallSessionId"], "refused-a");

    // Stopped: `fieldmap dlq` works on the data directory.
    assert_eq!(sc.terminate().code(), Some(0), "{}", sc.log());
    let o = fieldmap(&["dlq", "list", "--data-dir", dir_arg(data.path())]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.starts_with(&key_b), "{out}");
    assert!(
        out.contains("attempts=1") && out.contains("HTTP 400: bad phone"),
        "{out}"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("1 dead letter(s)"));
    let o = fieldmap(&["dlq", "replay", &key_b, "--data-dir", dir_arg(data.path())]);
    assert!(o.status.success(), "{o:?}");

    // The next start delivers it.
    let sc = delacon(data.path(), &receiver, "20ms", true);
    assert!(
        sc.banner.contains("1 pending deliveries resumed"),
        "{}",
        sc.banner
    );
    sc.wait_counts((0, 0), Duration::from_secs(10));
    let hits = receiver.hits();
    assert_eq!(hits.len(), 4, "{hits:#?}");
    assert_eq!((hits[3].key(), hits[3].answered), (key_b.as_str(), 200));
    assert_eq!(hits[3].json()["CallSessionId"], "refused-b");
}

// ---------------------------------------------------------------------------------------------
// 6. 429 with Retry-After.

#[test]
fn retry_after_is_honoured() {
    let data = tempfile::tempdir().unwrap();
    let receiver = Receiver::up();
    receiver.then(
        1,
        Reply {
            headers: vec![("retry-after", "1".into())],
            ..Reply::status(429)
        },
    );
    let sc = delacon(data.path(), &receiver, "20ms", false);
    assert_delacon_success(&push_delacon(&sc, "slow-down"), "slow-down");
    let hits = receiver.wait_hits(2, Duration::from_secs(10), &sc);
    let gap = hits[1].at - hits[0].at;
    assert!(
        gap >= Duration::from_millis(950),
        "the retry came {gap:?} after the 429 with Retry-After: 1"
    );
    assert!(gap < Duration::from_secs(5), "{gap:?}");
    assert_eq!(hits[1].answered, 200);
    assert_eq!(hits[0].key(), hits[1].key());
    sc.wait_counts((0, 0), Duration::from_secs(5));
}

// ---------------------------------------------------------------------------------------------
// 7. kill -9 in the middle of a load.

#[test]
fn kill_9_loses_no_acknowledged_record() {
    const RECORDS: usize = 200;
    const THREADS: usize = 16;
    let data = tempfile::tempdir().unwrap();
    let receiver = Receiver::down();
    let mut sc = delacon(data.path(), &receiver, "200ms", false);
    let url = sc.url(&format!("/in/{DELACON}"));
    let next = Arc::new(AtomicUsize::new(0));
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let n_acked = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let (url, next, acked, n_acked, failed) = (
                url.clone(),
                next.clone(),
                acked.clone(),
                n_acked.clone(),
                failed.clone(),
            );
            std::thread::spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= RECORDS {
                        return;
                    }
                    let id = format!("load-{i:03}");
                    let r = try_send(
                        client()
                            .post(&url)
                            .header("Content-Type", "application/json")
                            .body(delacon_push(&id)),
                    );
                    match r {
                        Ok(r)
                            if r.status == 200
                                && r.json()
                                    == json!({"PLA_Call_Id": id, "success": "true", "error": ""}) =>
                        {
                            acked.lock().unwrap().push(id);
                            n_acked.fetch_add(1, Ordering::SeqCst);
                        }
                        _ => {
                            failed.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
            })
        })
        .collect();
    // Kill it while the senders are still sending.
    wait_for(
        "a third of the records acknowledged",
        Duration::from_secs(20),
        || sc.log(),
        || (n_acked.load(Ordering::SeqCst) >= RECORDS / 3).then_some(()),
    );
    sc.kill9();
    for t in threads {
        t.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(!acked.is_empty());
    assert_eq!(
        acked.len() + failed.load(Ordering::SeqCst),
        RECORDS,
        "every request was either acknowledged or failed"
    );

    receiver.listen();
    let sc = delacon(data.path(), &receiver, "200ms", false);
    let resumed: usize = sc
        .banner
        .split(", ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{}", sc.banner));
    assert!(
        resumed >= acked.len(),
        "{resumed} resumed, {} acknowledged",
        acked.len()
    );
    wait_for(
        "every acknowledged record at the receiver",
        Duration::from_secs(20),
        || {
            let got = delivered_ids(&receiver);
            let missing: Vec<&String> = acked.iter().filter(|id| !got.contains_key(*id)).collect();
            format!("missing: {missing:?}\n{}", sc.log())
        },
        || {
            let got = delivered_ids(&receiver);
            acked.iter().all(|id| got.contains_key(id)).then_some(())
        },
    );
    sc.wait_counts((0, 0), Duration::from_secs(10));
    eprintln!(
        "kill -9: {} of {RECORDS} acknowledged before the kill, {resumed} resumed, {} delivered",
        acked.len(),
        receiver.hits().len()
    );
}

// ---------------------------------------------------------------------------------------------
// 8. Inbound token.

fn test_mappings() -> PathBuf {
    root().join("tests/serve/mappings")
}

const TOKEN: &str = "s3cret-inbound-token";

/// The sidecar with the `query-auth` test flow only, delivering to `receiver`.
fn query_auth(data: &Path, receiver: &Receiver) -> Sidecar {
    let m = test_mappings();
    Sidecar::start(
        &[
            "--mappings",
            dir_arg(&m),
            "--flow",
            "query-auth",
            "--data-dir",
            dir_arg(data),
            "--retry-base",
            "20ms",
            "--watch",
            "0s",
        ],
        &[
            ("SERVE_TEST_RECEIVER", &receiver.url()),
            ("SERVE_TEST_TOKEN", TOKEN),
        ],
    )
}

#[test]
fn a_flow_with_a_query_token_refuses_requests_without_it_and_does_not_read_it_as_data() {
    let data = tempfile::tempdir().unwrap();
    let receiver = Receiver::up();
    let sc = query_auth(data.path(), &receiver);
    let api = get(&sc.url("/openapi.json")).json();
    assert_eq!(
        api["paths"]["/in/{flow}"]["get"]["parameters"][0]["schema"]["enum"],
        json!(["query-auth"])
    );
    let q = "TrackingGUID=guid-1&Phone=702-555-0147";
    for bad in [
        q.to_owned(),
        format!("{q}&token=wrong"),
        format!("{q}&token="),
        format!("{q}&token={TOKEN}x"),
        format!("{q}&Token={TOKEN}"),
    ] {
        for route in ["in", "transform"] {
            let rb = if route == "in" {
                client().get(sc.url(&format!("/in/query-auth?{bad}")))
            } else {
                client().post(sc.url(&format!("/transform/query-auth?{bad}")))
            };
            let r = send(rb);
            assert_eq!(r.status, 401, "/{route} ?{bad}: {r:?}");
            assert_eq!(r.content_type, "application/json");
            let v = r.json();
            assert_eq!(
                (&v["status"], &v["reason"]),
                (&json!("error"), &json!("unauthorized"))
            );
        }
    }
    // A header with the token's name does not count: the flow reads it from the query.
    let r = send(
        client()
            .get(sc.url(&format!("/in/query-auth?{q}")))
            .header("token", TOKEN),
    );
    assert_eq!(r.status, 401);

    let r = get(&sc.url(&format!(
        "/in/query-auth?TrackingGUID=guid-1&token={TOKEN}&Phone=702-555-0147"
    )));
    assert_eq!(r.status, 202, "{r:?}");
    let v = r.json();
    assert_eq!(v["status"], "accepted");
    assert!(is_key(v["id"].as_str().unwrap()));
    assert_eq!(
        v["output"],
        json!({"TrackingGuid": "guid-1", "Phone": "7025550147", "Keys": "TrackingGUID Phone"}),
        "the token is not an input field"
    );
    assert!(!r.body.contains(TOKEN));

    let hits = receiver.wait_hits(1, Duration::from_secs(10), &sc);
    assert_eq!(hits.len(), 1, "refused requests are not delivered");
    let h = &hits[0];
    assert_eq!(h.method, "GET");
    assert_eq!(
        h.uri,
        "/ring?TrackingGuid=guid-1&Phone=7025550147&Keys=TrackingGUID%20Phone"
    );
    assert!(!h.uri.contains("token") && !h.uri.contains(TOKEN));
    assert_eq!(h.key(), v["id"].as_str().unwrap());
    sc.wait_counts((0, 0), Duration::from_secs(5));
    assert!(!sc.log().contains(TOKEN), "the token is not logged");
}

/// The sidecar reads each record into the fields of the one before (`Refill`): records with
/// other names, in another order, or fewer, must each come out as if read alone.
#[test]
fn records_of_different_shapes_one_after_another_each_map_as_if_alone() {
    let data = tempfile::tempdir().unwrap();
    let receiver = Receiver::up();
    let sc = query_auth(data.path(), &receiver);
    let cases = [
        (
            "TrackingGUID=g1&Phone=1-2&A=x&B=y",
            json!({"TrackingGuid": "g1", "Phone": "12", "Keys": "TrackingGUID Phone A B"}),
        ),
        (
            "TrackingGUID=g2&Phone=3&A=x",
            json!({"TrackingGuid": "g2", "Phone": "3", "Keys": "TrackingGUID Phone A"}),
        ),
        (
            "B=y&TrackingGUID=%20g3&Phone=4",
            json!({"TrackingGuid": "g3", "Phone": "4", "Keys": "B TrackingGUID Phone"}),
        ),
        (
            "TrackingGUID=g4",
            json!({"TrackingGuid": "g4", "Phone": null, "Keys": "TrackingGUID"}),
        ),
    ];
    for round in 0..5 {
        for (q, want) in &cases {
            let r =
                send(client().post(sc.url(&format!("/transform/query-auth?{q}&token={TOKEN}"))));
            assert_eq!(r.status, 200, "round {round}, ?{q}: {r:?}");
            assert_eq!(r.json()["output"], *want, "round {round}, ?{q}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 9. Error answers: 413, malformed, 415, 404.

#[test]
fn oversize_malformed_wrongly_typed_and_unknown_requests_get_their_answers() {
    let data = tempfile::tempdir().unwrap();
    let receiver = Receiver::up();
    let url = format!("{}/api/CallLog?key=k", receiver.url());
    let mut args = repo_flow(DELACON, data.path(), "20ms");
    args.extend(["--max-body", "2048", "--request-timeout", "500ms"]);
    let sc = Sidecar::start(&args, &[("LEADSQUARED_CALL_LOG_URL", &url)]);
    let flow_url = sc.url(&format!("/in/{DELACON}"));

    // Too large.
    let mut big: Value = serde_json::from_str(&delacon_push("big")).unwrap();
    big["PLA_Keywords_Searched"] = json!("x".repeat(3000));
    let r = post_json(&flow_url, big.to_string());
    assert_eq!(r.status, 413, "{r:?}");
    assert_eq!(r.content_type, "application/json");
    assert_eq!(r.json()["reason"], "too_large");
    // Just under the limit is fine.
    let mut fits: Value = serde_json::from_str(&delacon_push("fits")).unwrap();
    fits["PLA_Keywords_Searched"] = json!("");
    let room = 2048 - fits.to_string().len();
    fits["PLA_Keywords_Searched"] = json!("x".repeat(room));
    assert_eq!(fits.to_string().len(), 2048);
    assert_delacon_success(&post_json(&flow_url, fits.to_string()), "fits");

    // Malformed JSON: Delacon's own error answer.
    let r = post_json(&flow_url, r#"{"PLA_Call_Id": "77", "PLA_Duration": "#);
    assert_eq!(r.status, 200, "{r:?}");
    let v = r.json();
    assert_eq!(v["success"], "false", "{v}");
    assert_eq!(v["PLA_Call_Id"], "");
    assert!(!v["error"].as_str().unwrap().is_empty(), "{v}");

    // A content type the flow does not read.
    for ct in [
        "application/x-www-form-urlencoded",
        "text/csv",
        "application/xml",
    ] {
        let r = send(
            client()
                .post(&flow_url)
                .header("Content-Type", ct)
                .body(delacon_push("typed")),
        );
        assert_eq!(r.status, 415, "{ct}: {r:?}");
        assert_eq!(r.json()["reason"], "unsupported_media_type");
    }
    // JSON under other names is read; media types are compared without regard to case.
    for (i, ct) in [
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/vnd.delacon.call+JSON",
        "text/plain",
    ]
    .into_iter()
    .enumerate()
    {
        let id = format!("typed{i}");
        let r = send(
            client()
                .post(&flow_url)
                .header("Content-Type", ct)
                .body(delacon_push(&id)),
        );
        assert_delacon_success(&r, &id);
    }

    // No such flow.
    for r in [
        post_json(&sc.url("/in/no-such-flow"), "{}"),
        send(client().post(sc.url("/transform/no-such-flow")).body("{}")),
    ] {
        assert_eq!(r.status, 404, "{r:?}");
        assert_eq!(r.content_type, "application/json");
        assert_eq!(r.json()["reason"], "unknown_flow");
    }
    // A body that never finishes: 408 after --request-timeout.
    for route in ["in", "transform"] {
        use std::io::{Read, Write};
        let mut conn = std::net::TcpStream::connect(("127.0.0.1", sc.port)).unwrap();
        let started = Instant::now();
        write!(
            conn,
            "POST /{route}/{DELACON} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"PLA_"
        )
        .unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut answer = String::new();
        let _ = conn.read_to_string(&mut answer);
        assert!(
            answer.starts_with("HTTP/1.1 408"),
            "{answer:?} after {:?}",
            started.elapsed()
        );
        assert!(started.elapsed() >= Duration::from_millis(450));
        assert!(answer.contains("\"reason\":\"timeout\""), "{answer:?}");
    }

    let r = get(&sc.url("/no/such/route"));
    assert_eq!(
        (r.status, r.json()["reason"].clone()),
        (404, json!("not_found"))
    );

    let hits = receiver.wait_hits(5, Duration::from_secs(10), &sc);
    sc.wait_counts((0, 0), Duration::from_secs(5));
    let ids: HashSet<String> = hits
        .iter()
        .map(|h| h.json()["CallSessionId"].as_str().unwrap().to_owned())
        .collect();
    let want = ["fits", "typed0", "typed1", "typed2", "typed3"];
    assert_eq!(ids, HashSet::from(want.map(String::from)));

    // A flow without a reply of its own: 400 JSON for malformed JSON, 422 for a rejected
    // record, 202 for an accepted one.
    let data2 = tempfile::tempdir().unwrap();
    let m = test_mappings();
    let sc2 = Sidecar::start(
        &[
            "--mappings",
            dir_arg(&m),
            "--flow",
            "json-hook",
            "--data-dir",
            dir_arg(data2.path()),
            "--watch",
            "0s",
        ],
        &[("SERVE_TEST_RECEIVER", &receiver.url())],
    );
    let hook = sc2.url("/in/json-hook");
    let r = post_json(&hook, r#"{"id": "1", "#);
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(r.content_type, "application/json");
    assert_eq!(r.json()["status"], "rejected");
    let r = post_json(&hook, r#"{"name": "no id"}"#);
    assert_eq!(r.status, 422, "{r:?}");
    let v = r.json();
    assert_eq!(
        (&v["status"], &v["field"]),
        (&json!("rejected"), &json!("Id"))
    );
    let r = post_json(&hook, r#"{"id": " 9 ", "name": "Ann"}"#);
    assert_eq!(r.status, 202, "{r:?}");
    assert_eq!(
        r.json()["output"],
        json!({"Id": "9", "Name": "Ann", "Version": "v1"})
    );
    let r = send(
        client()
            .post(&hook)
            .header("Content-Type", "text/csv")
            .body("id\n1\n"),
    );
    assert_eq!(r.status, 415, "{r:?}");
    sc2.wait_counts((0, 0), Duration::from_secs(10));
}

// ---------------------------------------------------------------------------------------------
// 10. Reload.

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

fn hook_version(sc: &Sidecar) -> Option<String> {
    let r = post_json(&sc.url("/in/json-hook"), r#"{"id": "r"}"#);
    (r.status == 202).then(|| {
        r.json()["output"]["Version"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    })
}

/// `Version` of eight `/transform/json-hook` answers: the worker threads each keep the flows
/// they used last, and each must see a reload.
fn transform_versions(sc: &Sidecar) -> Vec<String> {
    (0..8)
        .map(|_| {
            let r = post_json(&sc.url("/transform/json-hook"), r#"{"id": "r"}"#);
            assert_eq!(r.status, 200, "{}", r.body);
            r.json()["output"]["Version"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect()
}

#[test]
fn edited_flows_are_reloaded_and_broken_ones_keep_the_old_flows_serving() {
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("mappings");
    copy_dir(&test_mappings(), &m);
    let flow = m.join("json-hook.yaml");
    let original = std::fs::read_to_string(&flow).unwrap();
    assert!(original.contains("value: v1"));
    let data = tmp.path().join("data");
    let receiver = Receiver::up();
    let sc = Sidecar::start(
        &[
            "--mappings",
            dir_arg(&m),
            "--data-dir",
            dir_arg(&data),
            "--watch",
            "200ms",
        ],
        &[
            ("SERVE_TEST_RECEIVER", &receiver.url()),
            ("SERVE_TEST_TOKEN", TOKEN),
        ],
    );
    assert!(sc.banner.contains("(3 flows"), "{}", sc.banner);
    assert_eq!(hook_version(&sc).as_deref(), Some("v1"));
    assert_eq!(transform_versions(&sc), ["v1"; 8]);

    std::fs::write(&flow, original.replace("value: v1", "value: v2")).unwrap();
    wait_for(
        "the edited flow to answer v2",
        Duration::from_secs(10),
        || sc.log(),
        || (hook_version(&sc)? == "v2").then_some(()),
    );
    assert_eq!(transform_versions(&sc), ["v2"; 8]);

    // A flow that does not compile: the old flows keep serving.
    std::fs::write(
        &flow,
        original.replace("value: v1", "value: v3\n    steps: [no_such_rule]"),
    )
    .unwrap();
    wait_for(
        "the reload error in the log",
        Duration::from_secs(10),
        || sc.log(),
        || {
            sc.log()
                .contains("the new mappings have errors; the old ones keep serving")
                .then_some(())
        },
    );
    assert_eq!(hook_version(&sc).as_deref(), Some("v2"));
    assert_eq!(get(&sc.url("/healthz")).status, 200);
    assert_eq!(get(&sc.url("/readyz")).json()["flows"], 3);
    // Not YAML at all, likewise.
    std::fs::write(&flow, "name: [json-hook\n").unwrap();
    wait_for(
        "a second reload error",
        Duration::from_secs(10),
        || sc.log(),
        || {
            (sc.log()
                .matches("the new mappings have errors; the old ones keep serving")
                .count()
                >= 2)
                .then_some(())
        },
    );
    assert_eq!(hook_version(&sc).as_deref(), Some("v2"));
    assert_eq!(transform_versions(&sc), ["v2"; 8]);

    // Fixed: served again.
    std::fs::write(&flow, original.replace("value: v1", "value: v4")).unwrap();
    wait_for(
        "the fixed flow to answer v4",
        Duration::from_secs(10),
        || sc.log(),
        || (hook_version(&sc)? == "v4").then_some(()),
    );
    assert_eq!(transform_versions(&sc), ["v4"; 8]);

    // Every accepted record went out with the flow of its time.
    sc.wait_counts((0, 0), Duration::from_secs(10));
    let versions: Vec<String> = receiver
        .hits()
        .iter()
        .map(|h| h.json()["Version"].as_str().unwrap().to_owned())
        .collect();
    for v in ["v1", "v2", "v4"] {
        assert!(versions.iter().any(|x| x == v), "{versions:?}");
    }
    assert!(!versions.iter().any(|x| x == "v3"), "{versions:?}");
}

#[test]
fn sighup_reloads_without_watching() {
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("mappings");
    copy_dir(&test_mappings(), &m);
    let flow = m.join("json-hook.yaml");
    let original = std::fs::read_to_string(&flow).unwrap();
    let receiver = Receiver::up();
    let sc = Sidecar::start(
        &[
            "--mappings",
            dir_arg(&m),
            "--flow",
            "json-hook",
            "--data-dir",
            dir_arg(&tmp.path().join("data")),
            "--watch",
            "0s",
        ],
        &[("SERVE_TEST_RECEIVER", &receiver.url())],
    );
    std::fs::write(&flow, original.replace("value: v1", "value: hup")).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        hook_version(&sc).as_deref(),
        Some("v1"),
        "--watch 0s: no polling"
    );
    sc.signal("-HUP");
    wait_for(
        "the reload on SIGHUP",
        Duration::from_secs(10),
        || sc.log(),
        || (hook_version(&sc)? == "hup").then_some(()),
    );
}

// ---------------------------------------------------------------------------------------------
// 11. Graceful shutdown.

#[test]
fn sigterm_exits_0_and_pending_records_are_delivered_after_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let receiver = Receiver::down();
    let mut sc = delacon(data.path(), &receiver, "100ms", false);
    let ids = ["term-1", "term-2", "term-3", "term-4", "term-5"];
    for id in ids {
        assert_delacon_success(&push_delacon(&sc, id), id);
    }
    wait_for(
        "a failed attempt of each record",
        Duration::from_secs(10),
        || sc.log(),
        || (sc.metric("fieldmap_retried_total") >= 5.0).then_some(()),
    );
    let status = sc.terminate();
    assert_eq!(status.code(), Some(0), "{}", sc.log());
    assert!(
        sc.log().contains("pending records stay in the outbox"),
        "{}",
        sc.log()
    );
    let o = fieldmap(&["dlq", "list", "--data-dir", dir_arg(data.path())]);
    assert!(o.status.success() && o.stdout.is_empty(), "{o:?}");

    receiver.listen();
    let sc = delacon(data.path(), &receiver, "100ms", false);
    assert!(
        sc.banner.contains("5 pending deliveries resumed"),
        "{}",
        sc.banner
    );
    sc.wait_counts((0, 0), Duration::from_secs(10));
    let got = delivered_ids(&receiver);
    for id in ids {
        assert_eq!(got.get(id), Some(&1), "{got:?}");
    }
}

#[test]
fn sigterm_lets_a_delivery_under_way_finish() {
    let data = tempfile::tempdir().unwrap();
    let receiver = Receiver::up();
    receiver.always(Reply {
        delay: Duration::from_millis(1500),
        ..Reply::status(200)
    });
    let mut sc = delacon(data.path(), &receiver, "20ms", false);
    assert_delacon_success(&push_delacon(&sc, "in-flight"), "in-flight");
    receiver.wait_hits(1, Duration::from_secs(10), &sc);
    let sent = Instant::now();
    let status = sc.terminate();
    assert_eq!(status.code(), Some(0), "{}", sc.log());
    assert!(
        sent.elapsed() >= Duration::from_millis(1000),
        "it waited for the answer"
    );
    // It was taken, so it is not pending any more.
    receiver.always(Reply::status(200));
    let sc = delacon(data.path(), &receiver, "20ms", false);
    assert!(
        sc.banner.contains("0 pending deliveries resumed"),
        "{}",
        sc.banner
    );
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(receiver.hits().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Endpoint limits.

#[test]
fn an_endpoint_gets_no_more_requests_at_once_nor_per_second_than_its_profile_allows() {
    let data = tempfile::tempdir().unwrap();
    let receiver = Receiver::up();
    receiver.always(Reply {
        delay: Duration::from_millis(300),
        ..Reply::status(200)
    });
    let m = test_mappings();
    let sc = Sidecar::start(
        &[
            "--mappings",
            dir_arg(&m),
            "--flow",
            "json-limited",
            "--data-dir",
            dir_arg(data.path()),
            "--watch",
            "0s",
        ],
        &[("SERVE_TEST_RECEIVER", &receiver.url())],
    );
    for i in 0..6 {
        let r = post_json(&sc.url("/in/json-limited"), format!(r#"{{"id": "{i}"}}"#));
        assert_eq!(r.status, 202, "{r:?}");
    }
    let hits = receiver.wait_hits(6, Duration::from_secs(10), &sc);
    sc.wait_counts((0, 0), Duration::from_secs(10));
    // concurrency: 2
    assert_eq!(receiver.max_in_flight(), 2);
    // rate: 10 a second
    let gaps: Vec<Duration> = hits.windows(2).map(|w| w[1].at - w[0].at).collect();
    assert!(
        gaps.iter().all(|g| *g >= Duration::from_millis(90)),
        "{gaps:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Startup.

/// Run `fieldmap serve ARGS` expecting it not to start; its exit status and stderr.
fn serve_fails(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fieldmap"));
    cmd.arg("serve")
        .args(args)
        .args(["--listen", "127.0.0.1:0"]);
    for k in CLEARED {
        cmd.env_remove(k);
    }
    cmd.env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    let status = child.wait().unwrap();
    (status.code(), stderr)
}

#[test]
fn the_sidecar_does_not_start_without_its_variables_or_with_an_outbox_in_use() {
    let data = tempfile::tempdir().unwrap();
    // A variable of the flow served is not set.
    let (code, err) = serve_fails(&repo_flow(DELACON, data.path(), "20ms"), &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("LEADSQUARED_CALL_LOG_URL"), "{err}");
    assert!(!err.contains("listening on"), "{err}");
    // A flow name that is not there.
    let (code, err) = serve_fails(&repo_flow("no-such-flow", data.path(), "20ms"), &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("--flow no-such-flow"), "{err}");
    // Two sidecars cannot share an outbox.
    let receiver = Receiver::down();
    let _first = delacon(data.path(), &receiver, "20ms", false);
    let url = format!("{}/api", receiver.url());
    let (code, err) = serve_fails(
        &repo_flow(DELACON, data.path(), "20ms"),
        &[("LEADSQUARED_CALL_LOG_URL", &url)],
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("in use by another fieldmap"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Bugs found: each test shows one, and is ignored until it is fixed.

#[test]
fn a_redirect_answer_is_not_a_delivery() {
    let data = tempfile::tempdir().unwrap();
    let receiver = Receiver::up();
    receiver.then(
        1,
        Reply {
            headers: vec![("location", "/login".into())],
            ..Reply::status(302)
        },
    );
    let sc = delacon(data.path(), &receiver, "20ms", true);
    assert_delacon_success(&push_delacon(&sc, "redirected"), "redirected");
    wait_for(
        "the record to leave the pending ones",
        Duration::from_secs(10),
        || sc.log(),
        || (sc.counts().0 == 0).then_some(()),
    );
    let hits = receiver.hits();
    assert_eq!(
        (hits.len(), sc.counts()),
        (1, (0, 1)),
        "one POST, answered 302, and the record in the dead letters; the receiver got {:#?}",
        hits.iter()
            .map(|h| format!(
                "{} {} body {}B -> {}",
                h.method,
                h.uri,
                h.body.len(),
                h.answered
            ))
            .collect::<Vec<_>>()
    );
    assert_eq!(sc.metric("fieldmap_delivered_total"), 0.0);
}

#[test]
fn a_redirect_does_not_send_the_endpoint_url_elsewhere() {
    let data = tempfile::tempdir().unwrap();
    let receiver = Receiver::up();
    let elsewhere = Receiver::up();
    receiver.then(
        1,
        Reply {
            headers: vec![("location", format!("{}/collect", elsewhere.url()))],
            ..Reply::status(307)
        },
    );
    let sc = delacon(data.path(), &receiver, "20ms", false);
    assert_delacon_success(&push_delacon(&sc, "elsewhere"), "elsewhere");
    receiver.wait_hits(1, Duration::from_secs(10), &sc);
    wait_for(
        "the record to leave the pending ones",
        Duration::from_secs(10),
        || sc.log(),
        || (sc.counts().0 == 0).then_some(()),
    );
    let leaked: Vec<(String, String)> = elsewhere
        .hits()
        .iter()
        .flat_map(|h| h.headers.clone())
        .filter(|(_, v)| v.contains("test-key"))
        .collect();
    assert!(
        leaked.is_empty(),
        "another origin got the endpoint's secret: {leaked:?}"
    );
}

#[test]
fn a_deleted_flow_file_is_noticed_by_watch() {
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("mappings");
    copy_dir(&test_mappings(), &m);
    let receiver = Receiver::up();
    let sc = Sidecar::start(
        &[
            "--mappings",
            dir_arg(&m),
            "--data-dir",
            dir_arg(&tmp.path().join("data")),
            "--watch",
            "100ms",
        ],
        &[
            ("SERVE_TEST_RECEIVER", &receiver.url()),
            ("SERVE_TEST_TOKEN", TOKEN),
        ],
    );
    let hook = sc.url("/in/json-limited");
    assert_eq!(post_json(&hook, r#"{"id": "1"}"#).status, 202);
    std::fs::remove_file(m.join("json-limited.yaml")).unwrap();
    wait_for(
        "the deleted flow to be unloaded (404)",
        Duration::from_secs(3),
        || sc.log(),
        || (post_json(&hook, r#"{"id": "2"}"#).status == 404).then_some(()),
    );
}

#[test]
fn reloaded_delivery_limits_take_effect() {
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("mappings");
    copy_dir(&test_mappings(), &m);
    let receiver = Receiver::up();
    receiver.always(Reply {
        delay: Duration::from_millis(300),
        ..Reply::status(200)
    });
    let sc = Sidecar::start(
        &[
            "--mappings",
            dir_arg(&m),
            "--flow",
            "json-limited",
            "--data-dir",
            dir_arg(&tmp.path().join("data")),
            "--watch",
            "100ms",
        ],
        &[("SERVE_TEST_RECEIVER", &receiver.url())],
    );
    // One delivery with the first limits.
    assert_eq!(
        post_json(&sc.url("/in/json-limited"), r#"{"id": "first"}"#).status,
        202
    );
    sc.wait_counts((0, 0), Duration::from_secs(10));
    let profile = m.join("vendors/receiver.yaml");
    let text = std::fs::read_to_string(&profile).unwrap();
    assert!(text.contains("{concurrency: 2, rate: 10,"));
    std::fs::write(
        &profile,
        text.replace("{concurrency: 2, rate: 10,", "{concurrency: 4,"),
    )
    .unwrap();
    wait_for(
        "the reload",
        Duration::from_secs(10),
        || sc.log(),
        || sc.log().contains("mappings reloaded").then_some(()),
    );
    for i in 0..8 {
        let r = post_json(&sc.url("/in/json-limited"), format!(r#"{{"id": "{i}"}}"#));
        assert_eq!(r.status, 202);
    }
    sc.wait_counts((0, 0), Duration::from_secs(10));
    assert_eq!(
        receiver.max_in_flight(),
        4,
        "8 records, 300 ms each, `concurrency: 4` and no rate limit"
    );
}

/// Start a sidecar on the test flows and send it `sig` the moment it says it listens (a shell
/// waiting on its standard input sends it, so no process has to start then); its exit status
/// 300 ms later, or None while it still runs (it is then stopped).
fn signal_at_banner(sig: &str) -> Option<ExitStatus> {
    let data = tempfile::tempdir().unwrap();
    let m = test_mappings();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fieldmap"));
    cmd.arg("serve")
        .args([
            "--mappings",
            dir_arg(&m),
            "--data-dir",
            dir_arg(data.path()),
        ])
        .args(["--listen", "127.0.0.1:0", "--watch", "0s"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for k in CLEARED {
        cmd.env_remove(k);
    }
    cmd.env("SERVE_TEST_RECEIVER", "http://127.0.0.1:9")
        .env("SERVE_TEST_TOKEN", TOKEN);
    let mut child = cmd.spawn().unwrap();
    let mut shell = Command::new("sh")
        .args(["-c", &format!("read _ && kill {sig} {}", child.id())])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut go = shell.stdin.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut lines = BufReader::new(stderr).lines();
        for line in lines.by_ref() {
            let Ok(line) = line else { break };
            if line.starts_with("fieldmap serve: listening on") {
                std::io::Write::write_all(&mut go, b"\n").unwrap();
                break;
            }
        }
        lines.for_each(drop);
    });
    shell.wait().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let status = child.try_wait().unwrap();
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    reader.join().unwrap();
    status
}

#[test]
fn sigterm_right_after_the_banner_is_a_clean_shutdown() {
    for run in 0..5 {
        let status = signal_at_banner("-TERM");
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(0),
            "run {run}: {status:?} (None: still running; no code: killed by the signal)"
        );
    }
}

#[test]
fn sighup_right_after_the_banner_does_not_kill_the_sidecar() {
    for run in 0..5 {
        let status = signal_at_banner("-HUP");
        assert!(status.is_none(), "run {run}: the sidecar died: {status:?}");
    }
}

#[test]
fn a_head_request_delivers_nothing() {
    let data = tempfile::tempdir().unwrap();
    let receiver = Receiver::up();
    let sc = Sidecar::start(
        &repo_flow(RING, data.path(), "20ms"),
        &[("CALLERREADY_BASE_URL", &receiver.url())],
    );
    let query = fixture(&format!("{RING}/02-doc-step2-example-agents-nv.txt"));
    let r = send(client().head(sc.url(&format!("/in/{RING}?{}", query.trim()))));
    sc.wait_counts((0, 0), Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(300));
    let hits = receiver.hits();
    assert!(
        hits.is_empty(),
        "HEAD answered {} and delivered {:?}",
        r.status,
        hits.iter()
            .map(|h| format!("{} {}", h.method, h.uri))
            .collect::<Vec<_>>()
    );
}

#[test]
fn dlq_on_a_directory_without_an_outbox_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-such-data-dir");
    let o = fieldmap(&["dlq", "list", "--data-dir", dir_arg(&missing)]);
    assert!(
        !missing.exists(),
        "a read-only command created {}",
        missing.display()
    );
    assert!(!o.status.success(), "{o:?}");
}

/// Delacon's published call start, then its published call end (trailing comma, no caller
/// number): the call start is remembered under the call id, the call end recalls it, and
/// LeadSquared gets a complete call log.
#[test]
fn delacon_published_call_start_then_call_end_make_one_complete_call_log() {
    const START: &str = "delacon-call-start-to-leadsquared-popup";
    let data = tempfile::tempdir().unwrap();
    let receiver = Receiver::up();
    let log_url = format!("{}/api/CallLog?key=test-key", receiver.url());
    let popup_url = format!("{}/api/AgentPopup?key=test-key", receiver.url());
    let mut args = repo_flow(DELACON, data.path(), "20ms");
    args.extend(["--flow", START]);
    let sc = Sidecar::start(
        &args,
        &[
            ("LEADSQUARED_CALL_LOG_URL", log_url.as_str()),
            ("LEADSQUARED_AGENT_POPUP_URL", popup_url.as_str()),
        ],
    );

    // The call end alone lacks the caller: Delacon is told why, nothing is sent.
    let end = fixture(&format!("{DELACON}/01-published-sample.json"));
    let r = post_json(&sc.url(&format!("/in/{DELACON}")), end.clone());
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["success"], "false", "{r:?}");
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap_or_default()
            .contains("SourceNumber"),
        "{r:?}"
    );

    // The call start: a popup, and its fields remembered.
    let start = fixture(&format!("{START}/01-published-sample.json"));
    let r = post_json(&sc.url(&format!("/in/{START}")), start);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["success"], "true", "{r:?}");

    // The same call end, now complete.
    let r = post_json(&sc.url(&format!("/in/{DELACON}")), end);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.json(),
        json!({"PLA_Call_Id": "1122334", "success": "true", "error": ""}),
        "{r:?}"
    );
    let hits = receiver.wait_hits(2, Duration::from_secs(10), &sc);
    let log = hits
        .iter()
        .find(|h| h.uri.starts_with("/api/CallLog"))
        .expect("a call log");
    let b = log.json();
    assert_eq!(
        b["SourceNumber"], "+61444444444",
        "from the call start: {b}"
    );
    assert_eq!(b["DisplayNumber"], "+61288889999", "{b}");
    assert_eq!(b["StartTime"], "2019-05-02 10:12:17", "{b}");
    assert_eq!(b["CallDuration"], "50", "from the call end: {b}");
    assert_eq!(b["CallSessionId"], "1122334", "{b}");
    assert!(
        hits.iter().any(|h| h.uri.starts_with("/api/AgentPopup")),
        "the popup"
    );
}
