//! What goes over the wire: the HTTP request an output record becomes at its destination
//! endpoint, how the destination's answer is judged, and the reply a sender gets.
//!
//! These are computed from a flow's vendor profile when the flow is compiled (URL, headers and
//! fixed parameters are rendered once, with the environment). `fieldmap test` shows them in
//! snapshots with secrets redacted; the sidecar sends them.

use handlebars::Handlebars;
use regex::Regex;
use serde_json::{Map, Value};

use crate::codec::{Encoder, query, scalar_text};
use crate::engine::{Failure, Output};
use crate::mapping::{Format, IndexMap, Nulls, Reply, ReplyBody};
use crate::profile::{FieldSpec, Method, ResponseFormat};
use crate::record::{Path, Record};

/// A destination endpoint, ready to build requests.
#[derive(Debug)]
pub struct Wire {
    /// `vendor/endpoint`.
    pub endpoint: String,
    pub method: Method,
    /// The full URL with the authentication query parameters, before the record's own.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub encoding: Format,
    /// Fixed parameters sent before the record's fields.
    pub params: Vec<(String, String)>,
    /// The fields the endpoint knows, with their limits.
    pub fields: IndexMap<String, FieldSpec>,
    /// Names of the vendor's custom fields.
    pub custom_fields: Option<Regex>,
    /// How the sidecar delivers.
    pub delivery: Delivery,
    pub response: Judge,
}

/// How records are delivered to an endpoint (from the profile's `delivery`).
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub concurrency: usize,
    /// Requests per second, at most.
    pub rate: Option<f64>,
    pub timeout: std::time::Duration,
    pub max_attempts: u32,
    pub max_age: std::time::Duration,
}

impl Default for Delivery {
    fn default() -> Self {
        Delivery {
            concurrency: 4,
            rate: None,
            timeout: std::time::Duration::from_secs(10),
            max_attempts: 10,
            max_age: std::time::Duration::from_secs(86_400),
        }
    }
}

/// The token a sender must present (serve mode).
#[derive(Debug, Clone)]
pub struct InboundAuth {
    pub header: Option<String>,
    pub query: Option<String>,
    pub token: String,
}

impl InboundAuth {
    /// Whether the request carries the token: `header_value` is the named header's value,
    /// `query` the raw query string. Compared in constant time.
    pub fn check(&self, header_value: Option<&[u8]>, query: Option<&str>) -> bool {
        use subtle::ConstantTimeEq;
        let given: Option<Vec<u8>> = match (&self.header, &self.query) {
            (Some(_), _) => header_value.map(<[u8]>::to_vec),
            (None, Some(name)) => query.and_then(|q| {
                crate::codec::query::parse(q.as_bytes()).ok().and_then(|m| {
                    m.get(name)
                        .map(|v| scalar_text(v).into_owned().into_bytes())
                })
            }),
            (None, None) => None,
        };
        match given {
            Some(g) => bool::from(g.as_slice().ct_eq(self.token.as_bytes())),
            None => false,
        }
    }

    /// `query` without the token parameter (so it is not read as data).
    pub fn strip<'q>(&self, query: &'q str) -> std::borrow::Cow<'q, str> {
        let Some(name) = &self.query else {
            return query.into();
        };
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| {
                let key = pair.split('=').next().unwrap_or_default();
                let key = percent_encoding::percent_decode_str(key).decode_utf8_lossy();
                key != name.as_str()
            })
            .collect();
        kept.join("&").into()
    }
}

/// One record, encoded for its endpoint.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Encoded {
    /// The record's part of the URL query (`query` encoding), without `?`.
    pub query: String,
    /// The body (`json` and `form` encodings).
    pub body: String,
}

/// One HTTP request.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// Empty for `query` encoding.
    pub body: Vec<u8>,
}

impl Wire {
    /// The content type of the body.
    pub fn content_type(&self) -> Option<&'static str> {
        match self.encoding {
            Format::Json | Format::Jsonl => Some("application/json"),
            Format::Form => Some("application/x-www-form-urlencoded"),
            _ => None,
        }
    }

    /// The record's fields with the fixed parameters first.
    fn with_params<'a>(&'a self, out: &Output<'a>) -> Output<'a> {
        let mut fields = Vec::with_capacity(self.params.len() + out.fields.len());
        for (k, v) in &self.params {
            fields.push((k.as_str().into(), Value::String(v.clone())));
        }
        fields.extend(out.fields.iter().cloned());
        Output { fields }
    }

    /// The request that delivers `out`.
    pub fn request(&self, out: &Output<'_>, nulls: Nulls) -> Request {
        self.assemble(&self.encode(out, nulls))
    }

    /// What is particular to one record: its fields encoded (in the URL's query for `query`
    /// encoding, else as the body). This is what the sidecar's outbox keeps; the URL and the
    /// authentication are added when it is sent ([`Wire::assemble`]), so no secret is stored.
    pub fn encode(&self, out: &Output<'_>, nulls: Nulls) -> Encoded {
        // Without fixed parameters (most endpoints) the output is encoded as it is, not copied.
        let with;
        let all = if self.params.is_empty() {
            out
        } else {
            with = self.with_params(out);
            &with
        };
        let format = match self.encoding {
            Format::Query => Format::Query,
            Format::Form => Format::Form,
            _ => Format::Jsonl,
        };
        let mut bytes = Vec::new();
        let _ = Encoder::new(format, nulls, b',', Vec::new()).encode(all, &mut bytes);
        if bytes.last() == Some(&b'\n') {
            bytes.pop();
        }
        let text = String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        if self.encoding == Format::Query {
            Encoded {
                query: text,
                body: String::new(),
            }
        } else {
            Encoded {
                query: String::new(),
                body: text,
            }
        }
    }

    /// Whether [`Wire::encode`]'s body for `out` is the output's JSON text as
    /// `codec::write_json` writes each value, byte for byte: a JSON endpoint without fixed
    /// parameters, and no `null` the endpoint's `nulls` would leave out or replace. The
    /// sidecar's `/transform` answer then writes the output once and the body from it.
    pub fn body_is_output(&self, out: &Output<'_>, nulls: Nulls) -> bool {
        !matches!(self.encoding, Format::Query | Format::Form)
            && self.params.is_empty()
            && (nulls == Nulls::Null || !out.fields.iter().any(|(_, v)| v.is_null()))
    }

    /// The full request for an encoded record.
    pub fn assemble(&self, e: &Encoded) -> Request {
        let mut headers = self.headers.clone();
        if let Some(ct) = self.content_type() {
            headers.push(("Content-Type".into(), ct.into()));
        }
        let mut url = self.url.clone();
        if !e.query.is_empty() {
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str(&e.query);
        }
        Request {
            method: self.method,
            url,
            headers,
            body: e.body.clone().into_bytes(),
        }
    }

    /// The first field the endpoint requires that `out` leaves out or null (and no fixed
    /// parameter gives). Empty text is a value the flow chose to send (CallerReady's
    /// zero-agents answer sends empty lists); a flow that must not send it marks the field
    /// `required`.
    pub fn missing_required<'a>(&'a self, out: &Output<'_>) -> Option<&'a str> {
        self.fields
            .iter()
            .filter(|(_, spec)| spec.required)
            .map(|(name, _)| name.as_str())
            .find(|name| {
                !self.params.iter().any(|(k, _)| k == name)
                    && !out.fields.iter().any(|(k, v)| k == name && !v.is_null())
            })
    }

    /// The record as the endpoint's schema sees it, read in place: the fixed parameters and the
    /// fields, with nulls left out, and scalars as text when the encoding carries only text.
    pub fn instance<'a>(&'a self, out: &'a Output<'a>) -> crate::instance::Instance<'a> {
        let text_only = matches!(self.encoding, Format::Form | Format::Query);
        crate::instance::Instance::new(&self.params, &out.fields, text_only)
    }
}

/// URL and query parameters joined: `url?k=v&k2=v2` (values percent-encoded).
pub fn with_query(url: &str, params: &[(String, String)]) -> String {
    if params.is_empty() {
        return url.to_owned();
    }
    let mut q = Vec::new();
    for (k, v) in params {
        query::push_pair(&mut q, k, v, false);
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{}", String::from_utf8_lossy(&q))
}

/// What the destination's answer means for the record.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Taken; the vendor's id for it when the answer gives one.
    Delivered { id: Option<String> },
    /// Not taken this time; try again later (network trouble, 5xx, 408, 429).
    Retry { reason: String },
    /// Refused; trying again will not help.
    Failed { reason: String },
}

/// How to read a destination's answer, compiled from the profile's `response`.
#[derive(Debug)]
pub struct Judge {
    pub format: ResponseFormat,
    /// Tested on the JSON answer: when it holds, the record failed.
    pub failure: Option<crate::engine::Cond>,
    pub failure_text: Option<Regex>,
    pub id: Option<Path>,
    pub reason: Option<Path>,
}

/// At most this much of an answer goes into a reason.
const REASON_CHARS: usize = 300;

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.chars().count() > REASON_CHARS {
        let cut: String = text.chars().take(REASON_CHARS).collect();
        format!("{cut}...")
    } else {
        text.to_owned()
    }
}

impl Judge {
    /// Judge the answer `status` + `body`.
    pub fn judge(&self, status: u16, body: &[u8]) -> Verdict {
        let retry = matches!(status, 408 | 429 | 500..=599);
        if !(200..300).contains(&status) {
            let reason = format!("HTTP {status}: {}", snippet(body));
            return if retry {
                Verdict::Retry { reason }
            } else {
                Verdict::Failed { reason }
            };
        }
        if let Some(re) = &self.failure_text
            && re.is_match(&String::from_utf8_lossy(body))
        {
            return Verdict::Failed {
                reason: snippet(body),
            };
        }
        if self.format == ResponseFormat::Text {
            return Verdict::Delivered { id: None };
        }
        let rec = match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => Record::Object(m.into()),
            Ok(_) | Err(_) => {
                return Verdict::Failed {
                    reason: format!("the answer is not a JSON object: {}", snippet(body)),
                };
            }
        };
        let text_at = |p: &Option<Path>| {
            p.as_ref()
                .and_then(|p| rec.get(p))
                .map(|v| scalar_text(&v).into_owned())
                .filter(|s| !s.is_empty())
        };
        if let Some(c) = &self.failure
            && crate::engine::eval(c, &rec)
        {
            return Verdict::Failed {
                reason: text_at(&self.reason).unwrap_or_else(|| snippet(body)),
            };
        }
        Verdict::Delivered {
            id: text_at(&self.id),
        }
    }
}

/// The answer a sender gets.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// A compiled reply: for accepted and for rejected records.
#[derive(Debug)]
pub struct ReplyPlan {
    ok: Part,
    error: Part,
    templates: Handlebars<'static>,
}

#[derive(Debug)]
struct Part {
    status: u16,
    body: Body,
}

#[derive(Debug)]
enum Body {
    /// JSON whose strings name templates in the registry.
    Json(Value),
    /// A template's name, and the content type.
    Text(String, String),
    Output(Format),
    Empty,
}

impl ReplyPlan {
    /// Compile a reply; errors are messages about the template that failed.
    pub fn compile(reply: &Reply) -> Result<ReplyPlan, Vec<String>> {
        let mut templates = Handlebars::new();
        templates.register_escape_fn(handlebars::no_escape);
        let mut errs = Vec::new();
        let mut part = |b: &ReplyBody, name: &str| -> Part {
            let given = [b.json.is_some(), b.text.is_some(), b.output.is_some()];
            let body = if given.iter().filter(|x| **x).count() > 1 {
                errs.push(format!(
                    "reply `{name}`: give one of `json`, `text` and `output`"
                ));
                Body::Empty
            } else if let Some(j) = &b.json {
                Body::Json(register(&mut templates, j, name, &mut errs))
            } else if let Some(t) = &b.text {
                let tname = format!("{name}/text");
                if let Err(e) = templates.register_template_string(&tname, t) {
                    errs.push(format!("reply template `{name}` text: {e}"));
                }
                Body::Text(
                    tname,
                    b.content_type
                        .clone()
                        .unwrap_or_else(|| "text/plain; charset=utf-8".into()),
                )
            } else if let Some(f) = b.output {
                Body::Output(f)
            } else {
                Body::Empty
            };
            if !(100..=599).contains(&b.status) {
                errs.push(format!(
                    "reply `{name}`: {} is not an HTTP status",
                    b.status
                ));
            }
            Part {
                status: b.status,
                body,
            }
        };
        let ok = part(&reply.ok, "ok");
        let error = part(&reply.error, "error");
        if reply.error.output.is_some() {
            errs.push(
                "reply `error`: `output` cannot answer a rejected record (there is no output); give `json` or `text`".into(),
            );
        }
        if errs.is_empty() {
            Ok(ReplyPlan {
                ok,
                error,
                templates,
            })
        } else {
            Err(errs)
        }
    }

    /// The templates' environment variable references.
    pub fn env_refs(reply: &Reply) -> Vec<String> {
        let mut out = Vec::new();
        for b in [&reply.ok, &reply.error] {
            if let Some(j) = &b.json {
                walk_strings(j, &mut |s| out.extend(crate::env::refs(s)));
            }
            if let Some(t) = &b.text {
                out.extend(crate::env::refs(t));
            }
        }
        out
    }

    /// The answer for a record: `input` as decoded (None when it could not be), and the
    /// output or the reason it was rejected.
    pub fn answer(
        &self,
        input: Option<&Record>,
        result: Result<&Output<'_>, &Failure>,
        env: &Map<String, Value>,
        nulls: Nulls,
    ) -> Answer {
        let part = if result.is_ok() {
            &self.ok
        } else {
            &self.error
        };
        let (content_type, body) = match (&part.body, result) {
            (Body::Output(format), Ok(out)) => {
                let mut b = Vec::new();
                let format = if *format == Format::Json {
                    Format::Jsonl
                } else {
                    *format
                };
                let _ = Encoder::new(format, nulls, b',', Vec::new()).encode(out, &mut b);
                if b.last() == Some(&b'\n') {
                    b.pop();
                }
                let ct = match format {
                    Format::Query | Format::Form => "application/x-www-form-urlencoded",
                    _ => "application/json",
                };
                (ct.to_owned(), b)
            }
            (Body::Json(j), result) => {
                let v = render(&self.templates, j, &context(input, result, env));
                (
                    "application/json".to_owned(),
                    serde_json::to_vec(&v).unwrap_or_default(),
                )
            }
            (Body::Text(name, ct), result) => {
                let text = self
                    .templates
                    .render_with_context(name, &context(input, result, env))
                    .unwrap_or_default();
                (ct.clone(), text.into_bytes())
            }
            _ => ("text/plain; charset=utf-8".to_owned(), Vec::new()),
        };
        Answer {
            status: part.status,
            content_type,
            body,
        }
    }
}

/// What reply templates see. Built once per answer and shared by its templates (handlebars'
/// `render` would serialize its data into a new copy on every call; `json!` would too).
fn context(
    input: Option<&Record>,
    result: Result<&Output<'_>, &Failure>,
    env: &Map<String, Value>,
) -> handlebars::Context {
    let text = |f: fn(&Failure) -> String| Value::String(result.err().map_or(String::new(), f));
    let mut m = Map::with_capacity(6);
    m.insert(
        "in".into(),
        Value::Object(input.map_or_else(Map::new, Record::to_object)),
    );
    m.insert(
        "out".into(),
        result
            .ok()
            .map_or(Value::Null, |o| Value::Object(o.to_object())),
    );
    m.insert("error".into(), text(|f| f.message.clone()));
    m.insert("reason".into(), text(|f| f.reason.to_string()));
    m.insert("field".into(), text(|f| f.field.clone()));
    m.insert("env".into(), Value::Object(env.clone()));
    handlebars::Context::from(Value::Object(m))
}

fn walk_strings(v: &Value, f: &mut dyn FnMut(&str)) {
    match v {
        Value::String(s) => f(s),
        Value::Array(a) => a.iter().for_each(|x| walk_strings(x, f)),
        Value::Object(m) => m.values().for_each(|x| walk_strings(x, f)),
        _ => {}
    }
}

/// Register every string of `v` as a template; the returned copy holds template names.
fn register(h: &mut Handlebars<'static>, v: &Value, at: &str, errs: &mut Vec<String>) -> Value {
    match v {
        Value::String(s) => {
            if let Err(e) = h.register_template_string(at, s) {
                errs.push(format!("reply template at `{at}`: {e}"));
            }
            Value::String(at.to_owned())
        }
        Value::Array(a) => Value::Array(
            a.iter()
                .enumerate()
                .map(|(i, x)| register(h, x, &format!("{at}/{i}"), errs))
                .collect(),
        ),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), register(h, x, &format!("{at}/{k}"), errs)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn render(h: &Handlebars<'static>, v: &Value, ctx: &handlebars::Context) -> Value {
    match v {
        Value::String(name) => Value::String(h.render_with_context(name, ctx).unwrap_or_default()),
        Value::Array(a) => Value::Array(a.iter().map(|x| render(h, x, ctx)).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), render(h, x, ctx)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn judge(format: ResponseFormat, failure_text: Option<&str>) -> Judge {
        Judge {
            format,
            failure: None,
            failure_text: failure_text.map(|t| Regex::new(t).unwrap()),
            id: Some(Path::parse("id").unwrap()),
            reason: Some(Path::parse("message").unwrap()),
        }
    }

    #[test]
    fn statuses_decide_retry_or_failure() {
        let j = judge(ResponseFormat::Text, None);
        assert_eq!(j.judge(200, b"OK"), Verdict::Delivered { id: None });
        for s in [408, 429, 500, 502, 503] {
            assert!(matches!(j.judge(s, b"busy"), Verdict::Retry { .. }), "{s}");
        }
        for s in [400, 401, 403, 404, 422] {
            assert!(matches!(j.judge(s, b"no"), Verdict::Failed { .. }), "{s}");
        }
        assert_eq!(
            j.judge(400, b"  bad phone \n"),
            Verdict::Failed {
                reason: "HTTP 400: bad phone".into()
            }
        );
    }

    #[test]
    fn a_200_with_an_error_text_is_a_failure() {
        let j = judge(ResponseFormat::Text, Some("(?i)^error"));
        assert!(matches!(
            j.judge(200, b"Error: Campaign not found"),
            Verdict::Failed { .. }
        ));
        assert_eq!(j.judge(200, b"Success"), Verdict::Delivered { id: None });
    }

    #[test]
    fn json_answers_give_the_id_and_the_reason() {
        let mut j = judge(ResponseFormat::Json, None);
        assert_eq!(
            j.judge(201, br#"{"id": 123, "message": ""}"#),
            Verdict::Delivered {
                id: Some("123".into())
            }
        );
        assert!(matches!(j.judge(200, b"<html>"), Verdict::Failed { .. }));
        let cond = crate::mapping::Condition {
            from: Some("LeadExists".into()),
            equals: Some(json!(false)),
            ..Default::default()
        };
        j.failure = crate::engine::compile_condition(&cond).ok();
        assert!(j.failure.is_some());
        assert_eq!(
            j.judge(200, br#"{"LeadExists": false, "message": "no such lead"}"#),
            Verdict::Failed {
                reason: "no such lead".into()
            }
        );
        assert!(matches!(
            j.judge(200, br#"{"LeadExists": true, "id": "7"}"#),
            Verdict::Delivered { .. }
        ));
    }

    /// Where `body_is_output` says so, the encoded body is the output's JSON text exactly.
    #[test]
    fn body_is_output_only_when_the_body_is_the_outputs_json() {
        let dense = Output {
            fields: vec![
                ("a".into(), json!("x \"q\" \\ \n\t\u{1}é\u{2028}")),
                ("n\"k".into(), json!(1.5)),
                ("big".into(), json!(12345678901234567890u64)),
                ("neg".into(), json!(-3)),
                ("l".into(), json!([1, "two", null, {"k": [true]}])),
                ("o".into(), json!({"b": "c\"", "a": -3})),
            ],
        };
        let with_null = out();
        let mut plain = wire(Format::Json);
        plain.params.clear();
        let mut checked = 0;
        for w in [
            &plain,
            &wire(Format::Json),
            &wire(Format::Form),
            &wire(Format::Query),
        ] {
            for o in [&dense, &with_null] {
                for nulls in [Nulls::Null, Nulls::Omit, Nulls::Empty] {
                    let same = w.body_is_output(o, nulls);
                    let body = w.encode(o, nulls).body;
                    if same {
                        assert_eq!(body, serde_json::to_string(o).unwrap());
                        checked += 1;
                    } else if w.encoding == Format::Json && w.params.is_empty() {
                        // Only a null left out or replaced makes them differ.
                        assert!(o.fields.iter().any(|(_, v)| v.is_null()) && nulls != Nulls::Null);
                        assert_ne!(body, serde_json::to_string(o).unwrap());
                    }
                }
            }
        }
        assert_eq!(
            checked, 4,
            "dense with any nulls policy, the null output kept as null"
        );
    }

    fn wire(encoding: Format) -> Wire {
        Wire {
            endpoint: "acme/x".into(),
            method: Method::Post,
            url: with_query("https://h.example/api", &[("token".into(), "t k".into())]),
            headers: vec![("Authorization".into(), "Token k".into())],
            encoding,
            params: vec![("Action".into(), "InsertDnc".into())],
            fields: IndexMap::new(),
            custom_fields: None,
            delivery: Delivery::default(),
            response: judge(ResponseFormat::Text, None),
        }
    }

    fn out() -> Output<'static> {
        Output {
            fields: vec![
                ("Number".into(), json!("9492651111")),
                ("N".into(), json!(5)),
                ("Gone".into(), Value::Null),
            ],
        }
    }

    #[test]
    fn requests_in_each_encoding() {
        let r = wire(Format::Json).request(&out(), Nulls::Omit);
        assert_eq!(r.url, "https://h.example/api?token=t%20k");
        assert_eq!(
            String::from_utf8(r.body).unwrap(),
            r#"{"Action":"InsertDnc","Number":"9492651111","N":5}"#
        );
        assert_eq!(
            r.headers[1],
            ("Content-Type".into(), "application/json".into())
        );
        let r = wire(Format::Form).request(&out(), Nulls::Empty);
        assert_eq!(
            String::from_utf8(r.body).unwrap(),
            "Action=InsertDnc&Number=9492651111&N=5&Gone="
        );
        let r = wire(Format::Query).request(&out(), Nulls::Omit);
        assert_eq!(
            r.url,
            "https://h.example/api?token=t%20k&Action=InsertDnc&Number=9492651111&N=5"
        );
        assert!(r.body.is_empty());
        assert_eq!(r.headers.len(), 1);
    }

    #[test]
    fn required_endpoint_fields_must_have_a_value() {
        let mut w = wire(Format::Form);
        let spec = |required| FieldSpec {
            required,
            ..FieldSpec::default()
        };
        w.fields.insert("Number".into(), spec(true));
        w.fields.insert("Action".into(), spec(true));
        assert_eq!(w.missing_required(&out()), None);
        w.fields.insert("Gone".into(), spec(true));
        assert_eq!(w.missing_required(&out()), Some("Gone"));
        let blank = Output {
            fields: vec![("Number".into(), json!(""))],
        };
        w.fields.shift_remove("Gone");
        assert_eq!(
            w.missing_required(&blank),
            None,
            "empty text is sent as chosen"
        );
        let null = Output {
            fields: vec![("Number".into(), Value::Null)],
        };
        assert_eq!(w.missing_required(&null), Some("Number"));
    }

    #[test]
    fn inbound_tokens_in_headers_or_queries() {
        let h = InboundAuth {
            header: Some("X-Token".into()),
            query: None,
            token: "s3cret".into(),
        };
        assert!(h.check(Some(b"s3cret"), None));
        assert!(!h.check(Some(b"s3cre"), None));
        assert!(!h.check(None, Some("X-Token=s3cret")));
        let q = InboundAuth {
            header: None,
            query: Some("token".into()),
            token: "a b".into(),
        };
        assert!(q.check(None, Some("x=1&token=a+b")));
        assert!(!q.check(None, Some("x=1")));
        assert_eq!(q.strip("x=1&token=a+b&y=2"), "x=1&y=2");
        assert_eq!(q.strip("tok%65n=z&y=2"), "y=2");
    }

    #[test]
    fn schema_instances_are_text_for_text_encodings() {
        assert_eq!(
            wire(Format::Form).instance(&out()).to_value(),
            json!({"Action": "InsertDnc", "Number": "9492651111", "N": "5"})
        );
        assert_eq!(
            wire(Format::Json).instance(&out()).to_value()["N"],
            json!(5)
        );
    }

    #[test]
    fn replies_render_templates_or_the_output() {
        let reply: Reply = serde_saphyr::from_str(
            "ok: {json: {PLA_Call_Id: '{{in.PLA_Call_Id}}', success: 'true', error: ''}}\nerror: {status: 200, json: {PLA_Call_Id: '{{in.PLA_Call_Id}}', success: 'false', error: '{{error}}'}}\n",
        )
        .unwrap();
        let plan = ReplyPlan::compile(&reply).unwrap();
        let mut m = Map::new();
        m.insert("PLA_Call_Id".into(), json!("1122334"));
        let rec = Record::Object(m.into());
        let env = Map::new();
        let a = plan.answer(Some(&rec), Ok(&out()), &env, Nulls::Omit);
        assert_eq!(a.status, 200);
        assert_eq!(
            String::from_utf8(a.body).unwrap(),
            r#"{"PLA_Call_Id":"1122334","success":"true","error":""}"#
        );
        let f = Failure {
            field: "Status".into(),
            rule: "lookup".into(),
            reason: "unknown_value".into(),
            message: "\"Dropped\" is not in the table".into(),
        };
        let a = plan.answer(None, Err(&f), &env, Nulls::Omit);
        assert_eq!(
            String::from_utf8(a.body).unwrap(),
            r#"{"PLA_Call_Id":"","success":"false","error":"\"Dropped\" is not in the table"}"#
        );
        let reply: Reply = serde_saphyr::from_str(
            "ok: {output: query}\nerror: {status: 422, json: {e: '{{reason}}'}}\n",
        )
        .unwrap();
        let plan = ReplyPlan::compile(&reply).unwrap();
        let a = plan.answer(None, Ok(&out()), &env, Nulls::Omit);
        assert_eq!(String::from_utf8(a.body).unwrap(), "Number=9492651111&N=5");
        let a = plan.answer(None, Err(&f), &env, Nulls::Omit);
        assert_eq!(
            (a.status, a.body),
            (422, br#"{"e":"unknown_value"}"#.to_vec())
        );
        let reply: Reply = serde_saphyr::from_str(
            "ok: {output: form}\nerror: {text: 'Agent1ID=0&Why={{reason}}', content_type: application/x-www-form-urlencoded}\n",
        )
        .unwrap();
        let plan = ReplyPlan::compile(&reply).unwrap();
        let a = plan.answer(None, Err(&f), &env, Nulls::Omit);
        assert_eq!(a.content_type, "application/x-www-form-urlencoded");
        assert_eq!(a.body, b"Agent1ID=0&Why=unknown_value".to_vec());
    }

    #[test]
    fn bad_reply_templates_are_refused() {
        let reply: Reply =
            serde_saphyr::from_str("ok: {json: {a: '{{#if}}'}}\nerror: {status: 1000}\n").unwrap();
        let e = ReplyPlan::compile(&reply).unwrap_err();
        assert_eq!(e.len(), 2, "{e:?}");
    }
}
