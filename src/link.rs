//! Linking a mapping to what it references: its source payload and destination endpoint in
//! vendor profiles, their JSON Schemas, the reply, and the environment variables all of them
//! use. Every problem is reported in the file it is in, with its line and column.

use serde_saphyr::{Location, Spanned};

use crate::engine::{CompileOptions, Schema};
use crate::env::{Env, EnvError};
use crate::mapping::{Format, Loaded, MappingError};
use crate::profile::{self, Inbound, LoadedProfile};
use crate::wire::{Judge, ReplyPlan, Wire, with_query};

/// What linking gives the plan.
pub(crate) struct Linked {
    pub source_format: Format,
    pub trailing_commas: bool,
    pub wire: Option<Wire>,
    pub reply: Option<ReplyPlan>,
    pub env: Env,
    pub input_schema: Option<Schema>,
    pub output_schema: Option<Schema>,
    pub inbound_auth: Option<crate::wire::InboundAuth>,
}

fn at(loaded: &Loaded, loc: &Location, msg: impl Into<String>) -> MappingError {
    loaded.error_at(loc, msg)
}

/// Load the profile of `vendor/name` referenced at `r`.
fn profile_of(
    loaded: &Loaded,
    r: &Spanned<String>,
    what: &str,
    errs: &mut Vec<MappingError>,
) -> Option<(LoadedProfile, String)> {
    let Some((vendor, name)) = profile::split_ref(&r.value) else {
        errs.push(at(
            loaded,
            &r.referenced,
            format!("`{}`: name the {what} as `vendor/{what}`", r.value),
        ));
        return None;
    };
    let dir = mapping_dir(loaded);
    let Some(path) = profile::find(&dir, vendor) else {
        errs.push(at(
            loaded,
            &r.referenced,
            format!(
                "no vendor profile `vendors/{vendor}.yaml` in {} or a parent directory",
                dir.display()
            ),
        ));
        return None;
    };
    match profile::load(&path) {
        Ok(p) => Some((p, name.to_owned())),
        Err(e) => {
            errs.push(e);
            None
        }
    }
}

/// The mapping's directory, absolute: profiles and schemas are searched from it upwards, also
/// above the current directory.
fn mapping_dir(loaded: &Loaded) -> std::path::PathBuf {
    let dir = match loaded.path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())
}

fn did_you_mean<'a>(name: &str, options: impl Iterator<Item = &'a String>) -> String {
    let options: Vec<&String> = options.collect();
    if options.is_empty() {
        return "it has none".into();
    }
    let list = options
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match options
        .iter()
        .find(|o| o.contains(name) || name.contains(o.as_str()))
    {
        Some(best) => format!("did you mean `{best}`? It has {list}"),
        None => format!("it has {list}"),
    }
}

fn load_schema(
    loaded: &Loaded,
    dir: &std::path::Path,
    name: &str,
    loc_err: &mut dyn FnMut(String),
) -> Option<Schema> {
    let path = match profile::find_schema(dir, name) {
        Ok(p) => p,
        Err(e) => {
            loc_err(e);
            return None;
        }
    };
    let _ = loaded;
    match profile::compile_schema(&path) {
        Ok((document, validator)) => Some(Schema::new(name.to_owned(), document, validator)),
        Err(e) => {
            loc_err(e);
            None
        }
    }
}

pub(crate) fn link(
    loaded: &Loaded,
    opts: &CompileOptions,
    env_used: &[(String, Location)],
    errs: &mut Vec<MappingError>,
) -> Option<Linked> {
    let m = &loaded.mapping;
    let dir = mapping_dir(loaded);
    let dir = dir.as_path();
    let before = errs.len();

    // The source payload.
    let mut inbound: Option<(Inbound, LoadedProfile)> = None;
    if let Some(r) = &m.source.profile
        && let Some((p, name)) = profile_of(loaded, r, "payload", errs)
    {
        match p.profile.inbound.get(&name) {
            Some(i) => {
                let i = i.value.clone();
                inbound = Some((i, p));
            }
            None => errs.push(at(
                loaded,
                &r.referenced,
                format!(
                    "vendor `{}` sends no payload `{name}`: {}",
                    p.profile.vendor,
                    did_you_mean(&name, p.profile.inbound.keys())
                ),
            )),
        }
    }
    let source_format = match (m.source.format, &inbound) {
        (Some(f), _) => f,
        (None, Some((i, _))) => i.format,
        (None, None) => {
            if m.source.profile.is_none() {
                errs.push(MappingError::at(
                    &loaded.path,
                    &loaded.text,
                    0,
                    0,
                    "`source` needs a `format` (json, jsonl, csv, query, form) or a `profile`"
                        .into(),
                ));
            }
            Format::Json
        }
    };
    let trailing_commas = m
        .source
        .trailing_commas
        .unwrap_or_else(|| inbound.as_ref().is_some_and(|(i, _)| i.trailing_commas));
    if trailing_commas && !matches!(source_format, Format::Json | Format::Jsonl) {
        errs.push(MappingError::at(
            &loaded.path,
            &loaded.text,
            0,
            0,
            "`source.trailing_commas` applies to json and jsonl sources only".into(),
        ));
    }

    // The destination endpoint.
    let mut endpoint = None;
    if let Some(r) = &m.destination.endpoint
        && let Some((p, name)) = profile_of(loaded, r, "endpoint", errs)
    {
        match p.profile.endpoints.get(&name) {
            Some(e) => {
                let e = (e.value.clone(), e.referenced);
                endpoint = Some((e, p, name));
            }
            None => errs.push(at(
                loaded,
                &r.referenced,
                format!(
                    "vendor `{}` has no endpoint `{name}`: {}",
                    p.profile.vendor,
                    did_you_mean(&name, p.profile.endpoints.keys())
                ),
            )),
        }
    }

    // The environment: what the profiles and the flow declare, then what templates use.
    let mut declared = Vec::new();
    if let Some((_, p)) = &inbound {
        declared.push(&p.profile.env);
    }
    if let Some((_, p, _)) = &endpoint {
        declared.push(&p.profile.env);
    }
    declared.push(&m.env);
    let reply_src = m
        .reply
        .as_ref()
        .or_else(|| inbound.as_ref().and_then(|(i, _)| i.reply.as_ref()));
    let mut referenced: Vec<String> = env_used.iter().map(|(n, _)| n.clone()).collect();
    if let Some(r) = reply_src {
        referenced.extend(ReplyPlan::env_refs(r));
    }
    if let Some(a) = &m.source.auth {
        referenced.extend(crate::env::refs(&a.token));
    }
    if let Some(((e, _), p, _)) = &endpoint {
        let auth = e.auth.as_ref().or(p.profile.auth.as_ref());
        let mut texts: Vec<&str> = vec![e.path.as_str()];
        texts.extend(p.profile.base_url.as_deref());
        if let Some(a) = auth {
            texts.extend(a.headers.values().map(String::as_str));
            texts.extend(a.query.values().map(String::as_str));
        }
        texts.extend(e.params.values().map(String::as_str));
        for t in texts {
            referenced.extend(crate::env::refs(t));
        }
    }
    let env = match Env::resolve(&declared, &referenced, opts.env) {
        Ok(env) => env,
        Err(list) => {
            // Stop here: rendering URLs and headers without the variables would only add
            // errors that follow from these.
            for EnvError { var, message } in list {
                let loc = env_used
                    .iter()
                    .find(|(n, _)| *n == var)
                    .map(|(_, l)| *l)
                    .or_else(|| m.destination.endpoint.as_ref().map(|e| e.referenced))
                    .or_else(|| m.source.profile.as_ref().map(|e| e.referenced));
                errs.push(match loc {
                    Some(l) => at(loaded, &l, message),
                    None => MappingError::at(&loaded.path, &loaded.text, 0, 0, message),
                });
            }
            return None;
        }
    };

    // The wire: URL, headers, params rendered once.
    let mut wire = None;
    let mut output_schema = None;
    if let Some(((e, eloc), p, name)) = &endpoint {
        let mut perr = |msg: String| errs.push(p.error_at(eloc, msg));
        let render = |t: &str, perr: &mut dyn FnMut(String)| {
            env.render(t).unwrap_or_else(|e| {
                perr(e);
                String::new()
            })
        };
        let base = p
            .profile
            .base_url
            .as_deref()
            .map(|b| render(b, &mut perr))
            .unwrap_or_default();
        let url = format!(
            "{}{}",
            base.trim_end_matches('/'),
            render(&e.path, &mut perr)
        );
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            perr(format!(
                "endpoint `{name}`: its URL `{}` does not start with http:// or https://",
                env.redact(&url)
            ));
        }
        let auth = e.auth.as_ref().or(p.profile.auth.as_ref());
        let mut headers = Vec::new();
        let mut query = Vec::new();
        if let Some(a) = auth {
            for (k, v) in &a.headers {
                headers.push((k.clone(), render(v, &mut perr)));
            }
            for (k, v) in &a.query {
                query.push((k.clone(), render(v, &mut perr)));
            }
        }
        let params = e
            .params
            .iter()
            .map(|(k, v)| (k.clone(), render(v, &mut perr)))
            .collect();
        if !matches!(e.encoding, Format::Json | Format::Form | Format::Query) {
            perr(format!(
                "endpoint `{name}`: encoding `{}` cannot go over HTTP; use json, form or query",
                e.encoding.name()
            ));
        }
        let failure =
            e.response
                .failure
                .as_ref()
                .and_then(|c| match crate::engine::compile_condition(c) {
                    Ok(c) => Some(c),
                    Err(msg) => {
                        perr(format!("endpoint `{name}`: response `failure`: {msg}"));
                        None
                    }
                });
        let failure_text =
            e.response
                .failure_text
                .as_deref()
                .and_then(|t| match regex::Regex::new(t) {
                    Ok(r) => Some(r),
                    Err(err) => {
                        perr(format!("endpoint `{name}`: response `failure_text`: {err}"));
                        None
                    }
                });
        let path_of = |raw: &Option<String>, perr: &mut dyn FnMut(String)| {
            raw.as_deref()
                .and_then(|r| match crate::record::Path::parse(r) {
                    Ok(p) => Some(p),
                    Err(err) => {
                        perr(format!("endpoint `{name}`: response path: {err}"));
                        None
                    }
                })
        };
        let custom_fields = e
            .custom_fields
            .as_deref()
            .and_then(|t| match regex::Regex::new(t) {
                Ok(r) => Some(r),
                Err(err) => {
                    perr(format!("endpoint `{name}`: `custom_fields`: {err}"));
                    None
                }
            });
        let d = &e.delivery;
        let duration = |what: &str, text: &str, perr: &mut dyn FnMut(String)| {
            profile::parse_duration(text).unwrap_or_else(|msg| {
                perr(format!("endpoint `{name}`: delivery `{what}`: {msg}"));
                std::time::Duration::ZERO
            })
        };
        let delivery = crate::wire::Delivery {
            concurrency: d.concurrency.max(1),
            rate: d.rate.filter(|r| *r > 0.0),
            timeout: duration("timeout", &d.timeout, &mut perr),
            max_attempts: d.max_attempts.max(1),
            max_age: duration("max_age", &d.max_age, &mut perr),
        };
        let id = path_of(&e.response.id, &mut perr);
        let reason = path_of(&e.response.reason, &mut perr);
        if let Some(s) = &e.schema {
            let pdir = p.path.parent().unwrap_or(std::path::Path::new("."));
            let schema = load_schema(loaded, pdir, s, &mut |msg| {
                perr(format!("endpoint `{name}`: schema: {msg}"))
            });
            if m.destination.check_schema.unwrap_or(true) {
                output_schema = schema;
            }
        } else if m.destination.check_schema == Some(true) {
            perr(format!(
                "endpoint `{name}` has no `schema`, but the flow asks to `check_schema`"
            ));
        }
        wire = Some(Wire {
            endpoint: format!("{}/{name}", p.profile.vendor),
            method: e.method,
            url: with_query(&url, &query),
            headers,
            encoding: e.encoding,
            params,
            fields: e.fields.clone(),
            custom_fields,
            delivery,
            response: Judge {
                format: e.response.format,
                failure,
                failure_text,
                id,
                reason,
            },
        });
    }

    // The input schema: the mapping's, else the source profile's.
    let mut input_schema = None;
    if let Some(s) = &m.source.schema {
        input_schema = load_schema(loaded, dir, &s.value, &mut |msg| {
            errs.push(at(loaded, &s.referenced, format!("source schema: {msg}")))
        });
    } else if let Some((i, p)) = &inbound
        && let Some(s) = &i.schema
    {
        let pdir = p.path.parent().unwrap_or(std::path::Path::new("."));
        input_schema = load_schema(loaded, pdir, s, &mut |msg| {
            errs.push(MappingError::at(
                &p.path,
                &p.text,
                0,
                0,
                format!("payload schema: {msg}"),
            ))
        });
    }

    // The reply.
    let reply = reply_src.and_then(|r| match ReplyPlan::compile(r) {
        Ok(plan) => Some(plan),
        Err(list) => {
            for msg in list {
                errs.push(MappingError::at(&loaded.path, &loaded.text, 0, 0, msg));
            }
            None
        }
    });

    // The token a sender must present.
    let inbound_auth = m.source.auth.as_ref().and_then(|a| {
        let mut fail = |msg: String| {
            errs.push(MappingError::at(
                &loaded.path,
                &loaded.text,
                0,
                0,
                format!("source.auth: {msg}"),
            ))
        };
        if a.header.is_some() == a.query.is_some() {
            fail("give either `header` or `query`: where the sender puts the token".into());
            return None;
        }
        let token = match env.render(&a.token) {
            Ok(t) => t,
            Err(e) => {
                fail(e);
                return None;
            }
        };
        if token.is_empty() && opts.env == crate::env::EnvMode::Process {
            fail("the token is empty: set the variable it names".into());
            return None;
        }
        Some(crate::wire::InboundAuth {
            header: a.header.clone(),
            query: a.query.clone(),
            token,
        })
    });

    if errs.len() > before {
        return None;
    }
    Some(Linked {
        source_format,
        trailing_commas,
        wire,
        reply,
        env,
        input_schema,
        output_schema,
        inbound_auth,
    })
}
