//! Environment variables: where a flow's secrets and per-installation values come from.
//!
//! Flows and vendor profiles declare the variables they use (`env:`), with a description,
//! whether the value is a secret, a default and an example. Templates see them as `env.NAME`.
//! Three modes read them: a real run takes the process environment (a declared variable without
//! a default must be set); `validate` checks a mapping without the environment; `test` uses the
//! declared examples only, so snapshots are the same on every machine. Secrets, and any variable
//! a template uses without declaring it, are redacted as `[env.NAME]` in everything shown.

use handlebars::Handlebars;
use serde_json::{Map, Value};

use crate::mapping::{EnvVar, IndexMap};

/// Where variable values come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EnvMode {
    /// The process environment; a needed variable that is unset and has no default is an error.
    #[default]
    Process,
    /// The process environment where set, else the default, else the example, else empty; never
    /// an error (for `validate`).
    Lenient,
    /// The declared example, else the default; secrets get a stand-in that is redacted; the
    /// process environment is not read (for `test` snapshots).
    Examples,
}

/// The variables a plan uses, resolved.
#[derive(Debug, Clone, Default)]
pub struct Env {
    values: Map<String, Value>,
    /// Names whose values are hidden in anything shown.
    secrets: Vec<String>,
    /// Names some `env:` declares.
    declared: Vec<String>,
}

/// A variable that could not be resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvError {
    pub var: String,
    pub message: String,
}

fn renderer() -> Handlebars<'static> {
    let mut h = Handlebars::new();
    h.register_escape_fn(handlebars::no_escape);
    h.set_strict_mode(true);
    h
}

impl Env {
    /// Resolve the `referenced` variables: the declared ones in declaration order (a default
    /// may use the ones before it; a variable a needed default uses is needed too), then the
    /// ones nobody declared. Declared variables nothing uses are left alone (a profile declares
    /// the variables of all its endpoints; a flow needs only its endpoint's).
    pub fn resolve(
        declared: &[&IndexMap<String, EnvVar>],
        referenced: &[String],
        mode: EnvMode,
    ) -> Result<Env, Vec<EnvError>> {
        let mut env = Env::default();
        let mut errs = Vec::new();
        let h = renderer();
        let mut seen: IndexMap<&str, &EnvVar> = IndexMap::new();
        for decl in declared {
            for (name, var) in decl.iter() {
                seen.entry(name.as_str()).or_insert(var);
            }
        }
        let mut needed: std::collections::HashSet<String> = referenced.iter().cloned().collect();
        let mut work: Vec<String> = referenced.to_vec();
        while let Some(n) = work.pop() {
            if let Some(d) = seen.get(n.as_str()).and_then(|v| v.default.as_ref()) {
                for r in refs(d) {
                    if needed.insert(r.clone()) {
                        work.push(r);
                    }
                }
            }
        }
        for (name, _) in &seen {
            env.declared.push((*name).to_owned());
        }
        for (name, var) in &seen {
            if !needed.contains(*name) {
                continue;
            }
            if var.secret {
                env.secrets.push((*name).to_owned());
            }
            let from_process = match mode {
                EnvMode::Examples => None,
                _ => std::env::var(name).ok().filter(|v| !v.is_empty()),
            };
            let default = || -> Option<Result<String, String>> {
                var.default.as_ref().map(|d| {
                    h.render_template(d, &serde_json::json!({"env": &env.values}))
                        .map_err(|e| format!("its default `{d}` does not render: {e}"))
                })
            };
            let value = match (mode, from_process) {
                (_, Some(v)) => Ok(v),
                (EnvMode::Examples, None) if var.secret && var.example.is_none() => {
                    Ok(format!("test-secret-{name}"))
                }
                (EnvMode::Examples, None) => match (&var.example, default()) {
                    (Some(x), _) => Ok(x.clone()),
                    (None, Some(d)) => d,
                    (None, None) => Err(format!(
                        "`{name}` has neither an `example` nor a `default` for tests: declare one"
                    )),
                },
                (EnvMode::Process, None) => default().unwrap_or_else(|| {
                    Err(if var.description.is_empty() {
                        format!("environment variable `{name}` is not set")
                    } else {
                        format!(
                            "environment variable `{name}` is not set ({})",
                            var.description
                                .split_whitespace()
                                .collect::<Vec<_>>()
                                .join(" ")
                        )
                    })
                }),
                (EnvMode::Lenient, None) => default()
                    .or_else(|| var.example.clone().map(Ok))
                    .unwrap_or_else(|| Ok(String::new())),
            };
            match value {
                Ok(v) => {
                    env.values.insert((*name).to_owned(), Value::String(v));
                }
                Err(message) => {
                    env.values
                        .insert((*name).to_owned(), Value::String(String::new()));
                    errs.push(EnvError {
                        var: (*name).to_owned(),
                        message,
                    });
                }
            }
        }
        for name in referenced {
            if env.values.contains_key(name) {
                continue;
            }
            // Undeclared: treated as a secret, since nobody said it is not one.
            env.secrets.push(name.clone());
            let value = match mode {
                EnvMode::Examples => Ok(format!("test-secret-{name}")),
                _ => match std::env::var(name) {
                    Ok(v) => Ok(v),
                    Err(_) if mode == EnvMode::Lenient => Ok(String::new()),
                    Err(_) => Err(format!("environment variable `{name}` is not set")),
                },
            };
            match value {
                Ok(v) => {
                    env.values.insert(name.clone(), Value::String(v));
                }
                Err(message) => errs.push(EnvError {
                    var: name.clone(),
                    message,
                }),
            }
        }
        if errs.is_empty() { Ok(env) } else { Err(errs) }
    }

    /// The variables as the `env` object templates see.
    pub fn values(&self) -> &Map<String, Value> {
        &self.values
    }

    /// Whether a flow or profile declares `name`.
    pub fn is_declared(&self, name: &str) -> bool {
        self.declared.iter().any(|s| s == name)
    }

    /// Whether `name` is hidden in output.
    pub fn is_secret(&self, name: &str) -> bool {
        self.secrets.iter().any(|s| s == name)
    }

    /// Render a template that sees only `env`.
    pub fn render(&self, template: &str) -> Result<String, String> {
        renderer()
            .render_template(template, &serde_json::json!({"env": &self.values}))
            .map_err(|e| format!("template `{template}`: {e}"))
    }

    /// `text` with every secret's value replaced by `[env.NAME]`. Values shorter than 4
    /// characters are left alone: replacing them would garble ordinary text.
    pub fn redact(&self, text: &str) -> String {
        if self.secrets.is_empty() {
            return text.to_owned();
        }
        let mut out = text.to_owned();
        for name in &self.secrets {
            if let Some(Value::String(v)) = self.values.get(name)
                && v.chars().count() >= 4
            {
                let tag = format!("[env.{name}]");
                out = out.replace(v.as_str(), &tag);
                // In URLs and form bodies the value appears percent-encoded.
                let enc = crate::codec::query::encode_component(v);
                if enc != *v {
                    out = out.replace(enc.as_str(), &tag);
                }
            }
        }
        out
    }
}

/// The environment variables a template refers to as `env.NAME`.
pub fn refs(template: &str) -> Vec<String> {
    static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?:^|[^.\w])env\.([A-Za-z_][A-Za-z0-9_]*)").expect("static pattern")
    });
    RE.captures_iter(template)
        .map(|c| c[1].to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decl(yaml: &str) -> IndexMap<String, EnvVar> {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn defaults_may_use_earlier_variables() {
        let d = decl(
            "FMT_T_REGION: {default: east-1}\nFMT_T_BASE: {default: 'https://{{env.FMT_T_REGION}}.x.io'}\n",
        );
        let env = Env::resolve(&[&d], &["FMT_T_BASE".into()], EnvMode::Examples).unwrap();
        assert_eq!(env.values()["FMT_T_BASE"], "https://east-1.x.io");
    }

    #[test]
    fn examples_mode_ignores_the_process_and_stands_in_for_secrets() {
        // SAFETY: test-only variable, unique name.
        unsafe { std::env::set_var("FMT_T_KEY1", "real-key-value") };
        let d = decl("FMT_T_KEY1: {secret: true}\nFMT_T_ID: {example: '42'}\n");
        let used = ["FMT_T_KEY1".to_owned(), "FMT_T_ID".to_owned()];
        let env = Env::resolve(&[&d], &used, EnvMode::Examples).unwrap();
        assert_eq!(env.values()["FMT_T_KEY1"], "test-secret-FMT_T_KEY1");
        assert_eq!(env.values()["FMT_T_ID"], "42");
        assert_eq!(
            env.redact("Token test-secret-FMT_T_KEY1 id 42"),
            "Token [env.FMT_T_KEY1] id 42"
        );
    }

    #[test]
    fn process_mode_requires_variables_without_default_and_says_what_they_are() {
        let d = decl("FMT_T_UNSET_9: {description: the account id}\nFMT_T_UNUSED_9: {}\n");
        let used = ["FMT_T_UNSET_9".to_owned()];
        let e = Env::resolve(&[&d], &used, EnvMode::Process).unwrap_err();
        assert_eq!(e.len(), 1, "only the variable in use is required: {e:?}");
        assert_eq!(e[0].var, "FMT_T_UNSET_9");
        assert!(e[0].message.contains("the account id"), "{}", e[0].message);
        assert!(Env::resolve(&[&d], &used, EnvMode::Lenient).is_ok());
        assert!(Env::resolve(&[&d], &[], EnvMode::Process).is_ok());
    }

    #[test]
    fn undeclared_references_are_secret_and_redacted_even_percent_encoded() {
        // SAFETY: test-only variable, unique name.
        unsafe { std::env::set_var("FMT_T_TOK2", "a+b/c d") };
        let env = Env::resolve(&[], &["FMT_T_TOK2".into()], EnvMode::Process).unwrap();
        assert!(env.is_secret("FMT_T_TOK2"));
        assert_eq!(
            env.redact("x=a%2Bb%2Fc%20d&y=a+b/c d"),
            "x=[env.FMT_T_TOK2]&y=[env.FMT_T_TOK2]"
        );
    }

    #[test]
    fn short_secrets_are_not_replaced_everywhere() {
        let d = decl("FMT_T_S: {secret: true, example: ab}\n");
        let used = ["FMT_T_S".to_owned()];
        let env = Env::resolve(&[&d], &used, EnvMode::Process);
        // Unset and no default: an error in process mode.
        assert!(env.is_err());
        unsafe { std::env::set_var("FMT_T_S", "ab") };
        let env = Env::resolve(&[&d], &used, EnvMode::Process).unwrap();
        assert_eq!(env.redact("abc"), "abc");
    }

    #[test]
    fn refs_finds_env_names() {
        assert_eq!(
            refs("Token {{env.A_B}} {{ env.C }} {{in.env.x}} {{lookup_env.y}}"),
            vec!["A_B", "C"]
        );
    }
}
