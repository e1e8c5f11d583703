//! `fieldmap validate`: every mapping and vendor profile checked without running anything.
//!
//! Reading a file already checks its format (serde with the same types the JSON Schemas are
//! generated from: unknown keys, wrong types, duplicate keys, all located). Compiling a mapping
//! checks its rules, options, regexes, templates, conditions, vendor references, schemas and
//! environment variables. On top of that, a flow with a destination endpoint is checked against
//! what the endpoint takes: each required field is produced, an enumerated field can only take
//! allowed values, and a field with a length limit cannot exceed it. What is known about a
//! field's values comes from its constant, its input's schema (`maxLength`, `enum`) and what
//! each step guarantees ([`crate::transform::Bound`]).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::engine::{CompileOptions, FieldView, Plan};
use crate::env::EnvMode;
use crate::mapping::{self, Loaded, MappingError, OnError};
use crate::profile::{self, LoadedProfile};
use crate::transform::Bound;

/// What `validate` found.
#[derive(Debug, Default)]
pub struct Report {
    pub files: usize,
    pub mappings: usize,
    pub profiles: usize,
    pub errors: Vec<MappingError>,
    pub warnings: Vec<MappingError>,
}

/// Validate the mappings and profiles under `paths`.
pub fn validate(paths: &[PathBuf]) -> Report {
    let mut r = Report::default();
    for p in crate::review::yaml_files(paths, true) {
        r.files += 1;
        if is_profile(&p) {
            r.profiles += 1;
            match profile::load(&p) {
                Ok(lp) => check_profile(&lp, &mut r),
                Err(e) => r.errors.push(e),
            }
        } else {
            r.mappings += 1;
            let loaded = match mapping::load(&p) {
                Ok(l) => l,
                Err(e) => {
                    r.errors.push(e);
                    continue;
                }
            };
            let opts = CompileOptions {
                env: EnvMode::Lenient,
                now: None,
            };
            match Plan::compile(&loaded, opts) {
                Ok(plan) => check_flow(&loaded, &plan, &mut r),
                Err(es) => r.errors.extend(es),
            }
        }
    }
    r
}

fn is_profile(p: &Path) -> bool {
    p.parent()
        .and_then(|d| d.file_name())
        .and_then(|n| n.to_str())
        == Some("vendors")
}

fn check_profile(lp: &LoadedProfile, r: &mut Report) {
    let p = &lp.profile;
    let dir = lp.path.parent().unwrap_or(Path::new("."));
    let top = serde_saphyr::Location::UNKNOWN;
    let declared = |name: &str| p.env.contains_key(name);
    let mut templates: Vec<(&str, String)> = Vec::new();
    if let Some(b) = &p.base_url {
        templates.push((b.as_str(), "base_url".into()));
    }
    if let Some(a) = &p.auth {
        for (k, v) in a.headers.iter().chain(a.query.iter()) {
            templates.push((v.as_str(), format!("auth `{k}`")));
        }
    }
    for t in templates {
        check_template(lp, &top, t.0, &t.1, &declared, r);
    }
    for (name, e) in &p.endpoints {
        let loc = e.referenced;
        let e = &e.value;
        check_template(
            lp,
            &loc,
            &e.path,
            &format!("endpoint `{name}` path"),
            &declared,
            r,
        );
        if let Some(a) = &e.auth {
            for (k, v) in a.headers.iter().chain(a.query.iter()) {
                check_template(
                    lp,
                    &loc,
                    v,
                    &format!("endpoint `{name}` auth `{k}`"),
                    &declared,
                    r,
                );
            }
        }
        for (k, v) in &e.params {
            check_template(
                lp,
                &loc,
                v,
                &format!("endpoint `{name}` param `{k}`"),
                &declared,
                r,
            );
        }
        if !matches!(
            e.encoding,
            crate::mapping::Format::Json
                | crate::mapping::Format::Form
                | crate::mapping::Format::Query
        ) {
            r.errors.push(lp.error_at(
                &loc,
                format!(
                    "endpoint `{name}`: encoding `{}` cannot go over HTTP; use json, form or query",
                    e.encoding.name()
                ),
            ));
        }
        if let Some(s) = &e.schema
            && let Err(msg) =
                profile::find_schema(dir, s).and_then(|path| profile::compile_schema(&path))
        {
            r.errors
                .push(lp.error_at(&loc, format!("endpoint `{name}`: schema: {msg}")));
        }
        if let Some(c) = &e.response.failure
            && let Err(msg) = crate::engine::compile_condition(c)
        {
            r.errors.push(lp.error_at(
                &loc,
                format!("endpoint `{name}`: response `failure`: {msg}"),
            ));
        }
        if let Some(t) = &e.custom_fields
            && let Err(err) = regex::Regex::new(t)
        {
            r.errors
                .push(lp.error_at(&loc, format!("endpoint `{name}`: `custom_fields`: {err}")));
        }
        if let Some(t) = &e.response.failure_text
            && let Err(err) = regex::Regex::new(t)
        {
            r.errors.push(lp.error_at(
                &loc,
                format!("endpoint `{name}`: response `failure_text`: {err}"),
            ));
        }
        for (f, spec) in &e.fields {
            if let (Some(n), Some(values)) = (spec.max_len, &spec.one_of)
                && let Some(v) = values.iter().find(|v| v.chars().count() > n)
            {
                r.errors.push(lp.error_at(
                    &loc,
                    format!(
                        "endpoint `{name}` field `{f}`: allowed value `{v}` is longer than its max_len {n}"
                    ),
                ));
            }
        }
    }
    for (name, i) in &p.inbound {
        let loc = i.referenced;
        if i.value.trailing_commas
            && !matches!(
                i.value.format,
                crate::mapping::Format::Json | crate::mapping::Format::Jsonl
            )
        {
            r.errors.push(lp.error_at(
                &loc,
                format!(
                    "payload `{name}`: `trailing_commas` applies to json and jsonl payloads only"
                ),
            ));
        }
        if let Some(s) = &i.value.schema
            && let Err(msg) =
                profile::find_schema(dir, s).and_then(|path| profile::compile_schema(&path))
        {
            r.errors
                .push(lp.error_at(&loc, format!("payload `{name}`: schema: {msg}")));
        }
        if let Some(reply) = &i.value.reply {
            if let Err(list) = crate::wire::ReplyPlan::compile(reply) {
                for msg in list {
                    r.errors
                        .push(lp.error_at(&loc, format!("payload `{name}`: {msg}")));
                }
            }
            for var in crate::wire::ReplyPlan::env_refs(reply) {
                if !declared(&var) {
                    r.errors.push(lp.error_at(
                        &loc,
                        format!("payload `{name}`: the reply uses `env.{var}`, which the profile's `env` does not declare"),
                    ));
                }
            }
        }
    }
}

fn check_template(
    lp: &LoadedProfile,
    loc: &serde_saphyr::Location,
    template: &str,
    what: &str,
    declared: &dyn Fn(&str) -> bool,
    r: &mut Report,
) {
    if let Err(e) = handlebars::Handlebars::new().register_template_string("t", template) {
        r.errors
            .push(lp.error_at(loc, format!("{what}: bad template: {e}")));
    }
    for var in crate::env::refs(template) {
        if !declared(&var) {
            r.errors.push(lp.error_at(
                loc,
                format!("{what} uses `env.{var}`, which the profile's `env` does not declare (say what it is and whether it is a secret)"),
            ));
        }
    }
}

fn at(loaded: &Loaded, (line, col): (usize, usize), msg: String) -> MappingError {
    MappingError::at(&loaded.path, &loaded.text, line, col, msg)
}

fn check_flow(loaded: &Loaded, plan: &Plan, r: &mut Report) {
    let m = &loaded.mapping;
    // Template variables nobody declared.
    for f in &m.fields {
        if let Some(t) = &f.value.template {
            for var in crate::env::refs(&t.value) {
                if !plan.env_is_declared(&var) {
                    r.warnings.push(loaded.error_at(
                        &t.referenced,
                        format!("`env.{var}` is not declared under `env:`; it is treated as a secret and `fieldmap test` uses a stand-in"),
                    ));
                }
            }
        }
    }
    let Some(wire) = &plan.wire else {
        return;
    };
    let endpoint_loc = m
        .destination
        .endpoint
        .as_ref()
        .map(|e| (e.referenced.line() as usize, e.referenced.column() as usize))
        .unwrap_or((0, 0));
    let fields = plan.field_views();
    let spreads = fields.iter().any(|f| f.name.is_none());
    // Required destination fields.
    let mut behind_spread = Vec::new();
    for (name, spec) in &wire.fields {
        if !spec.required {
            continue;
        }
        let by_param = wire.params.iter().any(|(k, _)| k == name);
        let alternatives: Vec<&FieldView<'_>> =
            fields.iter().filter(|f| f.name == Some(name)).collect();
        let always = alternatives.iter().any(|f| !f.conditional);
        if by_param || always {
            continue;
        }
        if spreads {
            behind_spread.push(format!("`{name}`"));
        } else if alternatives.is_empty() {
            r.errors.push(at(
                loaded,
                endpoint_loc,
                format!(
                    "`{}` requires `{name}`, and this flow does not produce it",
                    wire.endpoint
                ),
            ));
        } else {
            r.errors.push(at(
                loaded,
                alternatives[0].loc,
                format!("`{}` requires `{name}`, but every field giving it has a `when` (or `on_error: next`): add a last alternative without one", wire.endpoint),
            ));
        }
    }
    // Fields the endpoint does not list: allowed (vendors take custom fields), but often a typo.
    if !wire.fields.is_empty() {
        for f in &fields {
            if let Some(name) = f.name
                && !wire.fields.contains_key(name)
                && !wire
                    .custom_fields
                    .as_ref()
                    .is_some_and(|re| re.is_match(name))
            {
                r.warnings.push(at(
                    loaded,
                    f.loc,
                    format!(
                        "`{name}` is not a field `{}` lists (a custom field, or a typo?)",
                        wire.endpoint
                    ),
                ));
            }
        }
    }
    if !behind_spread.is_empty() {
        r.warnings.push(at(
            loaded,
            endpoint_loc,
            format!(
                "`{}` requires {}, which no field names: they may come from a `spread` field, which validate cannot see into (each record is checked when it runs)",
                wire.endpoint,
                behind_spread.join(", ")
            ),
        ));
    }
    // Allowed values and lengths.
    let schema = plan.input_schema().map(|s| &s.document);
    for f in &fields {
        let Some(name) = f.name else { continue };
        let Some(spec) = wire.fields.get(name) else {
            continue;
        };
        if spec.max_len.is_none() && spec.one_of.is_none() {
            continue;
        }
        let b = field_bound(f, schema);
        if let Some(allowed) = &spec.one_of {
            match &b.values {
                None => r.errors.push(at(
                    loaded,
                    f.loc,
                    format!(
                        "`{name}` takes only {} at `{}`, but this field can give other values: map it with `lookup` (with a `default` or rejecting the rest) or check it with `require: {{one_of: [...]}}`",
                        list(allowed),
                        wire.endpoint
                    ),
                )),
                Some(values) => {
                    let bad: Vec<&String> = values
                        .iter()
                        .filter(|v| !v.is_empty() && !allowed.contains(v))
                        .collect();
                    if !bad.is_empty() {
                        r.errors.push(at(
                            loaded,
                            f.loc,
                            format!(
                                "`{name}` can be {}, which `{}` does not take (it takes {})",
                                bad.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", "),
                                wire.endpoint,
                                list(allowed)
                            ),
                        ));
                    }
                }
            }
        }
        if let Some(limit) = spec.max_len
            && b.max_chars.is_none_or(|n| n > limit)
        {
            let how_long = b.max_chars.map_or("of any length".to_owned(), |n| {
                format!("up to {n} characters long")
            });
            r.errors.push(at(
                loaded,
                f.loc,
                format!(
                    "`{name}` can be {how_long}, and `{}` takes at most {limit}: add `{{max_len: {limit}}}` (truncates) or `{{max_len: {{len: {limit}, overflow: reject}}}}`",
                    wire.endpoint
                ),
            ));
        }
    }
}

fn list(v: &[String]) -> String {
    v.iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What is known about the values a field gives.
pub fn field_bound(f: &FieldView<'_>, schema: Option<&Value>) -> Bound {
    let mut b = if let Some(c) = f.constant {
        Bound::of_value(c)
    } else if !f.from.is_empty() {
        let parts: Vec<Bound> = f.from.iter().map(|p| input_bound(p, schema)).collect();
        union_all(parts)
    } else {
        Bound::unknown()
    };
    if let Some(d) = f.default {
        b = union(b, Bound::of_value(d));
    }
    for (_, step) in &f.steps {
        let before = b.clone();
        b = step.bound(&before);
        // A failing step does not always reject: what the field gives instead counts too.
        b = match f.on_error {
            OnError::Reject | OnError::Null | OnError::Next => b,
            OnError::Empty => union(b, Bound::exactly([String::new()])),
            OnError::Default => union(b, f.default.map_or_else(Bound::unknown, Bound::of_value)),
            OnError::Keep => union(b, before),
        };
    }
    b
}

/// What the input schema says about `path` (its first segment): `enum` and `maxLength`.
fn input_bound(path: &str, schema: Option<&Value>) -> Bound {
    let Some(prop) = schema
        .and_then(|s| s.get("properties"))
        .and_then(|p| p.get(path))
    else {
        return Bound::unknown();
    };
    if let Some(Value::Array(values)) = prop.get("enum") {
        return Bound::exactly(
            values
                .iter()
                .map(|v| crate::codec::scalar_text(v).into_owned()),
        );
    }
    match prop.get("maxLength").and_then(Value::as_u64) {
        Some(n) => Bound::at_most(n as usize),
        None => Bound::unknown(),
    }
}

fn union(a: Bound, b: Bound) -> Bound {
    Bound {
        max_chars: match (a.max_chars, b.max_chars) {
            (Some(x), Some(y)) => Some(x.max(y)),
            _ => None,
        },
        values: match (a.values, b.values) {
            (Some(mut x), Some(y)) => {
                x.extend(y);
                Some(x)
            }
            _ => None,
        },
    }
}

fn union_all(parts: Vec<Bound>) -> Bound {
    let mut it = parts.into_iter();
    let first = it.next().unwrap_or_else(Bound::unknown);
    it.fold(first, union)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROFILE: &str = r#"vendor: acme
env:
  ACME_KEY: {secret: true}
  ACME_BASE_URL: {default: "https://api.acme.test"}
base_url: "{{env.ACME_BASE_URL}}"
auth:
  headers: {Authorization: "Bearer {{env.ACME_KEY}}"}
endpoints:
  lead:
    method: POST
    path: /leads
    encoding: form
    fields:
      Phone: {required: true, max_len: 10}
      Status: {one_of: [New, Old]}
"#;

    fn check(flow_fields: &str) -> Report {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("vendors")).unwrap();
        std::fs::write(dir.path().join("vendors/acme.yaml"), PROFILE).unwrap();
        let flow = dir.path().join("flow.yaml");
        std::fs::write(
            &flow,
            format!(
                "name: flow\nsource: {{format: json}}\ndestination: {{endpoint: acme/lead}}\nfields:\n{flow_fields}"
            ),
        )
        .unwrap();
        validate(&[dir.path().to_path_buf()])
    }

    fn messages(r: &Report) -> Vec<String> {
        r.errors.iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn a_flow_within_the_limits_is_valid() {
        let r = check(
            "  - to: Phone\n    from: phone\n    required: true\n    steps: [digits, {max_len: 10}]\n  - to: Status\n    value: New\n",
        );
        assert_eq!((r.mappings, r.profiles), (1, 1));
        assert!(r.errors.is_empty(), "{:#?}", messages(&r));
    }

    #[test]
    fn a_required_destination_field_not_produced_is_an_error_at_the_endpoint() {
        let r = check("  - to: Status\n    value: New\n");
        let m = messages(&r);
        assert_eq!(m.len(), 1, "{m:#?}");
        assert!(m[0].contains("flow.yaml:3:"), "{}", m[0]);
        assert!(m[0].contains("requires `Phone`"), "{}", m[0]);
    }

    #[test]
    fn a_required_field_given_only_under_when_is_an_error() {
        let r = check(
            "  - to: Phone\n    when: {from: x, present: true}\n    from: phone\n    steps: [{max_len: 10}]\n",
        );
        let m = messages(&r);
        assert!(m.iter().any(|e| e.contains("has a `when`")), "{m:#?}");
    }

    #[test]
    fn lengths_need_a_max_len_within_the_limit() {
        let r = check("  - to: Phone\n    from: phone\n");
        let m = messages(&r);
        assert!(
            m.iter()
                .any(|e| e.contains("can be of any length") && e.contains("at most 10")),
            "{m:#?}"
        );
        let r = check("  - to: Phone\n    from: phone\n    steps: [{max_len: 12}]\n");
        let m = messages(&r);
        assert!(
            m.iter().any(|e| e.contains("up to 12 characters")),
            "{m:#?}"
        );
    }

    #[test]
    fn enumerated_fields_need_values_from_the_allowed_set() {
        let base = "  - to: Phone\n    from: phone\n    steps: [{max_len: 10}]\n";
        let r = check(&format!("{base}  - to: Status\n    from: status\n"));
        assert!(
            messages(&r)
                .iter()
                .any(|e| e.contains("can give other values")),
            "{:#?}",
            messages(&r)
        );
        let r = check(&format!("{base}  - to: Status\n    value: Sideways\n"));
        assert!(
            messages(&r).iter().any(|e| e.contains("can be `Sideways`")),
            "{:#?}",
            messages(&r)
        );
        let r = check(&format!(
            "{base}  - to: Status\n    from: status\n    steps: [{{lookup: {{map: {{n: New, o: Old}}, default: New}}}}]\n"
        ));
        assert!(r.errors.is_empty(), "{:#?}", messages(&r));
    }

    #[test]
    fn unknown_endpoints_and_undeclared_profile_variables_are_located() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("vendors")).unwrap();
        std::fs::write(
            dir.path().join("vendors/acme.yaml"),
            PROFILE.replace("Bearer {{env.ACME_KEY}}", "Bearer {{env.ACME_TOKEN}}"),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("flow.yaml"),
            "name: flow\nsource: {format: json}\ndestination: {endpoint: acme/leads}\nfields:\n  - to: a\n    value: 1\n",
        )
        .unwrap();
        let r = validate(&[dir.path().to_path_buf()]);
        let m = messages(&r);
        assert!(
            m.iter()
                .any(|e| e.contains("flow.yaml:3:") && e.contains("did you mean `lead`")),
            "{m:#?}"
        );
        assert!(
            m.iter()
                .any(|e| e.contains("acme.yaml") && e.contains("`env.ACME_TOKEN`")),
            "{m:#?}"
        );
    }
}
