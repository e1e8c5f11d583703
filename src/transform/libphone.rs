//! libphonenumber's validity check (`phonenumber::is_valid`) and country of a number
//! (`PhoneNumber::country().id()`), with the same metadata and the same decisions, but with the
//! metadata's patterns compiled once into our own regexes.
//!
//! Not a rule: a helper of the `phone` rule. The `phonenumber` crate keeps its patterns in a
//! shared cache of 100 compiled regexes behind one mutex, keyed by the pattern's text: every
//! match locks it and hashes a pattern of up to several hundred bytes, and checking one number
//! takes about a dozen matches. That was two thirds of the time the `phone` rule spent on a
//! number. Here the patterns of a country calling code are compiled the first time a number of
//! that code is checked, and kept for the life of the process.
//!
//! The logic mirrors `phonenumber::validator` (`is_valid_with`, `source_for`, `number_type`,
//! `Descriptor::is_match`) step by step; the tests compare both on every example number of the
//! metadata and on many generated numbers.

use std::sync::OnceLock;

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
    /// The number types in `number_type`'s order; a number is valid when the general pattern
    /// and one of them match.
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
        let types = [
            d.premium_rate(),
            d.toll_free(),
            d.shared_cost(),
            d.voip(),
            d.personal_number(),
            d.pager(),
            d.uan(),
            d.voicemail(),
            d.fixed_line(),
            d.mobile(),
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

/// `n.country().id()`: the ISO code of the region the number belongs to (`None` for the
/// non-geographic codes such as +800 and for numbers no region claims).
pub fn country_id(n: &PhoneNumber) -> Option<phonenumber::country::Id> {
    // As `PhoneNumber::metadata` does: the national number without its leading zeros.
    let national = n.national().value().to_string();
    match code(n.code().value()).map(|c| region(c, &national)) {
        Some(Ok(r)) => r.and_then(|(r, _)| r.meta.id().parse().ok()),
        None | Some(Err(())) => n.country().id(),
    }
}

/// `phonenumber::is_valid(n).then(|| n.country().id())`: `None` for an invalid number, else its
/// country. Both answers rest on the region that claims the number; for a national number
/// without leading zeros (nearly all) that region is found once for both.
pub fn valid_country(n: &PhoneNumber) -> Option<Option<phonenumber::country::Id>> {
    let national = n.national().to_string();
    let claim = code(n.code().value()).map(|c| region(c, &national));
    let ours = match &claim {
        Some(Ok(Some((_, true)))) => Some(true),
        Some(Ok(Some((r, false)))) => r.knows(&national),
        Some(Ok(None)) => Some(false),
        None | Some(Err(())) => None,
    };
    if !ours.unwrap_or_else(|| phonenumber::is_valid(n)) {
        return None;
    }
    match claim {
        // `country_id` reads the national number without its leading zeros.
        Some(Ok(r)) if n.national().value().to_string() == national => {
            Some(r.and_then(|(r, _)| r.meta.id().parse().ok()))
        }
        _ => Some(country_id(n)),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Both answers for `text` read as a number of `region`, when libphonenumber reads it.
    fn compare(region: phonenumber::country::Id, text: &str) -> Option<(bool, bool)> {
        let n = phonenumber::parse(Some(region), text).ok()?;
        assert_eq!(
            country_id(&n),
            n.country().id(),
            "country of {text:?} read as {region:?}"
        );
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
                    assert_eq!(country_id(&n), n.country().id(), "{text}");
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
}
