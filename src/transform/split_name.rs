//! `split_name`: a full name into first, middle, last name and suffix.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{Bound, CompileCtx, Example, RuleConfig, RuleDoc, RuleError, Transform, map_text};

/// Which part of the name `split_name` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// The first (given) name.
    First,
    /// Middle names and initials, space-separated.
    Middle,
    /// The last name, with its particles (`van der Berg`).
    Last,
    /// `Jr.`, `Sr.`, `II`, `III`, `IV` as written.
    Suffix,
}

/// Options of `split_name`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Return only this part as text: `first`, `middle`, `last` or `suffix`. Default: an object
    /// with all four.
    #[serde(default)]
    pub part: Option<Part>,
}

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "split_name",
        summary: "Split a full name into first, middle, last name and suffix.",
        description: "Reads `First Last`, `First M. Last`, `First Middle Last` and \
`Last, First [Middle]`, ignoring extra whitespace. Honorifics at the start are removed (`Mr`, \
`Mrs`, `Ms`, `Miss`, `Dr`, `Prof`, with or without a dot); a name left with a single word after \
an honorific is a last name (`Dr. Smith`). Suffixes at the end are kept apart as written (`Jr`, \
`Sr`, `II`, `III`, `IV`, with or without a dot, after a comma or not); after a comma, degrees \
(`MD`, `PhD`, `DDS`, `Esq`, `CPA`, `RN`) are suffixes too. Lower-case particles start the last \
name: `van`, `von`, `der`, `den`, `de`, `del`, `della`, `la`, `le`, `da`, `di`, `du`, `des`, \
`dos`, `das`, `ten`, `ter`, `st`/`st.` (and `St.`), so `Ludwig van Beethoven` has the last name \
`van Beethoven`; a capitalized particle right before one joins it (`Jan Van der Berg`), but \
alone it is a middle name (`Vincent Van Gogh` has the last name `Gogh`). A single word is a \
first name. Letter case is kept.\n\n\
Output: an object `{\"first\", \"middle\", \"last\", \"suffix\"}` with missing parts as empty \
text, or with `part: first | middle | last | suffix` only that text. Empty text gives empty \
parts (it is not an error). `null` passes through; lists are split element by element.",
        examples: &[
            Example {
                step: "split_name",
                input: r#""John Q. Public""#,
                output: Ok(r#"{"first": "John", "middle": "Q.", "last": "Public", "suffix": ""}"#),
            },
            Example {
                step: "split_name",
                input: r#""Smith, Mary Ann""#,
                output: Ok(r#"{"first": "Mary", "middle": "Ann", "last": "Smith", "suffix": ""}"#),
            },
            Example {
                step: "split_name",
                input: r#""  Dr.   Martin Luther King, Jr. ""#,
                output: Ok(
                    r#"{"first": "Martin", "middle": "Luther", "last": "King", "suffix": "Jr."}"#,
                ),
            },
            Example {
                step: "split_name",
                input: r#""Maria de la Cruz""#,
                output: Ok(
                    r#"{"first": "Maria", "middle": "", "last": "de la Cruz", "suffix": ""}"#,
                ),
            },
            Example {
                step: "{split_name: {part: first}}",
                input: r#""Mrs. Jane van der Berg""#,
                output: Ok(r#""Jane""#),
            },
            Example {
                step: "{split_name: {part: last}}",
                input: r#""Mrs. Jane van der Berg""#,
                output: Ok(r#""van der Berg""#),
            },
            Example {
                step: "{split_name: {part: last}}",
                input: r#""Madonna""#,
                output: Ok(r#""""#),
            },
            Example {
                step: "split_name",
                input: r#""""#,
                output: Ok(r#"{"first": "", "middle": "", "last": "", "suffix": ""}"#),
            },
        ],
    };
    fn bare() -> Option<Self> {
        Some(Config::default())
    }
    fn compile(self, _: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        Ok(Box::new(SplitName { part: self.part }))
    }
}

#[derive(Debug)]
struct SplitName {
    part: Option<Part>,
}

/// The parts of a name.
#[derive(Debug, Default, PartialEq)]
struct Name {
    first: String,
    middle: String,
    last: String,
    suffix: String,
}

/// `word` without one trailing dot, compared without regard to ASCII case with `set`.
fn is_one_of(word: &str, set: &[&str]) -> bool {
    let w = word.strip_suffix('.').unwrap_or(word);
    set.iter().any(|s| s.eq_ignore_ascii_case(w))
}

fn is_honorific(word: &str) -> bool {
    is_one_of(word, &["mr", "mrs", "ms", "miss", "dr", "prof"])
}

fn is_suffix(word: &str) -> bool {
    is_one_of(word, &["jr", "sr", "ii", "iii", "iv"])
}

/// Degrees accepted as a suffix when they stand alone after a comma (`John Smith, MD`).
fn is_degree(word: &str) -> bool {
    is_one_of(word, &["md", "phd", "ph.d", "dds", "esq", "cpa", "rn"])
}

const PARTICLES: [&str; 18] = [
    "van", "von", "der", "den", "de", "del", "della", "la", "le", "da", "di", "du", "des", "dos",
    "das", "ten", "ter", "st",
];

/// A particle written in lower case (`van`, `de`, `st.`), or `St.`.
fn is_lower_particle(word: &str) -> bool {
    word == "St." || (is_one_of(word, &PARTICLES) && !word.chars().any(char::is_uppercase))
}

/// A particle in any letter case (`Van`, `De`).
fn is_any_particle(word: &str) -> bool {
    is_one_of(word, &PARTICLES)
}

/// Remove honorifics from the start; tells whether there were any.
fn drop_honorifics(words: &mut Vec<&str>) -> bool {
    let n = words.iter().take_while(|w| is_honorific(w)).count();
    words.drain(..n);
    n > 0
}

/// Move suffixes at the end (keeping at least one word) to `suffixes`, in written order.
fn take_suffixes<'a>(words: &mut Vec<&'a str>, suffixes: &mut Vec<&'a str>) {
    let keep = words.len() - words.iter().rev().take_while(|w| is_suffix(w)).count();
    let keep = keep.max(1).min(words.len());
    let tail: Vec<&str> = words.drain(keep..).collect();
    suffixes.splice(0..0, tail);
}

/// `First [Middle...] Last` with honorifics and suffixes already removed.
fn natural(words: &[&str], after_honorific: bool, name: &mut Name) {
    match words {
        [] => {}
        [only] if after_honorific => name.last = (*only).to_owned(),
        [only] => name.first = (*only).to_owned(),
        [first, rest @ ..] => {
            name.first = (*first).to_owned();
            // The last name starts at the first lower-case particle that has a word after it,
            // pulling in capitalized particles right before it (`Van der Berg`).
            let last_start = rest
                .iter()
                .take(rest.len() - 1)
                .position(|w| is_lower_particle(w))
                .map(|mut i| {
                    while i > 0 && rest.get(i - 1).is_some_and(|w| is_any_particle(w)) {
                        i -= 1;
                    }
                    i
                })
                .unwrap_or(rest.len() - 1);
            let (middle, last) = rest.split_at(last_start);
            name.middle = middle.join(" ");
            name.last = last.join(" ");
        }
    }
}

fn split(s: &str) -> Name {
    let mut name = Name::default();
    let mut segments: Vec<Vec<&str>> = s
        .split(',')
        .map(|seg| seg.split_whitespace().collect::<Vec<_>>())
        .filter(|w| !w.is_empty())
        .collect();
    let mut suffixes: Vec<&str> = Vec::new();
    // Segments after the first made only of suffixes or degrees: `Smith, John, Jr.`, `John Smith, MD`.
    let mut i = 1;
    while i < segments.len() {
        if segments
            .get(i)
            .is_some_and(|seg| seg.iter().all(|w| is_suffix(w) || is_degree(w)))
        {
            suffixes.extend(segments.remove(i));
        } else {
            i += 1;
        }
    }
    let mut inline_suffixes: Vec<&str> = Vec::new();
    match segments.as_mut_slice() {
        [] => {}
        [words] => {
            let honorific = drop_honorifics(words);
            if !words.is_empty() {
                take_suffixes(words, &mut inline_suffixes);
            }
            natural(words, honorific, &mut name);
        }
        [last, given, more @ ..] => {
            // `Last, First Middle`: anything after a second comma joins the given names.
            let mut given: Vec<&str> = given.iter().chain(more.iter().flatten()).copied().collect();
            drop_honorifics(last);
            drop_honorifics(&mut given);
            if !last.is_empty() {
                take_suffixes(last, &mut inline_suffixes);
            }
            if given.len() > 1 {
                take_suffixes(&mut given, &mut inline_suffixes);
            }
            name.last = last.join(" ");
            if let Some((first, middle)) = given.split_first() {
                name.first = (*first).to_owned();
                name.middle = middle.join(" ");
            }
        }
    }
    inline_suffixes.extend(suffixes);
    name.suffix = inline_suffixes.join(" ");
    name
}

impl Transform for SplitName {
    fn apply(&self, v: Value) -> Result<Value, RuleError> {
        map_text(v, "split_name", &|s: String| {
            let name = split(&s);
            Ok(match self.part {
                Some(Part::First) => Value::String(name.first),
                Some(Part::Middle) => Value::String(name.middle),
                Some(Part::Last) => Value::String(name.last),
                Some(Part::Suffix) => Value::String(name.suffix),
                None => {
                    let mut m = Map::with_capacity(4);
                    m.insert("first".into(), Value::String(name.first));
                    m.insert("middle".into(), Value::String(name.middle));
                    m.insert("last".into(), Value::String(name.last));
                    m.insert("suffix".into(), Value::String(name.suffix));
                    Value::Object(m)
                }
            })
        })
    }
    /// One part is words of the input joined by single spaces: never longer than the input.
    /// Known values are split exactly. The object of all four parts is not described.
    fn bound(&self, input: &Bound) -> Bound {
        if self.part.is_none() {
            return Bound::unknown();
        }
        input.mapped_or(self, input.max_chars)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::testing::*;
    use serde_json::json;

    fn parts(s: &str) -> [String; 4] {
        let n = split(s);
        [n.first, n.middle, n.last, n.suffix]
    }

    #[track_caller]
    fn check(input: &str, want: [&str; 4]) {
        assert_eq!(parts(input), want.map(String::from), "{input:?}");
    }

    #[test]
    fn natural_order() {
        check("John Smith", ["John", "", "Smith", ""]);
        check("John Q. Public", ["John", "Q.", "Public", ""]);
        check("John Quincy Adams", ["John", "Quincy", "Adams", ""]);
        check("Mary Ann Lou Smith", ["Mary", "Ann Lou", "Smith", ""]);
        check("  John \t  Smith\u{a0} ", ["John", "", "Smith", ""]);
        check("Madonna", ["Madonna", "", "", ""]);
        check("José María García", ["José", "María", "García", ""]);
        check("", ["", "", "", ""]);
        check("   ", ["", "", "", ""]);
        check(",", ["", "", "", ""]);
    }

    #[test]
    fn last_first() {
        check("Smith, John", ["John", "", "Smith", ""]);
        check("Smith,John", ["John", "", "Smith", ""]);
        check("Smith, John Quincy", ["John", "Quincy", "Smith", ""]);
        check("Smith , John Q.", ["John", "Q.", "Smith", ""]);
        check(
            "de la Cruz, Maria Elena",
            ["Maria", "Elena", "de la Cruz", ""],
        );
        check("Smith, Dr. John", ["John", "", "Smith", ""]);
        check("Smith,", ["Smith", "", "", ""]);
        check(", John", ["John", "", "", ""]);
    }

    #[test]
    fn honorifics() {
        for h in [
            "Mr", "Mr.", "MR.", "Mrs", "Mrs.", "Ms", "Ms.", "Miss", "Dr", "dr.", "Prof", "Prof.",
        ] {
            check(&format!("{h} Jane Doe"), ["Jane", "", "Doe", ""]);
        }
        check("Dr. Smith", ["", "", "Smith", ""]);
        check("Mr. Dr. John Smith", ["John", "", "Smith", ""]);
        check("Dr.", ["", "", "", ""]);
        // Only at the start, and only whole words.
        check("Drew Barrymore", ["Drew", "", "Barrymore", ""]);
        check("John Miss", ["John", "", "Miss", ""]);
    }

    #[test]
    fn suffixes() {
        for s in ["Jr", "Jr.", "jr.", "Sr", "Sr.", "II", "III", "IV", "iv"] {
            check(&format!("John Smith {s}"), ["John", "", "Smith", s]);
            check(&format!("John Smith, {s}"), ["John", "", "Smith", s]);
            check(&format!("Smith, John, {s}"), ["John", "", "Smith", s]);
            check(&format!("Smith, John {s}"), ["John", "", "Smith", s]);
            check(&format!("Smith {s}, John"), ["John", "", "Smith", s]);
        }
        check(
            "Martin Luther King Jr.",
            ["Martin", "Luther", "King", "Jr."],
        );
        check("John Smith Jr. III", ["John", "", "Smith", "Jr. III"]);
        check("John Smith, MD", ["John", "", "Smith", "MD"]);
        check("John Smith Jr., Esq.", ["John", "", "Smith", "Jr. Esq."]);
        // A lone suffix word is kept as a name.
        check("Jr", ["Jr", "", "", ""]);
        check("John Jr.", ["John", "", "", "Jr."]);
    }

    #[test]
    fn particles() {
        check("Ludwig van Beethoven", ["Ludwig", "", "van Beethoven", ""]);
        check("Hans van der Berg", ["Hans", "", "van der Berg", ""]);
        check("Jan Van der Berg", ["Jan", "", "Van der Berg", ""]);
        check(
            "Juan Carlos de la Cruz",
            ["Juan", "Carlos", "de la Cruz", ""],
        );
        check("Otto von Bismarck", ["Otto", "", "von Bismarck", ""]);
        check("Leonardo da Vinci", ["Leonardo", "", "da Vinci", ""]);
        check("Anna di Stefano", ["Anna", "", "di Stefano", ""]);
        check("Marie le Pen", ["Marie", "", "le Pen", ""]);
        check("Mary st. John", ["Mary", "", "st. John", ""]);
        check("Mary St. John", ["Mary", "", "St. John", ""]);
        check("Hans van der Berg Jr.", ["Hans", "", "van der Berg", "Jr."]);
        // Capitalized particles alone are names; a trailing particle is the last name.
        check("Vincent Van Gogh", ["Vincent", "Van", "Gogh", ""]);
        check("Wang Di", ["Wang", "", "Di", ""]);
        check("John de", ["John", "", "de", ""]);
        // The first word is never a particle.
        check("De Andre Jones", ["De", "Andre", "Jones", ""]);
    }

    #[test]
    fn rule_output() {
        assert_eq!(
            run("split_name", r#""Smith, John Q.""#).unwrap(),
            json!({"first": "John", "middle": "Q.", "last": "Smith", "suffix": ""})
        );
        let out = run("split_name", r#""Ann Lee""#).unwrap();
        let keys: Vec<&String> = out.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["first", "middle", "last", "suffix"]);
        assert_eq!(
            run("{split_name: {part: middle}}", r#""John Q. Public""#).unwrap(),
            json!("Q.")
        );
        assert_eq!(
            run("{split_name: {part: suffix}}", r#""John Public III""#).unwrap(),
            json!("III")
        );
        assert_eq!(
            run("{split_name: {part: first}}", r#""""#).unwrap(),
            json!("")
        );
        assert_eq!(run("split_name", "null").unwrap(), Value::Null);
        assert_eq!(
            run("{split_name: {part: last}}", r#"["A B", "C D"]"#).unwrap(),
            json!(["B", "D"])
        );
        assert_eq!(
            run("split_name", r#"{"a": 1}"#).unwrap_err().reason,
            "wrong_type"
        );
    }

    #[test]
    fn bad_options() {
        assert!(compile_err("{split_name: {part: given}}").contains("given"));
    }

    #[test]
    fn bound_of_one_part() {
        assert_eq!(bound("{split_name: {part: last}}", Bound::at_most(30)), Bound::at_most(30));
        let known = Bound::exactly(["John Smith", "Madonna", "Smith,  Mary Ann"]);
        assert_eq!(bound("{split_name: {part: last}}", known.clone()), Bound::exactly(["Smith", ""]));
        assert_eq!(bound("{split_name: {part: middle}}", known), Bound::exactly(["", "Ann"]));
        assert_eq!(bound("split_name", Bound::at_most(30)), Bound::unknown());
    }
}
