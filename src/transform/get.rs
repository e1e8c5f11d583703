//! `get`: pick one value out of an object or a list.
//!
//! After `lookup` returns a whole CSV row, or `zip_lists` builds agent records, `get` takes the
//! part a field needs: `{get: email}`, the first agent `{get: 0}`, or a path through nested
//! values `{get: "agents.0.phone"}`. A missing key or position is not an error (the value is
//! simply absent: `null`, which `default` or `require` can then handle); a path that runs into
//! text where it expected an object or a list is, because the data is not shaped as the
//! mapping expects.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::{CompileCtx, Example, RuleConfig, RuleDoc, RuleError, Transform, kind, show};

/// One step of a path, as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Segment {
    /// A position in a list (0 is the first, -1 the last).
    Index(i64),
    /// A key of an object (or a position written as text).
    Key(String),
}

/// Where the value is: a key, a position, a dotted path, or a list of steps.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum PathSpec {
    /// A position in a list: 0 is the first element, -1 the last.
    Index(i64),
    /// A key (`email`) or a dotted path (`agent.phone`, `agents.0.id`).
    Path(String),
    /// The steps of the path one by one, for keys that contain a dot: `["agent.v2", "phone"]`.
    Steps(Vec<Segment>),
}

/// Options of `get`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// The key, position or dotted path to pick.
    pub path: PathSpec,
}

/// `get: KEY`, `get: 0`, `get: "a.b.0"` or `get: {path: ...}`.
#[derive(Debug, Clone)]
pub struct Config(pub Options);

crate::shorthand_config!(Config, Options, PathSpec, |path| Options { path });

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "get",
        summary: "Pick a value out of an object (by key) or a list (by position), or follow a dotted path.",
        description: "`{get: email}` picks the key `email` of an object; `{get: 0}` the first \
element of a list (`-1` the last, `-2` the one before); `{get: \"agents.0.phone\"}` follows a \
path one step at a time, where a step that is a whole number picks a position in a list and any \
step picks a key in an object. For keys that contain a dot, write the steps as a list: \
`{get: [\"agent.v2\", phone]}`. The long form is `{get: {path: ...}}`.\n\n\
A missing key, a position past the end, or `null` met along the path give `null` (not an \
error). The value picked is returned as it is (text, number, object, list). Picking from text, \
a number or a boolean fails with reason `wrong_type`, as does a step that is not a number when \
the value there is a list. `null` input passes through.",
        examples: &[
            Example {
                step: "{get: email}",
                input: r#"{"state": "CA", "email": "Erin.Jones@xyz.com", "phone": "9492651111"}"#,
                output: Ok(r#""Erin.Jones@xyz.com""#),
            },
            Example { step: "{get: 0}", input: r#"["328290", "328999"]"#, output: Ok(r#""328290""#) },
            Example { step: "{get: -1}", input: r#"["328290", "328999"]"#, output: Ok(r#""328999""#) },
            Example {
                step: "{get: \"agents.1.phone\"}",
                input: r#"{"agents": [{"id": "328290", "phone": "8885551111"}, {"id": "328999", "phone": "9492651111"}]}"#,
                output: Ok(r#""9492651111""#),
            },
            Example { step: "{get: nmls}", input: r#"{"id": "328290"}"#, output: Ok("null") },
            Example { step: "{get: 5}", input: r#"["328290"]"#, output: Ok("null") },
            Example { step: "{get: email}", input: r#""Erin.Jones@xyz.com""#, output: Err("wrong_type") },
        ],
    };
    fn compile(self, _: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        let (shown, steps) = match self.0.path {
            PathSpec::Index(i) => (i.to_string(), vec![Step::index(i)]),
            PathSpec::Path(p) => {
                if p.is_empty() {
                    return Err("the path is empty: give a key (`email`), a position (`0`) or a path (`agent.phone`)".into());
                }
                let steps: Vec<Step> = p.split('.').map(Step::parse).collect();
                if steps.iter().any(|s| s.key.is_empty()) {
                    return Err(format!(
                        "path {p:?} has an empty step (two dots in a row, or a dot at an end); \
for a key that contains a dot write the steps as a list: `[\"agent.v2\", phone]`"
                    ));
                }
                (p, steps)
            }
            PathSpec::Steps(list) => {
                if list.is_empty() {
                    return Err("the path is an empty list: give at least one key or position".into());
                }
                let steps: Vec<Step> = list
                    .into_iter()
                    .map(|s| match s {
                        Segment::Index(i) => Step::index(i),
                        Segment::Key(k) => Step::parse_owned(k),
                    })
                    .collect();
                let shown = steps.iter().map(|s| s.key.as_str()).collect::<Vec<_>>().join(" > ");
                (shown, steps)
            }
        };
        Ok(Box::new(Get { shown, steps }))
    }
}

/// One compiled step: the key, and the position when the key is a whole number.
#[derive(Debug)]
struct Step {
    key: String,
    index: Option<i64>,
}

impl Step {
    fn index(i: i64) -> Step {
        Step { key: i.to_string(), index: Some(i) }
    }
    fn parse(s: &str) -> Step {
        Step::parse_owned(s.to_owned())
    }
    fn parse_owned(key: String) -> Step {
        let index = key.parse::<i64>().ok();
        Step { key, index }
    }
}

#[derive(Debug)]
struct Get {
    /// The path as written, for messages.
    shown: String,
    steps: Vec<Step>,
}

impl Get {
    /// What the path had reached before step `at`, for messages.
    fn prefix(&self, at: usize) -> String {
        self.steps.iter().take(at).map(|s| s.key.as_str()).collect::<Vec<_>>().join(".")
    }
}

impl Transform for Get {
    fn apply(&self, v: Value) -> Result<Value, RuleError> {
        let mut cur = v;
        for (at, step) in self.steps.iter().enumerate() {
            cur = match cur {
                Value::Null => return Ok(Value::Null),
                Value::Object(mut m) => m.remove(&step.key).unwrap_or(Value::Null),
                Value::Array(mut items) => {
                    let Some(i) = step.index else {
                        let whole = if at == 0 { "the value".to_owned() } else { format!("`{}`", self.prefix(at)) };
                        return Err(RuleError::new(
                            "wrong_type",
                            format!(
                                "`get {}`: {whole} is a list, and `{}` is not a position in it (use a number: 0 is the first)",
                                self.shown, step.key
                            ),
                        ));
                    };
                    let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
                    let pos = if i < 0 { len + i } else { i };
                    match usize::try_from(pos) {
                        Ok(p) if p < items.len() => items.swap_remove(p),
                        _ => Value::Null,
                    }
                }
                other => {
                    let whole = if at == 0 { "the value".to_owned() } else { format!("`{}`", self.prefix(at)) };
                    return Err(RuleError::new(
                        "wrong_type",
                        format!(
                            "`get {}` picks from an object or a list, but {whole} is {}: {}",
                            self.shown,
                            kind(&other),
                            show(&other)
                        ),
                    ));
                }
            };
        }
        Ok(cur)
    }
}

#[cfg(test)]
mod tests {
    use crate::transform::testing::*;
    use serde_json::json;

    #[test]
    fn positions() {
        let list = r#"["a", "b", "c"]"#;
        assert_eq!(run("{get: 2}", list).unwrap(), json!("c"));
        assert_eq!(run("{get: 3}", list).unwrap(), json!(null));
        assert_eq!(run("{get: -3}", list).unwrap(), json!("a"));
        assert_eq!(run("{get: -4}", list).unwrap(), json!(null));
        assert_eq!(run("{get: 0}", "[]").unwrap(), json!(null));
        assert_eq!(run("{get: \"1\"}", list).unwrap(), json!("b"));
        assert_eq!(run("{get: -9223372036854775808}", list).unwrap(), json!(null));
    }

    #[test]
    fn number_steps_pick_keys_in_objects() {
        assert_eq!(run("{get: 0}", r#"{"0": "zero"}"#).unwrap(), json!("zero"));
        assert_eq!(run("{get: \"rows.1\"}", r#"{"rows": {"1": "x"}}"#).unwrap(), json!("x"));
    }

    #[test]
    fn nested_values_returned_whole() {
        let input = r#"{"agent": {"phones": ["1", "2"], "name": null}}"#;
        assert_eq!(run("{get: agent}", input).unwrap(), json!({"phones": ["1", "2"], "name": null}));
        assert_eq!(run("{get: \"agent.phones\"}", input).unwrap(), json!(["1", "2"]));
        assert_eq!(run("{get: \"agent.phones.-1\"}", input).unwrap(), json!("2"));
        assert_eq!(run("{get: \"agent.name.first\"}", input).unwrap(), json!(null));
        assert_eq!(run("{get: \"agent.missing.deeper.still\"}", input).unwrap(), json!(null));
    }

    #[test]
    fn keys_with_dots_as_list() {
        let input = r#"{"agent.v2": {"phone": "8885551111"}}"#;
        assert_eq!(run("{get: [\"agent.v2\", phone]}", input).unwrap(), json!("8885551111"));
        assert_eq!(run("{get: {path: [\"agent.v2\", phone]}}", input).unwrap(), json!("8885551111"));
        assert_eq!(run("{get: \"agent.v2.phone\"}", input).unwrap(), json!(null));
        assert_eq!(run("{get: [list, 0]}", r#"{"list": ["x"]}"#).unwrap(), json!("x"));
    }

    #[test]
    fn null_passes_and_scalars_refused() {
        assert_eq!(run("{get: a}", "null").unwrap(), json!(null));
        for input in ["12", "true", r#""text""#] {
            assert_eq!(run("{get: a}", input).unwrap_err().reason, "wrong_type");
        }
        let e = run("{get: \"agent.phone\"}", r#"{"agent": "Erin Jones"}"#).unwrap_err();
        assert_eq!(e.reason, "wrong_type");
        assert!(e.message.contains("`agent` is text: \"Erin Jones\""), "{}", e.message);
        let e = run("{get: \"agents.id\"}", r#"{"agents": [{"id": 1}]}"#).unwrap_err();
        assert_eq!(e.reason, "wrong_type");
        assert!(e.message.contains("`agents` is a list, and `id` is not a position"), "{}", e.message);
    }

    #[test]
    fn bad_paths_refused() {
        assert!(compile_err("{get: \"\"}").contains("empty"));
        assert!(compile_err("{get: \"a..b\"}").contains("empty step"));
        assert!(compile_err("{get: \"a.\"}").contains("empty step"));
        assert!(compile_err("{get: []}").contains("empty list"));
        assert!(compile_err("get").contains("needs options"));
        assert!(compile_err("{get: 1.5}").contains("line"));
        assert!(compile_err("{get: {path: a, default: 1}}").contains("default"));
    }
}
