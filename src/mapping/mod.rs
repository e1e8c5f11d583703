//! The mapping file: its YAML model, loading with exact source locations, and the errors that
//! point at file:line:column.
//!
//! The types here are the single source of truth for the file format: serde reads them (through
//! serde-saphyr, which knows where every node came from and refuses duplicate keys), schemars
//! turns them into `schemas/mapping.schema.json` for editors, and `docs/mapping-reference.md`
//! explains them. Everything that can be checked before data is read is checked in
//! [`crate::engine::Plan::compile`], which names the location of the offending node.

mod error;

use std::fmt;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_saphyr::Spanned;

pub use indexmap::IndexMap;

pub use error::{Located, MappingError};

use crate::transform::Step;

/// A mapping file: how records of one source become records of one destination.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// A short identifier, e.g. `delacon-call-end-to-leadsquared`.
    pub name: String,
    /// What the flow does, for people.
    #[serde(default)]
    pub description: String,
    /// What arrives.
    pub source: Source,
    /// The output fields, in output order.
    #[schemars(with = "Vec<Field>")]
    pub fields: Vec<Spanned<Field>>,
    /// Input fields not named by any field's `from`, carried into the output under a naming rule.
    #[serde(default)]
    pub extras: Option<Extras>,
    /// Where and how the output is written.
    #[serde(default)]
    pub destination: Destination,
    /// How rejected records are written.
    #[serde(default)]
    pub rejects: Rejects,
    /// Serve mode: the answer the sender of each record gets (overrides the one of the source's
    /// vendor profile, e.g. Delacon's `{"PLA_Call_Id", "success", "error"}`).
    #[serde(default)]
    pub reply: Option<Reply>,
    /// The environment variables this flow uses (static ids, tokens), with their documentation.
    /// Vendor profiles declare theirs too. Secrets are redacted wherever output is shown.
    #[serde(default)]
    pub env: IndexMap<String, EnvVar>,
    /// Serve mode: keep some input fields of each accepted record, under a key, for a later
    /// record of another flow to `recall` (Delacon's call start holds the caller's number that
    /// its call end lacks).
    #[serde(default)]
    pub remember: Option<Remember>,
    /// Serve mode: before mapping, add the fields an earlier record left under this record's key
    /// (the record's own fields win).
    #[serde(default)]
    pub recall: Option<Recall>,
}

/// What a flow keeps of each accepted record (serve mode).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Remember {
    /// The name the fields are kept under (`delacon-call`); `recall: {from: ...}` uses it.
    #[serde(rename = "as")]
    pub name: String,
    /// The input path whose value is the key (`PLA_Call_Id`).
    pub key: String,
    /// The input fields kept.
    pub fields: Vec<String>,
    /// How long they are kept (default `1d`; `2h`, `7d`).
    #[serde(default = "one_day", rename = "for")]
    pub keep_for: String,
}

fn one_day() -> String {
    "24h".into()
}

/// Where a flow finds fields an earlier record left (serve mode).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Recall {
    /// The name they were kept under (a `remember.as`).
    pub from: String,
    /// The input path whose value is the key (`PLA_Call_Id`).
    pub key: String,
}

/// An environment variable a flow or a vendor profile uses.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvVar {
    /// What it is, where to find its value.
    #[serde(default)]
    pub description: String,
    /// A token or key: its value never appears in output, snapshots, logs or messages.
    #[serde(default)]
    pub secret: bool,
    /// Used when the variable is not set. A template: it may use other variables declared
    /// before it (`https://{{env.CALLTOOLS_REGION}}.calltools.io`).
    #[serde(default)]
    pub default: Option<String>,
    /// The value `fieldmap test` uses, so snapshots do not depend on anyone's environment.
    /// Secrets need none: they show as `[env.NAME]`.
    #[serde(default)]
    pub example: Option<String>,
}

/// The answer a sender gets (serve mode), for an accepted and for a rejected record.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    /// The answer when the record was accepted.
    pub ok: ReplyBody,
    /// The answer when the record was rejected.
    pub error: ReplyBody,
}

/// One answer: a status and either a JSON body whose strings are templates, or the output itself.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyBody {
    /// HTTP status (default 200).
    #[serde(default = "status_200")]
    pub status: u16,
    /// A JSON body. Every string in it is a handlebars template that sees `in` (the input
    /// record), `out` (the output, when accepted), `error` (what was wrong), `reason` (its code)
    /// and `env`.
    #[serde(default)]
    pub json: Option<Value>,
    /// A text body: a handlebars template with the same variables as `json`.
    #[serde(default)]
    pub text: Option<String>,
    /// The content type of a `text` body (default `text/plain; charset=utf-8`).
    #[serde(default)]
    pub content_type: Option<String>,
    /// The body is the output record itself, encoded in this format (`query`, `form`, `json`):
    /// for senders whose request is answered with the mapped data (CallerReady's ring request).
    #[serde(default)]
    pub output: Option<Format>,
}

fn status_200() -> u16 {
    200
}

/// A data format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// One JSON object, or an array of objects.
    Json,
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
    /// URL query strings (`a=1&b=2`), one record per line.
    Query,
    /// `application/x-www-form-urlencoded` bodies, one record per line.
    Form,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
            Format::Query => "query",
            Format::Form => "form",
        }
    }

    /// Parse a format name (as given on the command line).
    pub fn parse(s: &str) -> Option<Format> {
        Some(match s {
            "json" => Format::Json,
            "jsonl" | "ndjson" => Format::Jsonl,
            "csv" => Format::Csv,
            "query" => Format::Query,
            "form" => Format::Form,
            _ => return None,
        })
    }

    /// The format a file name suggests, by its extension.
    pub fn from_extension(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "json" => Some(Format::Json),
            "jsonl" | "ndjson" => Some(Format::Jsonl),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }
}

/// What arrives.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// A payload a vendor profile describes, as `vendor/payload` (`delacon/call-end`): gives the
    /// format, the schema, the JSON leniency and the reply the sender expects.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub profile: Option<Spanned<String>>,
    /// `json`, `jsonl`, `csv`, `query` or `form` (required unless the profile gives it).
    #[serde(default)]
    pub format: Option<Format>,
    /// CSV only: the field delimiter, one ASCII character (default `,`).
    #[serde(default)]
    pub delimiter: Option<char>,
    /// Check every input record against this JSON Schema (`vendor/payload` names
    /// `schemas/vendors/vendor/payload.schema.json`; or a path ending in `.json`, relative to the
    /// mapping). A record that does not match is rejected with reason `schema_violation`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub schema: Option<Spanned<String>>,
    /// JSON only: accept a comma before a closing `}` or `]` (Delacon's published call-end
    /// sample has one). Default false: such a payload is rejected as invalid JSON.
    #[serde(default)]
    pub trailing_commas: Option<bool>,
    /// Serve mode: the shared secret a sender must present, in a header or a query parameter.
    #[serde(default)]
    pub auth: Option<InboundAuth>,
}

/// A shared token a sender presents with every request (compared in constant time).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InboundAuth {
    /// The header that carries it (`X-Webhook-Token`), or
    #[serde(default)]
    pub header: Option<String>,
    /// the query parameter that carries it (`token`; for senders that can only be given a URL,
    /// like Delacon). It is removed before the query is read as data.
    #[serde(default)]
    pub query: Option<String>,
    /// The expected value: a template seeing `env` (`"{{env.DELACON_WEBHOOK_TOKEN}}"`); declare
    /// the variable as a secret.
    pub token: String,
}

/// One output field.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// The output field name. Exactly one of `to` and `spread` is given.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub to: Option<Spanned<String>>,
    /// Instead of one field: the value (an object) is spread into the output, one field per key
    /// (e.g. `Agent1ID`, `Agent1Phone`, ... from `index_records`).
    #[serde(default)]
    pub spread: bool,
    /// Where the value comes from: an input path (`PLA_Call_Id`, `lead.phone`, `agents.0.id`), or a
    /// list of paths whose first non-empty value is taken.
    #[serde(default)]
    #[schemars(with = "Option<PathList>")]
    pub from: Option<Spanned<PathList>>,
    /// Several inputs gathered into one value: a list of paths gives a list, a mapping of
    /// `name: path` gives an object (for `zip_lists`, `join`).
    #[serde(default)]
    #[schemars(with = "Option<Collect>")]
    pub collect: Option<Spanned<Collect>>,
    /// A constant value.
    #[serde(default)]
    pub value: Option<Value>,
    /// A handlebars template rendered with `in` (the input record), `env` (environment variables)
    /// and `now` (the current time, RFC 3339 UTC). No HTML escaping.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub template: Option<Spanned<String>>,
    /// The rules applied in order. See docs/rules.md.
    #[serde(default)]
    #[schemars(with = "Vec<Step>")]
    pub steps: Vec<Spanned<Step>>,
    /// Reject the record when the final value is missing or empty.
    #[serde(default)]
    pub required: bool,
    /// Used instead of a missing or empty input value (before the steps run).
    #[serde(default)]
    pub default: Option<Value>,
    /// Compute the field only when this condition holds; otherwise it is left out.
    #[serde(default)]
    #[schemars(with = "Option<Condition>")]
    pub when: Option<Spanned<Condition>>,
    /// What to do when a step fails: `reject` the record (default), output `empty` text, use the
    /// field's `default`, `keep` the value as it was before the failing step, `null` (leave
    /// the field out), or `next`: give way to the next field of the same name (an alternative),
    /// as if this one's `when` were false.
    #[serde(default)]
    pub on_error: OnError,
    /// A note for people reading the mapping.
    #[serde(default)]
    pub description: Option<String>,
}

/// What to do when a step fails.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    #[default]
    Reject,
    Empty,
    Default,
    Keep,
    Null,
    Next,
}

/// One input path or a list of fallbacks.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(untagged)]
pub enum PathList {
    One(String),
    FirstOf(Vec<String>),
}

impl PathList {
    pub fn paths(&self) -> &[String] {
        match self {
            PathList::One(p) => std::slice::from_ref(p),
            PathList::FirstOf(v) => v,
        }
    }
}

impl<'de> Deserialize<'de> for PathList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PathList;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an input path, or a list of paths (the first non-empty one is used)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PathList, E> {
                Ok(PathList::One(v.to_owned()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PathList, E> {
                Ok(PathList::One(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<PathList, A::Error> {
                let mut v = Vec::new();
                while let Some(p) = s.next_element::<String>()? {
                    v.push(p);
                }
                if v.is_empty() {
                    return Err(de::Error::custom("empty list of paths"));
                }
                Ok(PathList::FirstOf(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// Several input paths gathered into one value.
#[derive(Debug, Clone)]
pub enum Collect {
    /// A list of paths gives a list of values.
    List(Vec<String>),
    /// `name: path` pairs give an object, in this order.
    Named(Vec<(String, String)>),
}

impl JsonSchema for Collect {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Collect".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A list of input paths (gives a list), or a mapping of names to input paths (gives an object).",
            "anyOf": [
                {"type": "array", "items": {"type": "string"}},
                {"type": "object", "additionalProperties": {"type": "string"}}
            ]
        })
    }
}

impl<'de> Deserialize<'de> for Collect {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Collect;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of input paths, or a mapping of names to input paths")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Collect, A::Error> {
                let mut v = Vec::new();
                while let Some(p) = s.next_element::<String>()? {
                    v.push(p);
                }
                Ok(Collect::List(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Collect, A::Error> {
                let mut v = Vec::new();
                while let Some((k, p)) = m.next_entry::<String, String>()? {
                    v.push((k, p));
                }
                Ok(Collect::Named(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// A condition on the input record. Every test given must hold (they combine with AND); `all`,
/// `any` and `not` nest conditions.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The input path the tests below look at.
    #[serde(default)]
    pub from: Option<String>,
    /// The value equals this (text comparison for scalars: `1` equals `"1"`).
    #[serde(default)]
    pub equals: Option<Value>,
    /// The value differs from this.
    #[serde(default)]
    pub not_equals: Option<Value>,
    /// The value is one of these.
    #[serde(default)]
    pub one_of: Option<Vec<Value>>,
    /// The value's text matches this regular expression (anywhere; anchor with `^...$`).
    #[serde(default)]
    pub matches: Option<String>,
    /// true: the value is present and not empty; false: it is missing or empty.
    #[serde(default)]
    pub present: Option<bool>,
    /// Every condition holds.
    #[serde(default)]
    pub all: Option<Vec<Condition>>,
    /// At least one condition holds.
    #[serde(default)]
    pub any: Option<Vec<Condition>>,
    /// The condition does not hold.
    #[serde(default)]
    pub not: Option<Box<Condition>>,
}

/// Input fields carried over without a field of their own.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Extras {
    /// Carry them (default true once `extras` is given).
    #[serde(default = "yes")]
    pub keep: bool,
    /// Only these input fields (in this order); default: every input field not read by a `from`
    /// or `collect`, in input order.
    #[serde(default)]
    pub only: Option<Vec<String>>,
    /// Never these input fields.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Rules applied to each field *name*, e.g. ChaseData's custom fields:
    /// `[{replace: {find: " ", with: "__"}}, {add_prefix: adv_}]` turns `Loan Amount` into
    /// `adv_Loan__Amount`.
    #[serde(default)]
    #[schemars(with = "Vec<Step>")]
    pub rename: Vec<Spanned<Step>>,
    /// Rules applied to each value.
    #[serde(default)]
    #[schemars(with = "Vec<Step>")]
    pub steps: Vec<Spanned<Step>>,
}

fn yes() -> bool {
    true
}

/// Where and how the output is written.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Destination {
    /// The vendor endpoint the records go to, as `vendor/endpoint` (`chasedata/insert-lead`), from
    /// `mappings/vendors/<vendor>.yaml`: its URL, method, body encoding, authentication, field
    /// limits and how to read its answer. `fieldmap test` snapshots show the request;
    /// `fieldmap validate` checks the fields against the endpoint's limits.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub endpoint: Option<Spanned<String>>,
    /// Check every output record against the endpoint's JSON Schema (default true when the
    /// endpoint has one). A record that does not match is rejected with reason
    /// `destination_schema`, instead of being refused by the vendor.
    #[serde(default)]
    pub check_schema: Option<bool>,
    /// Output format (default `jsonl`; `--output-format` or the output file's extension override).
    #[serde(default)]
    pub format: Option<Format>,
    /// What to do with fields whose value is missing (null): `omit` them (default), write `null`,
    /// or write the `empty` text.
    #[serde(default)]
    pub nulls: Nulls,
    /// CSV only: the field delimiter (default `,`).
    #[serde(default)]
    pub delimiter: Option<char>,
}

/// Output of missing values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Nulls {
    #[default]
    Omit,
    Null,
    Empty,
}

/// How rejected records are written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rejects {
    /// Which facts about the failure precede the original record, as `_reject_<name>` fields.
    /// Default: all of `reason`, `row`, `line`, `field`, `rule`, `message`.
    #[serde(default = "RejectInfo::all")]
    pub include: Vec<RejectInfo>,
}

impl Default for Rejects {
    fn default() -> Self {
        Rejects {
            include: RejectInfo::all(),
        }
    }
}

/// A fact about a rejection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RejectInfo {
    /// The reason code (`invalid_phone`).
    Reason,
    /// The record's number in the input (1 = first record after any header).
    Row,
    /// The input line where the record starts.
    Line,
    /// The output field being computed.
    Field,
    /// The rule that failed.
    Rule,
    /// What was wrong, in words.
    Message,
}

impl RejectInfo {
    pub fn all() -> Vec<RejectInfo> {
        use RejectInfo::*;
        vec![Reason, Row, Line, Field, Rule, Message]
    }
    pub fn key(self) -> &'static str {
        match self {
            RejectInfo::Reason => "_reject_reason",
            RejectInfo::Row => "_reject_row",
            RejectInfo::Line => "_reject_line",
            RejectInfo::Field => "_reject_field",
            RejectInfo::Rule => "_reject_rule",
            RejectInfo::Message => "_reject_message",
        }
    }
}

/// A mapping as read from its file, with the text kept for error snippets.
#[derive(Debug)]
pub struct Loaded {
    pub mapping: Mapping,
    pub path: PathBuf,
    pub text: String,
}

impl Loaded {
    /// An error located at `loc` in this mapping file.
    pub fn error_at(
        &self,
        loc: &serde_saphyr::Location,
        message: impl Into<String>,
    ) -> MappingError {
        MappingError::at_loc(&self.path, &self.text, loc, message.into())
    }
}

/// YAML 1.2 core scalars: `yes`, `no`, `Y`, `on` stay text (the "Norway problem" would turn
/// the token lists of `to_bool` and the values of `lookup` into booleans), and `0720` stays text
/// instead of becoming the number 720.
pub fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! { strict_booleans: true, leading_zero_numbers_as_strings: true }
}

/// Read and parse a mapping file. Syntax and type errors name file:line:column.
pub fn load(path: &Path) -> Result<Loaded, MappingError> {
    let text = std::fs::read_to_string(path).map_err(|e| MappingError::io(path, &e))?;
    parse(path, text)
}

/// Parse mapping text that came from `path` (the path is used in messages and to resolve
/// relative file names).
pub fn parse(path: &Path, text: String) -> Result<Loaded, MappingError> {
    match serde_saphyr::from_str_with_options::<Mapping>(&text, yaml_options()) {
        Ok(mapping) => Ok(Loaded {
            mapping,
            path: path.to_owned(),
            text,
        }),
        Err(e) => Err(MappingError::from_yaml(path, &text, &e)),
    }
}
