//! libphonenumber's reading of a number (`phonenumber::parse`, for plain texts), its validity
//! check (`phonenumber::is_valid`) and the country of a number (`PhoneNumber::country().id()`),
//! with the same metadata and the same decisions, but with the metadata's patterns compiled once
//! into our own regexes.
//!
//! Not a rule: a helper of the `phone` rule. The `phonenumber` crate keeps its patterns in a
//! shared cache of 100 compiled regexes behind one mutex, keyed by the pattern's text: every
//! match locks it and hashes a pattern of up to several hundred bytes, and checking one number
//! takes about a dozen matches. That was two thirds of the time the `phone` rule spent on a
//! number. Here the patterns of a country calling code are compiled the first time a number of
//! that code is checked, and kept for the life of the process.
//!
//! The logic mirrors `phonenumber::validator` (`is_valid_with`, `source_for`, `number_type`,
//! `Descriptor::is_match`) and, for [`Reader`], `phonenumber::parse_with`, step by step; the
//! tests compare both on every example number of the metadata and on many generated numbers
//! and texts.

use std::sync::{LazyLock, OnceLock};

use phonenumber::metadata::{DATABASE, Descriptor};
use phonenumber::{Metadata, PhoneNumber};
use regex::Regex;

/// A number type's pattern (`Descriptor`): the possible lengths, and the national number
/// pattern matched from the start of the number.
struct Pattern {
    lengths: Vec<u16>,
    re: Regex,
}

impl Pattern {
    fn new(d: &Descriptor) -> Option<Self> {
        Some(Pattern {
            lengths: d.possible_length().to_vec(),
            re: anchored(d.national_number().as_str())?,
        })
    }

    /// `Descriptor::is_match`: one of the possible lengths (when any is given), and the pattern
    /// matches from the first digit.
    fn is_match(&self, national: &str) -> bool {
        (self.lengths.is_empty()
            || u16::try_from(national.len()).is_ok_and(|l| self.lengths.contains(&l)))
            && self.re.is_match(national)
    }
}

/// A pattern that matches where the original finds a match starting at the first character
/// (the leftmost match starts there exactly when some match does). The metadata's patterns are
/// written for "ignore whitespace" mode, as the `phonenumber` crate compiles them.
fn anchored(pattern: &str) -> Option<Regex> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})"))
        .ignore_whitespace(true)
        .build()
        .ok()
}

/// One region's metadata: its leading digits compiled at once, its number patterns the first
/// time a number is checked against them (`+1` has 25 regions; most numbers are decided by the
/// first).
struct Region {
    meta: &'static Metadata,
    leading_digits: Option<Regex>,
    patterns: OnceLock<Option<Patterns>>,
}

struct Patterns {
    general: Pattern,
    /// The number types, mobile and fixed-line first; a number is valid when the general
    /// pattern and one of them match.
    types: Vec<Pattern>,
}

impl Region {
    fn new(meta: &'static Metadata) -> Option<Self> {
        Some(Region {
            meta,
            leading_digits: match meta.leading_digits() {
                Some(re) => Some(anchored(re.as_str())?),
                None => None,
            },
            patterns: OnceLock::new(),
        })
    }

    /// `number_type(meta, national) != Type::Unknown`; `None` when a pattern did not compile.
    fn knows(&self, national: &str) -> Option<bool> {
        let p = self
            .patterns
            .get_or_init(|| Patterns::new(self.meta))
            .as_ref()?;
        Some(p.general.is_match(national) && p.types.iter().any(|t| t.is_match(national)))
    }
}

impl Patterns {
    fn new(meta: &'static Metadata) -> Option<Self> {
        let d = meta.descriptors();
        // libphonenumber tries the types in this order to say which one a number is, premium
        // rate first; whether it is any of them does not depend on the order, and most numbers
        // are mobile or fixed-line, so those are tried first.
        let types = [
            d.mobile(),
            d.fixed_line(),
            d.premium_rate(),
            d.toll_free(),
            d.shared_cost(),
            d.voip(),
            d.personal_number(),
            d.pager(),
            d.uan(),
            d.voicemail(),
        ];
        Some(Patterns {
            general: Pattern::new(d.general())?,
            types: types
                .into_iter()
                .flatten()
                .map(Pattern::new)
                .collect::<Option<_>>()?,
        })
    }
}

/// The regions of one country calling code, in the metadata's order (the main region first).
enum Code {
    /// One region, or the non-geographic entity `001`: numbers are checked against it.
    Single(Region),
    /// Several regions (`+1`, `+7`, `+44`, ...): a number belongs to the first whose leading
    /// digits match, or, for a region without leading digits, that knows the number.
    Shared(Vec<Region>),
}

/// Compiled codes, by calling code (1 to 999); `None` inside: no such code, or a pattern our
/// regex engine refused (then `phonenumber`'s own check is used).
static CODES: [OnceLock<Option<Code>>; 1000] = [const { OnceLock::new() }; 1000];

fn code(code: u16) -> Option<&'static Code> {
    CODES
        .get(usize::from(code))?
        .get_or_init(|| compile(code))
        .as_ref()
}

fn compile(code: u16) -> Option<Code> {
    let db = &*DATABASE;
    let regions = db.region(&code)?;
    if let [only] = regions.as_slice() {
        let meta = if *only == "001" {
            db.by_code(&code)?.into_iter().next()?
        } else {
            db.by_id(*only)?
        };
        return Region::new(meta).map(Code::Single);
    }
    regions
        .iter()
        .map(|r| db.by_id(*r).and_then(Region::new))
        .collect::<Option<_>>()
        .map(Code::Shared)
}

/// `source_for`: the region whose rules apply to a national number of `code` (`Ok(None)`: no
/// region claims it), and whether it is already known to be valid there (a region without
/// leading digits claims only the numbers it knows); `Err` when a pattern did not compile.
fn region(code: &'static Code, national: &str) -> Result<Option<(&'static Region, bool)>, ()> {
    match code {
        Code::Single(r) => Ok(Some((r, false))),
        Code::Shared(regions) => {
            for r in regions {
                let (claims, known) = match &r.leading_digits {
                    Some(re) => (re.is_match(national), false),
                    None => {
                        let k = r.knows(national).ok_or(())?;
                        (k, k)
                    }
                };
                if claims {
                    return Ok(Some((r, known)));
                }
            }
            Ok(None)
        }
    }
}

/// Compile ahead of the first number what checking a number of `region` needs (a rule's default
/// region, when its mapping is loaded): the patterns of the regions consulted before it and its
/// own.
pub fn prepare(region: &'static Metadata) {
    let regions = match code(region.country_code()) {
        Some(Code::Single(r)) => std::slice::from_ref(r),
        Some(Code::Shared(list)) => list.as_slice(),
        None => return,
    };
    for r in regions {
        if r.leading_digits.is_none() || std::ptr::eq(r.meta, region) {
            let _ = r.knows("");
        }
        if std::ptr::eq(r.meta, region) {
            break;
        }
    }
}

/// `phonenumber::is_valid(n).then(|| n.country().id())`: `None` for an invalid number, else its
/// country.
pub fn valid_country(n: &PhoneNumber) -> Option<Option<phonenumber::country::Id>> {
    decide(n.code().value(), &n.national().to_string())
        .unwrap_or_else(|| phonenumber::is_valid(n).then(|| n.country().id()))
}

/// [`valid_country`] of the number with calling code `code` and national significant number
/// `national` (as `NationalNumber` prints it: its leading zeros, then its value); `None` when a
/// pattern did not compile and only `phonenumber` can answer. Both answers rest on the region
/// that claims the number; for a national number without leading zeros (nearly all) that region
/// is found once for both.
pub fn decide(code_value: u16, national: &str) -> Option<Option<Option<phonenumber::country::Id>>> {
    let code = code(code_value)?;
    let claim = region(code, national).ok()?;
    let valid = match claim {
        Some((_, true)) => true,
        Some((r, false)) => r.knows(national)?,
        None => false,
    };
    if !valid {
        return Some(None);
    }
    // `PhoneNumber::country` reads the national number without its leading zeros.
    let value = national.trim_start_matches('0');
    let claim = if value.len() == national.len() {
        claim
    } else {
        region(code, value).ok()?
    };
    Some(Some(claim.and_then(|(r, _)| r.meta.id().parse().ok())))
}

/// A valid number in E.164: what libphonenumber's formatter writes in that mode (`+`, the
/// country code, the national significant number), without the national formatting rules the
/// formatter looks up first (E.164 uses none of them; finding one matches the metadata's
/// leading-digit patterns, most of the cost of formatting). The formatter fails only for a
/// country code without metadata, which no valid number has.
pub fn e164(n: &PhoneNumber, out: &mut String) {
    use std::fmt::Write;
    let _ = write!(out, "+{}{}", n.code().value(), n.national());
}

/// `+`, the calling code and the national number's digits: what [`e164`] writes, without the
/// formatting machinery (`format!` was about 900 of the 5,800 instructions a new number cost
/// the sidecar).
pub fn plain_e164(code: u16, national: &str) -> String {
    let mut out = String::with_capacity(national.len() + 6);
    out.push('+');
    let mut digits = [0u8; 5];
    let mut n = code;
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[at..] {
        out.push(char::from(d));
    }
    out.push_str(national);
    out
}

/// The calling codes that have metadata (`DATABASE.by_code(&c).is_some()`), by code.
static KNOWN_CODES: LazyLock<Vec<bool>> = LazyLock::new(|| {
    (0..1000u16)
        .map(|c| DATABASE.by_code(&c).is_some())
        .collect()
});

fn known_code(code: u16) -> bool {
    KNOWN_CODES.get(usize::from(code)).copied().unwrap_or(false)
}

/// `phonenumber::parse(Some(region), text)` for the plainest texts, which is most of them: an
/// optional `+`, then digits, spaces, `-`, `.`, `(` and `)`. libphonenumber first checks such a
/// text's syntax with a parser that tries a list of some forty punctuation characters on every
/// character, and runs its patterns through a shared cache keyed by their text; that was most of
/// what reading a number cost.
///
/// [`Reader::read`] answers only where the answer is certain to be `phonenumber`'s: a number
/// that is plainly there, with no national prefix, carrier code or international dialing prefix
/// to strip and no country code to find in a number written without `+`. Anything else (and
/// every text `phonenumber` refuses) is left to `phonenumber::parse`. The steps mirror its
/// `parse_with` and `parser::helper` (`country_code`, `international_prefix`,
/// `national_number`); the tests compare both on the example numbers of every region, in many
/// dresses, and on random texts.
#[derive(Debug)]
pub struct Reader {
    /// The region's calling code, as digits.
    code: u16,
    code_text: String,
    /// The region's international dialing prefix, anchored.
    idd: Option<Regex>,
    /// The region's national prefix pattern for parsing (`national_prefix_for_parsing`),
    /// anchored.
    prefix_for_parsing: Option<Regex>,
    national_prefix: Option<String>,
}

impl Reader {
    /// `None` when one of the region's patterns does not compile with our regex engine.
    pub fn new(region: &'static Metadata) -> Option<Self> {
        let compile = |pattern: Option<&str>| match pattern {
            Some(p) => anchored(p).map(Some),
            None => Some(None),
        };
        Some(Reader {
            code: region.country_code(),
            code_text: region.country_code().to_string(),
            idd: compile(region.international_prefix().map(|re| re.as_str()))?,
            prefix_for_parsing: compile(
                region.national_prefix_for_parsing().map(|re| re.as_str()),
            )?,
            national_prefix: region.national_prefix().map(str::to_owned),
        })
    }

    /// The calling code of `text` read as a number of the region, with its national significant
    /// number in `national`; `None`: ask `phonenumber::parse`.
    pub fn read(&self, text: &str, national: &mut String) -> Option<u16> {
        let bytes = text.as_bytes();
        let (plus, rest) = match bytes.split_first() {
            Some((b'+', rest)) => (true, rest),
            _ => (false, bytes),
        };
        if !rest
            .iter()
            .all(|b| b.is_ascii_digit() || matches!(b, b' ' | b'-' | b'.' | b'(' | b')'))
        {
            return None;
        }
        national.clear();
        national.extend(
            rest.iter()
                .filter(|b| b.is_ascii_digit())
                .map(|&b| char::from(b)),
        );
        // Fewer digits fail the syntax check, or leave a national number too short.
        if national.len() < 3 {
            return None;
        }
        let separator = |b: &u8| matches!(b, b'-' | b'.' | b'(' | b')');
        let code = if plus
            && !rest.contains(&b' ')
            && rest.first().is_some_and(u8::is_ascii_digit)
            && rest.iter().any(separator)
        {
            // RFC 3966's global number (`+61-4...`: no spaces): the country code is the digits
            // up to the first separator, whatever follows them.
            let prefix = rest.iter().take_while(|b| !separator(b)).count();
            let after: usize = rest[prefix..].iter().filter(|b| b.is_ascii_digit()).count();
            if after < 3 {
                return None;
            }
            let code: u16 = text[1..=prefix].parse().ok()?;
            if !known_code(code) {
                return None;
            }
            national.drain(..prefix);
            code
        } else {
            // An international dialing prefix is stripped (after a `+` too).
            if self.idd.as_ref().is_some_and(|re| re.is_match(national)) {
                return None;
            }
            if plus {
                // The shortest calling code with metadata; none starts with 0.
                if national.starts_with('0') {
                    return None;
                }
                let (len, code) = (1..=3).find_map(|len| {
                    let code = national[..len].parse().ok()?;
                    known_code(code).then_some((len, code))
                })?;
                national.drain(..len);
                code
            } else {
                // A number that starts with the region's calling code may be written with it.
                if national.starts_with(&self.code_text) {
                    return None;
                }
                self.code
            }
        };
        // The region's national prefix (or carrier code) would be stripped: even from a number
        // written with another country's code, as `phonenumber` reads it.
        let prefix_matches = match &self.prefix_for_parsing {
            Some(re) => re.is_match(national),
            None => false,
        };
        if prefix_matches
            || self
                .national_prefix
                .as_deref()
                .is_some_and(|p| national.starts_with(p))
        {
            return None;
        }
        // libphonenumber's national number lengths (2 to 17 digits); `NationalNumber` holds the
        // value in 56 bits and needs a digit other than 0.
        if !(2..=MAX_NSN).contains(&national.len())
            || national.bytes().all(|b| b == b'0')
            || national.trim_start_matches('0').parse::<u64>().ok()? >= 1 << 56
        {
            return None;
        }
        Some(code)
    }
}

/// The longest national significant number libphonenumber reads (its `MAX_LENGTH_FOR_NSN`).
pub const MAX_NSN: usize = 17;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_e164_writes_codes_as_format_does() {
        for code in [0u16, 1, 7, 9, 10, 44, 61, 99, 100, 355, 999, 1000, 65535] {
            for national in ["", "0", "412345678", "2025550123"] {
                assert_eq!(plain_e164(code, national), format!("+{code}{national}"));
            }
        }
    }

    /// Both answers for `text` read as a number of `region`, when libphonenumber reads it.
    fn compare(region: phonenumber::country::Id, text: &str) -> Option<(bool, bool)> {
        let n = phonenumber::parse(Some(region), text).ok()?;
        same_e164(&n);
        assert_eq!(
            valid_country(&n),
            phonenumber::is_valid(&n).then(|| n.country().id()),
            "{text:?} read as {region:?}"
        );
        Some((valid_country(&n).is_some(), phonenumber::is_valid(&n)))
    }

    /// A valid number's E.164 text is the formatter's.
    fn same_e164(n: &PhoneNumber) {
        if phonenumber::is_valid(n) {
            let mut ours = String::new();
            e164(n, &mut ours);
            let theirs = n.format().mode(phonenumber::Mode::E164).to_string();
            assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn agrees_on_every_example_number_of_the_metadata() {
        let db = &*DATABASE;
        let mut checked = 0;
        for code in 1..=999u16 {
            for meta in db.by_code(&code).unwrap_or_default() {
                let d = meta.descriptors();
                let all = [
                    Some(d.general()),
                    d.fixed_line(),
                    d.mobile(),
                    d.toll_free(),
                    d.premium_rate(),
                    d.shared_cost(),
                    d.personal_number(),
                    d.voip(),
                    d.pager(),
                    d.uan(),
                    d.voicemail(),
                ];
                for ex in all.into_iter().flatten().filter_map(Descriptor::example) {
                    let text = format!("+{code}{ex}");
                    let Ok(n) = phonenumber::parse(None, &text) else {
                        continue;
                    };
                    assert_eq!(
                        valid_country(&n).is_some(),
                        phonenumber::is_valid(&n),
                        "{text}"
                    );
                    assert_eq!(
                        valid_country(&n),
                        phonenumber::is_valid(&n).then(|| n.country().id()),
                        "{text}"
                    );
                    same_e164(&n);
                    checked += 1;
                }
            }
        }
        assert!(checked > 1000, "only {checked} example numbers");
    }

    #[test]
    fn agrees_on_generated_numbers() {
        use phonenumber::country::Id::*;
        // A small deterministic generator: the same numbers on every run.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let (mut valid, mut total) = (0, 0);
        // Regions sharing a code (+1, +7, +44, +61, +262), big numbering plans, and +800.
        let regions = [
            US, CA, JM, AU, CC, GB, JE, IN, DE, FR, RU, KZ, BR, RE, IT, MX,
        ];
        for i in 0..6000 {
            let region = regions[i % regions.len()];
            let len = 4 + (next() % 12) as usize;
            let digits: String = (0..len)
                .map(|_| char::from(b'0' + (next() % 10) as u8))
                .collect();
            let text = match i % 3 {
                0 => digits,
                1 => format!("+{digits}"),
                _ => format!("+800{}", &digits[..len.min(8)]),
            };
            if let Some((ours, theirs)) = compare(region, &text) {
                assert_eq!(ours, theirs, "{text:?} read as {region:?}");
                valid += usize::from(theirs);
                total += 1;
            }
        }
        // Enough of both answers to mean something.
        assert!(
            total > 3000 && valid > 300 && total - valid > 300,
            "{valid} of {total}"
        );
    }

    /// `reader.read(text)` as `phonenumber::parse(Some(region), text)` reads it: the same calling
    /// code and national number, and `decide` as `is_valid` and `country()`; `false` when the
    /// reader leaves the text to `phonenumber`.
    fn same_read(region: phonenumber::country::Id, reader: &Reader, text: &str) -> bool {
        let mut national = String::new();
        let Some(code) = reader.read(text, &mut national) else {
            return false;
        };
        let n = phonenumber::parse(Some(region), text).unwrap_or_else(|e| {
            panic!("{text:?} as {region:?}: read as +{code} {national}, phonenumber: {e:?}")
        });
        assert_eq!(
            (code, national.as_str()),
            (n.code().value(), n.national().to_string().as_str()),
            "{text:?} as {region:?}"
        );
        assert!(n.extension().is_none(), "{text:?}");
        assert_eq!(
            decide(code, &national),
            Some(phonenumber::is_valid(&n).then(|| n.country().id())),
            "{text:?} as {region:?}"
        );
        true
    }

    fn reader(region: phonenumber::country::Id) -> Reader {
        Reader::new(DATABASE.by_id(region.as_ref()).unwrap()).unwrap()
    }

    #[test]
    fn reads_every_example_number_in_many_dresses_as_phonenumber_does() {
        use phonenumber::country::Id::*;
        let regions = [US, AU, GB, DE, IT, BR, AR, RU, IN, JP, MX, FR, NZ, CN, ZA];
        let readers: Vec<_> = regions.iter().map(|&r| (r, reader(r))).collect();
        let db = &*DATABASE;
        let (mut read, mut total) = (0, 0);
        let mut i = 0usize;
        for code in 1..=999u16 {
            for meta in db.by_code(&code).unwrap_or_default() {
                let d = meta.descriptors();
                let examples = [d.fixed_line(), d.mobile(), d.toll_free()];
                let own = meta
                    .id()
                    .parse()
                    .ok()
                    .and_then(|id| Reader::new(meta).map(|r| (id, r)));
                for ex in examples
                    .into_iter()
                    .flatten()
                    .filter_map(Descriptor::example)
                {
                    let (head, tail) = ex.split_at(ex.len().min(3));
                    let prefix = meta.national_prefix().unwrap_or("");
                    let dresses = [
                        format!("+{code}{ex}"),
                        format!("+{code} {ex}"),
                        format!("+{code}-{head}-{tail}"),
                        format!("+{code}.{head}.{tail}"),
                        format!("+{code} ({head}) {tail}"),
                        format!("+{code}({head}){tail}"),
                        ex.to_string(),
                        format!("{prefix}{ex}"),
                        format!("({head}) {tail}"),
                        format!("{head}-{tail}"),
                        format!("{code}{ex}"),
                        format!("00{code}{ex}"),
                        format!("011 {code} {ex}"),
                    ];
                    for text in &dresses {
                        // Each text as a number of its own region and of two others.
                        i += 1;
                        for (region, reader) in own.iter().chain([
                            &readers[i % readers.len()],
                            &readers[(i / 7) % readers.len()],
                        ]) {
                            read += usize::from(same_read(*region, reader, text));
                            total += 1;
                        }
                    }
                }
            }
        }
        // The reader must take most of the plain dresses, or it does not earn its place.
        eprintln!("read {read} of {total}");
        assert!(read * 3 > total, "read {read} of {total}");
    }

    #[test]
    fn reads_random_texts_as_phonenumber_does() {
        use phonenumber::country::Id::*;
        let regions = [US, CA, AU, GB, DE, IT, BR, AR, RU, IN, MX, KZ, JE, RE];
        let readers: Vec<_> = regions.iter().map(|&r| (r, reader(r))).collect();
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let (mut read, mut valid) = (0, 0);
        for i in 0..10_000 {
            let (region, reader) = &readers[i % readers.len()];
            let mut text = String::new();
            match next(4) {
                0 => text.push('+'),
                1 => text.push_str("+1"),
                _ => {}
            }
            for _ in 0..1 + next(18) {
                match next(12) {
                    0 => text.push(b" -.()"[next(5) as usize] as char),
                    _ => text.push(char::from(b'0' + next(10) as u8)),
                }
            }
            if same_read(*region, reader, &text) {
                read += 1;
                let mut national = String::new();
                let code = reader.read(&text, &mut national).unwrap();
                valid += usize::from(matches!(decide(code, &national), Some(Some(_))));
            }
        }
        eprintln!("read {read}, valid {valid}");
        assert!(read > 2000 && valid > 200, "read {read}, valid {valid}");
    }
}
