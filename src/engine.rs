//! A compiled mapping and the one function that turns an input record into an output record.
//!
//! [`Plan::compile`] checks everything that can be checked before data is read (paths, rules and
//! their options, regexes, templates, conditions, duplicate outputs, environment variables) and
//! reports every problem at once, each with file:line:column. [`Plan::apply`] is then the only
//! place a record is transformed: batch runs, streaming, explain (with a trace) and later the
//! sidecar all call it.

use std::borrow::Cow;
use std::collections::HashSet;

use handlebars::Handlebars;
use serde_json::{Map, Value};

use crate::instance::{InPlace, View};
use crate::mapping::{self, Collect, Condition, Loaded, MappingError, OnError};
use crate::record::{Headers, Hint, Path, Record};
use crate::template::{Fallback, Fast};
use crate::transform::memo::Memo;
use crate::transform::{CompileCtx, RuleError, Step, Transform, as_text, is_empty, show};

/// A mapping compiled for execution. Shared by every worker thread.
#[derive(Debug)]
pub struct Plan {
    pub name: String,
    pub source: mapping::Source,
    /// The input format (the mapping's, else its source profile's).
    pub source_format: mapping::Format,
    /// JSON input: a comma before a closing brace is accepted.
    pub trailing_commas: bool,
    pub destination: mapping::Destination,
    pub rejects: mapping::Rejects,
    /// The destination endpoint, when the flow names one.
    pub wire: Option<crate::wire::Wire>,
    /// The answer a sender gets (serve mode).
    pub reply: Option<crate::wire::ReplyPlan>,
    /// The token a sender must present (serve mode).
    pub inbound_auth: Option<crate::wire::InboundAuth>,
    /// What to keep of each accepted record (serve mode).
    pub remember: Option<RememberPlan>,
    /// Where to find fields an earlier record left (serve mode).
    pub recall: Option<RecallPlan>,
    fields: Vec<FieldPlan>,
    extras: Option<ExtrasPlan>,
    templates: Handlebars<'static>,
    /// The environment variables the flow and its profiles use.
    env: crate::env::Env,
    /// `env` as the object templates see.
    env_value: Value,
    /// Input fields read by some `from` or `collect` (not carried as extras).
    consumed: HashSet<String>,
    /// Every input record must match this schema.
    input_schema: Option<Schema>,
    /// Every output record must match the endpoint's schema.
    output_schema: Option<Schema>,
    /// `now` for templates, when pinned (tests).
    now: Option<String>,
    /// The names of the output's fields, in order, with their JSON texts (for answers).
    key_texts: crate::codec::KeyTexts,
    /// The names fields can give, and whether a spread field can give others: an extra of
    /// another name cannot repeat one, and is not looked for in the output.
    field_names: HashSet<String, foldhash::quality::RandomState>,
    spreads: bool,
}

/// What a flow keeps of each accepted record.
#[derive(Debug)]
pub struct RememberPlan {
    pub name: String,
    pub key: Path,
    pub fields: Vec<Path>,
    pub keep_for: std::time::Duration,
}

impl RememberPlan {
    /// The key and the fields to keep of `rec` (None without a key value).
    pub fn of(&self, rec: &Record) -> Option<(String, Map<String, Value>)> {
        let key = rec
            .get(&self.key)
            .map(|v| as_text(&v).unwrap_or_default().into_owned())?;
        let key = key.trim().to_owned();
        if key.is_empty() {
            return None;
        }
        let fields = self
            .fields
            .iter()
            .filter_map(|p| rec.get(p).map(|v| (p.as_str().to_owned(), v.into_owned())))
            .filter(|(_, v)| !is_empty(v))
            .collect();
        Some((key, fields))
    }
}

/// Where a flow finds fields an earlier record left.
#[derive(Debug)]
pub struct RecallPlan {
    pub name: String,
    pub key: Path,
}

impl RecallPlan {
    /// The key of `rec` (None without a value).
    pub fn key_of(&self, rec: &Record) -> Option<String> {
        let key = rec
            .get(&self.key)
            .map(|v| as_text(&v).unwrap_or_default().into_owned())?;
        let key = key.trim().to_owned();
        (!key.is_empty()).then_some(key)
    }

    /// `rec` with `kept` added where it lacks a value (its own fields win).
    pub fn merge(rec: Record, kept: Map<String, Value>) -> Record {
        let mut m = match rec {
            Record::Object(o) => o.into_map(),
            other => other.to_object().into_iter().collect(),
        };
        for (k, v) in kept {
            let missing = m.get(&k).is_none_or(is_empty);
            if missing {
                m.insert(k, v);
            }
        }
        Record::Object(m.into())
    }
}

/// A compiled JSON Schema and its name (for messages). It reads records and outputs where they
/// are ([`crate::instance`]).
pub struct Schema {
    pub name: String,
    /// The schema document (validate reads limits from it).
    pub document: Value,
    validator: jsonschema::Validator<InPlace>,
    /// The same schema with faster patterns, for the yes/no check
    /// ([`crate::profile::quick_validator`]).
    quick: Option<jsonschema::Validator<InPlace>>,
}

impl std::fmt::Debug for Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Schema").field("name", &self.name).finish()
    }
}

impl Schema {
    pub fn new(name: String, document: Value, validator: jsonschema::Validator<InPlace>) -> Schema {
        Schema {
            quick: crate::profile::quick_validator(&document),
            name,
            document,
            validator,
        }
    }

    /// The first way `instance` breaks the schema: (the field, what is wrong).
    pub fn check<'a>(&'a self, instance: View<'a>) -> Option<(String, String)> {
        // The yes/no check stops at the first failure and builds no error: most records pass.
        let yes_no = self.quick.as_ref().unwrap_or(&self.validator);
        if yes_no.is_valid(instance.clone()) {
            return None;
        }
        let e = self.validator.iter_errors(instance).next()?;
        let path = e.instance_path().to_string();
        let mut field = path.trim_start_matches('/').replace('/', ".");
        if let jsonschema::error::ValidationErrorKind::Required { property } = e.kind() {
            let name = crate::codec::scalar_text(property).into_owned();
            field = if field.is_empty() {
                name
            } else {
                format!("{field}.{name}")
            };
        }
        if field.is_empty() {
            return Some(("(record)".to_owned(), e.to_string()));
        }
        let message = match e.kind() {
            jsonschema::error::ValidationErrorKind::Required { .. } => e.to_string(),
            _ => format!("{field}: {e}"),
        };
        Some((field, message))
    }
}

/// How many recent input texts a field with a costly step remembers the steps' result of (at
/// most twice as many are kept), and the longest text remembered.
const STEPS_MEMO_CAPACITY: usize = 256;
const STEPS_MEMO_MAX_INPUT: usize = 256;

#[derive(Debug)]
struct FieldPlan {
    /// None: spread the (object) value into the output.
    name: Option<String>,
    input: Input,
    steps: Vec<StepPlan>,
    /// The steps' recent results by input text, when one of the steps is costly
    /// ([`Transform::costly`]).
    memo: Option<Memo<Result<Value, Failure>>>,
    required: bool,
    default: Option<Value>,
    when: Option<Cond>,
    on_error: OnError,
    /// Another field has the same name (alternatives), or an earlier field spreads an object
    /// that may give it: skip this one when the output has the name already.
    repeats: bool,
    /// Where the field is in the mapping file (line, column).
    loc: (usize, usize),
    /// What the field is, from the mapping (shown when a required value is missing).
    description: Option<String>,
}

/// What `validate` needs to know about a compiled field.
pub struct FieldView<'p> {
    /// None for `spread: true`.
    pub name: Option<&'p str>,
    /// Line and column in the mapping file.
    pub loc: (usize, usize),
    /// The field has a `when` condition.
    pub conditional: bool,
    /// The constant, when the field is a `value`.
    pub constant: Option<&'p Value>,
    /// The input paths of `from` (fallbacks in order).
    pub from: Vec<&'p str>,
    /// The field is a template.
    pub template: bool,
    pub default: Option<&'p Value>,
    pub on_error: OnError,
    pub required: bool,
    pub steps: Vec<(&'static str, &'p dyn Transform)>,
}

impl FieldPlan {
    fn label(&self) -> &str {
        self.name.as_deref().unwrap_or("(spread)")
    }
}

#[derive(Debug)]
struct StepPlan {
    rule: &'static str,
    run: Box<dyn Transform>,
}

#[derive(Debug)]
enum Input {
    From(Vec<Path>),
    List(Vec<Path>),
    Named(Vec<(String, Path)>),
    Const(Value),
    /// A template registered under this name, and its direct form when it has one.
    Template(String, Option<Fast>),
    /// A template that reads nothing but `env`: rendered once, when the mapping is compiled.
    Rendered(Value),
    Nothing,
}

/// A compiled condition.
#[derive(Debug)]
pub enum Cond {
    Test { path: Path, tests: Vec<Test> },
    All(Vec<Cond>),
    Any(Vec<Cond>),
    Not(Box<Cond>),
}

#[derive(Debug)]
pub enum Test {
    Equals(Value),
    NotEquals(Value),
    OneOf(Vec<Value>),
    Matches(crate::matcher::Matcher),
    Present(bool),
}

/// (column position, output name) of each extra of a CSV input.
type ExtraColumns = Vec<(usize, String)>;

#[derive(Debug)]
struct ExtrasPlan {
    only: Option<Vec<String>>,
    exclude: HashSet<String>,
    rename: Vec<StepPlan>,
    steps: Vec<StepPlan>,
    /// For CSV rows: the (column, output name) pairs, computed once per header (keyed by its
    /// address), so names are not renamed again for every row.
    columns: std::sync::OnceLock<(u64, Option<ExtraColumns>)>,
}

/// Render once the templates that read nothing but `env` (a vendor's account or campaign id):
/// their text is the same for every record. A template that fails to render is left to fail
/// per record, with the field's error handling.
fn fold_env_templates(fields: &mut [FieldPlan], templates: &Handlebars<'static>, env: &Value) {
    let mut ctx: Option<handlebars::Context> = None;
    for f in fields {
        let Input::Template(name, _) = &f.input else {
            continue;
        };
        if !templates.get_template(name).is_some_and(reads_only_env) {
            continue;
        }
        let ctx = ctx.get_or_insert_with(|| {
            let mut m = Map::new();
            m.insert("env".into(), env.clone());
            handlebars::Context::from(Value::Object(m))
        });
        if let Ok(text) = templates.render_with_context(name, ctx) {
            f.input = Input::Rendered(Value::String(text));
        }
    }
}

/// Whether a template reads nothing but `env.…` paths and literals, through the built-in
/// helpers that only compare or combine values (`if`, `unless`, `eq`, `and`, ...). Anything else
/// (`in`, `now`, `this`, `../`, `each`, `with`, `lookup`, partials) keeps it a per-record
/// template.
fn reads_only_env(t: &handlebars::Template) -> bool {
    use handlebars::template::{Parameter, TemplateElement as E};
    const PURE: &[&str] = &[
        "if", "unless", "eq", "ne", "gt", "gte", "lt", "lte", "and", "or", "not", "len",
    ];
    fn env_path(p: &handlebars::Path) -> bool {
        match p {
            handlebars::Path::Relative((segs, _)) => {
                matches!(segs.first(), Some(handlebars::PathSeg::Named(n)) if n == "env")
                    && segs
                        .iter()
                        .all(|s| matches!(s, handlebars::PathSeg::Named(_)))
            }
            handlebars::Path::Local(_) => false,
        }
    }
    fn param(p: &Parameter) -> bool {
        match p {
            Parameter::Literal(_) => true,
            Parameter::Path(path) => env_path(path),
            Parameter::Subexpression(sub) => element(&sub.element),
            _ => false,
        }
    }
    fn helper(h: &handlebars::template::HelperTemplate) -> bool {
        let shape_ok = h.block_param.is_none()
            && h.params.iter().all(param)
            && h.hash.values().all(param)
            && h.template.as_ref().is_none_or(reads_only_env)
            && h.inverse.as_ref().is_none_or(reads_only_env);
        let name_ok = match &h.name {
            // `{{env.X}}`: a path printed.
            Parameter::Path(p) if h.params.is_empty() && h.hash.is_empty() && !h.block => {
                env_path(p)
            }
            Parameter::Name(n) if h.params.is_empty() && h.hash.is_empty() && !h.block => {
                n == "env"
            }
            Parameter::Name(n) => PURE.contains(&n.as_str()),
            _ => false,
        };
        shape_ok && name_ok
    }
    fn element(e: &E) -> bool {
        match e {
            E::RawString(_) | E::Comment(_) => true,
            E::Expression(h) | E::HtmlExpression(h) | E::HelperBlock(h) => helper(h),
            _ => false,
        }
    }
    t.elements.iter().all(element)
}

/// The output of one record: fields in output order. Values may be null; the encoder applies the
/// destination's `nulls` policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Output<'p> {
    pub fields: Vec<(Cow<'p, str>, Value)>,
}

impl Output<'_> {
    /// The output as a JSON object (for tests and explain).
    pub fn to_object(&self) -> Map<String, Value> {
        self.fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }
}

/// A JSON object of the fields in output order (what [`Output::to_object`] gives, written
/// without copying the values first).
impl serde::Serialize for Output<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.fields.len()))?;
        for (k, v) in &self.fields {
            m.serialize_entry(k.as_ref(), v)?;
        }
        m.end()
    }
}

/// Why a record was rejected.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// The output field being computed (or the input field for extras and decoding).
    pub field: String,
    /// The rule that failed (`phone`, `required`, `decode`, ...).
    pub rule: String,
    pub reason: Cow<'static, str>,
    pub message: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} (rule {}, reason {})",
            self.field, self.message, self.rule, self.reason
        )
    }
}

/// What explain shows for one field.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldTrace {
    pub field: String,
    /// Where the value came from, in words (`from phone`, `constant`, `template`).
    pub source: String,
    /// The value before the steps (after the field default).
    pub input: Value,
    /// Each step: rule name and its result.
    pub steps: Vec<(String, Result<Value, RuleError>)>,
    /// What happened to the field in the end.
    pub outcome: String,
}

/// Options for compiling.
#[derive(Debug, Clone, Default)]
pub struct CompileOptions {
    /// Where environment variables come from: the process (running; a missing one refuses the
    /// mapping), leniently (`validate`), or the declared examples (`test`).
    pub env: crate::env::EnvMode,
    /// Pin `now` (RFC 3339) for templates, so snapshots are stable.
    pub now: Option<String>,
}

impl CompileOptions {
    /// The options `fieldmap test` uses: examples for variables, `now` pinned.
    pub fn for_tests() -> CompileOptions {
        CompileOptions {
            env: crate::env::EnvMode::Examples,
            now: Some(TEST_NOW.into()),
        }
    }
}

/// The `now` of `fieldmap test`.
pub const TEST_NOW: &str = "2001-02-03T04:05:06Z";

/// Collects compile errors so the user sees all of them at once, located in one file.
struct Errors<'a> {
    path: &'a std::path::Path,
    text: &'a str,
    list: Vec<MappingError>,
}

impl Errors<'_> {
    fn at(&mut self, loc: &serde_saphyr::Location, msg: impl Into<String>) {
        self.list
            .push(MappingError::at_loc(self.path, self.text, loc, msg.into()));
    }
}

/// Compile a condition that has no place in a mapping file (a vendor profile's answer rule).
pub fn compile_condition(c: &Condition) -> Result<Cond, String> {
    let mut errs = Errors {
        path: std::path::Path::new(""),
        text: "",
        list: Vec::new(),
    };
    let cond = compile_cond(c, &serde_saphyr::Location::UNKNOWN, &mut errs);
    match (cond, errs.list.first()) {
        (Some(c), None) => Ok(c),
        (_, Some(e)) => Err(e.message.clone()),
        (None, None) => Err("empty condition".into()),
    }
}

fn compile_steps(
    steps: &[serde_saphyr::Spanned<Step>],
    cx: &CompileCtx<'_>,
    errs: &mut Errors<'_>,
) -> Vec<StepPlan> {
    let mut out = Vec::with_capacity(steps.len());
    for s in steps {
        let rule = s.value.name();
        match s.value.clone().compile(cx) {
            Ok(run) => out.push(StepPlan { rule, run }),
            Err(e) => errs.at(&s.referenced, format!("rule `{rule}`: {e}")),
        }
    }
    out
}

fn compile_path(raw: &str, loc: &serde_saphyr::Location, errs: &mut Errors<'_>) -> Option<Path> {
    match Path::parse(raw) {
        Ok(p) => Some(p),
        Err(e) => {
            errs.at(loc, e);
            None
        }
    }
}

fn compile_cond(
    c: &Condition,
    loc: &serde_saphyr::Location,
    errs: &mut Errors<'_>,
) -> Option<Cond> {
    let mut parts = Vec::new();
    let mut tests = Vec::new();
    if let Some(v) = &c.equals {
        tests.push(Test::Equals(v.clone()));
    }
    if let Some(v) = &c.not_equals {
        tests.push(Test::NotEquals(v.clone()));
    }
    if let Some(v) = &c.one_of {
        tests.push(Test::OneOf(v.clone()));
    }
    if let Some(p) = &c.matches {
        match crate::matcher::Matcher::new(p) {
            Ok(re) => tests.push(Test::Matches(re)),
            Err(e) => errs.at(loc, format!("condition `matches`: bad pattern: {e}")),
        }
    }
    if let Some(b) = c.present {
        tests.push(Test::Present(b));
    }
    match (&c.from, tests.is_empty()) {
        (Some(from), false) => {
            if let Some(path) = compile_path(from, loc, errs) {
                parts.push(Cond::Test { path, tests });
            }
        }
        (Some(from), true) => {
            if let Some(path) = compile_path(from, loc, errs) {
                parts.push(Cond::Test {
                    path,
                    tests: vec![Test::Present(true)],
                });
            }
        }
        (None, false) => errs.at(
            loc,
            "a condition test needs `from`: the input path it looks at",
        ),
        (None, true) => {}
    }
    for (list, any) in [(&c.all, false), (&c.any, true)] {
        if let Some(list) = list {
            let subs: Vec<Cond> = list
                .iter()
                .filter_map(|x| compile_cond(x, loc, errs))
                .collect();
            parts.push(if any {
                Cond::Any(subs)
            } else {
                Cond::All(subs)
            });
        }
    }
    if let Some(n) = &c.not
        && let Some(sub) = compile_cond(n, loc, errs)
    {
        parts.push(Cond::Not(Box::new(sub)));
    }
    match parts.len() {
        0 => {
            errs.at(
                loc,
                "empty condition: give `from` with a test, or `all`/`any`/`not`",
            );
            None
        }
        1 => parts.pop(),
        _ => Some(Cond::All(parts)),
    }
}

impl Plan {
    /// Compile a loaded mapping. Every problem found is returned, each located in the file.
    pub fn compile(loaded: &Loaded, opts: CompileOptions) -> Result<Plan, Vec<MappingError>> {
        let m = &loaded.mapping;
        let base_dir = loaded.path.parent().unwrap_or(std::path::Path::new("."));
        let cx = CompileCtx { base_dir };
        let mut errs = Errors {
            path: &loaded.path,
            text: &loaded.text,
            list: Vec::new(),
        };
        let mut templates = Handlebars::new();
        templates.register_escape_fn(handlebars::no_escape);
        let mut env_used: Vec<(String, serde_saphyr::Location)> = Vec::new();
        let mut consumed = HashSet::new();
        let mut names: Vec<(String, serde_saphyr::Location, bool)> = Vec::new();
        let mut fields = Vec::with_capacity(m.fields.len());

        if let Some(d) = m.source.delimiter
            && !d.is_ascii()
        {
            errs.list.push(MappingError::at(
                &loaded.path,
                &loaded.text,
                0,
                0,
                format!("source delimiter {d:?} is not one ASCII character"),
            ));
        }

        for (i, f) in m.fields.iter().enumerate() {
            let loc = &f.referenced;
            let field = &f.value;
            let name = match (&field.to, field.spread) {
                (Some(to), false) => {
                    if to.value.is_empty() {
                        errs.at(&to.referenced, "`to` is empty");
                    }
                    // A name may repeat as alternatives: every earlier field of that name has a
                    // `when`, and the first one whose condition holds gives the value.
                    if let Some((_, first, conditional)) =
                        names.iter().rev().find(|(n, _, _)| *n == to.value)
                        && !conditional
                    {
                        errs.at(
                            &to.referenced,
                            format!(
                                "output field `{}` is defined twice (first at line {}); to give alternatives, \
put a `when` or `on_error: next` on each earlier one",
                                to.value,
                                first.line()
                            ),
                        );
                    }
                    names.push((
                        to.value.clone(),
                        to.referenced,
                        field.when.is_some() || field.on_error == OnError::Next,
                    ));
                    Some(to.value.clone())
                }
                (None, true) => None,
                (Some(to), true) => {
                    errs.at(
                        &to.referenced,
                        "give either `to` or `spread: true`, not both",
                    );
                    None
                }
                (None, false) => {
                    errs.at(
                        loc,
                        format!("field #{} has no `to`: name the output field", i + 1),
                    );
                    None
                }
            };
            let given = [
                field.from.is_some(),
                field.collect.is_some(),
                field.value.is_some(),
                field.template.is_some(),
            ];
            if given.iter().filter(|x| **x).count() > 1 {
                errs.at(
                    loc,
                    "give only one of `from`, `collect`, `value` and `template`",
                );
            }
            let input = if let Some(from) = &field.from {
                let paths: Vec<Path> = from
                    .value
                    .paths()
                    .iter()
                    .filter_map(|p| compile_path(p, &from.referenced, &mut errs))
                    .collect();
                consumed.extend(paths.iter().map(|p| p.root().to_owned()));
                Input::From(paths)
            } else if let Some(c) = &field.collect {
                match &c.value {
                    Collect::List(list) => {
                        let paths: Vec<Path> = list
                            .iter()
                            .filter_map(|p| compile_path(p, &c.referenced, &mut errs))
                            .collect();
                        consumed.extend(paths.iter().map(|p| p.root().to_owned()));
                        Input::List(paths)
                    }
                    Collect::Named(list) => {
                        let mut out = Vec::new();
                        for (k, p) in list {
                            if let Some(p) = compile_path(p, &c.referenced, &mut errs) {
                                consumed.insert(p.root().to_owned());
                                out.push((k.clone(), p));
                            }
                        }
                        Input::Named(out)
                    }
                }
            } else if let Some(v) = &field.value {
                Input::Const(v.clone())
            } else if let Some(t) = &field.template {
                let tname = format!("field{i}");
                if let Err(e) = templates.register_template_string(&tname, &t.value) {
                    errs.at(&t.referenced, format!("bad template: {e}"));
                }
                for var in crate::env::refs(&t.value) {
                    env_used.push((var, t.referenced));
                }
                let fast = templates.get_template(&tname).and_then(Fast::compile);
                Input::Template(tname, fast)
            } else {
                Input::Nothing
            };
            if matches!(input, Input::Nothing) && field.default.is_none() {
                errs.at(loc, "the field has no input: give `from`, `collect`, `value`, `template` or `default`");
            }
            let steps = compile_steps(&field.steps, &cx, &mut errs);
            let when = field
                .when
                .as_ref()
                .and_then(|w| compile_cond(&w.value, &w.referenced, &mut errs));
            if field.on_error == OnError::Default && field.default.is_none() {
                errs.at(loc, "`on_error: default` needs a `default` value");
            }
            // Another field of the name, or an earlier spread that may give it.
            let repeats = name.as_ref().is_some_and(|n| {
                names.iter().filter(|(m, _, _)| m == n).count() > 1
                    || fields.iter().any(|g: &FieldPlan| g.name.is_none())
            });
            fields.push(FieldPlan {
                repeats,
                name,
                input,
                memo: steps
                    .iter()
                    .any(|s| s.run.costly())
                    .then(|| Memo::new(STEPS_MEMO_CAPACITY, STEPS_MEMO_MAX_INPUT)),
                steps,
                required: field.required,
                default: field.default.clone(),
                when,
                on_error: field.on_error,
                loc: (loc.line() as usize, loc.column() as usize),
                description: field.description.clone(),
            });
        }

        for (i, f) in fields.iter().enumerate() {
            let later = fields[i + 1..]
                .iter()
                .any(|g| g.name.is_some() && g.name == f.name);
            if f.on_error == OnError::Next && !later {
                errs.list.push(MappingError::at(
                    &loaded.path,
                    &loaded.text,
                    f.loc.0,
                    f.loc.1,
                    format!(
                        "`on_error: next` gives way to the next field named `{}`, and there is none after this one",
                        f.label()
                    ),
                ));
            }
        }

        let extras = match &m.extras {
            Some(x) if x.keep => Some(ExtrasPlan {
                only: x.only.clone(),
                exclude: x.exclude.iter().cloned().collect(),
                rename: compile_steps(&x.rename, &cx, &mut errs),
                steps: compile_steps(&x.steps, &cx, &mut errs),
                columns: std::sync::OnceLock::new(),
            }),
            _ => None,
        };

        let remember = m.remember.as_ref().and_then(|r| {
            let top = serde_saphyr::Location::UNKNOWN;
            let key = compile_path(&r.key, &top, &mut errs)?;
            let fields: Vec<Path> = r
                .fields
                .iter()
                .filter_map(|f| compile_path(f, &top, &mut errs))
                .collect();
            if r.name.trim().is_empty() || fields.is_empty() {
                errs.list.push(MappingError::at(
                    &loaded.path,
                    &loaded.text,
                    0,
                    0,
                    "`remember` needs a name (`as`) and at least one field".into(),
                ));
                return None;
            }
            match crate::profile::parse_duration(&r.keep_for) {
                Ok(keep_for) => Some(RememberPlan {
                    name: r.name.trim().to_owned(),
                    key,
                    fields,
                    keep_for,
                }),
                Err(e) => {
                    errs.list.push(MappingError::at(
                        &loaded.path,
                        &loaded.text,
                        0,
                        0,
                        format!("`remember.for`: {e}"),
                    ));
                    None
                }
            }
        });
        let recall = m.recall.as_ref().and_then(|r| {
            let key = compile_path(&r.key, &serde_saphyr::Location::UNKNOWN, &mut errs)?;
            Some(RecallPlan {
                name: r.from.trim().to_owned(),
                key,
            })
        });
        let linked = crate::link::link(loaded, &opts, &env_used, &mut errs.list);
        if !errs.list.is_empty() {
            return Err(errs.list);
        }
        let Some(linked) = linked else {
            return Err(errs.list);
        };
        let env_value = Value::Object(linked.env.values().clone());
        fold_env_templates(&mut fields, &templates, &env_value);
        // Alternatives share a name; a spread field has none (its keys come with each record).
        let mut names: Vec<String> = Vec::with_capacity(fields.len());
        for n in fields.iter().filter_map(|f| f.name.as_ref()) {
            if !names.contains(n) {
                names.push(n.clone());
            }
        }
        let field_names = names.iter().cloned().collect();
        let spreads = fields.iter().any(|f| f.name.is_none());
        Ok(Plan {
            key_texts: crate::codec::KeyTexts::new(names),
            field_names,
            spreads,
            name: m.name.clone(),
            source: m.source.clone(),
            source_format: linked.source_format,
            trailing_commas: linked.trailing_commas,
            destination: m.destination.clone(),
            rejects: m.rejects.clone(),
            wire: linked.wire,
            reply: linked.reply,
            inbound_auth: linked.inbound_auth,
            remember,
            recall,
            fields,
            extras,
            templates,
            env_value,
            env: linked.env,
            consumed,
            input_schema: linked.input_schema,
            output_schema: linked.output_schema,
            now: opts.now.clone(),
        })
    }

    /// The names of the fields the output has, in order, with their JSON texts written (extras
    /// and spread objects add others with each record).
    pub fn key_texts(&self) -> &crate::codec::KeyTexts {
        &self.key_texts
    }

    /// The output columns, when they are known before the first record (CSV output needs them).
    /// `headers` is the CSV input's header, which names the extras.
    pub fn columns(&self, headers: Option<&Headers>) -> Result<Vec<String>, String> {
        let mut cols = Vec::with_capacity(self.fields.len());
        for f in &self.fields {
            match &f.name {
                Some(n) if cols.contains(n) => {}
                Some(n) => cols.push(n.clone()),
                None => {
                    return Err("a field spreads an object into the output (`spread: true`)".into());
                }
            }
        }
        if let Some(x) = &self.extras {
            let keys: Vec<String> = match (&x.only, headers) {
                (Some(only), _) => only.clone(),
                (None, Some(h)) => h
                    .names()
                    .iter()
                    .filter(|k| !self.consumed.contains(k.as_str()))
                    .cloned()
                    .collect(),
                (None, None) => {
                    return Err(
                        "the extras depend on each record and `extras.only` does not list them"
                            .into(),
                    );
                }
            };
            for key in keys.into_iter().filter(|k| !x.exclude.contains(k)) {
                let mut name = Value::String(key.clone());
                for s in &x.rename {
                    name = s.run.apply(name).map_err(|e| {
                        format!("renaming extra field `{key}` failed: {}", e.message)
                    })?;
                }
                cols.push(crate::codec::scalar_text(&name).into_owned());
            }
        }
        Ok(cols)
    }

    /// The input columns some field reads that `headers` lacks (for a warning before the run).
    pub fn missing_columns(&self, headers: &Headers) -> Vec<String> {
        let mut missing = Vec::new();
        for f in &self.fields {
            let paths: Vec<&Path> = match &f.input {
                Input::From(p) | Input::List(p) => p.iter().collect(),
                Input::Named(p) => p.iter().map(|(_, p)| p).collect(),
                _ => continue,
            };
            let any_found = paths.iter().any(|p| headers.position(p.as_str()).is_some());
            if !any_found && let Some(p) = paths.first() {
                missing.push(format!("`{}`", p.as_str()));
            }
        }
        missing
    }

    /// Replace the values of the environment variables the mapping uses (tokens, API keys) in
    /// `text` by `[env.NAME]`, for anything shown to people (explain, messages).
    pub fn redact(&self, text: &str) -> String {
        self.env.redact(text)
    }

    /// The fields, for static checks.
    pub fn field_views(&self) -> Vec<FieldView<'_>> {
        self.fields
            .iter()
            .map(|f| FieldView {
                name: f.name.as_deref(),
                loc: f.loc,
                conditional: f.when.is_some(),
                constant: match &f.input {
                    Input::Const(v) => Some(v),
                    _ => None,
                },
                from: match &f.input {
                    Input::From(p) => p.iter().map(|p| p.as_str()).collect(),
                    _ => Vec::new(),
                },
                template: matches!(f.input, Input::Template(..) | Input::Rendered(_)),
                default: f.default.as_ref(),
                on_error: f.on_error,
                required: f.required,
                steps: f.steps.iter().map(|s| (s.rule, &*s.run)).collect(),
            })
            .collect()
    }

    /// The schema every input record is checked against.
    pub fn input_schema(&self) -> Option<&Schema> {
        self.input_schema.as_ref()
    }

    /// Whether the flow keeps extra input fields.
    pub fn has_extras(&self) -> bool {
        self.extras.is_some()
    }

    /// Whether the flow or one of its profiles declares the environment variable `name`.
    pub fn env_is_declared(&self, name: &str) -> bool {
        self.env.is_declared(name)
    }

    /// Whether the environment variable `name` is a secret (or undeclared).
    pub fn env_is_secret(&self, name: &str) -> bool {
        self.env.is_secret(name)
    }

    /// The environment variables as templates see them.
    pub fn env_values(&self) -> &Map<String, Value> {
        self.env.values()
    }

    /// The request that would deliver `out` to the destination endpoint (None without one).
    pub fn request(&self, out: &Output<'_>) -> Option<crate::wire::Request> {
        self.wire
            .as_ref()
            .map(|w| w.request(out, self.destination.nulls))
    }

    /// The answer the sender of `input` gets (None when the flow has no reply).
    pub fn answer(
        &self,
        input: Option<&Record>,
        result: Result<&Output<'_>, &Failure>,
    ) -> Option<crate::wire::Answer> {
        self.reply
            .as_ref()
            .map(|r| r.answer(input, result, self.env.values(), self.destination.nulls))
    }

    /// Transform one record.
    pub fn apply<'p>(&'p self, rec: &Record) -> Result<Output<'p>, Failure> {
        self.run(rec, None)
    }

    /// Transform one record and record what every field did (for `explain`).
    pub fn explain<'p>(&'p self, rec: &Record) -> (Result<Output<'p>, Failure>, Vec<FieldTrace>) {
        let mut trace = Vec::new();
        let out = self.run(rec, Some(&mut trace));
        (out, trace)
    }

    fn run<'p>(
        &'p self,
        rec: &Record,
        mut trace: Option<&mut Vec<FieldTrace>>,
    ) -> Result<Output<'p>, Failure> {
        if let Some(schema) = &self.input_schema
            && let Some((field, message)) = match rec {
                // Read where it is; a CSV row becomes an object first.
                Record::Object(o) => schema.check(View::Fields(o.map())),
                Record::Row { .. } => schema.check(View::Value(&Value::Object(rec.to_object()))),
            }
        {
            return Err(Failure {
                field,
                rule: "schema".into(),
                reason: "schema_violation".into(),
                message: format!("the input does not match {}: {message}", schema.name),
            });
        }
        let mut out: Vec<(Cow<'p, str>, Value)> = Vec::with_capacity(self.fields.len() + 4);
        // Shared by every template of the record: one `now`, and handlebars' context when a
        // template needs it.
        let mut templates = TemplateData {
            rec,
            env: &self.env_value,
            now: match &self.now {
                Some(n) => Cow::Borrowed(n.as_str()).into(),
                None => std::cell::OnceCell::new(),
            },
            ctx: None,
        };
        for f in &self.fields {
            // An alternative whose name an earlier field already gave is skipped.
            if f.repeats
                && f.name
                    .as_deref()
                    .is_some_and(|n| out.iter().any(|(k, _)| k == n))
            {
                if let Some(tr) = trace.as_deref_mut() {
                    tr.push(FieldTrace {
                        field: f.label().to_owned(),
                        source: String::new(),
                        input: Value::Null,
                        steps: Vec::new(),
                        outcome: "skipped: an earlier field (or spread) gave this name".into(),
                    });
                }
                continue;
            }
            // Each value is computed where it ends up, at the end of `out`: a `Value` is 72 bytes,
            // and moving it from step to result to output cost more than many steps.
            let key = f.name.as_deref().unwrap_or_default();
            out.push((Cow::Borrowed(key), Value::Null));
            let Some((_, slot)) = out.last_mut() else {
                continue;
            };
            let present = match trace.as_deref_mut() {
                None => self.field(f, rec, &mut templates, None, slot),
                Some(tr) => {
                    let mut t = FieldTrace {
                        field: f.label().to_owned(),
                        source: String::new(),
                        input: Value::Null,
                        steps: Vec::new(),
                        outcome: String::new(),
                    };
                    let present = self.field(f, rec, &mut templates, Some(&mut t), slot);
                    t.outcome = match &present {
                        Ok(false) => "skipped: the `when` condition is false".into(),
                        Ok(true) if slot.is_null() => "missing: left out of the output".into(),
                        Ok(true) => format!("= {}", show(slot)),
                        Err(e) => format!("REJECTED: {} ({})", e.message, e.reason),
                    };
                    tr.push(t);
                    present
                }
            };
            let present = match present {
                Ok(p) => p,
                // An alternative that failed gives way to the next one of its name.
                Err(_) if f.on_error == OnError::Next => {
                    out.pop();
                    continue;
                }
                Err(e) => return Err(e),
            };
            if !present {
                out.pop();
            } else if f.name.is_none() {
                // `spread: true`: the object's fields take the place of the value.
                match out.pop().map(|(_, v)| v) {
                    // A name the output has already keeps its first value, as alternatives do.
                    Some(Value::Object(m)) => {
                        // The object's keys are distinct: only names given before can repeat.
                        let given = out.len();
                        out.reserve(m.len());
                        for (k, v) in m {
                            if !out[..given].iter().any(|(o, _)| *o == k) {
                                out.push((Cow::Owned(k), v));
                            }
                        }
                    }
                    Some(Value::Null) | None => {}
                    Some(other) => {
                        return Err(Failure {
                            field: f.label().into(),
                            rule: "spread".into(),
                            reason: "wrong_type".into(),
                            message: format!(
                                "`spread` needs an object, got {}",
                                crate::transform::kind(&other)
                            ),
                        });
                    }
                }
            }
        }
        if let Some(x) = &self.extras {
            self.extras(x, rec, &mut out)?;
        }
        let out = Output { fields: out };
        if let Some(wire) = &self.wire
            && let Some(name) = wire.missing_required(&out)
        {
            return Err(Failure {
                field: name.to_owned(),
                rule: "endpoint".into(),
                reason: "missing".into(),
                message: format!(
                    "{name} is required by {} and this record gives it no value",
                    wire.endpoint
                ),
            });
        }
        if let (Some(schema), Some(wire)) = (&self.output_schema, &self.wire)
            && let Some((field, message)) = schema.check(wire.instance(&out).node())
        {
            return Err(Failure {
                field,
                rule: "destination_schema".into(),
                reason: "destination_schema".into(),
                message: format!("the output does not match {}: {message}", schema.name),
            });
        }
        Ok(out)
    }

    /// Compute field `f` into `v` (null on entry). `Ok(false)`: the field is skipped (`when`).
    fn field(
        &self,
        f: &FieldPlan,
        rec: &Record,
        templates: &mut TemplateData<'_>,
        mut trace: Option<&mut FieldTrace>,
        v: &mut Value,
    ) -> Result<bool, Failure> {
        if let Some(c) = &f.when
            && !eval(c, rec)
        {
            return Ok(false);
        }
        let source: Cow<'_, str> = match &f.input {
            Input::From(paths) => Cow::Borrowed(
                read_from(paths, rec, v)
                    .or(paths.first())
                    .map_or("", |p| p.as_str()),
            ),
            Input::List(paths) => {
                *v = Value::Array(
                    paths
                        .iter()
                        .map(|p| rec.get(p).map_or(Value::Null, Cow::into_owned))
                        .collect(),
                );
                "collect".into()
            }
            Input::Named(list) => {
                *v = Value::Object(
                    list.iter()
                        .map(|(k, p)| (k.clone(), rec.get(p).map_or(Value::Null, Cow::into_owned)))
                        .collect(),
                );
                "collect".into()
            }
            Input::Const(c) => {
                *v = c.clone();
                "value".into()
            }
            Input::Rendered(text) => {
                v.clone_from(text);
                "template".into()
            }
            Input::Template(name, fast) => {
                let rendered = match fast {
                    Some(fast) => {
                        let mut text = String::new();
                        match fast.render(&*templates, &mut text) {
                            Ok(()) => Ok(text),
                            Err(Fallback) => templates.render(self, name),
                        }
                    }
                    None => templates.render(self, name),
                };
                match rendered {
                    Ok(s) => *v = Value::String(s),
                    Err(e) => {
                        return Err(Failure {
                            field: f.label().into(),
                            rule: "template".into(),
                            reason: "template_error".into(),
                            message: e.to_string(),
                        });
                    }
                }
                "template".into()
            }
            Input::Nothing => "default".into(),
        };
        if let Some(d) = &f.default
            && is_empty(v)
        {
            *v = d.clone();
        }
        if let Some(t) = trace.as_deref_mut() {
            t.source = match &f.input {
                Input::From(_) => format!("from {source}"),
                _ => source.into_owned(),
            };
            t.input = v.clone();
        }
        match (&f.memo, &*v) {
            // Every rule is a function of its options and its input: the memo gives what the
            // steps would (traced runs, which record each step, run them every time).
            (Some(memo), Value::String(key)) if trace.is_none() => {
                let out = memo.get_or(key, || {
                    let mut w = v.clone();
                    Self::steps(f, &mut w, None).map(|()| w)
                });
                *v = out?;
            }
            _ => Self::steps(f, v, trace)?,
        }
        if f.required && is_empty(v) {
            return Err(Failure {
                field: f.label().into(),
                rule: "required".into(),
                reason: "missing".into(),
                message: match &f.description {
                    Some(d) => format!("{} is required but its value is empty ({d})", f.label()),
                    None => format!("{} is required but its value is empty", f.label()),
                },
            });
        }
        Ok(true)
    }

    /// Run the field's steps on `v`, with its `on_error`.
    fn steps(
        f: &FieldPlan,
        v: &mut Value,
        mut trace: Option<&mut FieldTrace>,
    ) -> Result<(), Failure> {
        for s in &f.steps {
            let before = match f.on_error {
                OnError::Keep => Some(v.clone()),
                _ => None,
            };
            match s.run.apply_mut(v) {
                Ok(()) => {
                    if let Some(t) = trace.as_deref_mut() {
                        t.steps.push((s.rule.to_owned(), Ok(v.clone())));
                    }
                }
                Err(e) => {
                    if let Some(t) = trace.as_deref_mut() {
                        t.steps.push((s.rule.to_owned(), Err(e.clone())));
                    }
                    *v = match f.on_error {
                        OnError::Reject | OnError::Next => {
                            return Err(Failure {
                                field: f.label().into(),
                                rule: s.rule.into(),
                                reason: e.reason,
                                message: e.message,
                            });
                        }
                        OnError::Empty => Value::String(String::new()),
                        OnError::Default => f.default.clone().unwrap_or(Value::Null),
                        OnError::Keep => before.unwrap_or(Value::Null),
                        OnError::Null => Value::Null,
                    };
                    break;
                }
            }
        }
        Ok(())
    }

    fn extras<'p>(
        &'p self,
        x: &'p ExtrasPlan,
        rec: &Record,
        out: &mut Vec<(Cow<'p, str>, Value)>,
    ) -> Result<(), Failure> {
        if let Record::Row { headers, row } = rec {
            let key = headers.id();
            let (k, cols) = x
                .columns
                .get_or_init(|| (key, self.extra_columns(x, headers)));
            if *k == key
                && let Some(cols) = cols
            {
                for (i, name) in cols {
                    let Some(text) = row.get(*i) else { continue };
                    if self.given(name, out) {
                        continue;
                    }
                    let v = self.extra_value(x, name, Value::String(text.to_owned()))?;
                    out.push((Cow::Borrowed(name.as_str()), v));
                }
                return Ok(());
            }
        }
        let keys: Vec<&str> = match &x.only {
            Some(only) => only.iter().map(String::as_str).collect(),
            None => rec
                .keys()
                .into_iter()
                .filter(|k| !self.consumed.contains(*k))
                .collect(),
        };
        for key in keys {
            if x.exclude.contains(key) {
                continue;
            }
            let Some(value) = rec.field(key, &Hint::default()) else {
                continue;
            };
            let mut name = Value::String(key.to_owned());
            for s in &x.rename {
                name = s.run.apply(name).map_err(|e| Failure {
                    field: key.to_owned(),
                    rule: s.rule.into(),
                    reason: e.reason,
                    message: format!("renaming extra field `{key}`: {}", e.message),
                })?;
            }
            let name = match name {
                Value::String(s) => s,
                other => {
                    return Err(Failure {
                        field: key.to_owned(),
                        rule: "extras.rename".into(),
                        reason: "wrong_type".into(),
                        message: format!("renaming `{key}` gave {}, not text", show(&other)),
                    });
                }
            };
            if self.given(&name, out) {
                continue;
            }
            let v = self.extra_value(x, &name, value.into_owned())?;
            out.push((Cow::Owned(name), v));
        }
        Ok(())
    }

    /// Whether a field (or a spread) gave `name` to `out` already: an extra of that name keeps
    /// the field's value. Only names a field can give are looked for.
    fn given(&self, name: &str, out: &[(Cow<'_, str>, Value)]) -> bool {
        (self.spreads || self.field_names.contains(name)) && out.iter().any(|(o, _)| o == name)
    }

    fn extra_value(&self, x: &ExtrasPlan, name: &str, mut v: Value) -> Result<Value, Failure> {
        for s in &x.steps {
            s.run.apply_mut(&mut v).map_err(|e| Failure {
                field: name.to_owned(),
                rule: s.rule.into(),
                reason: e.reason,
                message: e.message,
            })?;
        }
        Ok(v)
    }

    /// The extras of rows with this header: (column, output name). `None` when a name cannot be
    /// renamed, so each row reports the failure itself.
    fn extra_columns(&self, x: &ExtrasPlan, headers: &Headers) -> Option<ExtraColumns> {
        let keys: Vec<&str> = match &x.only {
            Some(only) => only.iter().map(String::as_str).collect(),
            None => headers
                .names()
                .iter()
                .map(String::as_str)
                .filter(|k| !self.consumed.contains(*k))
                .collect(),
        };
        let mut cols = Vec::new();
        for key in keys {
            if x.exclude.contains(key) {
                continue;
            }
            let Some(i) = headers.position(key) else {
                continue;
            };
            let mut name = Value::String(key.to_owned());
            for s in &x.rename {
                name = s.run.apply(name).ok()?;
            }
            match name {
                Value::String(n) => cols.push((i, n)),
                _ => return None,
            }
        }
        Some(cols)
    }
}

/// What the templates of one record read: the record, `env` and `now` (the same for all of them),
/// and handlebars' context, built the first time a template needs handlebars' renderer.
struct TemplateData<'r> {
    rec: &'r Record,
    env: &'r Value,
    now: std::cell::OnceCell<Cow<'r, str>>,
    ctx: Option<handlebars::Context>,
}

impl TemplateData<'_> {
    fn now(&self) -> &str {
        self.now
            .get_or_init(|| Cow::Owned(jiff::Timestamp::now().to_string()))
    }

    /// Render with handlebars' renderer.
    fn render(&mut self, plan: &Plan, name: &str) -> Result<String, handlebars::RenderError> {
        if self.ctx.is_none() {
            // Built as values, not with `json!` (which would serialize the record into a second
            // copy), and moved into the context once for every template of the record.
            let mut m = Map::with_capacity(3);
            m.insert("in".into(), Value::Object(self.rec.to_object()));
            m.insert("env".into(), self.env.clone());
            m.insert("now".into(), Value::String(self.now().to_owned()));
            self.ctx = Some(handlebars::Context::from(Value::Object(m)));
        }
        let ctx = self.ctx.as_ref().expect("built above");
        plan.templates.render_with_context(name, ctx)
    }
}

/// The paths of the direct form of templates read the same data handlebars' context holds:
/// `{"in": the record, "env": ..., "now": ...}`.
impl crate::template::Scope for TemplateData<'_> {
    fn get(&self, segs: &[String], hint: &Hint) -> Result<Option<Cow<'_, Value>>, Fallback> {
        let (root, rest) = segs.split_first().ok_or(Fallback)?;
        match root.as_str() {
            "in" => {
                // `{{in}}` itself: the record as an object (rare; handlebars builds it).
                let (name, rest) = rest.split_first().ok_or(Fallback)?;
                match self.rec.field(name, hint) {
                    Some(Cow::Borrowed(v)) => {
                        Ok(crate::template::walk(v, rest)?.map(Cow::Borrowed))
                    }
                    Some(Cow::Owned(v)) => {
                        Ok(crate::template::walk(&v, rest)?.map(|x| Cow::Owned(x.clone())))
                    }
                    // A CSV row's cells past its header are named `_extra_N` in the object.
                    None if matches!(self.rec, Record::Row { .. })
                        && name.starts_with("_extra_") =>
                    {
                        Err(Fallback)
                    }
                    None => Ok(None),
                }
            }
            "env" => Ok(crate::template::walk(self.env, rest)?.map(Cow::Borrowed)),
            "now" => {
                if rest.is_empty() {
                    Ok(Some(Cow::Owned(Value::String(self.now().to_owned()))))
                } else {
                    Ok(None)
                }
            }
            _ => Ok(None),
        }
    }
}

/// Put the value of the first of `paths` that has a non-empty one into `v`, else of the first
/// present one; the path it came from. `v` stays null when none is present.
fn read_from<'a>(paths: &'a [Path], rec: &Record, v: &mut Value) -> Option<&'a Path> {
    // The usual `from: column`: the value goes straight into `v`.
    if let [p] = paths {
        return rec.get_into(p, v).then_some(p);
    }
    let mut found: Option<(Cow<'_, Value>, &Path)> = None;
    for p in paths {
        let Some(x) = rec.get(p) else { continue };
        let empty = is_empty(&x);
        if found.is_none() || !empty {
            found = Some((x, p));
        }
        if !empty {
            break;
        }
    }
    let (x, p) = found?;
    *v = x.into_owned();
    Some(p)
}

/// Whether the condition holds for `rec`.
pub fn eval(c: &Cond, rec: &Record) -> bool {
    match c {
        Cond::All(v) => v.iter().all(|c| eval(c, rec)),
        Cond::Any(v) => v.iter().any(|c| eval(c, rec)),
        Cond::Not(c) => !eval(c, rec),
        Cond::Test { path, tests } => {
            let v = rec.get(path);
            let v = v.as_deref().unwrap_or(&Value::Null);
            tests.iter().all(|t| match t {
                Test::Equals(x) => same(v, x),
                Test::NotEquals(x) => !same(v, x),
                Test::OneOf(xs) => xs.iter().any(|x| same(v, x)),
                Test::Matches(re) => as_text(v).is_some_and(|s| re.is_match(&s)),
                Test::Present(want) => is_empty(v) != *want,
            })
        }
    }
}

/// Equality where scalars compare by text (`1` equals `"1"`: CSV and query inputs are all text).
fn same(a: &Value, b: &Value) -> bool {
    match (as_text(a), as_text(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::Path as FsPath;

    fn plan(yaml: &str) -> Plan {
        let l =
            mapping::parse(FsPath::new("t.yaml"), yaml.into()).unwrap_or_else(|e| panic!("{e}"));
        Plan::compile(&l, CompileOptions::default()).unwrap_or_else(|e| panic!("{}", e[0]))
    }

    fn errors(yaml: &str) -> Vec<String> {
        let l = match mapping::parse(FsPath::new("t.yaml"), yaml.into()) {
            Ok(l) => l,
            Err(e) => return vec![e.to_string()],
        };
        match Plan::compile(&l, CompileOptions::default()) {
            Ok(_) => panic!("compiled"),
            Err(e) => e.iter().map(|e| e.to_string()).collect(),
        }
    }

    fn rec(v: Value) -> Record {
        match v {
            Value::Object(m) => Record::Object(m.into()),
            _ => unreachable!(),
        }
    }

    fn out(p: &Plan, v: Value) -> Result<Value, Failure> {
        p.apply(&rec(v)).map(|o| Value::Object(o.to_object()))
    }

    const HEAD: &str = "name: t\nsource: {format: json}\n";

    #[test]
    fn fields_in_order_with_fallbacks_defaults_and_constants() {
        let p = plan(&format!(
            "{HEAD}fields:\n  - {{to: B, from: [mobile, phone]}}\n  - {{to: A, value: Hot Leads}}\n  - {{to: C, from: x, default: none}}\n"
        ));
        assert_eq!(
            out(&p, json!({"phone": "1", "mobile": " "})).unwrap(),
            json!({"B": "1", "A": "Hot Leads", "C": "none"})
        );
        let o = p.apply(&rec(json!({"mobile": "2"}))).unwrap();
        assert_eq!(
            o.fields.iter().map(|(k, _)| k.as_ref()).collect::<Vec<_>>(),
            vec!["B", "A", "C"]
        );
    }

    #[test]
    fn first_failure_rejects_with_field_rule_reason() {
        let p = plan(&format!(
            "{HEAD}fields:\n  - to: P\n    from: phone\n    steps: [digits, {{require: {{len: 10, reason: invalid_phone}}}}]\n  - to: S\n    from: st\n    steps: [{{require: {{len: 2, reason: invalid_state}}}}]\n"
        ));
        let e = out(&p, json!({"phone": "12", "st": "XYZ"})).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.rule.as_str(), e.reason.as_ref()),
            ("P", "require", "invalid_phone")
        );
        let e = out(&p, json!({"phone": "1234567890", "st": "XYZ"})).unwrap_err();
        assert_eq!(e.reason, "invalid_state");
    }

    #[test]
    fn on_error_choices() {
        let base = |oe: &str| {
            plan(&format!(
                "{HEAD}fields:\n  - to: X\n    from: v\n    default: d\n    on_error: {oe}\n    steps: [upper, {{require: {{len: 1}}}}]\n"
            ))
        };
        let v = json!({"v": "abc"});
        assert_eq!(out(&base("empty"), v.clone()).unwrap(), json!({"X": ""}));
        assert_eq!(out(&base("default"), v.clone()).unwrap(), json!({"X": "d"}));
        assert_eq!(out(&base("keep"), v.clone()).unwrap(), json!({"X": "ABC"}));
        assert_eq!(out(&base("null"), v.clone()).unwrap(), json!({"X": null}));
        assert!(out(&base("reject"), v).is_err());
    }

    #[test]
    fn required_and_when() {
        let p = plan(&format!(
            "{HEAD}fields:\n  - {{to: A, from: a, required: true}}\n  - {{to: B, value: yes, when: {{from: kind, one_of: [x, 2]}}}}\n"
        ));
        let e = out(&p, json!({"a": " "})).unwrap_err();
        assert_eq!(
            (e.rule.as_str(), e.reason.as_ref()),
            ("required", "missing")
        );
        assert_eq!(
            out(&p, json!({"a": "1", "kind": 2})).unwrap(),
            json!({"A": "1", "B": "yes"})
        );
        assert_eq!(
            out(&p, json!({"a": "1", "kind": "y"})).unwrap(),
            json!({"A": "1"})
        );
    }

    #[test]
    fn alternatives_of_one_name() {
        let p = plan(&format!(
            "{HEAD}fields:\n  - {{to: F, from: first, when: {{from: first, present: true}}}}\n  - {{to: F, from: full, steps: [{{split_name: {{part: first}}}}]}}\n  - {{to: L, value: x}}\n"
        ));
        assert_eq!(
            out(&p, json!({"first": "Ann", "full": "Bo Li"})).unwrap(),
            json!({"F": "Ann", "L": "x"})
        );
        assert_eq!(
            out(&p, json!({"first": " ", "full": "Bo Li"})).unwrap(),
            json!({"F": "Bo", "L": "x"})
        );
        assert_eq!(p.columns(None).unwrap(), vec!["F", "L"]);
        let e = errors(&format!(
            "{HEAD}fields:\n  - {{to: F, value: 1}}\n  - {{to: F, value: 2, when: {{from: a, present: true}}}}\n"
        ));
        assert!(e[0].contains("defined twice"), "{}", e[0]);
    }

    #[test]
    fn an_alternative_that_fails_gives_way_with_on_error_next() {
        let p = plan(&format!(
            "{HEAD}fields:\n  - {{to: N, from: answering, on_error: next, steps: [{{phone: {{region: AU, format: e164}}}}]}}\n  - {{to: N, from: dialed, steps: [{{phone: {{region: AU, format: e164}}}}]}}\n"
        ));
        assert_eq!(
            out(
                &p,
                json!({"answering": "0298989898", "dialed": "0288889999"})
            )
            .unwrap(),
            json!({"N": "+61298989898"})
        );
        assert_eq!(
            out(
                &p,
                json!({"answering": "029898989", "dialed": "0288889999"})
            )
            .unwrap(),
            json!({"N": "+61288889999"})
        );
        // The last alternative's failure rejects as usual.
        let e = out(&p, json!({"answering": "1", "dialed": "2"})).unwrap_err();
        assert_eq!(e.field, "N");
        let e = errors(&format!(
            "{HEAD}fields:\n  - {{to: N, from: a, on_error: next}}\n  - {{to: M, from: b}}\n"
        ));
        assert!(e[0].contains("there is none after this one"), "{}", e[0]);
    }

    #[test]
    fn remember_keeps_named_fields_and_recall_fills_only_what_is_missing() {
        let p = plan(&format!(
            "{HEAD}remember: {{as: call, key: id, fields: [caller, start, nope]}}\nrecall: {{from: call, key: id}}\nfields:\n  - {{to: A, from: caller}}\n"
        ));
        let rec = Record::Object(
            json!({"id": " 7 ", "caller": "+61", "start": "", "x": 1})
                .as_object()
                .unwrap()
                .clone()
                .into(),
        );
        let r = p.remember.as_ref().unwrap();
        let (key, kept) = r.of(&rec).unwrap();
        assert_eq!(key, "7");
        assert_eq!(
            Value::Object(kept),
            json!({"caller": "+61"}),
            "empty and missing fields are not kept"
        );
        assert_eq!(r.keep_for, std::time::Duration::from_secs(86_400));
        let recall = p.recall.as_ref().unwrap();
        assert_eq!(recall.key_of(&rec).as_deref(), Some("7"));
        let merged = RecallPlan::merge(
            rec,
            json!({"caller": "+1", "start": "2019", "dialed": "02"})
                .as_object()
                .unwrap()
                .clone(),
        );
        assert_eq!(
            Value::Object(merged.to_object()),
            json!({"id": " 7 ", "caller": "+61", "start": "2019", "x": 1, "dialed": "02"})
        );
        let e = errors(&format!(
            "{HEAD}remember: {{as: call, key: id, fields: [a], for: soon}}\nfields:\n  - {{to: A, value: 1}}\n"
        ));
        assert!(e[0].contains("`remember.for`"), "{}", e[0]);
    }

    #[test]
    fn conditions_nest() {
        let p = plan(&format!(
            "{HEAD}fields:\n  - to: A\n    value: 1\n    when:\n      any:\n        - {{from: a, matches: '^x'}}\n        - not: {{from: b, present: true}}\n"
        ));
        assert_eq!(
            out(&p, json!({"a": "xy", "b": "1"})).unwrap(),
            json!({"A": 1})
        );
        assert_eq!(out(&p, json!({"a": "y"})).unwrap(), json!({"A": 1}));
        assert_eq!(out(&p, json!({"a": "y", "b": "1"})).unwrap(), json!({}));
    }

    #[test]
    fn template_sees_in_env_and_does_not_escape() {
        // SAFETY of the test: a variable name unique to this test.
        unsafe { std::env::set_var("FIELDMAP_TEST_TAG", "t<1>") };
        let p = plan(&format!(
            "{HEAD}fields:\n  - to: N\n    template: \"{{{{in.first}}}} & {{{{in.last}}}} {{{{env.FIELDMAP_TEST_TAG}}}}\"\n"
        ));
        assert_eq!(
            out(&p, json!({"first": "A", "last": "O'B"})).unwrap(),
            json!({"N": "A & O'B t<1>"})
        );
    }

    #[test]
    fn direct_templates_read_records_as_handlebars_does() {
        // The same template, once in its direct form and once rendered by handlebars alone (the
        // `{{#each}}` keeps it from the direct form), on CSV rows (a repeated column, a cell past
        // the header) and on objects.
        let body = "{{in.a}}|{{in.[b c]}}|{{in._extra_1}}|{{#if in.n.0}}{{in.n.0.k}}{{else}}-{{/if}}|{{in.none}}|{{now}}";
        let plan = |t: &str| {
            let yaml = format!("{HEAD}fields:\n  - to: T\n    template: {t:?}\n");
            let l = mapping::parse(FsPath::new("t.yaml"), yaml).unwrap_or_else(|e| panic!("{e}"));
            let opts = CompileOptions {
                now: Some("2001-02-03T04:05:06Z".into()),
                ..CompileOptions::default()
            };
            Plan::compile(&l, opts).unwrap_or_else(|e| panic!("{}", e[0]))
        };
        let direct = plan(body);
        let slow = plan(&format!("{body}{{{{#each in.zz}}}}{{{{/each}}}}"));
        assert!(matches!(
            direct.fields[0].input,
            Input::Template(_, Some(_))
        ));
        assert!(matches!(slow.fields[0].input, Input::Template(_, None)));
        let h = std::sync::Arc::new(Headers::new(vec!["a".into(), "b c".into(), "a".into()]));
        let rows = [vec!["1", "2", "3"], vec!["", "x"], vec!["1", "2", "3", "4"]];
        let mut records: Vec<Record> = rows
            .iter()
            .map(|r| Record::Row {
                headers: h.clone(),
                row: csv::StringRecord::from(r.clone()).into(),
            })
            .collect();
        for v in [
            json!({"a": 1, "b c": [1, "x"], "n": [{"k": true}]}),
            json!({"a": null, "n": []}),
            json!({"a": {"x": 1}, "n": {"0": {"k": "by key"}}}),
        ] {
            records.push(rec(v));
        }
        for r in &records {
            let a = direct.apply(r).map(|o| o.to_object());
            let b = slow.apply(r).map(|o| o.to_object());
            assert_eq!(a, b, "{r:?}");
        }
        // Handlebars' error (an array indexed by a name) is kept: the direct form hands over.
        let r = rec(json!({"n": [1]}));
        let t = plan("{{in.n.x}}");
        let e = t.apply(&r).unwrap_err();
        assert_eq!(
            (e.rule.as_str(), e.reason.as_ref()),
            ("template", "template_error")
        );
    }

    #[test]
    fn templates_that_read_only_env_are_found() {
        let cases = [
            ("{{env.A}}", true),
            ("id {{env.A}}-{{env.B_C}}", true),
            ("{{#if env.A}}{{env.A}}{{else}}none{{/if}}", true),
            (
                "{{#if (eq env.A \"1\")}}one{{/if}}{{~#unless env.B}} no B{{/unless}}",
                true,
            ),
            ("plain text", true),
            ("{{in.a}}", false),
            ("{{now}}", false),
            ("{{env.A}} {{in.b}}", false),
            ("{{#if env.A}}{{in.b}}{{/if}}", false),
            ("{{#each env.L}}{{this}}{{/each}}", false),
            ("{{lookup env \"A\"}}", false),
            ("{{#with env}}{{A}}{{/with}}", false),
            ("{{../env.A}}", false),
            ("{{env}}", true),
        ];
        for (text, want) in cases {
            let t = handlebars::Template::compile(text).unwrap();
            assert_eq!(reads_only_env(&t), want, "{text}");
        }
    }

    #[test]
    fn env_templates_are_rendered_once_with_the_same_text() {
        // SAFETY of the test: a variable name unique to this test.
        unsafe { std::env::set_var("FIELDMAP_TEST_CAMPAIGN", "c<7>") };
        let p = plan(&format!(
            "{HEAD}fields:\n  - to: C\n    template: \"campaign {{{{#if env.FIELDMAP_TEST_CAMPAIGN}}}}{{{{env.FIELDMAP_TEST_CAMPAIGN}}}}{{{{else}}}}none{{{{/if}}}}\"\n  - to: N\n    template: \"{{{{in.n}}}}\"\n"
        ));
        assert!(matches!(p.fields[0].input, Input::Rendered(_)));
        assert!(matches!(p.fields[1].input, Input::Template(..)));
        for n in ["1", "2"] {
            assert_eq!(
                out(&p, json!({"n": n})).unwrap(),
                json!({"C": "campaign c<7>", "N": n})
            );
        }
    }

    #[test]
    fn collect_and_spread() {
        let p = plan(&format!(
            "{HEAD}fields:\n  - spread: true\n    collect: {{AgentID: ids, AgentPhones: phones}}\n  - to: L\n    collect: [a, b]\n    steps: [to_text]\n"
        ));
        assert_eq!(
            out(
                &p,
                json!({"ids": "1,2", "phones": "3,4", "a": "x", "b": "y"})
            )
            .unwrap(),
            json!({"AgentID": "1,2", "AgentPhones": "3,4", "L": "[\"x\",\"y\"]"})
        );
    }

    /// Each output name once: the first field or spread key that gives a name gives its value,
    /// as the first of alternatives does.
    #[test]
    fn a_name_given_twice_by_spread_and_field_is_output_once() {
        let cases = [
            // The spread first: its `A` stays, the later field is skipped.
            (
                "  - spread: true\n    collect: {A: a, B: b}\n  - {to: A, value: fixed}\n  - {to: C, value: c}\n",
                json!({"a": "1", "b": "2"}),
                vec![("A", json!("1")), ("B", json!("2")), ("C", json!("c"))],
            ),
            // Without `A` in the spread object, the field gives it.
            (
                "  - spread: true\n    from: o\n  - {to: A, value: fixed}\n",
                json!({"o": {"B": "2"}}),
                vec![("B", json!("2")), ("A", json!("fixed"))],
            ),
            // The field first: the spread's `A` is left out.
            (
                "  - {to: A, value: fixed}\n  - spread: true\n    collect: {A: a, B: b}\n",
                json!({"a": "1", "b": "2"}),
                vec![("A", json!("fixed")), ("B", json!("2"))],
            ),
            // Two spreads giving the same key: the first one's.
            (
                "  - spread: true\n    collect: {A: a}\n  - spread: true\n    collect: {A: b, B: b}\n",
                json!({"a": "1", "b": "2"}),
                vec![("A", json!("1")), ("B", json!("2"))],
            ),
        ];
        for (fields, input, expected) in cases {
            let p = plan(&format!("{HEAD}fields:\n{fields}"));
            let got: Vec<(String, Value)> = p
                .apply(&rec(input))
                .unwrap()
                .fields
                .into_iter()
                .map(|(k, v)| (k.into_owned(), v))
                .collect();
            let expected: Vec<(String, Value)> = expected
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect();
            assert_eq!(got, expected, "{fields}");
        }
    }

    /// An extra whose (renamed) name a field gave is left out: the field's value stays, once.
    #[test]
    fn extras_do_not_repeat_a_name_a_field_gave() {
        let p = plan(&format!(
            "{HEAD}fields:\n  - {{to: Status, value: new}}\n  - {{to: P, from: phone}}\nextras: {{}}\n"
        ));
        let headers = std::sync::Arc::new(Headers::new(vec![
            "phone".into(),
            "Status".into(),
            "x".into(),
        ]));
        // The same record as JSON and as a CSV row (the row's extras are found once per header).
        for r in [
            rec(json!({"phone": "1", "Status": "old", "x": "2"})),
            Record::Row {
                headers,
                row: csv::StringRecord::from(vec!["1", "old", "2"]).into(),
            },
        ] {
            let keys_values: Vec<(String, Value)> = p
                .apply(&r)
                .unwrap()
                .fields
                .into_iter()
                .map(|(k, v)| (k.into_owned(), v))
                .collect();
            assert_eq!(
                keys_values,
                [
                    ("Status".to_owned(), json!("new")),
                    ("P".to_owned(), json!("1")),
                    ("x".to_owned(), json!("2"))
                ]
            );
        }
    }

    #[test]
    fn extras_renamed_in_input_order_skipping_consumed() {
        let p = plan(&format!(
            "{HEAD}fields:\n  - {{to: P, from: phone}}\nextras:\n  exclude: [secret]\n  rename: [{{replace: {{find: ' ', with: __}}}}, {{add_prefix: adv_}}]\n"
        ));
        let o = out(
            &p,
            json!({"Loan Amount": "1", "phone": "2", "secret": "x", "Credit Score": "3"}),
        )
        .unwrap();
        assert_eq!(
            o,
            json!({"P": "2", "adv_Loan__Amount": "1", "adv_Credit__Score": "3"})
        );
        let keys: Vec<_> = p
            .apply(&rec(json!({"b": 1, "a": 2})))
            .unwrap()
            .fields
            .into_iter()
            .skip(1)
            .map(|(k, _)| k.into_owned())
            .collect();
        assert_eq!(
            keys,
            vec!["adv_b", "adv_a"],
            "input order; P has no input here"
        );
    }

    /// A field with a costly step remembers its steps' results by input text, and answers as
    /// running them would: values, failures (with the step's rule), `on_error` replacements and
    /// traced runs alike.
    #[test]
    fn costly_steps_are_remembered_with_the_same_answers() {
        let p = plan(&format!(
            "{HEAD}{}",
            r#"fields:
  - to: agents
    from: st
    steps: [upper, {lookup: {map: {CA: [ann, bob], TX: [cy]}, all: true}}]
  - to: kept
    from: other
    on_error: keep
    steps: [{lookup: {map: {a: [x, y]}}}]
  - to: strict
    from: other2
    steps: [{lookup: {map: {a: [x, y]}}}]
  - to: plain
    from: st
    steps: [trim]
"#
        ));
        assert!(p.fields[0].memo.is_some() && p.fields[1].memo.is_some());
        assert!(p.fields[3].memo.is_none(), "trim is not worth remembering");
        let ca = json!({"st": "ca", "other": "a", "other2": "a"});
        let ca_out = json!({"agents": [["ann", "bob"]], "kept": ["x", "y"], "strict": ["x", "y"], "plain": "ca"});
        for _ in 0..3 {
            assert_eq!(out(&p, ca.clone()).unwrap(), ca_out);
            assert_eq!(
                out(&p, json!({"st": "tx", "other": "zz", "other2": "a"})).unwrap(),
                json!({"agents": [["cy"]], "kept": "zz", "strict": ["x", "y"], "plain": "tx"})
            );
            let f = out(&p, json!({"st": "ny", "other": "a", "other2": "zz"})).unwrap_err();
            assert_eq!((f.field.as_str(), f.rule.as_str()), ("strict", "lookup"));
            assert_eq!(f.reason, "unknown_value");
            // A traced run goes through every step, and agrees.
            let (traced, trace) = p.explain(&rec(ca.clone()));
            assert_eq!(Value::Object(traced.unwrap().to_object()), ca_out);
            assert_eq!(trace[0].steps.len(), 2);
        }
    }

    #[test]
    fn explain_traces_each_step() {
        let p = plan(&format!(
            "{HEAD}fields:\n  - to: P\n    from: phone\n    steps: [digits, {{max_len: 3}}]\n"
        ));
        let (o, t) = p.explain(&rec(json!({"phone": "(949) 265"})));
        assert!(o.is_ok());
        assert_eq!(t[0].source, "from phone");
        assert_eq!(
            t[0].steps,
            vec![
                ("digits".to_owned(), Ok(json!("949265"))),
                ("max_len".to_owned(), Ok(json!("949")))
            ]
        );
        assert_eq!(t[0].outcome, "= \"949\"");
    }

    #[test]
    fn compile_errors_are_all_reported_with_locations() {
        let e = errors(&format!(
            "{HEAD}fields:\n  - to: A\n    from: a\n    steps: [{{regex_replace: {{pattern: '('}}}}]\n  - to: A\n    value: 1\n  - to: C\n    template: '{{{{#if}}'\n  - to: D\n"
        ));
        assert_eq!(e.len(), 4, "{e:#?}");
        assert!(
            e[0].starts_with("t.yaml:6:13: rule `regex_replace`: bad pattern"),
            "{}",
            e[0]
        );
        assert!(
            e[1].contains("t.yaml:7:9: output field `A` is defined twice (first at line 4); to give alternatives"),
            "{}",
            e[1]
        );
        assert!(e[2].contains("bad template"), "{}", e[2]);
        assert!(e[3].contains("has no input"), "{}", e[3]);
    }

    #[test]
    fn yaml_errors_are_located() {
        let e = errors(&format!("{HEAD}fields:\n  - to: A\n    form: a\n"));
        assert!(
            e[0].starts_with("t.yaml:5:5: unknown field `form`"),
            "{}",
            e[0]
        );
        let e = errors(&format!(
            "{HEAD}fields:\n  - to: A\n    from: a\n    steps: [trm]\n"
        ));
        assert!(
            e[0].contains("t.yaml:6:13") && e[0].contains("did you mean `trim`"),
            "{}",
            e[0]
        );
        let e = errors("name: a\nname: b\nsource: {format: json}\nfields: []\n");
        assert!(
            e[0].starts_with("t.yaml:2:1: duplicate mapping key: name"),
            "{}",
            e[0]
        );
        let e = errors(&format!(
            "{HEAD}fields:\n  - to: A\n    from: a\n    steps: [{{max_len: x}}]\n"
        ));
        assert!(e[0].starts_with("t.yaml:6:"), "{}", e[0]);
    }

    #[test]
    fn missing_env_is_a_compile_error() {
        let e = errors(&format!(
            "{HEAD}fields:\n  - to: T\n    template: 'Token {{{{env.FIELDMAP_TEST_UNSET_VAR}}}}'\n"
        ));
        assert!(
            e[0].contains("environment variable `FIELDMAP_TEST_UNSET_VAR` is not set"),
            "{}",
            e[0]
        );
    }
}
