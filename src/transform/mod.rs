//! The rule library: every transformation a mapping's `steps` can name.
//!
//! One file per rule. Each file holds the rule's options type (`Config`, deserialized from the
//! mapping with exact source locations and described by a JSON Schema), its documentation and
//! examples ([`RuleDoc`]), the compiled form that runs on values ([`Transform`]) and the tests of
//! its edge cases. The examples are executed by the test suite and rendered into `docs/rules.md`,
//! so the documentation cannot drift from the behaviour.
//!
//! Adding a rule is adding one file and one line in the [`registry!`] invocation below.
//!
//! Values are `serde_json::Value`s. Text rules accept strings, and numbers or booleans through
//! their text form; `null` (a missing input field) passes through every text rule untouched, and
//! a list is transformed element by element. A rule that cannot handle a value fails with a
//! [`RuleError`]: a short machine-readable `reason` (`invalid_phone`) and a message for people.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// The documentation of a rule, rendered into `docs/rules.md`.
#[derive(Debug)]
pub struct RuleDoc {
    /// The name used in a mapping's `steps`.
    pub name: &'static str,
    /// One line: what the rule does.
    pub summary: &'static str,
    /// Markdown: options, behaviour on odd input, failure reason.
    pub description: &'static str,
    /// Worked examples; each is run as a test.
    pub examples: &'static [Example],
}

/// One documented example of a rule: a step as written in a mapping, an input value and the
/// expected result.
#[derive(Debug)]
pub struct Example {
    /// The step in YAML, exactly as a user writes it in `steps:`.
    pub step: &'static str,
    /// The input value as JSON.
    pub input: &'static str,
    /// The output value as JSON, or `Err(reason)` for a rejection.
    pub output: Result<&'static str, &'static str>,
}

/// Why a rule could not transform a value.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleError {
    /// Short, stable code for reports and rejects files (`invalid_phone`).
    pub reason: Cow<'static, str>,
    /// What was wrong, in words an operations person understands.
    pub message: String,
}

impl RuleError {
    pub fn new(reason: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        RuleError {
            reason: reason.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.reason)
    }
}

/// A compiled rule, ready to run on values. Compiled once per mapping, shared by all threads.
pub trait Transform: Send + Sync + fmt::Debug {
    fn apply(&self, value: Value) -> Result<Value, RuleError>;

    /// The same as [`Transform::apply`], on a value left where it is. This is what the engine
    /// calls: a `Value` is 72 bytes, and moving it into and out of every step cost more than many
    /// steps themselves, while most text rules can edit the string they are given. The default
    /// moves the value through `apply`; rules override it (and then implement `apply` with
    /// [`apply_by_mut`]). After an error the value is unspecified.
    fn apply_mut(&self, value: &mut Value) -> Result<(), RuleError> {
        *value = self.apply(std::mem::take(value))?;
        Ok(())
    }

    /// What the output can be, given what the input can be. The default knows nothing.
    fn bound(&self, input: &Bound) -> Bound {
        let _ = input;
        Bound::unknown()
    }

    /// Whether the step's work costs much more than hashing its input and copying its result
    /// (a lookup that copies table rows, sorting records). The engine then remembers the
    /// result of the field's steps for recent input texts. Every rule's answer depends only on
    /// its options and its input, so remembering never changes an answer.
    fn costly(&self) -> bool {
        false
    }
}

/// What is known, before any data is read, about the values a step can give.
///
/// A bound describes values that have a text (strings, numbers and booleans, as [`as_text`]
/// writes them); text rules work on a list element by element, so for a list it describes each
/// element. It is an over-approximation: every value a step can give is within it, but not every
/// value within it can be given.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Bound {
    /// The value's text is at most this many characters (None: unknown / unbounded).
    pub max_chars: Option<usize>,
    /// The value's text is always one of these (None: any). Missing/null values are not counted.
    pub values: Option<BTreeSet<String>>,
}

impl Bound {
    /// Nothing is known.
    pub fn unknown() -> Bound {
        Bound::default()
    }

    /// One of these texts; at most as long as the longest.
    pub fn exactly<I>(texts: I) -> Bound
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let values: BTreeSet<String> = texts.into_iter().map(Into::into).collect();
        Bound {
            max_chars: Some(values.iter().map(|t| t.chars().count()).max().unwrap_or(0)),
            values: Some(values),
        }
    }

    /// Any text of at most `n` characters.
    pub fn at_most(n: usize) -> Bound {
        Bound {
            max_chars: Some(n),
            values: None,
        }
    }

    /// The bound of a constant: its text (a number 5 is `"5"`). `null` gives no value at all; a
    /// list or an object is not described.
    pub fn of_value(v: &Value) -> Bound {
        match v {
            Value::Null => Bound::exactly(std::iter::empty::<String>()),
            Value::Array(_) | Value::Object(_) => Bound::unknown(),
            scalar => Bound::exactly(as_text(scalar).map(Cow::into_owned)),
        }
    }

    /// Either this or `other`.
    pub fn union(&self, other: &Bound) -> Bound {
        Bound {
            max_chars: self.max_chars.zip(other.max_chars).map(|(a, b)| a.max(b)),
            values: match (&self.values, &other.values) {
                (Some(a), Some(b)) => Some(a.union(b).cloned().collect()),
                _ => None,
            },
        }
    }

    /// When the values are known: what `rule` makes of each of them (a value it rejects gives
    /// nothing, nor does `null`), so the result is exact. `None` when the values are not known,
    /// or the rule turns one into a list or an object.
    ///
    /// Each value is given to the rule as text, so this is only for rules that read numbers and
    /// booleans through their text form, as the text rules do.
    pub fn map_values<T: Transform + ?Sized>(&self, rule: &T) -> Option<Bound> {
        let mut out = BTreeSet::new();
        for v in self.values.as_ref()? {
            match rule.apply(Value::String(v.clone())) {
                Err(_) | Ok(Value::Null) => {}
                Ok(x) => {
                    out.insert(as_text(&x)?.into_owned());
                }
            }
        }
        Some(Bound::exactly(out))
    }

    /// [`Bound::map_values`] when the values are known, else any text of at most `max_chars`.
    pub fn mapped_or<T: Transform + ?Sized>(&self, rule: &T, max_chars: Option<usize>) -> Bound {
        self.map_values(rule).unwrap_or(Bound {
            max_chars,
            values: None,
        })
    }
}

/// What the output of `steps`, run in order, can be when their input is within `start`.
pub fn bound_of_steps(steps: &[&dyn Transform], start: Bound) -> Bound {
    steps.iter().fold(start, |b, step| step.bound(&b))
}

/// The most characters one character can become when upper-cased (`ﬃ` gives `FFI`).
pub const UPPER_CASE_GROWTH: usize = 3;
/// The most characters one character can become when lower-cased (`İ` gives `i̇`).
pub const LOWER_CASE_GROWTH: usize = 2;

/// [`Transform::apply`] of a rule that implements [`Transform::apply_mut`].
pub fn apply_by_mut<T: Transform + ?Sized>(rule: &T, mut value: Value) -> Result<Value, RuleError> {
    rule.apply_mut(&mut value)?;
    Ok(value)
}

/// What a rule may need while it is compiled.
#[derive(Debug, Clone, Copy)]
pub struct CompileCtx<'a> {
    /// The directory of the mapping file: relative file names (lookup tables) resolve here.
    pub base_dir: &'a Path,
}

/// A rule's options, as written in a mapping.
pub trait RuleConfig: Sized {
    const DOC: RuleDoc;
    /// The options used when the step is just the rule's name (`- trim`); `None` when the rule
    /// cannot run without options.
    fn bare() -> Option<Self> {
        None
    }
    /// Check the options and build the runnable rule. The error is a message for the mapping's
    /// author; the caller adds the file, line and column.
    fn compile(self, cx: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String>;
}

// ---------------------------------------------------------------------------------------------
// Value helpers shared by the rules.

/// The kind of a value, for messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A value as text: strings as they are, numbers and booleans in their JSON form.
pub fn as_text(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        _ => None,
    }
}

/// Whether a value counts as empty: missing, null, or a string of only whitespace.
pub fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.chars().all(char::is_whitespace),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Run a text function on a value: `null` passes through, a list is mapped element by element,
/// scalars go through their text form, objects are refused.
pub fn map_text(
    v: Value,
    rule: &'static str,
    f: &dyn Fn(String) -> Result<Value, RuleError>,
) -> Result<Value, RuleError> {
    map_scalars(v, rule, &|scalar| match scalar {
        Value::String(s) => f(s),
        Value::Number(n) => f(n.to_string()),
        Value::Bool(b) => f(b.to_string()),
        // map_scalars hands over scalars only.
        other => Ok(other),
    })
}

/// Run a function on each scalar of a value: `null` passes through, a list is mapped element by
/// element, an object is refused. For rules that read numbers and booleans as themselves, not as
/// text (`to_int`, `date`, `duration`, `to_bool`).
pub fn map_scalars(
    v: Value,
    rule: &'static str,
    f: &dyn Fn(Value) -> Result<Value, RuleError>,
) -> Result<Value, RuleError> {
    match v {
        Value::Null => Ok(Value::Null),
        Value::Array(items) => items
            .into_iter()
            .map(|x| map_scalars(x, rule, f))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Value::Object(_) => Err(RuleError::new(
            "wrong_type",
            format!("`{rule}` works on text, got an object"),
        )),
        scalar => f(scalar),
    }
}

/// Like [`map_text`] for infallible text functions that may borrow: see [`edit_str`].
pub fn map_str(
    mut v: Value,
    rule: &'static str,
    f: &dyn Fn(&str) -> Cow<'_, str>,
) -> Result<Value, RuleError> {
    edit_str(&mut v, rule, f)?;
    Ok(v)
}

/// In-place [`map_text`] for text functions that edit the string they are given: `null` stays,
/// a list is edited element by element, numbers and booleans are replaced by their text first,
/// objects are refused.
pub fn edit_text<F>(v: &mut Value, rule: &'static str, f: &F) -> Result<(), RuleError>
where
    F: Fn(&mut String) -> Result<(), RuleError> + ?Sized,
{
    match v {
        Value::Null => Ok(()),
        Value::String(s) => f(s),
        Value::Number(_) | Value::Bool(_) => {
            let mut s = as_text(v).map(Cow::into_owned).unwrap_or_default();
            f(&mut s)?;
            *v = Value::String(s);
            Ok(())
        }
        Value::Array(items) => items.iter_mut().try_for_each(|x| edit_text(x, rule, f)),
        Value::Object(_) => Err(RuleError::new(
            "wrong_type",
            format!("`{rule}` works on text, got an object"),
        )),
    }
}

/// In-place [`map_text`] for infallible text functions that may borrow. The string is left alone
/// when the function returns it unchanged, cut where it is when the function returns a part of
/// it (`trim`, `strip_prefix`), and replaced only by a new text.
pub fn edit_str<F>(v: &mut Value, rule: &'static str, f: &F) -> Result<(), RuleError>
where
    F: Fn(&str) -> Cow<'_, str> + ?Sized,
{
    edit_text(v, rule, &|s: &mut String| {
        let (start, end) = match f(s) {
            Cow::Owned(new) => {
                *s = new;
                return Ok(());
            }
            // The text as it was (most text is trimmed already): nothing to do.
            Cow::Borrowed(b) if b.len() == s.len() && b.as_ptr() == s.as_ptr() => return Ok(()),
            Cow::Borrowed(b) => {
                // Where the borrowed text is within `s`, if it is (it always is in practice).
                let start = (b.as_ptr() as usize).wrapping_sub(s.as_ptr() as usize);
                let end = start.wrapping_add(b.len());
                if start > s.len()
                    || end > s.len()
                    || end < start
                    || !s.is_char_boundary(start)
                    || !s.is_char_boundary(end)
                {
                    *s = b.to_owned();
                    return Ok(());
                }
                (start, end)
            }
        };
        s.truncate(end);
        if start > 0 {
            s.drain(..start);
        }
        Ok(())
    })
}

/// A short rendering of a value for messages (long text cut, so rejects stay readable).
pub fn show(v: &Value) -> String {
    let s = match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    };
    if s.chars().count() > 80 {
        let cut: String = s.chars().take(77).collect();
        format!("{cut}...")
    } else {
        s
    }
}

// ---------------------------------------------------------------------------------------------
// Scalar shorthands: `{max_len: 100}` for `{max_len: {len: 100}}`.

/// Implements `Deserialize` and `JsonSchema` for a rule's `Config` that wraps a full options
/// struct `$opts` and also accepts a scalar shorthand of type `$short`, converted by `$conv`.
#[macro_export]
macro_rules! shorthand_config {
    ($cfg:ident, $opts:ty, $short:ty, $conv:expr) => {
        impl<'de> serde::Deserialize<'de> for $cfg {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = $cfg;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        write!(f, "a {} or a mapping of options", stringify!($short))
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(self, m: A) -> Result<$cfg, A::Error> {
                        let o = <$opts as serde::Deserialize>::deserialize(
                            serde::de::value::MapAccessDeserializer::new(m),
                        )?;
                        Ok($cfg(o))
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$cfg, E> {
                        self.short(serde::de::IntoDeserializer::into_deserializer(v))
                    }
                    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<$cfg, E> {
                        self.short(serde::de::IntoDeserializer::into_deserializer(v))
                    }
                    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<$cfg, E> {
                        self.short(serde::de::IntoDeserializer::into_deserializer(v))
                    }
                    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<$cfg, E> {
                        self.short(serde::de::IntoDeserializer::into_deserializer(v))
                    }
                    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<$cfg, E> {
                        self.short(serde::de::IntoDeserializer::into_deserializer(v))
                    }
                    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, s: A) -> Result<$cfg, A::Error> {
                        let v = <$short as serde::Deserialize>::deserialize(
                            serde::de::value::SeqAccessDeserializer::new(s),
                        )?;
                        Ok($cfg(($conv)(v)))
                    }
                }
                impl V {
                    fn short<'de, E: serde::de::Error, D2: serde::Deserializer<'de, Error = E>>(
                        self,
                        d: D2,
                    ) -> Result<$cfg, E> {
                        let v = <$short as serde::Deserialize>::deserialize(d)?;
                        Ok($cfg(($conv)(v)))
                    }
                }
                d.deserialize_any(V)
            }
        }
        impl schemars::JsonSchema for $cfg {
            // Named after the rule's module: every rule's options type is called `Options`.
            fn schema_name() -> std::borrow::Cow<'static, str> {
                let module = module_path!();
                format!("{}_options", module.rsplit("::").next().unwrap_or(module)).into()
            }
            fn schema_id() -> std::borrow::Cow<'static, str> {
                concat!(module_path!(), "::", stringify!($cfg)).into()
            }
            fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
                let short = g.subschema_for::<$short>();
                let full = g.subschema_for::<$opts>();
                schemars::json_schema!({ "anyOf": [short, full] })
            }
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Ordered option mappings: `fields: {AgentID: id, AgentPhones: phone}` where the order written
// is the order of the output.

/// An option written as a YAML mapping whose order matters, kept as `(key, value)` pairs in the
/// order written. Duplicate keys are refused. Used by the list rules (`zip_lists` `names`,
/// `unzip_records` and `index_records` `fields`), whose output keys follow the mapping's order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pairs<V>(pub Vec<(String, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Pairs<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct PV<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for PV<V> {
            type Value = Pairs<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping (`{AgentID: id, AgentPhones: phone}`)")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Pairs<V>, A::Error> {
                let mut out: Vec<(String, V)> = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, V>()? {
                    if out.iter().any(|(seen, _)| *seen == k) {
                        return Err(de::Error::custom(format!("`{k}` is written twice")));
                    }
                    out.push((k, v));
                }
                Ok(Pairs(out))
            }
        }
        d.deserialize_map(PV(std::marker::PhantomData))
    }
}

impl<V: schemars::JsonSchema> schemars::JsonSchema for Pairs<V> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        format!("Pairs_of_{}", V::schema_name()).into()
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let values = g.subschema_for::<V>();
        schemars::json_schema!({ "type": "object", "additionalProperties": values })
    }
}

// ---------------------------------------------------------------------------------------------
// The registry.

mod libphone;
pub(crate) mod memo;

macro_rules! registry {
    ($($variant:ident => $module:ident),* $(,)?) => {
        $(pub mod $module;)*

        /// One step of a field's `steps`, as written in the mapping.
        #[derive(Debug, Clone)]
        pub enum Step {
            $($variant($module::Config)),*
        }

        /// The documentation of every rule, in the order of the registry.
        pub const RULES: &[&RuleDoc] = &[$(&<$module::Config as RuleConfig>::DOC),*];

        impl Step {
            /// The rule's name as written in mappings.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Step::$variant(_) => <$module::Config as RuleConfig>::DOC.name),*
                }
            }

            /// Check the options and build the runnable rule.
            pub fn compile(self, cx: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
                match self {
                    $(Step::$variant(c) => c.compile(cx)),*
                }
            }

            fn bare(name: &str) -> Option<Result<Step, String>> {
                $(
                    if name == <$module::Config as RuleConfig>::DOC.name {
                        return Some(<$module::Config as RuleConfig>::bare().map(Step::$variant).ok_or_else(|| {
                            format!("rule `{name}` needs options: write `{{{name}: ...}}` (see docs/rules.md#{name})")
                        }));
                    }
                )*
                None
            }

            fn with_options<'de, A: MapAccess<'de>>(name: &str, map: &mut A) -> Option<Result<Step, A::Error>> {
                $(
                    if name == <$module::Config as RuleConfig>::DOC.name {
                        return Some(map.next_value::<$module::Config>().map(Step::$variant));
                    }
                )*
                None
            }

            fn schemas(g: &mut schemars::SchemaGenerator) -> Vec<schemars::Schema> {
                let mut out = Vec::new();
                $(
                    {
                        let name = <$module::Config as RuleConfig>::DOC.name;
                        let summary = <$module::Config as RuleConfig>::DOC.summary;
                        if <$module::Config as RuleConfig>::bare().is_some() {
                            out.push(schemars::json_schema!({ "const": name, "description": summary }));
                        }
                        let opts = g.subschema_for::<$module::Config>();
                        out.push(schemars::json_schema!({
                            "type": "object",
                            "description": summary,
                            "properties": { name: opts },
                            "required": [name],
                            "additionalProperties": false
                        }));
                    }
                )*
                out
            }
        }
    };
}

registry! {
    Trim => trim,
    Lower => lower,
    Upper => upper,
    Title => title,
    CollapseWhitespace => collapse_whitespace,
    Replace => replace,
    RegexReplace => regex_replace,
    RegexExtract => regex_extract,
    StripPrefix => strip_prefix,
    StripSuffix => strip_suffix,
    AddPrefix => add_prefix,
    AddSuffix => add_suffix,
    Digits => digits,
    UrlDecode => url_decode,
    Default => default,
    MaxLen => max_len,
    Require => require,
    ToText => to_text,
    Split => split,
    Join => join,
    Get => get,
    ZipLists => zip_lists,
    UnzipRecords => unzip_records,
    SortRecords => sort_records,
    IndexRecords => index_records,
    Lookup => lookup,
    UsState => us_state,
    Zip => zip,
    Phone => phone,
    Email => email,
    Date => date,
    Duration => duration,
    ToInt => to_int,
    ToFloat => to_float,
    ToBool => to_bool,
    SplitName => split_name,
    Fail => fail,
}

/// Every rule name, for suggestions.
pub fn rule_names() -> impl Iterator<Item = &'static str> {
    RULES.iter().map(|d| d.name)
}

/// The closest known name to `wrong`, if one is close enough to be a likely typo.
pub fn did_you_mean<'a>(wrong: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    known
        .map(|k| (strsim_distance(wrong, k), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance over chars.
fn strsim_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn unknown_rule(name: &str) -> String {
    match did_you_mean(name, rule_names()) {
        Some(s) => format!("unknown rule `{name}`; did you mean `{s}`? (all rules: docs/rules.md)"),
        None => format!("unknown rule `{name}` (all rules: docs/rules.md)"),
    }
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Step;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a rule name (`trim`) or a one-key mapping of a rule and its options (`{max_len: 100}`)")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Step, E> {
                match Step::bare(name) {
                    Some(r) => r.map_err(E::custom),
                    None => Err(E::custom(unknown_rule(name))),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Step, A::Error> {
                let Some(name) = map.next_key::<String>()? else {
                    return Err(de::Error::custom(
                        "empty step: name a rule, e.g. `trim` or `{max_len: 100}`",
                    ));
                };
                let step = match Step::with_options(&name, &mut map) {
                    Some(r) => r?,
                    None => return Err(de::Error::custom(unknown_rule(&name))),
                };
                if let Some(extra) = map.next_key::<String>()? {
                    return Err(de::Error::custom(format!(
                        "a step names exactly one rule, found `{name}` and `{extra}`: make them two steps"
                    )));
                }
                Ok(step)
            }
        }
        d.deserialize_any(V)
    }
}

impl schemars::JsonSchema for Step {
    fn schema_name() -> Cow<'static, str> {
        "Step".into()
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let one_of = Step::schemas(g);
        schemars::json_schema!({
            "description": "A rule name, or a one-key mapping of a rule to its options. See docs/rules.md.",
            "oneOf": one_of
        })
    }
}

/// Compile a step given as YAML text (used by the examples and tests).
pub fn compile_yaml_step(yaml: &str, cx: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
    let step: Step = serde_saphyr::from_str_with_options(yaml, crate::mapping::yaml_options())
        .map_err(|e| e.to_string())?;
    step.compile(cx)
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers for the rules' own tests.
    use super::*;

    /// A small deterministic generator (xorshift) for tests that compare many generated inputs
    /// with a reference: they need variety and repeatability, not quality.
    pub struct Rng(pub u64);
    impl Rng {
        /// A number below `n`.
        pub fn next(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    pub fn cx() -> CompileCtx<'static> {
        CompileCtx {
            base_dir: Path::new("."),
        }
    }

    /// Compile `step` (YAML) and run it on `input` (JSON), checking that `apply` and
    /// `apply_mut` agree.
    pub fn run(step: &str, input: &str) -> Result<Value, RuleError> {
        let t = compile_yaml_step(step, &cx()).unwrap_or_else(|e| panic!("step {step}: {e}"));
        let input: Value = serde_json::from_str(input).expect("test input is JSON");
        let mut in_place = input.clone();
        let by_mut = t.apply_mut(&mut in_place).map(|()| in_place);
        let got = t.apply(input);
        assert_eq!(got, by_mut, "apply and apply_mut differ for step {step}");
        got
    }

    /// Compile `step` (YAML) and ask what it gives for inputs within `input`.
    pub fn bound(step: &str, input: Bound) -> Bound {
        let t = compile_yaml_step(step, &cx()).unwrap_or_else(|e| panic!("step {step}: {e}"));
        t.bound(&input)
    }

    /// Compile `step` and return the compile error.
    pub fn compile_err(step: &str) -> String {
        match compile_yaml_step(step, &cx()) {
            Ok(t) => panic!("step {step} compiled: {t:?}"),
            Err(e) => e,
        }
    }

    /// Run every documented example of a rule.
    pub fn check_examples(doc: &RuleDoc) {
        for ex in doc.examples {
            let got = run(ex.step, ex.input);
            match (&ex.output, got) {
                (Ok(want), Ok(got)) => {
                    let want: Value = serde_json::from_str(want).expect("example output is JSON");
                    assert_eq!(
                        got, want,
                        "rule {} example {} on {}",
                        doc.name, ex.step, ex.input
                    );
                }
                (Err(reason), Err(e)) => {
                    assert_eq!(e.reason, *reason, "rule {} example {}", doc.name, ex.step)
                }
                (want, got) => panic!(
                    "rule {} example {} on {}: want {want:?}, got {got:?}",
                    doc.name, ex.step, ex.input
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn every_rule_has_examples_that_pass() {
        for doc in RULES {
            assert!(
                !doc.examples.is_empty(),
                "rule {} has no examples",
                doc.name
            );
            assert!(
                !doc.summary.is_empty() && !doc.description.is_empty(),
                "rule {} lacks docs",
                doc.name
            );
            check_examples(doc);
        }
    }

    #[test]
    fn edit_str_cuts_replaces_or_copies() {
        let run = |v: Value, f: &dyn Fn(&str) -> Cow<'_, str>| {
            let mut v = v;
            edit_str(&mut v, "t", f).map(|()| v)
        };
        fn trim(s: &str) -> Cow<'_, str> {
            Cow::Borrowed(s.trim())
        }
        assert_eq!(
            run(Value::from("  é x \u{a0}"), &trim),
            Ok(Value::from("é x"))
        );
        assert_eq!(
            run(Value::from("abc"), &|_| "zz".into()),
            Ok(Value::from("zz"))
        );
        assert_eq!(
            run(Value::from("abc"), &|_| Cow::Borrowed("not a part")),
            Ok(Value::from("not a part"))
        );
        assert_eq!(run(Value::from(12), &trim), Ok(Value::from("12")));
        assert_eq!(run(Value::Bool(true), &trim), Ok(Value::from("true")));
        assert_eq!(run(Value::Null, &trim), Ok(Value::Null));
        assert_eq!(
            run(serde_json::json!([" a", null, 3]), &trim),
            Ok(serde_json::json!(["a", null, "3"]))
        );
        assert_eq!(
            run(serde_json::json!({"a": 1}), &trim).unwrap_err().reason,
            "wrong_type"
        );
    }

    #[test]
    fn bound_helpers() {
        let b = Bound::exactly(["ab", "é", "xyz"]);
        assert_eq!(b.max_chars, Some(3));
        assert_eq!(b.values.as_ref().map(BTreeSet::len), Some(3));
        assert_eq!(Bound::exactly(Vec::<String>::new()).max_chars, Some(0));
        assert_eq!(
            Bound::at_most(7),
            Bound {
                max_chars: Some(7),
                values: None
            }
        );
        assert_eq!(
            Bound::unknown(),
            Bound {
                max_chars: None,
                values: None
            }
        );
        assert_eq!(Bound::of_value(&Value::from(5)), Bound::exactly(["5"]));
        assert_eq!(
            Bound::of_value(&Value::from(-1.5)),
            Bound::exactly(["-1.5"])
        );
        assert_eq!(
            Bound::of_value(&Value::Bool(false)),
            Bound::exactly(["false"])
        );
        assert_eq!(
            Bound::of_value(&Value::from("Missed")),
            Bound::exactly(["Missed"])
        );
        assert_eq!(
            Bound::of_value(&Value::Null),
            Bound::exactly(Vec::<String>::new())
        );
        assert_eq!(Bound::of_value(&serde_json::json!(["a"])), Bound::unknown());
        assert_eq!(
            Bound::exactly(["a"]).union(&Bound::exactly(["bcd"])),
            Bound::exactly(["a", "bcd"])
        );
        assert_eq!(
            Bound::exactly(["a"]).union(&Bound::at_most(4)),
            Bound::at_most(4)
        );
        assert_eq!(
            Bound::exactly(["a"]).union(&Bound::unknown()),
            Bound::unknown()
        );
    }

    #[test]
    fn bound_of_steps_folds_in_order() {
        let steps =
            ["{add_prefix: \"+1\"}", "{max_len: 5}"].map(|s| compile_yaml_step(s, &cx()).unwrap());
        let steps: Vec<&dyn Transform> = steps.iter().map(|b| &**b).collect();
        assert_eq!(
            bound_of_steps(&steps, Bound::at_most(10)),
            Bound::at_most(5)
        );
        assert_eq!(bound_of_steps(&steps, Bound::at_most(2)), Bound::at_most(4));
        assert_eq!(bound_of_steps(&steps, Bound::unknown()), Bound::at_most(5));
        assert_eq!(
            bound_of_steps(&steps, Bound::exactly(["9492"])),
            Bound::exactly(["+1949"])
        );
        // In the other order the prefix comes after the cut.
        let steps = [steps[1], steps[0]];
        assert_eq!(bound_of_steps(&steps, Bound::unknown()), Bound::at_most(7));
        assert_eq!(bound_of_steps(&[], Bound::at_most(3)), Bound::at_most(3));
    }

    /// Whole flows, as `fieldmap validate` will see them.
    #[test]
    fn bound_of_flows() {
        let flow = |steps: &[&str]| {
            let steps: Vec<_> = steps
                .iter()
                .map(|s| compile_yaml_step(s, &cx()).unwrap())
                .collect();
            let steps: Vec<&dyn Transform> = steps.iter().map(|b| &**b).collect();
            bound_of_steps(&steps, Bound::unknown())
        };
        // A state code, lower-cased: still two characters, because the values are known.
        let b = flow(&["trim", "us_state", "lower"]);
        assert_eq!(
            (b.max_chars, b.values.as_ref().map(|v| v.contains("ca"))),
            (Some(2), Some(true))
        );
        // A call status: the lookup's outputs, the default, and nothing else.
        let b = flow(&[
            "trim",
            "{lookup: {map: {Answered: Answered, Busy: Missed}, on_missing: null}}",
            "{default: Missed}",
        ]);
        assert_eq!(b, Bound::exactly(["Answered", "Missed"]));
        assert_eq!(
            flow(&["{phone: {countries: [US], format: national_digits}}"]),
            Bound::at_most(10)
        );
        // A free-text field is unbounded until it is cut.
        assert_eq!(flow(&["trim", "title"]), Bound::unknown());
        assert_eq!(
            flow(&["trim", "title", "{max_len: 40}"]),
            Bound::at_most(40)
        );
        assert_eq!(flow(&["{max_len: 40}", "upper"]), Bound::at_most(120));
    }

    #[test]
    fn case_growth_is_the_most_any_character_grows() {
        let chars = (0..=0x10FFFF_u32).filter_map(char::from_u32);
        let (up, low) = chars.fold((0, 0), |(u, l), c| {
            (
                u.max(c.to_uppercase().count()),
                l.max(c.to_lowercase().count()),
            )
        });
        assert_eq!((up, low), (UPPER_CASE_GROWTH, LOWER_CASE_GROWTH));
        // Whole-string case mapping (final sigma) grows no more than character by character.
        assert_eq!("ΑΣ".to_lowercase().chars().count(), 2);
    }

    #[test]
    fn rule_names_are_unique() {
        let mut names: Vec<_> = rule_names().collect();
        names.sort();
        let n = names.len();
        names.dedup();
        assert_eq!(n, names.len());
    }

    #[test]
    fn unknown_rule_suggests() {
        let e = compile_err("trm");
        assert!(e.contains("did you mean `trim`"), "{e}");
        let e = compile_err("{max_lne: 3}");
        assert!(e.contains("did you mean `max_len`"), "{e}");
        let e = compile_err("frobnicate");
        assert!(
            e.contains("unknown rule `frobnicate`") && !e.contains("did you mean"),
            "{e}"
        );
    }

    #[test]
    fn two_rules_in_one_step_are_refused() {
        let e = compile_err("{trim: {}, lower: {}}");
        assert!(e.contains("exactly one rule"), "{e}");
    }

    #[test]
    fn rule_needing_options_says_so() {
        let e = compile_err("max_len");
        assert!(e.contains("needs options"), "{e}");
    }
}
