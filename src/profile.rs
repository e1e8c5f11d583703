//! Vendor profiles: what a vendor *is*, written once in `mappings/vendors/<vendor>.yaml` and
//! referenced by every flow that talks to it.
//!
//! A profile holds the vendor's endpoints (URL, method, body encoding, authentication, the fields
//! it takes with their limits and allowed values, how to read its answer) and the payloads it
//! sends us (format, schema, the reply it expects). Flows name them as `vendor/endpoint` in
//! `destination.endpoint` and `vendor/payload` in `source.profile`; secrets and per-installation
//! values come from environment variables the profile declares.

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::instance::InPlace;
use crate::mapping::{Condition, EnvVar, Format, IndexMap, MappingError, Reply};

/// A vendor profile file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The vendor's identifier, the file's name: `chasedata` for `vendors/chasedata.yaml`.
    pub vendor: String,
    /// What the vendor is, for people.
    #[serde(default)]
    pub description: String,
    /// Where the vendor's own documentation is.
    #[serde(default)]
    pub docs: Option<String>,
    /// The environment variables the profile uses: tokens (`secret: true`), the base URL
    /// override, account ids.
    #[serde(default)]
    pub env: IndexMap<String, EnvVar>,
    /// The URL every endpoint's `path` is appended to; a template that sees `env`
    /// (`"{{env.CHASEDATA_BASE_URL}}"`).
    #[serde(default)]
    pub base_url: Option<String>,
    /// Authentication sent with every request unless an endpoint gives its own.
    #[serde(default)]
    pub auth: Option<Auth>,
    /// The endpoints we send to, by name.
    #[serde(default)]
    #[schemars(with = "IndexMap<String, Endpoint>")]
    pub endpoints: IndexMap<String, Spanned<Endpoint>>,
    /// The payloads the vendor sends us, by name.
    #[serde(default)]
    #[schemars(with = "IndexMap<String, Inbound>")]
    pub inbound: IndexMap<String, Spanned<Inbound>>,
}

/// Authentication: headers and query parameters whose values are templates seeing `env`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Auth {
    /// Headers, e.g. `Authorization: "Token {{env.CALLTOOLS_API_KEY}}"`.
    #[serde(default)]
    pub headers: IndexMap<String, String>,
    /// Query parameters added to the URL, e.g. ChaseData's `token` and `accid`.
    #[serde(default)]
    pub query: IndexMap<String, String>,
}

/// An HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
        }
    }
}

/// One endpoint we send records to.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// What the endpoint does.
    #[serde(default)]
    pub description: String,
    /// HTTP method.
    pub method: Method,
    /// Appended to the profile's `base_url` (a template seeing `env`).
    pub path: String,
    /// How the record travels: `json` (a JSON object body), `form` (an urlencoded body) or
    /// `query` (in the URL; no body).
    pub encoding: Format,
    /// The JSON Schema of what the endpoint takes, as `vendor/payload`
    /// (`schemas/vendors/vendor/payload.schema.json`).
    #[serde(default)]
    pub schema: Option<String>,
    /// Authentication for this endpoint instead of the profile's.
    #[serde(default)]
    pub auth: Option<Auth>,
    /// Fixed parameters sent with every record before its fields (ChaseData's `Action`).
    #[serde(default)]
    pub params: IndexMap<String, String>,
    /// The fields the endpoint knows, with their limits. `validate` checks flows against them.
    #[serde(default)]
    pub fields: IndexMap<String, FieldSpec>,
    /// A regular expression naming the vendor's custom fields, which the endpoint takes besides
    /// `fields` (ChaseData's `^adv_`): `validate` does not warn about fields it matches.
    #[serde(default)]
    pub custom_fields: Option<String>,
    /// How to tell from the answer whether the record was taken.
    #[serde(default)]
    pub response: ResponseSpec,
    /// How the sidecar delivers to this endpoint: concurrency, rate, timeout, retries.
    #[serde(default)]
    pub delivery: DeliverySpec,
}

/// How records are delivered to an endpoint (serve mode).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliverySpec {
    /// Requests in flight at once (default 4).
    #[serde(default = "four")]
    pub concurrency: usize,
    /// At most this many requests per second (default: no limit).
    #[serde(default)]
    pub rate: Option<f64>,
    /// How long to wait for an answer (default `10s`; `500ms`, `30s`, `1m`).
    #[serde(default = "ten_seconds")]
    pub timeout: String,
    /// Attempts before a record goes to the dead letters (default 10).
    #[serde(default = "ten")]
    pub max_attempts: u32,
    /// Age after which a record that still fails goes to the dead letters (default `24h`).
    #[serde(default = "a_day")]
    pub max_age: String,
}

fn four() -> usize {
    4
}
fn ten() -> u32 {
    10
}
fn ten_seconds() -> String {
    "10s".into()
}
fn a_day() -> String {
    "24h".into()
}

impl Default for DeliverySpec {
    fn default() -> Self {
        DeliverySpec {
            concurrency: four(),
            rate: None,
            timeout: ten_seconds(),
            max_attempts: ten(),
            max_age: a_day(),
        }
    }
}

/// Parse a duration as written in a profile: `500ms`, `10s`, `5m`, `24h`, `1h 30m`.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let d: jiff::SignedDuration = s
        .trim()
        .parse()
        .map_err(|e| format!("`{s}` is not a duration (write `500ms`, `10s`, `5m`, `24h`): {e}"))?;
    std::time::Duration::try_from(d).map_err(|_| format!("`{s}` is negative"))
}

/// What a destination field accepts.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// What the field is.
    #[serde(default)]
    pub description: String,
    /// The endpoint refuses a record without it: a record that leaves it out (or null) is
    /// rejected with reason `missing`, and `validate` checks that the flow produces it.
    #[serde(default)]
    pub required: bool,
    /// The longest value it takes, in characters.
    #[serde(default)]
    pub max_len: Option<usize>,
    /// The only values it takes.
    #[serde(default)]
    pub one_of: Option<Vec<String>>,
}

/// How to read a destination's answer.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseSpec {
    /// `json` or `text` (default `text`: only the status and `failure_text` count).
    #[serde(default = "text")]
    pub format: ResponseFormat,
    /// With a success status (2xx), the record still failed when this condition holds on the
    /// JSON answer (`{from: success, equals: false}`).
    #[serde(default)]
    pub failure: Option<Condition>,
    /// With a success status, the record still failed when the answer's text matches this
    /// regular expression (vendors that answer errors with 200).
    #[serde(default)]
    pub failure_text: Option<String>,
    /// Where the id the vendor gave the record is, in the JSON answer.
    #[serde(default)]
    pub id: Option<String>,
    /// Where the reason of a failure is, in the JSON answer (default: the whole text).
    #[serde(default)]
    pub reason: Option<String>,
}

fn text() -> ResponseFormat {
    ResponseFormat::Text
}

impl Default for ResponseSpec {
    fn default() -> Self {
        ResponseSpec {
            format: ResponseFormat::Text,
            failure: None,
            failure_text: None,
            id: None,
            reason: None,
        }
    }
}

/// The format of a destination's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResponseFormat {
    Json,
    Text,
}

/// A payload a vendor sends us.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Inbound {
    /// What the payload is, when it is sent.
    #[serde(default)]
    pub description: String,
    /// How it arrives.
    pub format: Format,
    /// Its JSON Schema, as `vendor/payload`.
    #[serde(default)]
    pub schema: Option<String>,
    /// JSON: accept a comma before a closing brace (see the mapping's `source.trailing_commas`).
    #[serde(default)]
    pub trailing_commas: bool,
    /// The answer the vendor expects.
    #[serde(default)]
    pub reply: Option<Reply>,
}

/// A profile as read from its file, with its text for located errors.
#[derive(Debug)]
pub struct LoadedProfile {
    pub profile: Profile,
    pub path: PathBuf,
    pub text: String,
}

impl LoadedProfile {
    /// An error located at `loc` in the profile file.
    pub fn error_at(
        &self,
        loc: &serde_saphyr::Location,
        message: impl Into<String>,
    ) -> MappingError {
        MappingError::at_loc(&self.path, &self.text, loc, message.into())
    }
}

/// Read and parse a profile file.
pub fn load(path: &Path) -> Result<LoadedProfile, MappingError> {
    let text = std::fs::read_to_string(path).map_err(|e| MappingError::io(path, &e))?;
    match serde_saphyr::from_str_with_options::<Profile>(&text, crate::mapping::yaml_options()) {
        Ok(profile) => {
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            if profile.vendor != stem {
                return Err(MappingError::at(
                    path,
                    &text,
                    1,
                    1,
                    format!(
                        "the profile says `vendor: {}` but its file is named `{stem}.yaml`: flows find a vendor by its file name",
                        profile.vendor
                    ),
                ));
            }
            Ok(LoadedProfile {
                profile,
                path: path.to_owned(),
                text,
            })
        }
        Err(e) => Err(MappingError::from_yaml(path, &text, &e)),
    }
}

/// Split `vendor/name`.
pub fn split_ref(r: &str) -> Option<(&str, &str)> {
    let (v, n) = r.split_once('/')?;
    (!v.is_empty() && !n.is_empty() && !n.contains('/')).then_some((v, n))
}

/// Where `vendors/<vendor>.yaml` is for a mapping in `dir`: the first `vendors/` directory found
/// in `dir` or one of its parents.
pub fn find(dir: &Path, vendor: &str) -> Option<PathBuf> {
    let file = format!("{vendor}.yaml");
    dir.ancestors()
        .map(|d| d.join("vendors").join(&file))
        .find(|p| p.is_file())
}

/// Where `schemas/vendors/<vendor>/<payload>.schema.json` is for a mapping in `dir` (the first
/// `schemas/` directory in `dir` or a parent). A name ending in `.json` is a path relative to
/// `dir`.
pub fn find_schema(dir: &Path, name: &str) -> Result<PathBuf, String> {
    if name.ends_with(".json") {
        let p = dir.join(name);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("schema file `{}` not found", p.display()))
        };
    }
    let Some((vendor, payload)) = split_ref(name) else {
        return Err(format!(
            "`{name}` is not a schema name: use `vendor/payload` or a path ending in .json"
        ));
    };
    let rel = Path::new("schemas")
        .join("vendors")
        .join(vendor)
        .join(format!("{payload}.schema.json"));
    dir.ancestors()
        .map(|d| d.join(&rel))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            format!(
                "no schema `{}` in this directory or a parent",
                rel.display()
            )
        })
}

/// Read and compile a JSON Schema file.
pub fn compile_schema(
    path: &Path,
) -> Result<(serde_json::Value, jsonschema::Validator<InPlace>), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read schema {}: {e}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("schema {} is not valid JSON: {e}", path.display()))?;
    let validator = build_validator(&value)
        .map_err(|e| format!("schema {} is not a valid JSON Schema: {e}", path.display()))?;
    Ok((value, validator))
}

/// A validator of `schema` whose `pattern`s are matched by the `regex` crate, in time linear in
/// the text, instead of jsonschema's default, fancy-regex, which backtracks. Both read the
/// pattern after the same ECMA-262 translation. A schema with a pattern only fancy-regex can run
/// (lookaround, backreferences) keeps fancy-regex.
fn build_validator(
    schema: &serde_json::Value,
) -> Result<jsonschema::Validator<InPlace>, jsonschema::ValidationError<'static>> {
    jsonschema::options_for::<InPlace>()
        .with_pattern_options(jsonschema::PatternOptions::regex())
        .build(schema)
        .or_else(|_| jsonschema::options_for::<InPlace>().build(schema))
}

/// A second validator of `schema` for the yes/no check of every record, whose `pattern`s are
/// answered by a [`Matcher`](crate::matcher::Matcher) (a full DFA when the pattern is small):
/// jsonschema runs `regex`'s `is_match`, whose set-up costs more than the search on a field of a
/// few dozen bytes. The pattern is first translated from ECMA-262 with the function jsonschema
/// uses (`\d` is ASCII, `\s` is ECMA's whitespace), so both validators read it alike; errors
/// still come from the first validator, with jsonschema's messages. None when a pattern needs
/// fancy-regex (lookaround, backreferences) or cannot be compiled: the first validator then
/// answers alone.
pub fn quick_validator(schema: &serde_json::Value) -> Option<jsonschema::Validator<InPlace>> {
    jsonschema::options_for::<InPlace>()
        .with_pattern_options(jsonschema::PatternOptions::regex())
        .with_keyword("pattern", |_, value: &serde_json::Value, _| {
            let refused = || jsonschema::ValidationError::custom("a pattern only fancy-regex runs");
            let pattern = value.as_str().ok_or_else(refused)?;
            let translated = jsonschema_regex::to_rust_regex(pattern).map_err(|()| refused())?;
            let matcher = crate::matcher::Matcher::new(&translated).map_err(|_| refused())?;
            Ok(Box::new(QuickPattern(matcher)))
        })
        .build(schema)
        .ok()
}

/// `pattern`, for [`quick_validator`]: only its yes or no is ever asked.
struct QuickPattern(crate::matcher::Matcher);

impl<'i> jsonschema::Keyword<'i, InPlace> for QuickPattern {
    fn validate(
        &self,
        instance: crate::instance::View<'i>,
    ) -> Result<(), jsonschema::ValidationError<'i>> {
        match jsonschema::Keyword::<InPlace>::is_valid(self, instance) {
            true => Ok(()),
            false => Err(jsonschema::ValidationError::custom(
                "does not match the pattern",
            )),
        }
    }

    fn is_valid(&self, instance: crate::instance::View<'i>) -> bool {
        use jsonschema::json::Node;
        instance.as_string().is_none_or(|s| self.0.is_match(&s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instance::View;
    use serde_json::json;

    #[test]
    fn schema_patterns_match_as_ecma_262_says_with_either_engine() {
        let schema = json!({
            "type": "object",
            "properties": {
                "phone": {"type": "string", "pattern": r"^\d{10}$"},
                "name": {"type": "string", "pattern": "^[A-Za-z ]+$"}
            }
        });
        let v = build_validator(&schema).unwrap();
        assert!(v.is_valid(View::Value(
            &json!({"phone": "9492651111", "name": "Ann Lee"})
        )));
        // ECMA-262's \d is ASCII: Arabic-Indic digits are not digits.
        assert!(!v.is_valid(View::Value(&json!({"phone": "\u{661}\u{662}\u{663}\u{664}\u{665}\u{666}\u{667}\u{668}\u{669}\u{660}"}))));
        assert!(!v.is_valid(View::Value(&json!({"phone": "949265111"}))));
        assert!(!v.is_valid(View::Value(&json!({"name": "Ann1"}))));
        // A lookahead, which only fancy-regex runs: the schema still compiles, and checks.
        let v = build_validator(&json!({"type": "string", "pattern": r"^(?!0)\d+$"})).unwrap();
        assert!(v.is_valid(View::Value(&json!("123"))));
        assert!(!v.is_valid(View::Value(&json!("0123"))));
        // A pattern no engine takes is an error.
        assert!(build_validator(&json!({"pattern": "("})).is_err());
    }

    /// Every `pattern` of the vendor schemas, and patterns whose ECMA-262 reading differs from
    /// Rust's.
    fn schema_patterns() -> Vec<String> {
        fn collect(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(m) => {
                    for (k, v) in m {
                        match (k.as_str(), v) {
                            ("pattern", serde_json::Value::String(p)) => out.push(p.clone()),
                            _ => collect(v, out),
                        }
                    }
                }
                serde_json::Value::Array(a) => a.iter().for_each(|v| collect(v, out)),
                _ => {}
            }
        }
        let mut out = vec![
            r"^\d+$".to_owned(),
            r"^\S*$".to_owned(),
            r"\s".to_owned(),
            r"^\w+$".to_owned(),
            r"^[^\s@]+@[^\s@]+$".to_owned(),
            "^ab$".to_owned(),
            "^ab".to_owned(),
            "^(a|bc)$".to_owned(),
        ];
        let mut dirs = vec![PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schemas"
        ))];
        while let Some(dir) = dirs.pop() {
            for e in std::fs::read_dir(&dir).unwrap() {
                let path = e.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|x| x == "json") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    collect(&serde_json::from_str(&text).unwrap(), &mut out);
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    #[test]
    fn the_quick_check_says_what_jsonschema_says_of_every_vendor_pattern() {
        let patterns = schema_patterns();
        assert!(patterns.len() > 20, "{patterns:?}");
        let pieces = [
            "",
            " ",
            "\u{a0}",
            "\u{feff}",
            "\n",
            "0",
            "9",
            "\u{661}",
            "+",
            "-",
            "61",
            "a",
            "Z",
            "é",
            "_",
            "@",
            ":",
            "/",
            "http://",
            "https://x",
            "2024-01-31",
            "12:30:00",
            "1m 5s",
            "answered",
            "BUSY",
            "true",
            "3",
            "%2B",
            ".",
        ];
        let mut texts = vec![];
        for a in pieces {
            for b in pieces {
                for c in ["", "0", " ", "x", "@y.z"] {
                    texts.push(format!("{a}{b}{c}"));
                }
            }
        }
        let mut checked = 0;
        for p in &patterns {
            let schema = json!({"pattern": p});
            let full = build_validator(&schema).unwrap();
            let Some(quick) = quick_validator(&schema) else {
                continue;
            };
            for t in &texts {
                let v = json!(t);
                assert_eq!(
                    quick.is_valid(View::Value(&v)),
                    full.is_valid(View::Value(&v)),
                    "pattern {p:?}, text {t:?}"
                );
                checked += 1;
            }
            // Not a string: a pattern says nothing of it.
            assert!(quick.is_valid(View::Value(&json!(12))));
        }
        assert!(checked > 20 * texts.len(), "{checked}");
        // A lookahead only fancy-regex runs: no quick validator, the first one answers alone.
        assert!(quick_validator(&json!({"pattern": r"^(?!0)\d+$"})).is_none());
        // Whole schemas, nested patterns included.
        let schema = json!({
            "type": "object",
            "properties": {"phone": {"type": "string", "pattern": r"^\+[1-9][0-9]{6,14}$"}},
            "required": ["phone"]
        });
        let quick = quick_validator(&schema).unwrap();
        assert!(quick.is_valid(View::Value(&json!({"phone": "+61412345678"}))));
        assert!(!quick.is_valid(View::Value(&json!({"phone": "0412345678"}))));
        assert!(!quick.is_valid(View::Value(&json!({}))));
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(
            parse_duration("10s"),
            Ok(std::time::Duration::from_secs(10))
        );
        assert_eq!(
            parse_duration("500ms"),
            Ok(std::time::Duration::from_millis(500))
        );
        assert_eq!(
            parse_duration("1h 30m"),
            Ok(std::time::Duration::from_secs(5400))
        );
        assert!(
            parse_duration("soon")
                .unwrap_err()
                .contains("not a duration")
        );
    }

    #[test]
    fn refs_split_into_vendor_and_name() {
        assert_eq!(
            split_ref("chasedata/insert-lead"),
            Some(("chasedata", "insert-lead"))
        );
        assert_eq!(split_ref("chasedata"), None);
        assert_eq!(split_ref("/x"), None);
        assert_eq!(split_ref("a/b/c"), None);
    }

    #[test]
    fn a_profile_whose_name_differs_from_its_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("acme.yaml");
        std::fs::write(&p, "vendor: other\n").unwrap();
        let e = load(&p).unwrap_err().to_string();
        assert!(e.contains("named `acme.yaml`"), "{e}");
    }

    #[test]
    fn unknown_keys_in_a_profile_are_located() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("acme.yaml");
        std::fs::write(
            &p,
            "vendor: acme\nendpoints:\n  x:\n    method: POST\n    path: /x\n    encoding: json\n    methd: GET\n",
        )
        .unwrap();
        let e = load(&p).unwrap_err().to_string();
        assert!(e.contains("acme.yaml:7:"), "{e}");
        assert!(e.contains("methd"), "{e}");
    }
}
