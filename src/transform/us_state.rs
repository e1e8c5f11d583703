//! `us_state`: US state names and codes to the 2-letter USPS code (or the full name).

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::{Bound, CompileCtx, Example, RuleConfig, RuleDoc, RuleError, Transform, apply_by_mut, edit_text, show};

/// What `us_state` outputs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Output {
    /// The 2-letter USPS code (`CA`).
    #[default]
    Code,
    /// The canonical full name (`California`).
    Name,
}

/// Options of `us_state`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Also accept the inhabited territories: PR Puerto Rico, GU Guam, VI U.S. Virgin Islands
    /// (also "Virgin Islands"), AS American Samoa, MP Northern Mariana Islands. Default false.
    #[serde(default)]
    pub territories: bool,
    /// `code` (default) for the 2-letter code, `name` for the canonical full name.
    #[serde(default)]
    pub output: Output,
}

/// One accepted place: USPS code, canonical name, whether it is a territory.
struct Place {
    code: &'static str,
    name: &'static str,
    territory: bool,
}

const fn st(code: &'static str, name: &'static str) -> Place {
    Place {
        code,
        name,
        territory: false,
    }
}

const fn tr(code: &'static str, name: &'static str) -> Place {
    Place {
        code,
        name,
        territory: true,
    }
}

/// The 50 states and DC, then the territories.
const PLACES: [Place; 56] = [
    st("AL", "Alabama"),
    st("AK", "Alaska"),
    st("AZ", "Arizona"),
    st("AR", "Arkansas"),
    st("CA", "California"),
    st("CO", "Colorado"),
    st("CT", "Connecticut"),
    st("DE", "Delaware"),
    st("DC", "District of Columbia"),
    st("FL", "Florida"),
    st("GA", "Georgia"),
    st("HI", "Hawaii"),
    st("ID", "Idaho"),
    st("IL", "Illinois"),
    st("IN", "Indiana"),
    st("IA", "Iowa"),
    st("KS", "Kansas"),
    st("KY", "Kentucky"),
    st("LA", "Louisiana"),
    st("ME", "Maine"),
    st("MD", "Maryland"),
    st("MA", "Massachusetts"),
    st("MI", "Michigan"),
    st("MN", "Minnesota"),
    st("MS", "Mississippi"),
    st("MO", "Missouri"),
    st("MT", "Montana"),
    st("NE", "Nebraska"),
    st("NV", "Nevada"),
    st("NH", "New Hampshire"),
    st("NJ", "New Jersey"),
    st("NM", "New Mexico"),
    st("NY", "New York"),
    st("NC", "North Carolina"),
    st("ND", "North Dakota"),
    st("OH", "Ohio"),
    st("OK", "Oklahoma"),
    st("OR", "Oregon"),
    st("PA", "Pennsylvania"),
    st("RI", "Rhode Island"),
    st("SC", "South Carolina"),
    st("SD", "South Dakota"),
    st("TN", "Tennessee"),
    st("TX", "Texas"),
    st("UT", "Utah"),
    st("VT", "Vermont"),
    st("VA", "Virginia"),
    st("WA", "Washington"),
    st("WV", "West Virginia"),
    st("WI", "Wisconsin"),
    st("WY", "Wyoming"),
    tr("PR", "Puerto Rico"),
    tr("GU", "Guam"),
    tr("VI", "U.S. Virgin Islands"),
    tr("AS", "American Samoa"),
    tr("MP", "Northern Mariana Islands"),
];

/// Index into [`PLACES`] of the Virgin Islands, for the alias "Virgin Islands".
const VI_INDEX: usize = 53;
const VI_ALIAS: &str = "Virgin Islands";

/// Sentinel in [`CODE_INDEX`] for "no such code".
const NONE: u8 = u8::MAX;

/// Perfect lookup of an upper-case 2-letter code: `(first - 'A') * 26 + (second - 'A')` to the
/// index in [`PLACES`].
const CODE_INDEX: [u8; 26 * 26] = {
    let mut table = [NONE; 26 * 26];
    let mut i = 0;
    while i < PLACES.len() {
        let c = PLACES[i].code.as_bytes();
        table[(c[0] - b'A') as usize * 26 + (c[1] - b'A') as usize] = i as u8;
        i += 1;
    }
    table
};

/// The place whose code is `t` in any letter case.
fn by_code(t: &str) -> Option<usize> {
    let &[a, b] = t.as_bytes() else { return None };
    let (a, b) = (a.to_ascii_uppercase(), b.to_ascii_uppercase());
    if !a.is_ascii_uppercase() || !b.is_ascii_uppercase() {
        return None;
    }
    let i = CODE_INDEX[(a - b'A') as usize * 26 + (b - b'A') as usize];
    (i != NONE).then_some(i as usize)
}

/// The place whose full name is `t` in any ASCII letter case.
fn by_name(t: &str) -> Option<usize> {
    // Names are 4 to 24 bytes long; most inputs that are not names are rejected on length.
    PLACES
        .iter()
        .position(|p| p.name.len() == t.len() && p.name.eq_ignore_ascii_case(t))
        .or_else(|| {
            (VI_ALIAS.len() == t.len() && VI_ALIAS.eq_ignore_ascii_case(t)).then_some(VI_INDEX)
        })
}

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "us_state",
        summary: "US state names or codes to the 2-letter USPS code (or the full name).",
        description: "Accepts the 50 states and the District of Columbia, written as the 2-letter \
USPS code in any letter case (`ca`, `Ca`, `CA`) or the full name in any letter case \
(`california`, `NEW YORK`, `District of Columbia`). Surrounding whitespace is ignored; inner \
spacing and spelling must be exact (`NewYork`, `N.Y.`, `Calif.` are refused). The code is \
checked first, then the name.\n\n\
Options: `territories: true` (default false) also accepts PR Puerto Rico, GU Guam, VI U.S. \
Virgin Islands (also written `Virgin Islands`), AS American Samoa and MP Northern Mariana \
Islands. `output: name` gives the canonical full name instead of the code (default `code`).\n\n\
Anything else, including empty text, fails with reason `invalid_state`. `null` passes through; \
lists are converted element by element.",
        examples: &[
            Example {
                step: "us_state",
                input: r#""CA""#,
                output: Ok(r#""CA""#),
            },
            Example {
                step: "us_state",
                input: r#"" california ""#,
                output: Ok(r#""CA""#),
            },
            Example {
                step: "us_state",
                input: r#""ny""#,
                output: Ok(r#""NY""#),
            },
            Example {
                step: "us_state",
                input: r#""District of Columbia""#,
                output: Ok(r#""DC""#),
            },
            Example {
                step: "{us_state: {output: name}}",
                input: r#""tx""#,
                output: Ok(r#""Texas""#),
            },
            Example {
                step: "us_state",
                input: r#""PR""#,
                output: Err("invalid_state"),
            },
            Example {
                step: "{us_state: {territories: true}}",
                input: r#""Puerto Rico""#,
                output: Ok(r#""PR""#),
            },
            Example {
                step: "us_state",
                input: r#""Calif.""#,
                output: Err("invalid_state"),
            },
            Example {
                step: "us_state",
                input: r#""""#,
                output: Err("invalid_state"),
            },
        ],
    };
    fn bare() -> Option<Self> {
        Some(Config::default())
    }
    fn compile(self, _: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        Ok(Box::new(UsState {
            territories: self.territories,
            output: self.output,
        }))
    }
}

#[derive(Debug)]
struct UsState {
    territories: bool,
    output: Output,
}

impl UsState {
    fn lookup(&self, t: &str) -> Option<&'static Place> {
        let i = by_code(t).or_else(|| by_name(t))?;
        let place = PLACES.get(i)?;
        (self.territories || !place.territory).then_some(place)
    }
}

impl Transform for UsState {
    fn apply(&self, v: Value) -> Result<Value, RuleError> {
        apply_by_mut(self, v)
    }
    fn apply_mut(&self, v: &mut Value) -> Result<(), RuleError> {
        edit_text(v, "us_state", &|s: &mut String| {
            let Some(place) = self.lookup(s.trim()) else {
                let what = if self.territories {
                    "a US state or territory"
                } else {
                    "a US state"
                };
                return Err(RuleError::new(
                    "invalid_state",
                    format!(
                        "{} is not {what}: expected a 2-letter code such as \"CA\" or a full name such as \"California\"",
                        show(&Value::String(s.clone()))
                    ),
                ));
            };
            let out = match self.output {
                Output::Code => place.code,
                Output::Name => place.name,
            };
            // Already in the wanted form: keep the string; else reuse its allocation.
            if s != out {
                s.clear();
                s.push_str(out);
            }
            Ok(())
        })
    }
    /// A code (or name) of the table: the 50 states and DC, and the territories when accepted.
    /// Known values are converted exactly.
    fn bound(&self, input: &Bound) -> Bound {
        if let Some(b) = input.map_values(self) {
            return b;
        }
        Bound::exactly(PLACES.iter().filter(|p| self.territories || !p.territory).map(|p| match self.output {
            Output::Code => p.code,
            Output::Name => p.name,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::testing::*;
    use serde_json::json;

    #[test]
    fn table_is_complete_and_consistent() {
        assert_eq!(PLACES.iter().filter(|p| !p.territory).count(), 51);
        assert_eq!(PLACES[VI_INDEX].code, "VI");
        for (i, p) in PLACES.iter().enumerate() {
            assert_eq!(by_code(p.code), Some(i), "{}", p.code);
            assert_eq!(by_code(&p.code.to_lowercase()), Some(i), "{}", p.code);
            assert_eq!(by_name(p.name), Some(i), "{}", p.name);
            assert_eq!(by_name(&p.name.to_uppercase()), Some(i), "{}", p.name);
        }
        let mut codes: Vec<_> = PLACES.iter().map(|p| p.code).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), PLACES.len());
    }

    #[test]
    fn every_state_both_ways() {
        for p in PLACES.iter().filter(|p| !p.territory) {
            let code = json!(p.code);
            assert_eq!(run("us_state", &json!(p.name).to_string()).unwrap(), code);
            assert_eq!(
                run("us_state", &json!(p.name.to_lowercase()).to_string()).unwrap(),
                code
            );
            assert_eq!(
                run(
                    "us_state",
                    &json!(format!(" {} ", p.code.to_lowercase())).to_string()
                )
                .unwrap(),
                code
            );
            assert_eq!(
                run("{us_state: {output: name}}", &code.to_string()).unwrap(),
                json!(p.name)
            );
        }
    }

    #[test]
    fn territories_only_when_asked() {
        for (input, code) in [
            ("PR", "PR"),
            ("guam", "GU"),
            ("Gu", "GU"),
            ("U.S. Virgin Islands", "VI"),
            ("virgin islands", "VI"),
            ("American Samoa", "AS"),
            ("NORTHERN MARIANA ISLANDS", "MP"),
            ("mp", "MP"),
        ] {
            let input = json!(input).to_string();
            assert_eq!(
                run("us_state", &input).unwrap_err().reason,
                "invalid_state",
                "{input}"
            );
            assert_eq!(
                run("{us_state: {territories: true}}", &input).unwrap(),
                json!(code),
                "{input}"
            );
        }
        assert_eq!(
            run(
                "{us_state: {territories: true, output: name}}",
                r#""virgin islands""#
            )
            .unwrap(),
            json!("U.S. Virgin Islands")
        );
    }

    #[test]
    fn refusals() {
        for bad in [
            r#""""#,
            r#""   ""#,
            r#""C""#,
            r#""CAL""#,
            r#""XX""#,
            r#""N.Y.""#,
            r#""NewYork""#,
            r#""New  York""#,
            r#""Californiaa""#,
            r#""Washington DC""#,
            r#""Ca1""#,
            r#""É""#,
            r#""ÇA""#,
            "12",
            "true",
        ] {
            let e = run("us_state", bad).unwrap_err();
            assert_eq!(e.reason, "invalid_state", "{bad}");
        }
        let e = run("us_state", r#""Calif.""#).unwrap_err();
        assert!(
            e.message.contains("\"Calif.\"") && e.message.contains("not a US state"),
            "{}",
            e.message
        );
        let e = run("{us_state: {territories: true}}", r#""ZZ""#).unwrap_err();
        assert!(e.message.contains("state or territory"), "{}", e.message);
    }

    #[test]
    fn trim_is_rust_trim() {
        assert_eq!(run("us_state", r#""\u00a0\tOR\n""#).unwrap(), json!("OR"));
        assert_eq!(
            run("us_state", r#""\u00a0new mexico\u2003""#).unwrap(),
            json!("NM")
        );
    }

    #[test]
    fn null_list_and_objects() {
        assert_eq!(run("us_state", "null").unwrap(), Value::Null);
        assert_eq!(
            run("us_state", r#"["ca", null, "Texas"]"#).unwrap(),
            json!(["CA", null, "TX"])
        );
        assert_eq!(
            run("us_state", r#"{"a": 1}"#).unwrap_err().reason,
            "wrong_type"
        );
    }

    #[test]
    fn bad_options() {
        assert!(compile_err("{us_state: {output: abbreviation}}").contains("abbreviation"));
        assert!(compile_err("{us_state: {teritories: true}}").contains("teritories"));
    }

    #[test]
    fn bound_is_the_codes_or_names() {
        let b = bound("us_state", Bound::unknown());
        assert_eq!(b.max_chars, Some(2));
        let codes = b.values.unwrap_or_default();
        assert_eq!(codes.len(), 51);
        assert!(codes.contains("DC") && codes.contains("WY") && !codes.contains("PR"));
        let b = bound("{us_state: {territories: true}}", Bound::at_most(100));
        assert_eq!((b.max_chars, b.values.map(|v| v.len())), (Some(2), Some(56)));
        let b = bound("{us_state: {output: name}}", Bound::unknown());
        assert_eq!(b.max_chars, Some(20), "District of Columbia");
        let b = bound("{us_state: {output: name, territories: true}}", Bound::unknown());
        assert_eq!(b.max_chars, Some(24), "Northern Mariana Islands");
        let known = Bound::exactly(["california", "Calif.", "ny"]);
        assert_eq!(bound("us_state", known), Bound::exactly(["CA", "NY"]));
    }
}
