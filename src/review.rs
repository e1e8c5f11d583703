//! Reviewing mappings: every fixture through its mapping, rendered as text for a snapshot.
//!
//! A snapshot shows, for each record of a fixture, exactly what the destination would receive
//! (pretty JSON with the keys in output order, or the encoded CSV/query line), or why the record
//! was rejected. Reviewers read changes to a mapping as diffs of these texts.

use std::fmt::Write;

use serde_json::Value;

use crate::codec::{self, Encoder, read};
use crate::engine::Plan;
use crate::mapping::Format;

/// Run every record of `input` (in `format`) through `plan` and render the results.
pub fn render_fixture(plan: &Plan, input: &[u8], format: Format) -> String {
    let mut s = String::new();
    let mut reader = match read::open(
        Box::new(std::io::Cursor::new(input.to_vec())),
        format,
        plan.source.delimiter,
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
    for item in items {
        let pos = item.pos;
        let rec = match codec::decode(item.raw, format, headers.as_ref()) {
            Ok(r) => r,
            Err(e) => {
                let _ = writeln!(s, "{pos}: REJECTED (reason {}): {}\n", e.reason, e.message);
                continue;
            }
        };
        match plan.apply(&rec) {
            Err(f) => {
                let _ = writeln!(
                    s,
                    "{pos}: REJECTED (reason {}) at field {}, rule {}: {}\n",
                    f.reason, f.field, f.rule, f.message
                );
            }
            Ok(o) => {
                let mut bytes = Vec::new();
                if let Err(f) = encoder.encode(&o, &mut bytes) {
                    let _ = writeln!(
                        s,
                        "{pos}: REJECTED (reason {}) at field {}, rule {}: {}\n",
                        f.reason, f.field, f.rule, f.message
                    );
                    continue;
                }
                let _ = writeln!(s, "{pos}: sent as {}", out_format.name());
                match out_format {
                    Format::Json | Format::Jsonl => {
                        let text = String::from_utf8_lossy(&bytes);
                        let text = text.trim_start_matches(",\n").trim_end();
                        match serde_json::from_str::<Value>(text) {
                            Ok(v) => {
                                let _ = writeln!(
                                    s,
                                    "{}",
                                    serde_json::to_string_pretty(&v).unwrap_or_default()
                                );
                            }
                            Err(_) => s.push_str(text),
                        }
                    }
                    _ => s.push_str(&String::from_utf8_lossy(&bytes)),
                }
                s.push('\n');
            }
        }
    }
    s
}
