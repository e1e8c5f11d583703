//! Templates evaluated without handlebars' renderer when they only print and test values.
//!
//! Mappings write templates in handlebars, and handlebars parses them. Most of them only print
//! paths (`{{in.PLA_Call_Id}}`, `{{now}}`) and test them (`{{#if in.X}}`, `{{else if (eq in.Y
//! "Y")}}`, `{{#unless ...}}`). For those, [`Fast`] walks handlebars' own parse tree over the
//! record directly: handlebars' renderer needs the record copied into a JSON context first, and
//! builds a helper call (its parameters evaluated into new values) for every `if`. On the sidecar's
//! heaviest flow that was a quarter of the work of a request.
//!
//! The output is the same as handlebars' (the tests compare the two on every template of the
//! shipped mappings and on generated values), because the rules are handlebars' own:
//! - a value prints as handlebars prints it (a string as is, a number or a boolean as JSON, null
//!   and missing as nothing, an array as `[a, b]`, an object as `[object]`), never escaped (the
//!   engine registers no escaping);
//! - `if` is true for `true`, a non-empty string, array or object, and a number other than 0 (or
//!   any number with `includeZero=true`); `unless` is its opposite;
//! - `eq` and `ne` compare JSON values, a missing value being null.
//!
//! Anything else (other helpers, `each`, `with`, `lookup`, `this`, `../`, `@root`, partials,
//! decorators) makes [`Fast::compile`] say no, and the caller renders with handlebars. So does a
//! record that holds something only handlebars' renderer answers the same way (an array indexed
//! by a name, which handlebars reports as an error): [`Fast::render`] returns [`Fallback`].

use std::borrow::Cow;

use handlebars::template::{HelperTemplate, Parameter, TemplateElement};
use serde_json::Value;

use crate::record::Hint;

/// The evaluation met something handlebars' renderer must answer: render with it instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fallback;

/// Where template paths read from.
pub trait Scope {
    /// The value at a path of named segments (at least one): `Ok(None)` when there is none.
    /// `hint` is the path's own: where the last record had its first field.
    fn get(&self, segs: &[String], hint: &Hint) -> Result<Option<Cow<'_, Value>>, Fallback>;
}

/// Follow `segs` down from `v` as handlebars does: an object by key, an array by index, anything
/// else has no fields. An array indexed by something that is not a number is handlebars' render
/// error: [`Fallback`], so that the caller reports handlebars' own error.
pub fn walk<'a>(mut v: &'a Value, segs: &[String]) -> Result<Option<&'a Value>, Fallback> {
    for s in segs {
        v = match v {
            Value::Object(m) => match m.get(s) {
                Some(x) => x,
                None => return Ok(None),
            },
            Value::Array(a) => match s.parse::<usize>() {
                Ok(i) => match a.get(i) {
                    Some(x) => x,
                    None => return Ok(None),
                },
                Err(_) => return Err(Fallback),
            },
            _ => return Ok(None),
        };
    }
    Ok(Some(v))
}

/// A template compiled for direct evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Fast {
    nodes: Vec<Node>,
    /// How many distinct paths the template reads: each is looked up once per render (`{{#if
    /// in.X}}…{{in.X}}` reads `in.X` twice).
    paths: usize,
    /// Room for a rendering, so that the text does not grow step by step (6 times for Delacon's
    /// call notes): at first the template's text and 16 bytes per printed value, then the
    /// longest rendering so far (up to 4 kB).
    room: Room,
}

/// The room a template's renderings need, raised to the longest one so far. Shared by the
/// threads rendering the template, and written only when a rendering is longer (a few times in
/// all); equal whatever it holds, as it is not part of what the template means.
#[derive(Debug, Default)]
struct Room(std::sync::atomic::AtomicUsize);

impl Room {
    /// Renderings longer than this do not raise the room: memory for one rare long value is
    /// not reserved for every rendering after it.
    const MOST: usize = 4096;

    fn get(&self) -> usize {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A rendering of `len` bytes was made.
    fn rendered(&self, len: usize) {
        if len > self.get() && len <= Self::MOST {
            self.0.store(len, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

impl Clone for Room {
    fn clone(&self) -> Room {
        Room(self.get().into())
    }
}

impl PartialEq for Room {
    fn eq(&self, _: &Room) -> bool {
        true
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Print(Expr),
    If {
        test: Expr,
        /// `unless` is `if` with the branches swapped.
        positive: bool,
        include_zero: bool,
        then: Vec<Node>,
        otherwise: Vec<Node>,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    /// A path's segments, its number among the template's distinct paths, and where records
    /// had its field.
    Path(Vec<String>, usize, Hint),
    Literal(Value),
    /// `eq` (true) or `ne` (false) of two values.
    Compare(bool, Box<Expr>, Box<Expr>),
}

/// The helpers handlebars registers by default: a name-only expression (`{{log}}`) naming one of
/// them calls it instead of printing a value.
const HELPERS: &[&str] = &[
    "if", "unless", "each", "with", "lookup", "raw", "log", "eq", "ne", "gt", "gte", "lt", "lte",
    "and", "or", "not", "len",
];

impl Fast {
    /// The direct form of a parsed template, or `None` when it uses anything but printing paths
    /// and literals, `if`/`unless`/`else if` and `eq`/`ne`.
    pub fn compile(t: &handlebars::Template) -> Option<Fast> {
        let mut nodes = nodes(&t.elements)?;
        let mut paths = Vec::new();
        number_nodes(&mut nodes, &mut paths);
        Some(Fast {
            room: Room(room(&nodes).into()),
            nodes,
            paths: paths.len(),
        })
    }

    /// Render into `out` (appended to). On [`Fallback`], `out` holds a partial text: the caller
    /// discards it and renders with handlebars.
    pub fn render(&self, scope: &dyn Scope, out: &mut String) -> Result<(), Fallback> {
        let mut r = Render {
            scope,
            values: vec![None; self.paths],
        };
        let start = out.len();
        out.reserve(self.room.get());
        r.nodes(&self.nodes, out)?;
        self.room.rendered(out.len() - start);
        Ok(())
    }
}

/// The text of `nodes`, every branch counted, and 16 bytes per printed value.
fn room(nodes: &[Node]) -> usize {
    nodes
        .iter()
        .map(|n| match n {
            Node::Text(s) => s.len(),
            Node::Print(_) => 16,
            Node::If {
                then, otherwise, ..
            } => room(then) + room(otherwise),
        })
        .sum()
}

fn nodes(elements: &[TemplateElement]) -> Option<Vec<Node>> {
    let mut out = Vec::with_capacity(elements.len());
    for e in elements {
        match e {
            TemplateElement::RawString(s) => {
                if !s.is_empty() {
                    out.push(Node::Text(s.clone()));
                }
            }
            TemplateElement::Comment(_) => {}
            TemplateElement::Expression(h) | TemplateElement::HtmlExpression(h) => {
                out.push(Node::Print(printed(h)?));
            }
            TemplateElement::HelperBlock(h) => out.push(block(h)?),
            _ => return None,
        }
    }
    Some(out)
}

/// `{{path}}`, or `{{eq a b}}` / `{{ne a b}}` (which print `true` or `false`).
fn printed(h: &HelperTemplate) -> Option<Expr> {
    if h.block || h.block_param.is_some() || h.template.is_some() || h.inverse.is_some() {
        return None;
    }
    if h.params.is_empty() && h.hash.is_empty() {
        return match &h.name {
            Parameter::Path(p) => {
                let segs = path(p)?;
                // `{{log}}` calls the helper.
                (segs.len() > 1 || !HELPERS.contains(&segs[0].as_str())).then_some(Expr::Path(
                    segs,
                    0,
                    Hint::default(),
                ))
            }
            _ => None,
        };
    }
    compare(h)
}

/// Whether the helper is `yes` (true) or `no` (false); `None` for any other.
fn named(h: &HelperTemplate, yes: &str, no: &str) -> Option<bool> {
    match &h.name {
        Parameter::Name(n) if n == yes => Some(true),
        Parameter::Name(n) if n == no => Some(false),
        _ => None,
    }
}

/// `eq a b` or `ne a b`, without a hash.
fn compare(h: &HelperTemplate) -> Option<Expr> {
    let eq = named(h, "eq", "ne")?;
    if h.block || !h.hash.is_empty() || h.params.len() != 2 || h.block_param.is_some() {
        return None;
    }
    Some(Expr::Compare(
        eq,
        Box::new(param(&h.params[0])?),
        Box::new(param(&h.params[1])?),
    ))
}

/// `{{#if x}}…{{else}}…{{/if}}` and `unless`, with an optional literal `includeZero`.
fn block(h: &HelperTemplate) -> Option<Node> {
    let positive = named(h, "if", "unless")?;
    if h.params.len() != 1 || h.block_param.is_some() {
        return None;
    }
    let mut include_zero = false;
    for (k, v) in &h.hash {
        match (k.as_str(), v) {
            ("includeZero", Parameter::Literal(Value::Bool(b))) => include_zero = *b,
            _ => return None,
        }
    }
    Some(Node::If {
        test: param(&h.params[0])?,
        positive,
        include_zero,
        then: match &h.template {
            Some(t) => nodes(&t.elements)?,
            None => Vec::new(),
        },
        otherwise: match &h.inverse {
            Some(t) => nodes(&t.elements)?,
            None => Vec::new(),
        },
    })
}

fn param(p: &Parameter) -> Option<Expr> {
    match p {
        Parameter::Path(p) => Some(Expr::Path(path(p)?, 0, Hint::default())),
        Parameter::Literal(v) => Some(Expr::Literal(v.clone())),
        Parameter::Subexpression(sub) => match sub.as_element() {
            TemplateElement::Expression(h) => compare(h),
            _ => None,
        },
        // A bare name as a parameter is handlebars' "missing" value; nothing here writes one.
        _ => None,
    }
}

/// The segments of a path made only of names (`in.X`, `in.[a b].0`): no `this`, `../`, `@root`
/// or `@index`.
fn path(p: &handlebars::Path) -> Option<Vec<String>> {
    let handlebars::Path::Relative((segs, _)) = p else {
        return None;
    };
    if segs.is_empty() {
        return None;
    }
    segs.iter()
        .map(|s| match s {
            handlebars::PathSeg::Named(n) => Some(n.clone()),
            _ => None,
        })
        .collect()
}

/// Number the paths of `nodes`: the same path, the same number.
fn number_nodes(nodes: &mut [Node], paths: &mut Vec<Vec<String>>) {
    for n in nodes {
        match n {
            Node::Text(_) => {}
            Node::Print(e) => number_expr(e, paths),
            Node::If {
                test,
                then,
                otherwise,
                ..
            } => {
                number_expr(test, paths);
                number_nodes(then, paths);
                number_nodes(otherwise, paths);
            }
        }
    }
}

fn number_expr(e: &mut Expr, paths: &mut Vec<Vec<String>>) {
    match e {
        Expr::Path(segs, slot, _) => {
            *slot = match paths.iter().position(|p| p == segs) {
                Some(i) => i,
                None => {
                    paths.push(segs.clone());
                    paths.len() - 1
                }
            }
        }
        Expr::Literal(_) => {}
        Expr::Compare(_, a, b) => {
            number_expr(a, paths);
            number_expr(b, paths);
        }
    }
}

/// One rendering: the values of the paths read so far, by number.
struct Render<'s> {
    scope: &'s dyn Scope,
    values: Vec<Option<Option<Cow<'s, Value>>>>,
}

impl<'s> Render<'s> {
    fn nodes(&mut self, nodes: &'s [Node], out: &mut String) -> Result<(), Fallback> {
        for n in nodes {
            match n {
                Node::Text(s) => out.push_str(s),
                Node::Print(e) => {
                    if let Some(v) = self.eval(e)? {
                        print(&v, out);
                    }
                }
                Node::If {
                    test,
                    positive,
                    include_zero,
                    then,
                    otherwise,
                } => {
                    let v = self.eval(test)?;
                    let truthy = v.as_deref().is_some_and(|v| truthy(v, *include_zero));
                    let branch = if truthy == *positive { then } else { otherwise };
                    self.nodes(branch, out)?;
                }
            }
        }
        Ok(())
    }

    fn eval(&mut self, e: &'s Expr) -> Result<Option<Cow<'s, Value>>, Fallback> {
        match e {
            Expr::Path(segs, slot, hint) => {
                if let Some(Some(v)) = self.values.get(*slot) {
                    return Ok(v.clone());
                }
                let v = self.scope.get(segs, hint)?;
                if let Some(x) = self.values.get_mut(*slot) {
                    *x = Some(v.clone());
                }
                Ok(v)
            }
            Expr::Literal(v) => Ok(Some(Cow::Borrowed(v))),
            Expr::Compare(eq, a, b) => {
                let a = self.eval(a)?;
                let b = self.eval(b)?;
                let null = Value::Null;
                let same = a.as_deref().unwrap_or(&null) == b.as_deref().unwrap_or(&null);
                Ok(Some(Cow::Owned(Value::Bool(same == *eq))))
            }
        }
    }
}

/// handlebars' `JsonRender`.
fn print(v: &Value, out: &mut String) {
    use std::fmt::Write;
    match v {
        Value::String(s) => out.push_str(s),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Null => {}
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                print(x, out);
            }
            out.push(']');
        }
        Value::Object(_) => out.push_str("[object]"),
    }
}

/// handlebars' `JsonTruthy`.
fn truthy(v: &Value, include_zero: bool) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => {
            if include_zero {
                n.as_f64().is_some_and(|f| !f.is_nan())
            } else {
                n.as_f64().is_some_and(f64::is_normal)
            }
        }
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A scope over one JSON object, the way handlebars sees a context.
    struct Json(Value);

    impl Scope for Json {
        fn get(&self, segs: &[String], _: &Hint) -> Result<Option<Cow<'_, Value>>, Fallback> {
            Ok(walk(&self.0, segs)?.map(Cow::Borrowed))
        }
    }

    fn handlebars(text: &str, data: &Value) -> Result<String, String> {
        let mut h = handlebars::Handlebars::new();
        h.register_escape_fn(handlebars::no_escape);
        h.register_template_string("t", text)
            .map_err(|e| e.to_string())?;
        h.render("t", data).map_err(|e| e.to_string())
    }

    fn fast(text: &str) -> Option<Fast> {
        Fast::compile(&handlebars::Template::compile(text).unwrap())
    }

    /// Render with both; the fast one must agree with handlebars whenever it does not fall back,
    /// and fall back only where handlebars fails.
    fn agree(text: &str, data: &Value) {
        let f = fast(text).unwrap_or_else(|| panic!("not direct: {text}"));
        let mut out = String::new();
        let want = handlebars(text, data);
        match f.render(&Json(data.clone()), &mut out) {
            Ok(()) => assert_eq!(Ok(out), want, "{text} on {data}"),
            Err(Fallback) => assert!(want.is_err(), "fell back on {text} with {data}: {want:?}"),
        }
    }

    /// The room reserved for a rendering grows to the longest one so far (up to `Room::MOST`),
    /// so the next rendering of that length does not grow its text.
    #[test]
    fn room_learns_the_longest_rendering() {
        let f = fast("note: {{x}}").unwrap();
        let first = f.room.get();
        assert!(first < 100, "{first}");
        let render = |x: &str| {
            let mut out = String::new();
            f.render(&Json(json!({ "x": x })), &mut out).unwrap();
            out
        };
        assert_eq!(render(&"a".repeat(100)).len(), 106);
        assert_eq!(f.room.get(), 106);
        // A shorter one reserves what the longest needed and does not lower it.
        assert!(render("b").capacity() >= 106);
        assert_eq!(f.room.get(), 106);
        // One far longer than usual is not reserved for every rendering after it.
        render(&"c".repeat(2 * Room::MOST));
        assert_eq!(f.room.get(), 106);
    }

    const VALUES: &[&str] = &[
        "null",
        "\"\"",
        "\"x\"",
        "\"Y\"",
        "\"0\"",
        "0",
        "1",
        "-2",
        "0.0",
        "1.5",
        "1e300",
        "18446744073709551615",
        "true",
        "false",
        "[]",
        "[\"a\",1,null,[2]]",
        "{}",
        "{\"k\":\"v\",\"0\":\"zero\"}",
        "[{\"id\":7}]",
    ];

    /// Templates of the shapes the direct form takes, each with the paths `in.a`, `in.b` (and
    /// below them).
    const TEMPLATES: &[&str] = &[
        "{{in.a}}",
        "[{{in.a}}|{{{in.b}}}]",
        "{{in.a.k}} {{in.a.0}} {{in.a.0.id}} {{in.a.3}} {{in.[a].[0]}}",
        "x{{#if in.a}}A={{in.a}}{{/if}}y",
        "{{#if in.a includeZero=true}}yes{{else}}no{{/if}}",
        "{{#if in.a includeZero=false}}yes{{else}}no{{/if}}",
        "{{#unless in.a}}none{{else}}{{in.a}}{{/unless}}",
        "{{#if in.a}}a{{else if in.b}}b{{else}}neither{{/if}}",
        "{{#if (eq in.a \"Y\")}}Y{{else if (eq in.a \"R\")}}R{{else if (ne in.b 1)}}b{{/if}}",
        "{{#if (eq in.a in.b)}}same{{/if}}{{eq in.a in.b}}{{ne in.a null}}",
        "{{#if (eq in.missing null)}}missing is null{{/if}}",
        "a {{~#if in.a}} b {{~/if~}} c {{!-- comment --}} {{! other }}d",
        "  {{#if in.a}}\n  line\n  {{/if}}\n",
        "{{#if in.a}}{{#unless in.b}}a not b{{else}}{{#if in.b.k}}k{{/if}}{{/unless}}{{/if}}",
        "{{#if \"lit\"}}L{{/if}}{{#if 0}}zero{{/if}}{{#if true}}T{{/if}}",
        "{{env.A}}{{now}}{{in}}{{env}}",
        // `./` and `this.` name the same data at the top level.
        "{{./in.a}}{{this.in.b}}{{in.this.a}}",
    ];

    #[test]
    fn agrees_with_handlebars_on_every_value_pair() {
        for t in TEMPLATES {
            for a in VALUES {
                for b in VALUES {
                    let a: Value = serde_json::from_str(a).unwrap();
                    let b: Value = serde_json::from_str(b).unwrap();
                    agree(
                        t,
                        &json!({"in": {"a": a, "b": b}, "env": {"A": "e"}, "now": "2001-02-03T04:05:06Z"}),
                    );
                }
                // `a` missing altogether.
                agree(
                    t,
                    &json!({"in": {"b": serde_json::from_str::<Value>(a).unwrap()}}),
                );
            }
        }
    }

    #[test]
    fn the_shipped_mappings_templates_are_direct_and_agree() {
        let mut seen = 0;
        let input = regex::Regex::new(r"in\.(\w+)").unwrap();
        for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/mappings")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "yaml") {
                continue;
            }
            let doc: Value = serde_saphyr::from_str(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            for f in doc["fields"].as_array().into_iter().flatten() {
                let Some(t) = f["template"].as_str() else {
                    continue;
                };
                seen += 1;
                // Every input the template names, present with each value or missing.
                let names: Vec<String> = input.captures_iter(t).map(|c| c[1].to_owned()).collect();
                for (i, v) in VALUES.iter().enumerate() {
                    let v: Value = serde_json::from_str(v).unwrap();
                    let mut rec = serde_json::Map::new();
                    for (j, n) in names.iter().enumerate() {
                        // Vary which fields are present and with what, from record to record.
                        match (i + j) % 4 {
                            0 => {}
                            1 => drop(rec.insert(n.clone(), v.clone())),
                            2 => drop(rec.insert(n.clone(), json!("Y"))),
                            _ => drop(rec.insert(n.clone(), json!(format!("{n} {i}")))),
                        }
                    }
                    agree(
                        t,
                        &json!({"in": rec, "env": {"CHASEDATA_CAMPAIGN": "c"}, "now": "n"}),
                    );
                }
            }
        }
        assert!(seen >= 10, "found only {seen} templates in mappings/");
    }

    #[test]
    fn other_shapes_are_left_to_handlebars() {
        for t in [
            "{{#each in.a}}{{this}}{{/each}}",
            "{{#with in.a}}{{k}}{{/with}}",
            "{{lookup in.a 0}}",
            "{{log}}",
            "{{len in.a}}",
            "{{this}}",
            "{{@root.in.a}}",
            "{{#if in.a}}{{../x}}{{/if}}",
            "{{#if in.a in.b}}two{{/if}}",
            "{{#if in.a includeZero=in.b}}{{/if}}",
            "{{#if (gt in.a 1)}}{{/if}}",
            "{{#eq in.a 1}}{{/eq}}",
            "{{eq in.a}}",
            "{{> partial}}",
            "{{*inline}}",
            "{{and in.a in.b}}",
        ] {
            assert_eq!(fast(t), None, "{t}");
        }
    }

    #[test]
    fn each_distinct_path_is_read_once() {
        /// Counts its lookups.
        struct Counting(Json, std::cell::Cell<usize>);
        impl Scope for Counting {
            fn get(
                &self,
                segs: &[String],
                hint: &Hint,
            ) -> Result<Option<Cow<'_, Value>>, Fallback> {
                self.1.set(self.1.get() + 1);
                self.0.get(segs, hint)
            }
        }
        let f = fast("{{#if in.a}}{{in.a}}{{/if}}{{#if (eq in.b in.a)}}{{in.b}}{{/if}}{{in.c}}")
            .unwrap();
        assert_eq!(f.paths, 3);
        let scope = Counting(
            Json(json!({"in": {"a": "x", "b": "x"}})),
            Default::default(),
        );
        let mut out = String::new();
        f.render(&scope, &mut out).unwrap();
        assert_eq!((out.as_str(), scope.1.get()), ("xx", 3));
    }

    #[test]
    fn an_array_indexed_by_a_name_falls_back() {
        let f = fast("{{in.a.x}}").unwrap();
        let data = json!({"in": {"a": [1]}});
        assert_eq!(
            f.render(&Json(data.clone()), &mut String::new()),
            Err(Fallback)
        );
        assert!(handlebars("{{in.a.x}}", &data).is_err());
    }
}
