//! The sidecar's HTTP API: handlers stay thin; the work is the same data path as every other
//! mode (decode -> record -> plan -> output -> encode), then the outbox.

// Early returns carry the response to send; they happen once per request, so its size is of
// no consequence.
#![allow(clippy::result_large_err)]

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::deliver::Deliverer;
use super::flows::Flows;
use super::outbox::{Entry, Ids, Memo, Outbox, now_ms, parse_key};
use crate::codec;
use crate::engine::{Failure, Plan};
use crate::mapping::Format;
use crate::wire::Answer;

/// Everything the handlers share.
#[derive(Clone)]
pub struct App {
    pub flows: Flows,
    pub outbox: Outbox,
    pub deliverer: Deliverer,
    pub ids: Arc<Ids>,
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    pub max_body: usize,
    pub admin_token: Option<String>,
}

/// The routes.
pub fn router(app: App) -> Router {
    Router::new()
        .route("/in/{flow}", get(ingest).post(ingest))
        .route("/transform/{flow}", post(transform))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics_text))
        .route("/openapi.json", get(openapi))
        .route("/dlq", get(dlq_list))
        .route("/dlq/{id}", get(dlq_show).delete(dlq_drop))
        .route("/dlq/{id}/replay", post(dlq_replay))
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such route; see /openapi.json",
            )
        })
        // Shared, not cloned: axum hands each request its own copy of the state.
        .with_state(Arc::new(app))
}

/// 408: the answer to a request that took longer than `--request-timeout`.
pub fn timed_out() -> Response {
    error(
        StatusCode::REQUEST_TIMEOUT,
        "timeout",
        "the request took longer than --request-timeout",
    )
}

fn error(status: StatusCode, reason: &str, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({"status": "error", "reason": reason, "error": message}).to_string(),
    )
        .into_response()
}

fn answer(a: Answer) -> Response {
    let status = StatusCode::from_u16(a.status).unwrap_or(StatusCode::OK);
    let ct = HeaderValue::from_str(&a.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    (status, [(header::CONTENT_TYPE, ct)], a.body).into_response()
}

fn with_request_id(mut r: Response, id: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(id) {
        r.headers_mut().insert("x-request-id", v);
    }
    r
}

/// Read the body up to the limit: 413 beyond it.
async fn read_body(body: Body, limit: usize) -> Result<Bytes, Response> {
    axum::body::to_bytes(body, limit).await.map_err(|_| {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            &format!("the body is larger than {limit} bytes"),
        )
    })
}

/// The record's bytes, from the query string or the body, as the flow's source format reads
/// them; an error response for a content type the flow does not read.
fn payload<'b>(
    plan: &Plan,
    method: &Method,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &'b Bytes,
) -> Result<Cow<'b, [u8]>, Response> {
    // The media type, compared without regard to case (RFC 9110, 8.3.1).
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim());
    let is = |t: &str| ct.is_some_and(|c| c.eq_ignore_ascii_case(t));
    let unsupported = |wanted: &str| {
        error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            &format!(
                "flow `{}` reads {wanted}; the request is {}",
                plan.name,
                ct.unwrap_or("(no content type)")
            ),
        )
    };
    let stripped = |q: &str| match &plan.inbound_auth {
        Some(a) => a.strip(q).into_owned(),
        None => q.to_owned(),
    };
    match plan.source_format {
        Format::Json | Format::Jsonl => {
            // `application/json`, `text/json`, `text/plain` or `application/<anything>+json`.
            let suffixed = ct.is_some_and(|t| {
                let suffix = t.len().checked_sub(5).and_then(|i| t.get(i..));
                t.get(..12)
                    .is_some_and(|k| k.eq_ignore_ascii_case("application/"))
                    && suffix.is_some_and(|s| s.eq_ignore_ascii_case("+json"))
            });
            let json_ok = ct.is_none()
                || is("application/json")
                || is("text/json")
                || is("text/plain")
                || suffixed;
            if !json_ok {
                return Err(unsupported("JSON (application/json)"));
            }
            Ok(Cow::Borrowed(body))
        }
        Format::Query | Format::Form => {
            if *method == Method::GET || body.is_empty() {
                return Ok(Cow::Owned(stripped(query.unwrap_or_default()).into_bytes()));
            }
            if ct.is_some() && !is("application/x-www-form-urlencoded") {
                return Err(unsupported(
                    "a query string or a form body (application/x-www-form-urlencoded)",
                ));
            }
            let query = stripped(query.unwrap_or_default());
            if query.is_empty() {
                return Ok(Cow::Borrowed(body));
            }
            let mut all = query.into_bytes();
            all.push(b'&');
            all.extend_from_slice(body);
            Ok(Cow::Owned(all))
        }
        Format::Csv => Err(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            &format!(
                "flow `{}` reads CSV files: run it with `fieldmap run`",
                plan.name
            ),
        )),
    }
}

fn authorized(plan: &Plan, headers: &HeaderMap, query: Option<&str>) -> bool {
    match &plan.inbound_auth {
        None => true,
        Some(a) => a.check(
            a.header
                .as_deref()
                .and_then(|h| headers.get(h))
                .map(|v| v.as_bytes()),
            query,
        ),
    }
}

/// 401 for a sender without the flow's token: refused before its body is read.
fn admit(plan: &Plan, headers: &HeaderMap, query: Option<&str>) -> Result<(), Response> {
    if authorized(plan, headers, query) {
        return Ok(());
    }
    Err(error(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "missing or wrong token",
    ))
}

/// The record in a request that was read: `Err` is the HTTP answer for a content type the
/// flow does not read (415); `Ok(Err)` a payload that does not decode.
fn decode(
    plan: &Plan,
    method: &Method,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &Bytes,
) -> Result<Result<crate::record::Record, Failure>, Response> {
    let bytes = payload(plan, method, headers, query, body)?;
    let spare = SPARE.take().unwrap_or_default();
    Ok(
        codec::decode_line_reusing(&bytes, plan.source_format, plan.trailing_commas, spare)
            .map_err(|e| e.failure()),
    )
}

/// The record a request carries: `Err` is the HTTP answer for a request refused before
/// decoding (401, 413, 415); `Ok(Err)` a payload that does not decode.
async fn read_record(
    app: &App,
    plan: &Plan,
    method: &Method,
    headers: &HeaderMap,
    query: Option<&str>,
    body: Body,
) -> Result<Result<crate::record::Record, Failure>, Response> {
    admit(plan, headers, query)?;
    let body = read_body(body, app.max_body).await?;
    decode(plan, method, headers, query, &body)
}

fn unknown_flow(flow: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "unknown_flow",
        &format!("no flow `{flow}` is loaded"),
    )
}

thread_local! {
    /// The fields of the last record this worker thread was done with, to read the next one
    /// into: its names, its hash table and its strings' room are reused (see
    /// [`crate::record::Refill`]).
    static SPARE: std::cell::Cell<Option<crate::record::Spare>> = const { std::cell::Cell::new(None) };
}

/// Keep `rec`'s fields for the next record read on this thread. A record of many fields is
/// let go: what is kept stays in memory, and most senders send a few dozen.
fn recycle(rec: crate::record::Record) {
    if let Some(spare) = rec.into_spare().filter(|s| s.fields.len() <= 256) {
        SPARE.set(Some(spare));
    }
}

/// `{"status": "rejected", ...}` with `status`.
fn rejection(plan: &Plan, f: &Failure, status: StatusCode) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({
            "status": "rejected",
            "reason": f.reason,
            "field": f.field,
            "rule": f.rule,
            "error": plan.redact(&f.message),
        })
        .to_string(),
    )
        .into_response()
}

fn rejected(
    plan: &Plan,
    rec: Option<&crate::record::Record>,
    f: &Failure,
    status: StatusCode,
) -> Response {
    metrics::counter!("fieldmap_rejected_total", "flow" => plan.name.clone(), "reason" => f.reason.to_string()).increment(1);
    match plan.answer(rec, Err(f)) {
        Some(a) => answer(a),
        None => rejection(plan, f, status),
    }
}

/// `GET|POST /in/{flow}`: transform, enqueue durably, answer the sender.
async fn ingest(
    State(app): State<Arc<App>>,
    Path(flow): Path<String>,
    request: axum::extract::Request,
) -> Response {
    // Taken apart rather than extracted one by one: the `HeaderMap` extractor copies every header.
    let (parts, body) = request.into_parts();
    let (method, headers, query) = (&parts.method, &parts.headers, parts.uri.query());
    if *method == Method::HEAD {
        // HEAD is safe (RFC 9110): monitors and link checkers send it; it must not deliver.
        let mut r = error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "send records with GET or POST",
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
        return r;
    }
    let started = Instant::now();
    let request_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map_or_else(|| format!("{:032x}", app.ids.next()), str::to_owned);
    let Some(plan) = app.flows.get(&flow) else {
        return with_request_id(unknown_flow(&flow), &request_id);
    };
    metrics::counter!("fieldmap_received_total", "flow" => flow.clone()).increment(1);
    let r = ingest_flow(&app, &plan, method, headers, query, body, &request_id).await;
    metrics::histogram!("fieldmap_request_seconds", "flow" => flow)
        .record(started.elapsed().as_secs_f64());
    with_request_id(r, &request_id)
}

async fn ingest_flow(
    app: &App,
    plan: &Arc<Plan>,
    method: &Method,
    headers: &HeaderMap,
    query: Option<&str>,
    body: Body,
    request_id: &str,
) -> Response {
    let rec = match read_record(app, plan, method, headers, query, body).await {
        Ok(Ok(r)) => r,
        Ok(Err(f)) => {
            tracing::info!(flow = %plan.name, request_id, reason = %f.reason, "malformed payload");
            return rejected(plan, None, &f, StatusCode::BAD_REQUEST);
        }
        Err(r) => {
            if r.status() == StatusCode::UNAUTHORIZED {
                tracing::warn!(flow = %plan.name, request_id, "unauthorized request");
            }
            return r;
        }
    };
    // Fields an earlier record of another flow left under this record's key.
    let rec = match &plan.recall {
        Some(r) => match r.key_of(&rec).map(|k| app.outbox.recall(&r.name, &k)) {
            Some(Ok(Some(memo))) => {
                tracing::info!(flow = %plan.name, request_id, recalled = %r.name, key = %memo.key, fields = memo.fields.len(), "recalled");
                crate::engine::RecallPlan::merge(rec, memo.fields)
            }
            Some(Err(e)) => {
                tracing::error!(flow = %plan.name, request_id, error = %e, "recall failed; mapping the record as received");
                rec
            }
            _ => rec,
        },
        None => rec,
    };
    let out = match plan.apply(&rec) {
        Ok(o) => o,
        Err(f) => {
            tracing::info!(flow = %plan.name, request_id, reason = %f.reason, field = %f.field, rule = %f.rule, "record rejected");
            return rejected(plan, Some(&rec), &f, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let entry = plan.wire.as_ref().map(|wire| {
        let now = now_ms();
        Entry {
            id: app.ids.next(),
            flow: plan.name.clone(),
            endpoint: wire.endpoint.clone(),
            encoded: wire.encode(&out, plan.destination.nulls),
            request_id: request_id.to_owned(),
            created_ms: now,
            attempts: 0,
            next_ms: now,
            last_error: String::new(),
        }
    });
    let memo = plan.remember.as_ref().and_then(|r| {
        r.of(&rec).map(|(key, fields)| Memo {
            name: r.name.clone(),
            key,
            fields,
            expires_ms: now_ms() + r.keep_for.as_millis() as u64,
        })
    });
    let key = entry.as_ref().map(Entry::key);
    if entry.is_some() || memo.is_some() {
        // The sender hears "accepted" only once the record is on disk.
        if let Err(e) = app.outbox.accept_async(entry.clone(), memo).await {
            tracing::error!(flow = %plan.name, request_id, error = %e, "the outbox refused the record");
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "outbox_unavailable",
                "the record could not be stored; try again",
            );
        }
    }
    match entry {
        Some(entry) => {
            tracing::info!(flow = %plan.name, request_id, record = %entry.key(), endpoint = %entry.endpoint, "accepted");
            app.deliverer.schedule(entry);
        }
        None => {
            tracing::info!(flow = %plan.name, request_id, "accepted (no endpoint: answered only)")
        }
    }
    let response = match plan.answer(Some(&rec), Ok(&out)) {
        Some(a) => answer(a),
        None => (
            if key.is_some() {
                StatusCode::ACCEPTED
            } else {
                StatusCode::OK
            },
            [(header::CONTENT_TYPE, "application/json")],
            reply_json(&Reply {
                status: "accepted",
                id: Some(key.as_deref()),
                output: &out,
                keys: plan.key_texts(),
                encoded: None,
                body_is_output: false,
            }),
        )
            .into_response(),
    };
    drop(out);
    recycle(rec);
    response
}

/// The body of a mapped record's answer (`/in` without a flow reply, `/transform`). Written by
/// [`reply_json`]; the `Serialize` derive is what it must equal (see the tests).
#[cfg_attr(test, derive(serde::Serialize))]
struct Reply<'a> {
    status: &'static str,
    /// `/in` only: the record's id (`null` when the flow delivers nothing).
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    id: Option<Option<&'a str>>,
    output: &'a crate::engine::Output<'a>,
    /// The JSON texts of the output's usual keys ([`Plan::key_texts`]).
    #[cfg_attr(test, serde(skip))]
    keys: &'a codec::KeyTexts,
    /// `/transform` only: the record as its endpoint would get it (`null` without an endpoint).
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    encoded: Option<Option<crate::wire::Encoded>>,
    /// The encoded body is the output's JSON text ([`crate::wire::Wire::body_is_output`]):
    /// `encoded`'s body is left empty and written from the output.
    #[cfg_attr(test, serde(skip))]
    body_is_output: bool,
}

/// About how long `v` is as JSON (its text, for a string).
fn text_len(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len(),
        _ => 16,
    }
}

/// The answer as serde_json would write it, with the codec's string writer: the encoded body is
/// itself JSON, full of quotes, and serde_json escapes byte by byte.
fn reply_json(r: &Reply) -> Vec<u8> {
    use codec::{write_json, write_str};
    let optional = |buf: &mut Vec<u8>, s: Option<&str>| match s {
        Some(s) => write_str(buf, s),
        None => buf.extend_from_slice(b"null"),
    };
    // Room for the output (about as long as the encoded body) and the body, escaped: a JSON
    // body gains a backslash per quote.
    let encoded_len = match &r.encoded {
        Some(Some(e)) => e.query.len() + e.body.len(),
        _ => 0,
    };
    let encoded_len = match r.body_is_output {
        // The output's JSON, about as long as its fields' text, written twice.
        true => r
            .output
            .fields
            .iter()
            .map(|(k, v)| k.len() + text_len(v) + 6)
            .sum::<usize>(),
        false => encoded_len,
    };
    let mut buf = Vec::with_capacity(256 + encoded_len * 5 / 2);
    buf.extend_from_slice(b"{\"status\":");
    write_str(&mut buf, r.status);
    if let Some(id) = r.id {
        buf.extend_from_slice(b",\"id\":");
        optional(&mut buf, id);
    }
    buf.extend_from_slice(b",\"output\":");
    // A body that is the output's JSON is escaped as the output is written.
    let mut body = Vec::new();
    if r.body_is_output {
        body.reserve(buf.capacity() / 2);
        body.push(b'{');
    }
    buf.push(b'{');
    // Where the next key likely is among the usual keys (see `KeyTexts::write`).
    let mut next = 0;
    for (i, (k, v)) in r.output.fields.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        if r.body_is_output {
            if i > 0 {
                body.push(b',');
            }
            r.keys.write_twice(&mut buf, &mut body, k, &mut next);
            codec::write_json_twice(&mut buf, &mut body, v);
        } else {
            r.keys.write(&mut buf, k, &mut next);
            write_json(&mut buf, v);
        }
    }
    buf.push(b'}');
    if let Some(encoded) = &r.encoded {
        buf.extend_from_slice(b",\"encoded\":");
        match encoded {
            Some(e) => {
                buf.extend_from_slice(b"{\"query\":");
                write_str(&mut buf, &e.query);
                buf.extend_from_slice(b",\"body\":");
                if r.body_is_output {
                    body.push(b'}');
                    buf.push(b'"');
                    buf.extend_from_slice(&body);
                    buf.push(b'"');
                } else {
                    write_str(&mut buf, &e.body);
                }
                buf.push(b'}');
            }
            None => buf.extend_from_slice(b"null"),
        }
    }
    buf.push(b'}');
    buf
}

/// `POST /transform/{flow}`: the mapped output, not delivered.
async fn transform(
    State(app): State<Arc<App>>,
    Path(flow): Path<String>,
    request: axum::extract::Request,
) -> Response {
    // Taken apart rather than extracted one by one: the `HeaderMap` extractor copies every header.
    let (parts, body) = request.into_parts();
    let (method, headers, query) = (&parts.method, &parts.headers, parts.uri.query());
    // The plan is used in place (`Flows::with`), before the body is read and again after.
    match app.flows.with(&flow, |plan| admit(plan, headers, query)) {
        None => return unknown_flow(&flow),
        Some(Err(r)) => return r,
        Some(Ok(())) => {}
    }
    let body = match read_body(body, app.max_body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    app.flows
        .with(&flow, |plan| {
            // A reload while the body was read may have changed the flow's token.
            match admit(plan, headers, query) {
                Ok(()) => transform_read(plan, method, headers, query, &body),
                Err(r) => r,
            }
        })
        .unwrap_or_else(|| unknown_flow(&flow))
}

/// `/transform` of a request whose body was read.
fn transform_read(
    plan: &Plan,
    method: &Method,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &Bytes,
) -> Response {
    let rec = match decode(plan, method, headers, query, body) {
        Ok(Ok(r)) => r,
        Ok(Err(f)) => return rejection(plan, &f, StatusCode::BAD_REQUEST),
        Err(r) => return r,
    };
    let response = match plan.apply(&rec) {
        Ok(out) => {
            let nulls = plan.destination.nulls;
            let body_is_output = plan
                .wire
                .as_ref()
                .is_some_and(|w| w.body_is_output(&out, nulls));
            let encoded = plan.wire.as_ref().map(|w| match body_is_output {
                true => crate::wire::Encoded::default(),
                false => w.encode(&out, nulls),
            });
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                reply_json(&Reply {
                    status: "ok",
                    id: None,
                    output: &out,
                    keys: plan.key_texts(),
                    encoded: Some(encoded),
                    body_is_output,
                }),
            )
                .into_response()
        }
        Err(f) => rejection(plan, &f, StatusCode::UNPROCESSABLE_ENTITY),
    };
    recycle(rec);
    response
}

async fn ready(State(app): State<Arc<App>>) -> Response {
    match app.outbox.counts() {
        Ok((pending, dead)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            json!({"status": "ready", "flows": app.flows.snapshot().flows.len(), "pending": pending, "dead": dead}).to_string(),
        )
            .into_response(),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, "outbox_unavailable", &e),
    }
}

async fn metrics_text(State(app): State<Arc<App>>) -> Response {
    if let Ok((pending, dead)) = app.outbox.counts() {
        metrics::gauge!("fieldmap_queue_depth").set(pending as f64);
        metrics::gauge!("fieldmap_dead_letters").set(dead as f64);
    }
    match &app.metrics {
        Some(h) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            h.render(),
        )
            .into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "no_metrics",
            "metrics are not enabled",
        ),
    }
}

/// The admin routes need `FIELDMAP_ADMIN_TOKEN` as a bearer token.
fn admin(app: &App, headers: &HeaderMap) -> Result<(), Response> {
    use subtle::ConstantTimeEq;
    let Some(token) = &app.admin_token else {
        return Err(error(
            StatusCode::FORBIDDEN,
            "admin_disabled",
            "set FIELDMAP_ADMIN_TOKEN when starting the sidecar to use the dead-letter API",
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
        Ok(())
    } else {
        Err(error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or wrong admin token",
        ))
    }
}

fn entry_json(e: &Entry) -> Value {
    json!({
        "id": e.key(),
        "flow": e.flow,
        "endpoint": e.endpoint,
        "attempts": e.attempts,
        "created_ms": e.created_ms,
        "last_error": e.last_error,
        "request_id": e.request_id,
        "query": e.encoded.query,
        "body": e.encoded.body,
    })
}

async fn dlq_list(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if let Err(r) = admin(&app, &headers) {
        return r;
    }
    match app.outbox.dead_letters() {
        Ok(list) => axum::Json(list.iter().map(entry_json).collect::<Vec<_>>()).into_response(),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, "outbox_unavailable", &e),
    }
}

async fn dlq_show(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = admin(&app, &headers) {
        return r;
    }
    let Some(id) = parse_key(&id) else {
        return error(StatusCode::BAD_REQUEST, "bad_id", "an id is 32 hex digits");
    };
    match app.outbox.dead_entry(id) {
        Ok(Some(e)) => axum::Json(entry_json(&e)).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, "not_found", "no such dead letter"),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, "outbox_unavailable", &e),
    }
}

async fn dlq_replay(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = admin(&app, &headers) {
        return r;
    }
    let ids: Vec<u128> = if id == "all" {
        match app.outbox.dead_letters() {
            Ok(list) => list.iter().map(|e| e.id).collect(),
            Err(e) => return error(StatusCode::SERVICE_UNAVAILABLE, "outbox_unavailable", &e),
        }
    } else {
        match parse_key(&id) {
            Some(id) => vec![id],
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "bad_id",
                    "an id is 32 hex digits, or `all`",
                );
            }
        }
    };
    let mut replayed = 0;
    for id in ids {
        let entry = match app.outbox.dead_entry(id) {
            Ok(e) => e,
            Err(e) => return error(StatusCode::SERVICE_UNAVAILABLE, "outbox_unavailable", &e),
        };
        match (app.outbox.replay(id), entry) {
            (Ok(true), Some(mut e)) => {
                // As the outbox has it now: due at once, attempts from zero.
                e.attempts = 0;
                e.next_ms = now_ms();
                app.deliverer.schedule(e);
                replayed += 1;
            }
            (Ok(_), _) => {}
            (Err(e), _) => return error(StatusCode::SERVICE_UNAVAILABLE, "outbox_unavailable", &e),
        }
    }
    if replayed == 0 && id != "all" {
        return error(StatusCode::NOT_FOUND, "not_found", "no such dead letter");
    }
    axum::Json(json!({"replayed": replayed})).into_response()
}

async fn dlq_drop(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = admin(&app, &headers) {
        return r;
    }
    let Some(id) = parse_key(&id) else {
        return error(StatusCode::BAD_REQUEST, "bad_id", "an id is 32 hex digits");
    };
    match app.outbox.drop_dead(id) {
        Ok(true) => axum::Json(json!({"dropped": 1})).into_response(),
        Ok(false) => error(StatusCode::NOT_FOUND, "not_found", "no such dead letter"),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, "outbox_unavailable", &e),
    }
}

async fn openapi(State(app): State<Arc<App>>) -> Response {
    let mut flows: Vec<String> = app.flows.snapshot().flows.keys().cloned().collect();
    flows.sort();
    axum::Json(super::openapi::document(&flows)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    #[test]
    fn replies_are_written_as_serde_json_writes_them() {
        let out = crate::engine::Output {
            fields: vec![
                (Cow::Borrowed("a"), json!("x \"q\" \\ \n\t\u{1}é")),
                (Cow::Borrowed("n\"k"), json!(1.5)),
                (Cow::Borrowed("z"), Value::Null),
                (Cow::Borrowed("l"), json!([1, "two", null, {"k": [true]}])),
                (Cow::Borrowed("o"), json!({"b": "c\"", "a": -3})),
                (
                    Cow::Borrowed("back\\slash"),
                    json!("\\\"\u{1f}\u{7f}\u{2028}"),
                ),
                (Cow::Borrowed(""), json!("")),
                (Cow::Borrowed("t"), json!(true)),
            ],
        };
        let encoded = crate::wire::Encoded {
            query: "a=1&b=%22".into(),
            body: serde_json::to_string(&out).unwrap(),
        };
        let empty = crate::engine::Output { fields: vec![] };
        // No usual keys; some of them in another order, with names to escape and one the
        // output lacks; all of them in order.
        let none = codec::KeyTexts::default();
        let some = codec::KeyTexts::new(
            ["l", "back\\slash", "missing", "n\"k", "a", ""].map(String::from),
        );
        let all = codec::KeyTexts::new(out.fields.iter().map(|(k, _)| k.to_string()));
        for keys in [&none, &some, &all] {
            for (id, output, encoded) in [
                (None, &out, Some(Some(encoded.clone()))),
                (None, &out, Some(None)),
                (Some(Some("k-1")), &out, None),
                (Some(None), &empty, None),
            ] {
                let r = Reply {
                    status: "ok",
                    id,
                    output,
                    keys,
                    encoded,
                    body_is_output: false,
                };
                assert_eq!(
                    String::from_utf8(reply_json(&r)).unwrap(),
                    serde_json::to_string(&r).unwrap()
                );
            }
            // A body that is the output's JSON is written from the output: the same answer.
            for output in [&out, &empty] {
                let full = Reply {
                    status: "ok",
                    id: None,
                    output,
                    keys,
                    encoded: Some(Some(crate::wire::Encoded {
                        query: String::new(),
                        body: serde_json::to_string(output).unwrap(),
                    })),
                    body_is_output: false,
                };
                let short = Reply {
                    encoded: Some(Some(crate::wire::Encoded::default())),
                    body_is_output: true,
                    ..full
                };
                assert_eq!(reply_json(&short), reply_json(&full));
            }
        }
    }
}
