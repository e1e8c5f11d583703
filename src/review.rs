//! Reviewing flows: every fixture through its flow, rendered as the text of a snapshot.
//!
//! A snapshot shows, for each record of a fixture, exactly what would go over the wire: the
//! request to the destination endpoint (method, URL, headers, the encoded body; JSON bodies
//! pretty-printed, form and query bodies followed by one decoded `name: value` line per field so
//! a change reads as a one-line diff), and the reply the sender gets; or why the record was
//! rejected. Flows without an endpoint show the encoded output record. Secrets are redacted and
//! `now` is pinned ([`crate::engine::TEST_NOW`]), so snapshots are the same on every machine.
//!
//! `fieldmap test` compares these texts with `snapshots/<flow>__<fixture>.snap` (insta's format,
//! so `cargo insta review` works on them too); `cargo test` runs the same through insta.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::codec::{self, Encoder, read};
use crate::engine::{Failure, Output, Plan};
use crate::mapping::Format;
use crate::record::Record;
use crate::wire::{Answer, Request};

/// Run every record of `input` (in `format`) through `plan` and render the results.
pub fn render_fixture(plan: &Plan, input: &[u8], format: Format) -> String {
    render_case(plan, input, format, None)
}

/// [`render_fixture`], with the fields an earlier record left for the flow's `recall` (a
/// fixture's `<stem>.recall.json`), as the sidecar would add them.
pub fn render_case(
    plan: &Plan,
    input: &[u8],
    format: Format,
    recalled: Option<&serde_json::Map<String, Value>>,
) -> String {
    plan.redact(&render_unredacted(plan, input, format, recalled))
}

fn render_unredacted(
    plan: &Plan,
    input: &[u8],
    format: Format,
    recalled: Option<&serde_json::Map<String, Value>>,
) -> String {
    let mut s = String::new();
    let mut reader = match read::open(
        Box::new(std::io::Cursor::new(input.to_vec())),
        format,
        plan.source.delimiter,
        plan.trailing_commas,
    ) {
        Ok(r) => r,
        Err(e) => return format!("INPUT REFUSED: {}\n", e.0),
    };
    let mut items = Vec::new();
    loop {
        match reader.next_batch(&mut items, 1024) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return format!("INPUT REFUSED: {e}\n"),
        }
    }
    let out_format = plan.destination.format.unwrap_or(Format::Jsonl);
    let headers = reader.headers().cloned();
    let columns = plan.columns(headers.as_deref()).unwrap_or_default();
    let encoder = Encoder::new(
        out_format,
        plan.destination.nulls,
        plan.destination.delimiter.map_or(b',', |c| c as u8),
        columns,
    );
    if items.is_empty() {
        s.push_str("(no records)\n");
    }
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            s.push('\n');
        }
        let pos = item.pos;
        let rec = match codec::decode(item.raw, format, headers.as_ref(), plan.trailing_commas) {
            Ok(r) => r,
            Err(e) => {
                let f = e.failure();
                rejected(&mut s, &pos.to_string(), &f);
                reply(&mut s, plan, None, Err(&f));
                continue;
            }
        };
        let rec = match (recalled, &plan.recall) {
            (Some(kept), Some(r)) => {
                let _ = writeln!(
                    s,
                    "{pos}: recalled from {}/{}: {}",
                    r.name,
                    r.key_of(&rec).unwrap_or_default(),
                    kept.keys().cloned().collect::<Vec<_>>().join(", ")
                );
                crate::engine::RecallPlan::merge(rec, kept.clone())
            }
            _ => rec,
        };
        match plan.apply(&rec) {
            Err(f) => {
                rejected(&mut s, &pos.to_string(), &f);
                reply(&mut s, plan, Some(&rec), Err(&f));
            }
            Ok(o) => {
                if let Some(req) = plan.request(&o) {
                    let _ = writeln!(s, "{pos}: ACCEPTED");
                    request(&mut s, plan, &req);
                } else {
                    let mut bytes = Vec::new();
                    if let Err(f) = encoder.encode(&o, &mut bytes) {
                        rejected(&mut s, &pos.to_string(), &f);
                        reply(&mut s, plan, Some(&rec), Err(&f));
                        continue;
                    }
                    let _ = writeln!(s, "{pos}: sent as {}", out_format.name());
                    body(&mut s, out_format, &bytes);
                }
                if let Some(r) = &plan.remember
                    && let Some((key, fields)) = r.of(&rec)
                {
                    let _ = writeln!(
                        s,
                        "remembered as {}/{key} for {}s: {}",
                        r.name,
                        r.keep_for.as_secs(),
                        fields.keys().cloned().collect::<Vec<_>>().join(", ")
                    );
                }
                reply(&mut s, plan, Some(&rec), Ok(&o));
            }
        }
    }
    s
}

fn rejected(s: &mut String, pos: &str, f: &Failure) {
    let _ = writeln!(
        s,
        "{pos}: REJECTED (reason {}) at field {}, rule {}: {}",
        f.reason, f.field, f.rule, f.message
    );
}

fn reply(
    s: &mut String,
    plan: &Plan,
    input: Option<&Record>,
    result: Result<&Output<'_>, &Failure>,
) {
    if let Some(Answer {
        status,
        content_type,
        body: b,
    }) = plan.answer(input, result)
    {
        let _ = writeln!(s, "reply to the sender: {status} {content_type}");
        let format = match content_type.as_str() {
            "application/json" => Format::Json,
            "application/x-www-form-urlencoded" => Format::Form,
            _ => Format::Csv,
        };
        body(s, format, &b);
    }
}

fn request(s: &mut String, plan: &Plan, r: &Request) {
    // Redacted before its query is decoded: a secret URL's parameters are secret too.
    let url = plan.redact(&r.url);
    let _ = writeln!(s, "{} {url}", r.method.as_str());
    for (k, v) in &r.headers {
        let _ = writeln!(s, "{k}: {v}");
    }
    if let Some((_, q)) = url.split_once('?') {
        s.push_str("query:\n");
        fields(s, q.as_bytes());
    }
    if !r.body.is_empty() {
        let json = r
            .headers
            .iter()
            .any(|(k, v)| k == "Content-Type" && v == "application/json");
        s.push('\n');
        body(s, if json { Format::Json } else { Format::Form }, &r.body);
    }
}

/// A body: pretty JSON, or form/query text followed by its decoded fields.
fn body(s: &mut String, format: Format, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_start_matches(",\n").trim_end();
    match format {
        Format::Json | Format::Jsonl => match serde_json::from_str::<Value>(text) {
            Ok(v) => {
                let _ = writeln!(
                    s,
                    "{}",
                    serde_json::to_string_pretty(&v).unwrap_or_default()
                );
            }
            Err(_) => {
                let _ = writeln!(s, "{text}");
            }
        },
        Format::Form | Format::Query => {
            let _ = writeln!(s, "{text}");
            if !text.is_empty() {
                fields(s, text.as_bytes());
            }
        }
        Format::Csv => {
            let _ = writeln!(s, "{text}");
        }
    }
}

/// One `  name: value` line per decoded field of a query or form text.
fn fields(s: &mut String, text: &[u8]) {
    for pair in text.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (k, v) = match pair.iter().position(|b| *b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        let k = codec::query::parse(k)
            .ok()
            .and_then(|m| m.keys().next().cloned());
        let raw_k = String::from_utf8_lossy(pair).into_owned();
        let key = k.unwrap_or(raw_k);
        let mut probe = b"v=".to_vec();
        probe.extend_from_slice(v);
        let value = codec::query::parse(&probe)
            .ok()
            .and_then(|m| m.get("v").map(|v| codec::scalar_text(v).into_owned()))
            .unwrap_or_else(|| String::from_utf8_lossy(v).into_owned());
        let _ = writeln!(s, "  {key}: {value}");
    }
}

/// One fixture of a flow, and the snapshot it is compared with.
#[derive(Debug, Clone)]
pub struct Case {
    pub mapping: PathBuf,
    pub flow: String,
    pub fixture: PathBuf,
    /// `<flow>__<fixture stem>`.
    pub snapshot_name: String,
}

/// The fixtures of the flow named `flow`: the files of `fixtures_dir/<flow>/`, sorted.
pub fn fixtures(fixtures_dir: &Path, flow: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(fixtures_dir.join(flow))
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_file()
                        && !p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                            n.starts_with('.') || n.ends_with(".md") || n.ends_with(".recall.json")
                        })
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The fields a fixture's `<stem>.recall.json` holds: what an earlier record left for the
/// flow's `recall` (None when there is no such file).
pub fn recalled_for(fixture: &Path) -> std::io::Result<Option<serde_json::Map<String, Value>>> {
    let stem = fixture
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    let p = fixture.with_file_name(format!("{stem}.recall.json"));
    if !p.is_file() {
        return Ok(None);
    }
    match serde_json::from_slice::<Value>(&std::fs::read(&p)?) {
        Ok(Value::Object(m)) => Ok(Some(m)),
        _ => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} is not a JSON object", p.display()),
        )),
    }
}

/// The format of a fixture: the flow's source format, unless the file's extension says
/// otherwise (a `.csv` fixture of a JSON flow, say).
pub fn fixture_format(plan: &Plan, fixture: &Path) -> Format {
    match fixture.extension().and_then(|e| e.to_str()) {
        Some("jsonl") => Format::Jsonl,
        _ => plan.source_format,
    }
}

/// The mapping files under `paths` (files as given; directories walked, skipping `vendors/`
/// directories, which hold profiles).
pub fn mapping_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    yaml_files(paths, false)
}

/// The YAML files under `paths` (files as given; directories walked in name order), with or
/// without those in `vendors/` directories (profiles).
pub fn yaml_files(paths: &[PathBuf], with_profiles: bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, with_profiles, &mut out);
        } else {
            out.push(p.clone());
        }
    }
    out
}

fn walk(dir: &Path, with_profiles: bool, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if with_profiles || p.file_name().and_then(|n| n.to_str()) != Some("vendors") {
                walk(&p, with_profiles, out);
            }
        } else if matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("yaml") | Some("yml")
        ) {
            out.push(p);
        }
    }
}

/// The header of a snapshot file, in insta's format.
pub fn snapshot_file(description: &str, body: &str) -> String {
    format!("---\nsource: tests/examples.rs\ndescription: {description}\n---\n{body}")
}

/// The body of a snapshot file (after insta's `---` header), as insta compares it: trailing
/// whitespace of the whole text ignored.
pub fn snapshot_body(file_text: &str) -> Option<&str> {
    let rest = file_text.strip_prefix("---\n")?;
    let end = rest.find("\n---\n")?;
    Some(&rest[end + 5..])
}

/// Whether two snapshot bodies are the same for insta.
pub fn same_snapshot(a: &str, b: &str) -> bool {
    a.trim_end() == b.trim_end()
}

/// A readable line diff of `old` to `new`.
pub fn diff(old: &str, new: &str) -> String {
    let d = similar::TextDiff::from_lines(old, new);
    let mut s = String::new();
    for group in d.grouped_ops(2) {
        s.push_str("@@\n");
        for op in group {
            for change in d.iter_changes(&op) {
                let sign = match change.tag() {
                    similar::ChangeTag::Delete => '-',
                    similar::ChangeTag::Insert => '+',
                    similar::ChangeTag::Equal => ' ',
                };
                let _ = write!(s, "{sign} {change}");
                if change.missing_newline() {
                    s.push('\n');
                }
            }
        }
    }
    s
}

/// What happened to one fixture in `fieldmap test`.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The output equals the snapshot.
    Same,
    /// No snapshot yet (written with `--update`).
    New { body: String },
    /// The output differs from the snapshot.
    Changed { diff: String },
    /// Written (with `--update`).
    Written,
}

/// The flows under `paths` that have fixtures, compiled for tests, with their cases. Mappings
/// that do not compile are returned as errors (validate reports them in full).
pub fn cases(paths: &[PathBuf], fixtures_dir: &Path) -> (Vec<(Plan, Vec<Case>)>, Vec<String>) {
    let mut flows = Vec::new();
    let mut errors = Vec::new();
    for m in mapping_files(paths) {
        let loaded = match crate::mapping::load(&m) {
            Ok(l) => l,
            Err(e) => {
                errors.push(e.to_string());
                continue;
            }
        };
        let plan = match Plan::compile(&loaded, crate::engine::CompileOptions::for_tests()) {
            Ok(p) => p,
            Err(es) => {
                errors.extend(es.iter().map(|e| e.to_string()));
                continue;
            }
        };
        let list: Vec<Case> = fixtures(fixtures_dir, &plan.name)
            .into_iter()
            .map(|f| Case {
                mapping: m.clone(),
                flow: plan.name.clone(),
                snapshot_name: format!(
                    "{}__{}",
                    plan.name,
                    f.file_stem().and_then(|s| s.to_str()).unwrap_or("fixture")
                ),
                fixture: f,
            })
            .collect();
        flows.push((plan, list));
    }
    (flows, errors)
}

/// Snapshot files in `snapshots_dir` that no case of `flows` produces (a renamed fixture or
/// flow leaves its old snapshot behind, where nobody reviews it).
pub fn stale_snapshots(flows: &[(Plan, Vec<Case>)], snapshots_dir: &Path) -> Vec<PathBuf> {
    let known: std::collections::HashSet<String> = flows
        .iter()
        .flat_map(|(_, cases)| cases.iter().map(|c| format!("{}.snap", c.snapshot_name)))
        .collect();
    let mut stale: Vec<PathBuf> = std::fs::read_dir(snapshots_dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    n.ends_with(".snap") && !known.contains(&n)
                })
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    stale.sort();
    stale
}

/// `<mapping> on <fixture>`, with paths relative to `root` when they are under it.
pub fn describe(case: &Case, root: &Path) -> String {
    let rel = |p: &Path| p.strip_prefix(root).unwrap_or(p).display().to_string();
    format!("{} on {}", rel(&case.mapping), rel(&case.fixture))
}

/// Render `case` and compare it with its snapshot in `snapshots_dir`; with `update`, write the
/// snapshot when it is missing or different.
pub fn check(
    plan: &Plan,
    case: &Case,
    snapshots_dir: &Path,
    root: &Path,
    update: bool,
) -> std::io::Result<Outcome> {
    let input = std::fs::read(&case.fixture)?;
    let body = render_case(
        plan,
        &input,
        fixture_format(plan, &case.fixture),
        recalled_for(&case.fixture)?.as_ref(),
    );
    let path = snapshots_dir.join(format!("{}.snap", case.snapshot_name));
    let old = std::fs::read_to_string(&path).ok();
    let old_body = old.as_deref().and_then(snapshot_body);
    let outcome = match old_body {
        Some(o) if same_snapshot(o, &body) => return Ok(Outcome::Same),
        Some(o) => Outcome::Changed {
            diff: diff(o, &body),
        },
        None => Outcome::New { body: body.clone() },
    };
    if update {
        std::fs::create_dir_all(snapshots_dir)?;
        std::fs::write(&path, snapshot_file(&describe(case, root), &body))?;
        return Ok(Outcome::Written);
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_files_round_trip() {
        let f = snapshot_file("m on f", "a\nb\n");
        assert_eq!(snapshot_body(&f), Some("a\nb\n"));
        assert!(same_snapshot("a\nb\n", "a\nb"));
        assert!(!same_snapshot("a\nb\n", "a\nc\n"));
        assert_eq!(snapshot_body("no header"), None);
    }

    #[test]
    fn diffs_show_changed_lines() {
        let d = diff("a\nb\nc\n", "a\nB\nc\n");
        assert!(d.contains("- b\n"), "{d}");
        assert!(d.contains("+ B\n"), "{d}");
    }

    #[test]
    fn form_fields_are_listed_decoded() {
        let mut s = String::new();
        fields(&mut s, b"First+Name=Mary+Ann&Phone=%2b61&x");
        assert_eq!(s, "  First Name: Mary Ann\n  Phone: +61\n  x: \n");
    }
}
