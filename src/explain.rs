//! `fieldmap explain`: what a mapping does to one record, field by field and step by step.

use std::fmt::Write;

use serde_json::Value;

use crate::codec::{self, Position};
use crate::engine::{FieldTrace, Plan};
use crate::transform::show;

/// The explanation of one record, as text for a terminal. Values of environment variables the
/// mapping uses (secrets) are shown as `[env.NAME]`.
pub fn render(
    plan: &Plan,
    pos: Position,
    raw: codec::Raw,
    format: crate::mapping::Format,
    headers: Option<&std::sync::Arc<crate::record::Headers>>,
) -> (String, bool) {
    let (text, accepted) = render_unredacted(plan, pos, raw, format, headers);
    (plan.redact(&text), accepted)
}

fn render_unredacted(
    plan: &Plan,
    pos: Position,
    raw: codec::Raw,
    format: crate::mapping::Format,
    headers: Option<&std::sync::Arc<crate::record::Headers>>,
) -> (String, bool) {
    let mut s = String::new();
    let _ = writeln!(s, "mapping {}: record at {pos}\n", plan.name);
    let rec = match codec::decode(raw, format, headers, plan.trailing_commas) {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(s, "REJECTED before mapping: {} ({})", e.message, e.reason);
            return (s, false);
        }
    };
    let (out, trace) = plan.explain(&rec);
    let width = trace
        .iter()
        .map(|t| t.field.chars().count())
        .max()
        .unwrap_or(0);
    for t in &trace {
        field(&mut s, t, width);
    }
    match out {
        Ok(o) => {
            let pretty =
                serde_json::to_string_pretty(&Value::Object(o.to_object())).unwrap_or_default();
            let _ = writeln!(s, "\nACCEPTED; output:\n{pretty}");
            (s, true)
        }
        Err(f) => {
            let _ = writeln!(
                s,
                "\nREJECTED: field {}, rule {}, reason {}: {}",
                f.field, f.rule, f.reason, f.message
            );
            (s, false)
        }
    }
}

fn field(s: &mut String, t: &FieldTrace, width: usize) {
    let _ = writeln!(s, "{:width$}  {} -> {}", t.field, t.source, show(&t.input));
    for (rule, r) in &t.steps {
        match r {
            Ok(v) => {
                let _ = writeln!(s, "{:width$}    {rule:<14} -> {}", "", show(v));
            }
            Err(e) => {
                let _ = writeln!(
                    s,
                    "{:width$}    {rule:<14} FAILED: {} ({})",
                    "", e.message, e.reason
                );
            }
        }
    }
    let _ = writeln!(s, "{:width$}  {}", "", t.outcome);
}
