//! `phone`: phone numbers validated and formatted with libphonenumber's metadata.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use phonenumber::country::Id as Country;
use phonenumber::{Metadata, Mode, PhoneNumber};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::libphone::{self, MAX_NSN};
use super::memo::Memo;
use super::{Bound, CompileCtx, Example, RuleConfig, RuleDoc, RuleError, Transform, map_text, show};

/// The output form of `phone`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// `+19492651111`: plus, country code, national number, no spaces.
    #[default]
    E164,
    /// `+1 949-265-1111`: the country's international presentation.
    International,
    /// `(949) 265-1111`: the country's national presentation.
    National,
    /// `9492651111`: the national significant number, digits only (10 digits for US and
    /// Canada), as dialers such as ChaseData and CallerReady want.
    NationalDigits,
}

/// What to do with text that is not a valid phone number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Invalid {
    /// Reject the record (reason `invalid_phone`).
    #[default]
    Reject,
    /// Pass the original text through unchanged.
    Keep,
}

/// What to do with an extension (`(949) 265-1111 x12`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Extension {
    /// Drop the extension from the output.
    #[default]
    Drop,
    /// Reject the record (reason `phone_extension`).
    Reject,
}

/// Options of `phone`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The ISO 3166 country (`US`, `CA`, `GB`, `AU`, `IN`...) of numbers written without a
    /// leading `+` or international prefix. Default `US`.
    #[serde(default = "us")]
    pub region: String,
    /// `e164` (default), `international`, `national` or `national_digits`.
    #[serde(default)]
    pub format: Format,
    /// Only accept numbers of these countries (ISO codes); others fail with reason
    /// `phone_country`. Default: any country.
    #[serde(default)]
    pub countries: Option<Vec<String>>,
    /// `reject` (default) or `keep` (pass the original text through) for text that is not a valid
    /// phone number.
    #[serde(default)]
    pub invalid: Invalid,
    /// `drop` (default) or `reject` numbers that carry an extension.
    #[serde(default)]
    pub extension: Extension,
}

fn us() -> String {
    "US".into()
}

impl Default for Config {
    fn default() -> Self {
        Config {
            region: us(),
            format: Format::E164,
            countries: None,
            invalid: Invalid::Reject,
            extension: Extension::Drop,
        }
    }
}

/// A country code from the mapping, checked against libphonenumber's metadata.
fn country(option: &str, code: &str) -> Result<(Country, &'static Metadata), String> {
    let up = code.trim().to_ascii_uppercase();
    let db: &'static phonenumber::metadata::Database = &phonenumber::metadata::DATABASE;
    match up.parse::<Country>() {
        Ok(id) if let Some(meta) = db.by_id(id.as_ref()) => Ok((id, meta)),
        _ => Err(format!(
            "`{option}`: unknown country `{code}`: use a 2-letter ISO 3166 code such as US, CA, GB, AU or IN"
        )),
    }
}

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "phone",
        summary: "Validate phone numbers (libphonenumber) and format them as E.164, national digits...",
        description: "Parses the text with libphonenumber's metadata and checks that the number is \
valid for its country (length and number ranges, not just digits). Numbers written without a \
leading `+` are read as numbers of `region` (default `US`); `+`, a leading `00` international \
prefix, the region's own international prefix (`011` in the US) and a URL-encoded plus (`%2B`, \
`%2b`, as LeadSquared sends) announce a country code. Spaces, dots, dashes, slashes and \
parentheses are ignored, and a spreadsheet float suffix (`9492651111.0`) is removed.\n\n\
Options:\n\
- `format`: `e164` (default, `+19492651111`), `international` (`+1 949-265-1111`), `national` \
(`(949) 265-1111`) or `national_digits` (`9492651111`: the national significant number, 10 \
digits for US and Canada numbers, as ChaseData and CallerReady want).\n\
- `region`: the country of numbers without a country code (ISO code, checked when the mapping \
is loaded).\n\
- `countries`: a list of ISO codes; a valid number of any other country fails with reason \
`phone_country`. For `+1` numbers the country is found from the area code (`+1 416...` is CA; \
libphonenumber also knows Canada's 7-digit `310-xxxx` numbers, which `countries: [US]` keeps \
out).\n\
- `invalid`: `reject` (default, reason `invalid_phone`) or `keep` to pass the original text \
through unchanged when it is not a valid phone number (empty text included).\n\
- `extension`: an extension (`x12`, `ext. 12`) is dropped from the output by default; \
`extension: reject` fails the record with reason `phone_extension`.\n\n\
`null` passes through; lists are converted element by element.\n\n\
Each `phone` step remembers its answers for the last 1,024 to 2,048 distinct texts it saw \
(tracking numbers, agents and answering points come back call after call): a number seen lately \
costs a lookup instead of libphonenumber's parsing.",
        examples: &[
            Example {
                step: "phone",
                input: r#""(949) 265-1111""#,
                output: Ok(r#""+19492651111""#),
            },
            Example {
                step: "phone",
                input: "9492651111",
                output: Ok(r#""+19492651111""#),
            },
            Example {
                step: "{phone: {format: national_digits}}",
                input: r#""+1 949.265.1111""#,
                output: Ok(r#""9492651111""#),
            },
            Example {
                step: "{phone: {format: national}}",
                input: r#""949-265-1111 x12""#,
                output: Ok(r#""(949) 265-1111""#),
            },
            Example {
                step: "phone",
                input: r#""%2b919611795983""#,
                output: Ok(r#""+919611795983""#),
            },
            Example {
                step: "{phone: {region: AU, format: international}}",
                input: r#""02 8888 9999""#,
                output: Ok(r#""+61 2 8888 9999""#),
            },
            Example {
                step: "{phone: {countries: [US, CA]}}",
                input: r#""+61444444444""#,
                output: Err("phone_country"),
            },
            Example {
                step: "phone",
                input: r#""12345""#,
                output: Err("invalid_phone"),
            },
            Example {
                step: "phone",
                input: r#""212-555-01234""#,
                output: Err("invalid_phone"),
            },
            Example {
                step: "{phone: {invalid: keep}}",
                input: r#""call me""#,
                output: Ok(r#""call me""#),
            },
            Example {
                step: "{phone: {extension: reject}}",
                input: r#""(949) 265-1111 ext. 12""#,
                output: Err("phone_extension"),
            },
        ],
    };
    fn bare() -> Option<Self> {
        Some(Config::default())
    }
    fn compile(self, _: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        Ok(Box::new(self.build()?))
    }
}

impl Config {
    fn build(self) -> Result<Phone, String> {
        let (region, region_meta) = country("region", &self.region)?;
        let countries = match self.countries {
            None => None,
            Some(list) if list.is_empty() => {
                return Err("`countries` is empty: list the accepted countries (e.g. [US, CA]) or leave it out".into());
            }
            Some(list) => Some(
                list.iter()
                    .map(|c| country("countries", c).map(|(id, _)| id))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        let countries_text = countries
            .as_ref()
            .map(|l| l.iter().map(|c| c.as_ref()).collect::<Vec<_>>().join(", "));
        libphone::prepare(region_meta);
        Ok(Phone {
            reader: libphone::Reader::new(region_meta),
            region,
            region_meta: RegionMeta(region_meta),
            format: self.format,
            countries,
            countries_text: countries_text.unwrap_or_default(),
            invalid: self.invalid,
            extension: self.extension,
            memo: Memo::new(MEMO_CAPACITY, MAX_INPUT),
        })
    }
}

#[derive(Debug)]
struct Phone {
    region: Country,
    region_meta: RegionMeta,
    format: Format,
    countries: Option<Vec<Country>>,
    countries_text: String,
    invalid: Invalid,
    extension: Extension,
    /// Recent answers: libphonenumber's parse and validation cost tens of microseconds, and the
    /// same numbers (tracking numbers, agents, answering points) come back call after call.
    memo: Memo<Result<Value, RuleError>>,
    /// Reads the plainest texts without `phonenumber::parse` (`None`: a pattern of the region
    /// did not compile with our regex engine).
    reader: Option<libphone::Reader>,
}

/// How many distinct recent inputs each `phone` step remembers (at most twice as many are kept).
const MEMO_CAPACITY: usize = 1024;

/// The longest text handed to libphonenumber (its `MAX_INPUT_STRING_LENGTH`).
const MAX_INPUT: usize = 250;

/// libphonenumber's metadata of the default region (for its international dialing prefix).
struct RegionMeta(&'static Metadata);

impl fmt::Debug for RegionMeta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Metadata({})", self.0.id())
    }
}

impl Phone {
    /// Undo what transports and spreadsheets do to phone numbers before libphonenumber sees
    /// them: a URL-encoded plus, a `00` international prefix, a float suffix.
    fn normalize<'a>(&self, t: &'a str) -> Cow<'a, str> {
        let mut t = Cow::Borrowed(t);
        if let Some(rest) = t.strip_prefix("%2B").or_else(|| t.strip_prefix("%2b")) {
            t = Cow::Owned(format!("+{}", rest.trim_start()));
        }
        // `00` is the international prefix of most of the world. Where the region dials abroad
        // with something else that starts with 00 (Australia's 0011), libphonenumber strips it.
        if let Some(rest) = t.strip_prefix("00")
            && !self.starts_with_region_idd(&t)
        {
            t = Cow::Owned(format!("+{rest}"));
        }
        let digits = t.strip_prefix('+').unwrap_or(&t);
        if digits
            .strip_suffix(".0")
            .is_some_and(|int| !int.is_empty() && int.bytes().all(|b| b.is_ascii_digit()))
            && let Some(head) = t.strip_suffix(".0")
        {
            t = Cow::Owned(head.to_owned());
        }
        t
    }

    /// Whether the digits of `t` start with the default region's international dialing prefix.
    fn starts_with_region_idd(&self, t: &str) -> bool {
        let digits: String = t.chars().filter(char::is_ascii_digit).collect();
        self.region_meta
            .0
            .international_prefix()
            .and_then(|re| re.find(&digits))
            .is_some_and(|m| m.start() == 0)
    }

    fn invalid(&self, s: String, why: &str) -> Result<Value, RuleError> {
        match self.invalid {
            Invalid::Keep => Ok(Value::String(s)),
            Invalid::Reject => Err(RuleError::new(
                "invalid_phone",
                format!(
                    "{} is not a valid phone number{why}",
                    show(&Value::String(s))
                ),
            )),
        }
    }

    fn convert(&self, s: String) -> Result<Value, RuleError> {
        let t = s.trim();
        if t.is_empty() {
            return self.invalid(s, " (empty)");
        }
        // libphonenumber's own input limit; longer text is not a phone number (and would only
        // cost time).
        if t.len() > MAX_INPUT {
            return self.invalid(s, " (too long)");
        }
        let text = self.normalize(t);
        if let Some(answer) = self.read_plain(&s, &text) {
            return answer;
        }
        let Ok(mut number) = phonenumber::parse(Some(self.region), &*text) else {
            return self.invalid(s, "");
        };
        let Some(id) = libphone::valid_country(&number) else {
            let why = self.why_not_valid(&text);
            return self.invalid(s, &why);
        };
        self.accepted(&s, id, number.code().value())?;
        if let Some(ext) = number.extension() {
            if self.extension == Extension::Reject {
                return Err(RuleError::new(
                    "phone_extension",
                    format!(
                        "{} has an extension ({ext}); extensions are not accepted",
                        show(&Value::String(s))
                    ),
                ));
            }
            // The national and international presentations print the extension: format the
            // number without it.
            if matches!(self.format, Format::International | Format::National) {
                let plain = format!("+{}{}", number.code().value(), number.national());
                match phonenumber::parse(None, plain) {
                    Ok(n) => number = n,
                    Err(_) => return self.invalid(s, ""),
                }
            }
        }
        match self.render(&number) {
            Some(out) => Ok(Value::String(out)),
            None => self.invalid(s, ""),
        }
    }

    /// The answer for a text that [`libphone::Reader`] reads (`None`: libphonenumber's parser
    /// must read it). Only for the formats written from the calling code and the national
    /// number alone: E.164 and national digits.
    fn read_plain(&self, s: &str, text: &str) -> Option<Result<Value, RuleError>> {
        if !matches!(self.format, Format::E164 | Format::NationalDigits) {
            return None;
        }
        let mut national = String::with_capacity(text.len());
        let code = self.reader.as_ref()?.read(text, &mut national)?;
        let answer = match libphone::decide(code, &national)? {
            None => self.invalid(s.to_owned(), &self.why_not_valid(text)),
            Some(id) => self.accepted(s, id, code).map(|()| {
                Value::String(match self.format {
                    Format::E164 => libphone::plain_e164(code, &national),
                    _ => national,
                })
            }),
        };
        Some(answer)
    }

    /// Why `text`, which libphonenumber reads, is not a valid number.
    fn why_not_valid(&self, text: &str) -> String {
        if text.starts_with('+') {
            String::new()
        } else {
            format!(
                " (numbers without +country code are read as {} numbers)",
                self.region.as_ref()
            )
        }
    }

    /// Whether the valid number's country (`id`, of calling code `code`) is accepted.
    fn accepted(&self, s: &str, id: Option<Country>, code: u16) -> Result<(), RuleError> {
        if let Some(allowed) = &self.countries
            && !id.is_some_and(|id| allowed.contains(&id))
        {
            let from = id.map_or_else(|| format!("+{code}"), |id| id.as_ref().to_owned());
            return Err(RuleError::new(
                "phone_country",
                format!(
                    "{} is a phone number of {from}; accepted countries: {}",
                    show(&Value::String(s.to_owned())),
                    self.countries_text
                ),
            ));
        }
        Ok(())
    }

    /// The longest national significant number, and the longest E.164 text, of a valid number
    /// of the accepted countries (any country without `countries`). libphonenumber takes a
    /// number as valid only when it has one of the possible lengths of a number type of its
    /// region (a type without lengths is limited by the parser).
    fn longest(&self) -> (usize, usize) {
        let db: &'static phonenumber::metadata::Database = &phonenumber::metadata::DATABASE;
        // All the regions of a country's calling code: which of them validates a number is
        // libphonenumber's business.
        let codes: Vec<u16> = match &self.countries {
            Some(list) => list.iter().filter_map(|c| db.by_id(c.as_ref())).map(Metadata::country_code).collect(),
            None => (1..=999).collect(),
        };
        let (mut nsn, mut e164) = (0, 0);
        for code in codes {
            for meta in db.by_code(&code).unwrap_or_default() {
                let types = [
                    meta.descriptors().premium_rate(),
                    meta.descriptors().toll_free(),
                    meta.descriptors().shared_cost(),
                    meta.descriptors().voip(),
                    meta.descriptors().personal_number(),
                    meta.descriptors().pager(),
                    meta.descriptors().uan(),
                    meta.descriptors().voicemail(),
                    meta.descriptors().fixed_line(),
                    meta.descriptors().mobile(),
                ];
                let n = types
                    .into_iter()
                    .flatten()
                    .map(|d| d.possible_length().iter().max().map_or(MAX_NSN, |&l| usize::from(l)))
                    .max()
                    .unwrap_or(0);
                nsn = nsn.max(n);
                e164 = e164.max(1 + code.to_string().len() + n);
            }
        }
        (nsn, e164)
    }

    /// The number in the wanted format; `None` if libphonenumber cannot format it.
    fn render(&self, n: &PhoneNumber) -> Option<String> {
        let mut out = String::with_capacity(20);
        let mode = match self.format {
            Format::NationalDigits => {
                write!(out, "{}", n.national()).ok()?;
                return Some(out);
            }
            Format::E164 => {
                libphone::e164(n, &mut out);
                return Some(out);
            }
            Format::International => Mode::International,
            Format::National => Mode::National,
        };
        // Formatting reports an unknown country code as a `fmt::Error`: never `to_string()`.
        write!(out, "{}", n.format().mode(mode)).ok()?;
        Some(out)
    }
}

impl Transform for Phone {
    fn apply(&self, v: Value) -> Result<Value, RuleError> {
        map_text(v, "phone", &|s: String| {
            self.memo.get_or(&s, || self.convert(s.clone()))
        })
    }

    /// E.164 and national digits are as long as the longest valid number of the accepted
    /// countries (from libphonenumber's metadata: 12 and 10 characters for US and Canada, 20 and
    /// 17 for any country); the presentations with spaces and punctuation are not bounded.
    /// `invalid: keep` adds the input. Known values are converted exactly.
    fn bound(&self, input: &Bound) -> Bound {
        let max = match self.format {
            Format::E164 => Some(self.longest().1),
            Format::NationalDigits => Some(self.longest().0),
            Format::International | Format::National => None,
        };
        let max = match self.invalid {
            Invalid::Reject => max,
            Invalid::Keep => max.zip(input.max_chars).map(|(a, b)| a.max(b)),
        };
        input.mapped_or(self, max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::compile_yaml_step;
    use crate::transform::testing::*;
    use serde_json::json;

    fn ok(step: &str, input: &str) -> String {
        match run(step, &json!(input).to_string()) {
            Ok(Value::String(s)) => s,
            other => panic!("{step} on {input:?}: {other:?}"),
        }
    }

    fn reason(step: &str, input: &str) -> String {
        match run(step, &json!(input).to_string()) {
            Err(e) => e.reason.into_owned(),
            Ok(v) => panic!("{step} on {input:?} gave {v}"),
        }
    }

    /// Texts read without libphonenumber's parser get the answers it gives: the same step with
    /// and without the reader, on numbers in the dresses people and systems write them in.
    #[test]
    fn plain_texts_read_as_libphonenumber_reads_them() {
        let configs = [
            ("AU", Format::E164, None),
            ("US", Format::E164, None),
            ("US", Format::NationalDigits, Some(vec!["US".to_owned(), "CA".to_owned()])),
            ("GB", Format::E164, Some(vec!["GB".to_owned()])),
            ("IT", Format::NationalDigits, None),
            ("BR", Format::E164, None),
        ];
        let texts = [
            "+61412345678", "+61 412 345 678", "+61-412-345-678", "+61.2.9876.5432",
            "0412345678", "0298765432", "412345678", "(02) 9876 5432", "0011 61 2 9876 5432",
            "+1 (949) 265-1111", "(949) 265-1111", "949.265.1111", "949-265-1111", "9492651111",
            "1 949 265 1111", "+19492651111", "+1-949-265-1111", "+44 20 7946 0958",
            "020 7946 0958", "+39 06 6982 1234", "06 6982 1234", "+55 11 91234-5678",
            "(11) 91234-5678", "+800 1234 5678", "+999 123", "123", "12", "+1", "000000",
            "+0 12 345", "+61-4", "+61412345678-", "+614-12-345-678", "+1 000 000 0000",
            "99999999999999999", "+9999999999999999999", "+61 (0) 412 345 678",
        ];
        for (region, format, countries) in configs {
            let config = || Config {
                region: region.to_owned(),
                format,
                countries: countries.clone(),
                invalid: Invalid::Reject,
                extension: Extension::Drop,
            };
            let fast = config().build().unwrap();
            assert!(fast.reader.is_some(), "{region}");
            let mut slow = config().build().unwrap();
            slow.reader = None;
            for t in texts {
                let (a, b) = (fast.convert(t.to_owned()), slow.convert(t.to_owned()));
                assert_eq!(
                    a.as_ref().map_err(|e| (&e.reason, &e.message)),
                    b.as_ref().map_err(|e| (&e.reason, &e.message)),
                    "{t:?} as {region} {format:?}"
                );
            }
        }
    }

    /// The memo of recent numbers answers exactly what computing again would, per input text
    /// (the original text is what `invalid: keep` gives back, so " 12345" is not "12345").
    #[test]
    fn remembered_answers_are_the_computed_ones() {
        let step = "{phone: {invalid: keep, format: national}}";
        let t = compile_yaml_step(step, &cx()).unwrap();
        let inputs = [
            "(949) 265-1111",
            " 12345",
            "12345",
            "949-265-1111 x12",
            "+61 2 8888 9999",
            "",
        ];
        let first: Vec<_> = inputs.iter().map(|i| t.apply(json!(i))).collect();
        assert_eq!(first[1], Ok(json!(" 12345")));
        assert_eq!(first[2], Ok(json!("12345")));
        for _ in 0..3 {
            let again: Vec<_> = inputs.iter().map(|i| t.apply(json!(i))).collect();
            assert_eq!(again, first);
        }
        // More distinct numbers than the memo keeps: still the same answers.
        let many: Vec<String> = (0..3 * MEMO_CAPACITY).map(|i| format!("949-265-{:04}", i % 10_000)).collect();
        let once: Vec<_> = many.iter().map(|i| t.apply(json!(i))).collect();
        let twice: Vec<_> = many.iter().map(|i| t.apply(json!(i))).collect();
        assert_eq!(once, twice);
        let fresh = compile_yaml_step(step, &cx()).unwrap();
        assert_eq!(fresh.apply(json!(many[7])), once[7]);
    }

    #[test]
    fn us_numbers_in_every_dress() {
        for input in [
            "+1 949 265 1111",
            "(949) 265-1111",
            "949-265-1111",
            "949.265.1111",
            "9492651111",
            "19492651111",
            "1-949-265-1111",
            "+1 (949) 265-1111",
            "  949 265 1111\t",
            "%2B19492651111",
            "%2b1 949 265 1111",
            "001 949 265 1111",
            "011 1 949 265 1111",
            "9492651111.0",
            "tel:+1-949-265-1111",
        ] {
            assert_eq!(ok("phone", input), "+19492651111", "{input}");
        }
        assert_eq!(run("phone", "9492651111").unwrap(), json!("+19492651111"));
        assert_eq!(run("phone", "9492651111.0").unwrap(), json!("+19492651111"));
    }

    #[test]
    fn formats() {
        let n = "(949) 265-1111";
        assert_eq!(ok("{phone: {format: e164}}", n), "+19492651111");
        assert_eq!(ok("{phone: {format: international}}", n), "+1 949-265-1111");
        assert_eq!(ok("{phone: {format: national}}", n), "(949) 265-1111");
        assert_eq!(ok("{phone: {format: national_digits}}", n), "9492651111");
        // Canada: also 10 national digits.
        assert_eq!(
            ok("{phone: {format: national_digits}}", "+1 416 555 0123"),
            "4165550123"
        );
        // Italy keeps the leading zero of fixed lines in the national significant number.
        assert_eq!(
            ok("{phone: {format: national_digits}}", "+39 06 6982 1234"),
            "0669821234"
        );
        assert_eq!(ok("phone", "+39 06 6982 1234"), "+390669821234");
    }

    #[test]
    fn other_countries() {
        assert_eq!(ok("phone", "+919611795983"), "+919611795983");
        assert_eq!(ok("phone", "%2b919611795983"), "+919611795983");
        assert_eq!(ok("{phone: {region: IN}}", "09611795983"), "+919611795983");
        assert_eq!(
            ok(
                "{phone: {region: IN, format: national_digits}}",
                "9611795983"
            ),
            "9611795983"
        );
        assert_eq!(ok("phone", "+61444444444"), "+61444444444");
        assert_eq!(ok("{phone: {region: AU}}", "0288889999"), "+61288889999");
        assert_eq!(ok("{phone: {region: au}}", "0444 444 444"), "+61444444444");
        assert_eq!(
            ok("{phone: {region: AU, format: national}}", "+61288889999"),
            "(02) 8888 9999"
        );
        assert_eq!(ok("phone", "0044 20 7946 0958"), "+442079460958");
        assert_eq!(
            ok("{phone: {region: GB}}", "020 7946 0958"),
            "+442079460958"
        );
        // An AU national number read as US is not valid.
        assert_eq!(reason("phone", "0288889999"), "invalid_phone");
    }

    #[test]
    fn invalid_numbers() {
        for input in [
            "",
            "   ",
            "12345",
            "+44 20 1234",
            "21234567890",
            "555-0100",
            "949-265-11111",
            "(000) 000-0000",
            "+1 123 456 7890",
            "call me",
            "john@example.com",
            "%2B",
            "00",
            "+",
            "9492651111.5",
        ] {
            assert_eq!(reason("phone", input), "invalid_phone", "{input}");
        }
        let e = run("phone", r#""12345""#).unwrap_err();
        assert!(
            e.message.contains("\"12345\" is not a valid phone number"),
            "{}",
            e.message
        );
        assert!(e.message.contains("read as US numbers"), "{}", e.message);
        let e = run("phone", r#""+44 20 1234""#).unwrap_err();
        assert!(!e.message.contains("read as"), "{}", e.message);
    }

    #[test]
    fn long_text_is_refused_quickly() {
        let long = format!("(949) 265-1111 {}", "x".repeat(300));
        assert_eq!(reason("phone", &long), "invalid_phone");
        let e = run("phone", &json!(long).to_string()).unwrap_err();
        assert!(e.message.contains("(too long)"), "{}", e.message);
    }

    #[test]
    fn keep_invalid() {
        let step = "{phone: {invalid: keep}}";
        assert_eq!(run(step, r#"" 12345 ""#).unwrap(), json!(" 12345 "));
        assert_eq!(run(step, r#""""#).unwrap(), json!(""));
        assert_eq!(
            run(step, r#""(949) 265-1111""#).unwrap(),
            json!("+19492651111")
        );
    }

    #[test]
    fn extensions() {
        for input in [
            "(949) 265-1111 x12",
            "949-265-1111 ext. 12",
            "949-265-1111 ext 12",
            "tel:+1-949-265-1111;ext=12",
            "949 265 1111 #12",
        ] {
            assert_eq!(ok("phone", input), "+19492651111", "{input}");
            assert_eq!(
                ok("{phone: {format: international}}", input),
                "+1 949-265-1111",
                "{input}"
            );
            assert_eq!(
                ok("{phone: {format: national}}", input),
                "(949) 265-1111",
                "{input}"
            );
            assert_eq!(
                ok("{phone: {format: national_digits}}", input),
                "9492651111",
                "{input}"
            );
            assert_eq!(
                reason("{phone: {extension: reject}}", input),
                "phone_extension",
                "{input}"
            );
        }
        let e = run("{phone: {extension: reject}}", r#""(949) 265-1111 x12""#).unwrap_err();
        assert!(e.message.contains("extension (12)"), "{}", e.message);
        assert_eq!(
            ok("{phone: {extension: reject}}", "(949) 265-1111"),
            "+19492651111"
        );
    }

    #[test]
    fn countries_filter() {
        let step = "{phone: {countries: [US, CA]}}";
        assert_eq!(ok(step, "(949) 265-1111"), "+19492651111");
        assert_eq!(ok(step, "+1 416 555 0123"), "+14165550123");
        assert_eq!(
            reason("{phone: {countries: [US]}}", "+1 416 555 0123"),
            "phone_country"
        );
        let e = run(step, r#""+919611795983""#).unwrap_err();
        assert_eq!(e.reason, "phone_country");
        assert!(
            e.message.contains("of IN") && e.message.contains("accepted countries: US, CA"),
            "{}",
            e.message
        );
        // An invalid number is still `invalid_phone`, and `keep` does not cover the country filter.
        assert_eq!(reason(step, "12345"), "invalid_phone");
        assert_eq!(
            reason("{phone: {countries: [US], invalid: keep}}", "+919611795983"),
            "phone_country"
        );
    }

    #[test]
    fn null_lists_objects() {
        assert_eq!(run("phone", "null").unwrap(), Value::Null);
        assert_eq!(
            run("phone", r#"["9492651111", null]"#).unwrap(),
            json!(["+19492651111", null])
        );
        assert_eq!(
            run("phone", r#"{"n": 1}"#).unwrap_err().reason,
            "wrong_type"
        );
        assert_eq!(run("phone", "true").unwrap_err().reason, "invalid_phone");
    }

    #[test]
    fn bad_options() {
        let e = compile_err("{phone: {region: USA}}");
        assert!(e.contains("unknown country `USA`"), "{e}");
        let e = compile_err("{phone: {countries: [US, XX]}}");
        assert!(e.contains("`countries`: unknown country `XX`"), "{e}");
        assert!(compile_err("{phone: {countries: []}}").contains("empty"));
        assert!(compile_err("{phone: {format: e123}}").contains("e123"));
        assert!(compile_err("{phone: {extension: keep}}").contains("keep"));
    }

    #[test]
    fn odd_text_never_panics() {
        let step = "{phone: {format: international}}";
        for input in [
            "+",
            "++1",
            "+0",
            "+000000000000000",
            "+9999999999999999999999",
            "%2B%2B1",
            "x12",
            "ext",
            "1;ext=",
            "tel:",
            "tel:;phone-context=",
            ";phone-context=+1",
            "+dwPAA;phone-context=AA",
            ".;phone-context=",
            " 2 22#:",
            "(((((",
            "9".repeat(200).as_str(),
            "+1 949 265 1111 x",
            "+1 949 265 1111 x99999999999999999999",
            "０９４９２６５１１１１",
            "+٩٤٩٢٦٥١١١١",
            "\u{0}949\u{0}2651111",
            "00000000000",
            "+80012345678",
            "+882 1234 5678",
        ] {
            let _ = run(step, &json!(input).to_string());
            let _ = run("{phone: {format: national}}", &json!(input).to_string());
            let _ = run(
                "{phone: {format: national_digits}}",
                &json!(input).to_string(),
            );
        }
    }

    #[test]
    fn bound_from_the_metadata() {
        // Any country: Indonesia (+62) and Japan (+81) have 17-digit numbers.
        assert_eq!(bound("phone", Bound::unknown()), Bound::at_most(20));
        assert_eq!(bound("{phone: {format: national_digits}}", Bound::unknown()), Bound::at_most(17));
        let us = "{phone: {countries: [US, CA]}}";
        assert_eq!(bound(us, Bound::at_most(40)), Bound::at_most(12));
        let us = "{phone: {countries: [US], format: national_digits}}";
        assert_eq!(bound(us, Bound::unknown()), Bound::at_most(10));
        // Germany: up to 15 digits after +49.
        assert_eq!(bound("{phone: {countries: [DE]}}", Bound::unknown()), Bound::at_most(18));
        assert_eq!(bound("{phone: {format: national}}", Bound::at_most(14)), Bound::unknown());
        assert_eq!(bound("{phone: {format: international}}", Bound::at_most(14)), Bound::unknown());
    }

    #[test]
    fn bound_keep_and_known_values() {
        let keep = "{phone: {countries: [US], invalid: keep}}";
        assert_eq!(bound(keep, Bound::at_most(5)), Bound::at_most(12));
        assert_eq!(bound(keep, Bound::at_most(30)), Bound::at_most(30));
        assert_eq!(bound(keep, Bound::unknown()), Bound::unknown());
        let known = Bound::exactly(["(949) 265-1111", "9492651111", "12345"]);
        assert_eq!(bound("phone", known.clone()), Bound::exactly(["+19492651111"]));
        assert_eq!(bound(keep, known), Bound::exactly(["+19492651111", "12345"]));
    }

    /// Every example number of libphonenumber's metadata (valid numbers of every type of every
    /// region) comes out within the bound, in both bounded formats.
    #[test]
    fn example_numbers_are_within_the_bound() {
        let e164 = compile_yaml_step("phone", &cx()).unwrap();
        let digits = compile_yaml_step("{phone: {format: national_digits}}", &cx()).unwrap();
        let (max_e164, max_digits) = (20, 17);
        assert_eq!(e164.bound(&Bound::unknown()), Bound::at_most(max_e164));
        assert_eq!(digits.bound(&Bound::unknown()), Bound::at_most(max_digits));
        let db: &phonenumber::metadata::Database = &phonenumber::metadata::DATABASE;
        let (mut checked, mut longest) = (0, 0);
        for code in 1..=999_u16 {
            for meta in db.by_code(&code).unwrap_or_default() {
                let d = meta.descriptors();
                let types = [d.premium_rate(), d.toll_free(), d.shared_cost(), d.voip(), d.personal_number(), d.pager(), d.uan(), d.voicemail(), d.fixed_line(), d.mobile()];
                for example in types.into_iter().flatten().filter_map(|t| t.example()) {
                    let Ok(Value::String(out)) = e164.apply(Value::from(format!("+{code}{example}"))) else { continue };
                    assert!(out.len() <= max_e164, "{out}");
                    longest = longest.max(out.len());
                    let Ok(Value::String(out)) = digits.apply(Value::from(format!("+{code}{example}"))) else { continue };
                    assert!(out.len() <= max_digits, "{out}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 1000, "{checked} examples");
        // The bound is reached: an Indonesian toll-free number has 17 digits.
        let top = e164.apply(Value::from("+62 001803 12345678901")).unwrap();
        assert_eq!(top, Value::from("+6200180312345678901"));
        assert_eq!(top.as_str().map(str::len), Some(max_e164));
        assert!(longest >= 16, "the longest example has {longest} characters");
    }
}
