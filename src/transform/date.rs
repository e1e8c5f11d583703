//! `date`: read dates and times in the given formats and write them in another format and zone.

use std::fmt;

use jiff::fmt::strtime::BrokenDownTime;
use jiff::tz::{Offset, TimeZone};
use jiff::{Timestamp, Zoned, civil};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::{map_scalars, 
    Bound, CompileCtx, Example, RuleConfig, RuleDoc, RuleError, Transform, did_you_mean, show,
};

/// One input format, or a list of them tried in order.
#[derive(Debug, Clone)]
pub struct Formats(pub Vec<String>);

impl<'de> Deserialize<'de> for Formats {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Formats;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a date format or a list of date formats")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Formats, E> {
                Ok(Formats(vec![v.to_owned()]))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, s: A) -> Result<Formats, A::Error> {
                Vec::<String>::deserialize(serde::de::value::SeqAccessDeserializer::new(s))
                    .map(Formats)
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Formats {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "DateFormats".into()
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let one = g.subschema_for::<String>();
        let many = g.subschema_for::<Vec<String>>();
        schemars::json_schema!({ "anyOf": [one, many] })
    }
}

/// Options of `date`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Input formats tried in order: strftime patterns (`"%m/%d/%Y %I:%M %p"`) or the keywords
    /// `rfc3339`, `epoch_s`, `epoch_ms`. One format or a list. Default `rfc3339`.
    #[serde(default)]
    pub from: Option<Formats>,
    /// IANA time zone (`America/New_York`, `Australia/Sydney`) of inputs that carry no offset.
    /// Default `UTC`.
    #[serde(default)]
    pub tz: Option<String>,
    /// Output format: a strftime pattern (`"%m/%d/%Y %H:%M:%S"`) or `rfc3339` (default),
    /// `epoch_s`, `epoch_ms` (JSON integers).
    #[serde(default)]
    pub to: Option<String>,
    /// IANA time zone of the output. Default: the same as `tz`.
    #[serde(default)]
    pub to_tz: Option<String>,
}

/// How one input format reads a value.
#[derive(Debug)]
enum InFormat {
    Rfc3339,
    EpochS,
    EpochMs,
    /// A strftime pattern, and its [`Simple`] form when it has one.
    Pattern(String, Option<Simple>),
}

/// How the output is written.
#[derive(Debug)]
enum OutFormat {
    Rfc3339,
    EpochS,
    EpochMs,
    /// A strftime pattern, and its [`Simple`] form when it has one.
    Pattern(String, Option<Simple>),
}

/// A strftime pattern made only of literal text and the fixed-width numbers `%Y %m %d %H %M %S`
/// (and `%.f` when reading), such as `%Y-%m-%dT%H:%M:%S%.fZ` or `%m/%d/%Y %H:%M:%S`. These are
/// read and written here directly, several times cheaper than jiff interpreting the pattern for
/// every value (it was the costliest step of the benchmark mapping). The result is always the
/// one jiff gives: reading only succeeds on the plain form (every number with all its digits,
/// no sign, no padding, in range), and anything else (`7/4/2026`, `+2026`, `02/30`) is left to
/// jiff, as are patterns with any other directive, flag or width.
#[derive(Debug, Clone, PartialEq)]
struct Simple(Vec<Piece>);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Piece {
    /// A byte of literal text; an ASCII space in the pattern reads any run of ASCII whitespace
    /// (none included), as jiff does.
    Lit(u8),
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    /// `%.f`: nothing, or `.` and 1 to 9 digits of a second.
    DotFraction,
}

impl Simple {
    /// The simple form of `pattern`, if it has one; `reading`: `%.f` is allowed.
    fn new(pattern: &str, reading: bool) -> Option<Simple> {
        let mut pieces = Vec::new();
        let mut b = pattern.as_bytes().iter();
        while let Some(&c) = b.next() {
            if c != b'%' {
                if !reading && !c.is_ascii() {
                    return None;
                }
                pieces.push(Piece::Lit(c));
                continue;
            }
            pieces.push(match b.next()? {
                b'Y' => Piece::Year,
                b'm' => Piece::Month,
                b'd' => Piece::Day,
                b'H' => Piece::Hour,
                b'M' => Piece::Minute,
                b'S' => Piece::Second,
                b'%' => Piece::Lit(b'%'),
                b'.' if reading && b.next() == Some(&b'f') => Piece::DotFraction,
                _ => return None,
            });
        }
        Some(Simple(pieces))
    }

    /// Read `input`, or `None` to leave it to jiff (whose answer may then still be a date).
    fn parse(&self, input: &str) -> Option<BrokenDownTime> {
        /// The number in the first `n` bytes of `inp`, when they are all ASCII digits.
        fn number(inp: &[u8], n: usize) -> Option<(i64, &[u8])> {
            let digits = inp.get(..n)?;
            let mut v = 0;
            for &d in digits {
                if !d.is_ascii_digit() {
                    return None;
                }
                v = v * 10 + i64::from(d - b'0');
            }
            Some((v, &inp[n..]))
        }
        let mut inp = input.as_bytes();
        let mut tm = BrokenDownTime::default();
        for &p in &self.0 {
            match p {
                Piece::Lit(c) if c.is_ascii_whitespace() => {
                    while let [w, rest @ ..] = inp
                        && w.is_ascii_whitespace()
                    {
                        inp = rest;
                    }
                }
                Piece::Lit(c) => match inp {
                    [x, rest @ ..] if *x == c => inp = rest,
                    _ => return None,
                },
                Piece::Year => {
                    let (n, rest) = number(inp, 4)?;
                    tm.set_year(Some(i16::try_from(n).ok()?)).ok()?;
                    inp = rest;
                }
                Piece::DotFraction => {
                    let Some(rest) = inp.strip_prefix(b".") else { continue };
                    // At most 9 digits, as jiff reads them; at least one.
                    let n = rest.iter().take(9).take_while(|d| d.is_ascii_digit()).count();
                    let (frac, rest) = number(rest, n).filter(|_| n > 0)?;
                    let nanos = frac * 10i64.pow(9 - n as u32);
                    tm.set_subsec_nanosecond(Some(i32::try_from(nanos).ok()?)).ok()?;
                    inp = rest;
                }
                two => {
                    let (n, rest) = number(inp, 2)?;
                    let n = i8::try_from(n).ok()?;
                    match two {
                        Piece::Month => tm.set_month(Some(n)),
                        Piece::Day => tm.set_day(Some(n)),
                        Piece::Hour => tm.set_hour(Some(n)),
                        Piece::Minute => tm.set_minute(Some(n)),
                        // jiff reads a leap second 60 as 59.
                        _ => tm.set_second(Some(n.min(59))),
                    }
                    .ok()?;
                    inp = rest;
                }
            }
        }
        inp.is_empty().then_some(tm)
    }

    /// Write `dt` into `out`; false (and `out` unspecified) for a year outside 0 to 9999, which
    /// is left to jiff.
    fn write(&self, dt: civil::DateTime, out: &mut String) -> bool {
        let Ok(year) = u16::try_from(dt.year()) else {
            return false;
        };
        if year > 9999 {
            return false;
        }
        let two = |out: &mut String, n: i8| {
            let n = n.unsigned_abs();
            out.push(char::from(b'0' + n / 10 % 10));
            out.push(char::from(b'0' + n % 10));
        };
        for &p in &self.0 {
            match p {
                Piece::Lit(c) if c.is_ascii() => out.push(char::from(c)),
                // Not made for writing (`Simple::new`): left to jiff.
                Piece::Lit(_) => return false,
                Piece::Year => {
                    for d in [year / 1000, year / 100 % 10, year / 10 % 10, year % 10] {
                        out.push(char::from(b'0' + d as u8));
                    }
                }
                Piece::Month => two(out, dt.month()),
                Piece::Day => two(out, dt.day()),
                Piece::Hour => two(out, dt.hour()),
                Piece::Minute => two(out, dt.minute()),
                Piece::Second => two(out, dt.second()),
                Piece::DotFraction => return false,
            }
        }
        true
    }
}

const KEYWORDS: &str = "rfc3339, epoch_s, epoch_ms";

fn zone(option: &str, name: &str) -> Result<TimeZone, String> {
    TimeZone::get(name).map_err(|_| {
        let names: Vec<String> = jiff::tz::db().available().map(|n| n.to_string()).collect();
        match did_you_mean(name, names.iter().map(String::as_str)) {
            Some(s) => format!("`{option}`: unknown time zone `{name}`; did you mean `{s}`?"),
            None => format!(
                "`{option}`: unknown time zone `{name}`: use an IANA name such as `America/New_York`, \
                 `Australia/Sydney` or `UTC`"
            ),
        }
    })
}

/// The conversion letters of a strftime pattern (`%-d` gives `d`, `%:z` gives `z`); `%%` is
/// skipped.
fn specifiers(pattern: &str) -> Vec<char> {
    let mut out = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            continue;
        }
        for c in chars.by_ref() {
            if !matches!(c, '_' | '-' | '0'..='9' | '^' | '#' | ':' | '.') {
                if c != '%' {
                    out.push(c);
                }
                break;
            }
        }
    }
    out
}

/// A fixed moment with every field distinct, to try patterns on.
fn sample() -> Result<Zoned, String> {
    civil::date(2024, 7, 15)
        .at(16, 24, 59, 123_456_789)
        .to_zoned(TimeZone::fixed(jiff::tz::offset(-4)))
        .map_err(|e| e.to_string())
}

/// Moments that, among them, give every field of a date its widest text: two-digit months,
/// days, hours (also on the 12-hour clock) and minutes, a three-digit day of the year, nine
/// digits of fraction, the years -9999 (signed) and 9999 (the ends of jiff's range, also the
/// longest epoch seconds), offsets with seconds (as zones had before standard time), and none.
fn extremes() -> Vec<Zoned> {
    let offsets = [
        Some(Offset::UTC),
        Some(jiff::tz::offset(-4)),
        Offset::from_seconds(-(4 * 3600 + 56 * 60 + 2)).ok(),
        Some(jiff::tz::offset(14)),
    ];
    let moments = [
        (2024, 7, 15, 16, 24, 59, 123_456_789),
        (2024, 12, 31, 23, 59, 59, 999_999_999),
        (2024, 10, 28, 12, 10, 10, 10),
        (-9999, 12, 31, 23, 59, 59, 987_654_321),
        (9999, 12, 30, 10, 59, 59, 987_654_321),
    ];
    let mut out = Vec::new();
    for (y, mo, d, h, mi, sec, ns) in moments {
        for offset in offsets.into_iter().flatten() {
            if let Ok(z) = civil::date(y, mo, d).at(h, mi, sec, ns).to_zoned(TimeZone::fixed(offset)) {
                out.push(z);
            }
        }
    }
    out
}

/// The conversions whose text is numbers (or AM/PM, or whitespace) of a width that
/// [`extremes`] reach: `%Y %m %d %H %M %S %f %z %s`... Names of months, days and zones (`%B %b
/// %h %A %a %Z %Q`) and the locale forms (`%c %r %x %X`) are not among them.
const NUMERIC: &str = "%CDFGHIMNPRSTUVWYdefgjklmnpqstuwyz";

/// The most characters `pattern` writes, if known: each conversion at its widest among the
/// [`extremes`], literal text as it is. `None` when a conversion writes names.
fn pattern_longest(pattern: &str) -> Option<usize> {
    // Patterns refuse years outside 0 to 9999 (see `Date::write`).
    let samples: Vec<Zoned> = extremes().into_iter().filter(|z| z.year() >= 0).collect();
    let mut total = 0;
    let mut rest = pattern;
    while let Some(at) = rest.find('%') {
        total += rest[..at].chars().count();
        let after = &rest[at + 1..];
        // Flags, padding, the colons of `%:z` and the dot of `%.f`, then the conversion.
        let flags = after.find(|c: char| !matches!(c, '_' | '-' | '0'..='9' | '^' | '#' | ':' | '.'))?;
        let conversion = after[flags..].chars().next()?;
        if !NUMERIC.contains(conversion) {
            return None;
        }
        let end = at + 1 + flags + conversion.len_utf8();
        let one = &rest[at..end];
        total += samples
            .iter()
            .filter_map(|z| BrokenDownTime::from(z).to_string(one).ok())
            .map(|t| t.chars().count())
            .max()?;
        rest = &rest[end..];
    }
    Some(total + rest.chars().count())
}

fn in_format(f: &str, tz: &TimeZone) -> Result<InFormat, String> {
    match f {
        "rfc3339" => return Ok(InFormat::Rfc3339),
        "epoch_s" => return Ok(InFormat::EpochS),
        "epoch_ms" => return Ok(InFormat::EpochMs),
        _ => {}
    }
    if !f.contains('%') {
        return Err(format!(
            "`from`: `{f}` is neither a keyword ({KEYWORDS}) nor a strftime pattern such as `%m/%d/%Y`"
        ));
    }
    let spec = specifiers(f);
    if spec.iter().any(|c| matches!(c, 'I' | 'l')) && !spec.iter().any(|c| matches!(c, 'p' | 'P')) {
        return Err(format!(
            "`from`: `{f}` reads a 12-hour clock (%I) without AM/PM (%p): add %p or use %H"
        ));
    }
    // Try the pattern on a known moment: write it, read it back, make a timestamp of it.
    let sample = sample()?;
    let text = BrokenDownTime::from(&sample)
        .to_string(f)
        .map_err(|e| format!("`from`: bad date pattern `{f}`: {e}"))?;
    let tm = BrokenDownTime::parse(f, &text)
        .map_err(|e| format!("`from`: the pattern `{f}` cannot be used to read dates: {e}"))?;
    instant(&tm, tz).map_err(|e| {
        format!("`from`: the pattern `{f}` does not give a full date (it needs a year, a month and a day): {e}")
    })?;
    Ok(InFormat::Pattern(f.to_owned(), Simple::new(f, true)))
}

fn out_format(f: &str) -> Result<OutFormat, String> {
    match f {
        "rfc3339" => return Ok(OutFormat::Rfc3339),
        "epoch_s" => return Ok(OutFormat::EpochS),
        "epoch_ms" => return Ok(OutFormat::EpochMs),
        _ => {}
    }
    if !f.contains('%') {
        return Err(format!(
            "`to`: `{f}` is neither a keyword ({KEYWORDS}) nor a strftime pattern such as `%m/%d/%Y`"
        ));
    }
    let sample = sample()?;
    BrokenDownTime::from(&sample)
        .to_string(f)
        .map_err(|e| format!("`to`: bad date pattern `{f}`: {e}"))?;
    Ok(OutFormat::Pattern(f.to_owned(), Simple::new(f, false)))
}

/// The moment a parsed pattern describes: its own offset, zone or epoch if it has one, else the
/// civil date and time read in `tz`.
fn instant(tm: &BrokenDownTime, tz: &TimeZone) -> Result<Timestamp, jiff::Error> {
    if tm.timestamp().is_some() || tm.offset().is_some() || tm.iana_time_zone().is_some() {
        return tm.to_zoned().map(|z| z.timestamp());
    }
    tz.to_timestamp(tm.to_datetime()?)
}

impl RuleConfig for Config {
    const DOC: RuleDoc = RuleDoc {
        name: "date",
        summary: "Read dates and times in given formats; write them in another format and time zone.",
        description: "Options:\n\
- `from`: the input formats, tried in order (one format or a list; default `rfc3339`). Each is \
a strftime pattern (`\"%Y-%m-%dT%H:%M:%S%.fZ\"`, `\"%m/%d/%Y %I:%M %p\"`, `\"%Y-%m-%d %H:%M:%S\"`) \
or a keyword: `rfc3339` (an RFC 3339 / ISO 8601 date-time such as `2026-03-14T09:26:53.120Z` \
or `2026-03-14T20:26:53+11:00`; also `2026-03-14 09:26` and a date alone, `2026-03-14`, which is \
midnight; without an offset the time is read in `tz`), `epoch_s` or \
`epoch_ms` (seconds or milliseconds since 1970-01-01 UTC, as text or JSON numbers; leading zeros \
are fine, as in Delacon's `00000001556755937003`; a decimal fraction is kept).\n\
- `tz`: the IANA time zone of inputs that carry no offset (default `UTC`). A literal `Z` in a \
pattern is only text: use `%z`, `%:z` or `%Q` in a pattern to read an offset or zone from the \
input.\n\
- `to`: the output format, a strftime pattern (ChaseData's `\"%m/%d/%Y %H:%M:%S\"`) or \
`rfc3339` (default; `Z` in UTC, else the offset, fraction of seconds only when there is one), \
`epoch_s` or `epoch_ms` (JSON integers).\n\
- `to_tz`: the IANA time zone of the output (default: `tz`).\n\n\
Patterns use jiff's strtime: `%Y` year, `%m` month, `%d` day, `%H` 24-hour, `%I` 12-hour with \
`%p` AM/PM, `%M` minutes, `%S` seconds, `%.f` an optional `.fraction`, `%f` fraction digits, \
`%b`/`%B` month names, `%z`/`%:z` offsets, `%Q` zone names, `%s` epoch seconds. When reading, \
leading zeros are optional (`%m` reads `3` and `03`, `%H` reads `9`) and month and day names \
ignore case. Patterns, keywords and zones are checked when the mapping is loaded (a 12-hour \
`%I` without `%p` is refused). An output pattern without `%f` drops fractions of seconds \
(they are never rounded); so do `epoch_s` and `epoch_ms`. An output pattern refuses a year \
before 0000 or after 9999 (reason `invalid_date`): `%Y` is always four digits.\n\n\
Surrounding whitespace is ignored. A local time that does not exist or happens twice at a \
daylight saving change is resolved the usual way: a time in the spring gap is moved forward by \
the gap, a repeated autumn time is the first (summer time) one. A calendar-invalid date \
(`2026-02-30`) does not match. Text that matches no format fails with reason `invalid_date`; \
the message lists the formats tried. `null` passes through; lists are converted element by \
element.",
        examples: &[
            Example {
                step: "{date: {from: \"%Y-%m-%dT%H:%M:%S%.fZ\", to: \"%m/%d/%Y %H:%M:%S\"}}",
                input: r#""2026-03-14T09:26:53.120Z""#,
                output: Ok(r#""03/14/2026 09:26:53""#),
            },
            Example {
                step: "{date: {from: \"%Y-%m-%dT%H:%M:%S%.fZ\", to: \"%m/%d/%Y %H:%M:%S\"}}",
                input: r#""03/14/2026 9:26 AM""#,
                output: Err("invalid_date"),
            },
            Example {
                step: "{date: {from: [\"%m/%d/%Y %I:%M %p\", rfc3339], tz: America/Los_Angeles, to_tz: UTC}}",
                input: r#""03/14/2026 9:26 AM""#,
                output: Ok(r#""2026-03-14T16:26:00Z""#),
            },
            Example {
                step: "{date: {from: epoch_ms, to_tz: Australia/Sydney, to: \"%Y-%m-%d %H:%M:%S\"}}",
                input: r#""00000001556755937003""#,
                output: Ok(r#""2019-05-02 10:12:17""#),
            },
            Example {
                step: "{date: {from: rfc3339, to: epoch_s}}",
                input: r#""2019-05-02T00:12:17Z""#,
                output: Ok("1556755937"),
            },
            Example {
                step: "date",
                input: r#""2026-03-14T20:26:53+11:00""#,
                output: Ok(r#""2026-03-14T09:26:53Z""#),
            },
            Example {
                step: "{date: {from: \"%Y-%m-%d %H:%M:%S\", tz: America/New_York, to: rfc3339}}",
                input: r#""2026-07-04 18:30:00""#,
                output: Ok(r#""2026-07-04T18:30:00-04:00""#),
            },
        ],
    };
    fn bare() -> Option<Self> {
        Some(Config::default())
    }
    fn compile(self, _: &CompileCtx<'_>) -> Result<Box<dyn Transform>, String> {
        let tz = match &self.tz {
            Some(name) => zone("tz", name)?,
            None => TimeZone::UTC,
        };
        let to_tz = match &self.to_tz {
            Some(name) => zone("to_tz", name)?,
            None => tz.clone(),
        };
        let from_names = self
            .from
            .map_or_else(|| vec!["rfc3339".to_owned()], |f| f.0);
        if from_names.is_empty() {
            return Err(
                "`from` is empty: list the input formats, e.g. [rfc3339] or [\"%m/%d/%Y\"]".into(),
            );
        }
        let from = from_names
            .iter()
            .map(|f| in_format(f, &tz))
            .collect::<Result<Vec<_>, _>>()?;
        let to = out_format(self.to.as_deref().unwrap_or("rfc3339"))?;
        let to_utc = to_tz.iana_name() == Some("UTC") || to_tz == TimeZone::UTC;
        Ok(Box::new(Date {
            from,
            tried: from_names.join(", "),
            tz,
            to,
            to_tz,
            to_utc,
        }))
    }
}

#[derive(Debug)]
struct Date {
    from: Vec<InFormat>,
    /// The input formats, for messages.
    tried: String,
    tz: TimeZone,
    to: OutFormat,
    to_tz: TimeZone,
    /// The output zone is UTC: RFC 3339 output ends with `Z`.
    to_utc: bool,
}

/// Seconds or milliseconds since the epoch, as text: optional sign, digits (leading zeros
/// allowed), optional `.fraction`.
fn epoch_text(t: &str, unit_nanos: i128) -> Option<Timestamp> {
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let int = int.trim_start_matches('0');
    if int.len() > 22 {
        return None;
    }
    let whole: i128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    // The fraction in nanoseconds of the unit: at most 9 digits count.
    let mut frac_nanos: i128 = 0;
    let mut scale = unit_nanos;
    for b in frac.bytes() {
        scale /= 10;
        if scale == 0 {
            break;
        }
        frac_nanos += i128::from(b - b'0') * scale;
    }
    let mut nanos = whole.checked_mul(unit_nanos)?.checked_add(frac_nanos)?;
    if neg {
        nanos = -nanos;
    }
    timestamp_from_nanos(nanos)
}

fn timestamp_from_nanos(nanos: i128) -> Option<Timestamp> {
    let secs = i64::try_from(nanos.div_euclid(1_000_000_000)).ok()?;
    let sub = i32::try_from(nanos.rem_euclid(1_000_000_000)).ok()?;
    Timestamp::new(secs, sub).ok()
}

/// Seconds or milliseconds since the epoch, as a JSON number.
fn epoch_number(n: &serde_json::Number, unit_nanos: i128) -> Option<Timestamp> {
    if let Some(i) = n.as_i64() {
        return timestamp_from_nanos(i128::from(i).checked_mul(unit_nanos)?);
    }
    if let Some(u) = n.as_u64() {
        return timestamp_from_nanos(i128::from(u).checked_mul(unit_nanos)?);
    }
    let f = n.as_f64()?;
    // Beyond ±1e15 seconds no date is representable anyway; the cast below is then exact.
    if !f.is_finite() || f.abs() > 1e18 {
        return None;
    }
    let whole = f.trunc();
    let frac = ((f - whole) * unit_nanos as f64).round();
    timestamp_from_nanos(
        (whole as i128)
            .checked_mul(unit_nanos)?
            .checked_add(frac as i128)?,
    )
}

/// What went wrong when a value did not give a date, for the message.
enum Miss {
    /// No format matched.
    NoMatch,
    /// A pattern matched the text but the date is not valid (`2026-02-30`).
    Invalid(String, String),
}

impl Date {
    fn read_text(&self, t: &str) -> Result<Timestamp, Miss> {
        let mut miss = Miss::NoMatch;
        for f in &self.from {
            let got = match f {
                InFormat::Rfc3339 => t.parse::<Timestamp>().ok().or_else(|| {
                    t.parse::<civil::DateTime>()
                        .ok()
                        .and_then(|dt| self.tz.to_timestamp(dt).ok())
                }),
                InFormat::EpochS => epoch_text(t, 1_000_000_000),
                InFormat::EpochMs => epoch_text(t, 1_000_000),
                InFormat::Pattern(p, simple) => match simple
                    .as_ref()
                    .and_then(|s| s.parse(t))
                    .map_or_else(|| BrokenDownTime::parse(p, t), Ok)
                {
                    Err(_) => None,
                    Ok(tm) => match instant(&tm, &self.tz) {
                        Ok(ts) => Some(ts),
                        Err(e) => {
                            if matches!(miss, Miss::NoMatch) {
                                miss = Miss::Invalid(p.clone(), e.to_string());
                            }
                            None
                        }
                    },
                },
            };
            if let Some(ts) = got {
                return Ok(ts);
            }
        }
        Err(miss)
    }

    fn read_number(&self, n: &serde_json::Number) -> Result<Timestamp, Miss> {
        for f in &self.from {
            let got = match f {
                InFormat::EpochS => epoch_number(n, 1_000_000_000),
                InFormat::EpochMs => epoch_number(n, 1_000_000),
                // Patterns (such as %Y%m%d) read the number's digits.
                InFormat::Rfc3339 | InFormat::Pattern(..) => continue,
            };
            if let Some(ts) = got {
                return Ok(ts);
            }
        }
        self.read_text(&n.to_string())
    }

    /// The output for `ts`. `buf`: a string whose allocation text outputs may reuse.
    fn write(&self, ts: Timestamp, mut buf: String) -> Result<Value, RuleError> {
        if let OutFormat::Pattern(_, Some(simple)) = &self.to {
            buf.clear();
            if simple.write(self.to_tz.to_datetime(ts), &mut buf) {
                return Ok(Value::String(buf));
            }
        }
        let text = match &self.to {
            OutFormat::EpochS => {
                let secs = ts.as_second() - i64::from(ts.subsec_nanosecond() < 0);
                return Ok(Value::from(secs));
            }
            OutFormat::EpochMs => {
                let ms = ts.as_nanosecond().div_euclid(1_000_000);
                return Ok(i64::try_from(ms).map(Value::from).unwrap_or(Value::Null));
            }
            OutFormat::Rfc3339 if self.to_utc => ts.to_string(),
            OutFormat::Rfc3339 => ts.display_with_offset(self.to_tz.to_offset(ts)).to_string(),
            OutFormat::Pattern(p, _) => {
                let zoned = ts.to_zoned(self.to_tz.clone());
                // Patterns write dates as people read them: a year before 0 or after 9999 is a
                // wrong input, not a date to send (and keeps `%Y` four characters wide).
                if !(0..=9999).contains(&zoned.year()) {
                    return Err(RuleError::new(
                        "invalid_date",
                        format!("the year {} is outside 0000 to 9999, which `{p}` cannot write", zoned.year()),
                    ));
                }
                BrokenDownTime::from(&zoned).to_string(p).map_err(|e| {
                    RuleError::new(
                        "invalid_date",
                        format!("cannot write {zoned} with the pattern `{p}`: {e}"),
                    )
                })?
            }
        };
        Ok(Value::String(text))
    }

    /// The most characters an output can have, if known: epoch numbers at the ends of jiff's
    /// range of moments, RFC 3339 and patterns at their widest (see [`pattern_longest`]).
    fn longest(&self) -> Option<usize> {
        let len = |v: Value| super::as_text(&v).map(|t| t.chars().count());
        match &self.to {
            OutFormat::EpochS | OutFormat::EpochMs => [Timestamp::MIN, Timestamp::MAX]
                .into_iter()
                .map(|ts| self.write(ts, String::new()).ok().and_then(len))
                .max()
                .flatten(),
            OutFormat::Rfc3339 => extremes()
                .iter()
                .map(|z| {
                    if self.to_utc {
                        z.timestamp().to_string()
                    } else {
                        z.timestamp().display_with_offset(z.offset()).to_string()
                    }
                })
                .map(|t| t.chars().count())
                .max(),
            OutFormat::Pattern(p, _) => pattern_longest(p),
        }
    }

    fn fail(&self, v: &Value, miss: Miss) -> RuleError {
        let message = match miss {
            Miss::NoMatch => format!(
                "{} does not match any accepted date format (tried: {})",
                show(v),
                self.tried
            ),
            Miss::Invalid(p, e) => format!(
                "{} matches the date format `{p}` but is not a valid date: {e}",
                show(v)
            ),
        };
        RuleError::new("invalid_date", message)
    }
}

impl Transform for Date {
    fn apply(&self, v: Value) -> Result<Value, RuleError> {
        map_scalars(v, "date", &|scalar| match scalar {
            Value::String(s) => match self.read_text(s.trim()) {
                Ok(ts) => self.write(ts, s),
                Err(miss) => Err(self.fail(&Value::String(s), miss)),
            },
            Value::Number(n) => match self.read_number(&n) {
                Ok(ts) => self.write(ts, String::new()),
                Err(miss) => Err(self.fail(&Value::Number(n), miss)),
            },
            other => Err(RuleError::new("invalid_date", format!("{} is not a date", show(&other)))),
        })
    }

    /// The output is at most as long as the output format can write (epoch numbers, RFC 3339,
    /// patterns of numbers); unknown for patterns with names of months, days or zones. Values
    /// are not listed.
    fn bound(&self, input: &Bound) -> Bound {
        let _ = input;
        Bound { max_chars: self.longest(), values: None }
    }
}

#[cfg(test)]
mod tests {
    use super::{BrokenDownTime, Simple, Timestamp, civil};
    use crate::transform::Bound;
    use crate::transform::testing::*;
    use serde_json::{Value, json};

    fn fields(tm: &BrokenDownTime) -> impl PartialEq + std::fmt::Debug {
        (
            (tm.year(), tm.month(), tm.day()),
            (tm.hour(), tm.minute(), tm.second(), tm.subsec_nanosecond()),
        )
    }

    #[test]
    fn simple_patterns_read_like_jiff() {
        let patterns = [
            "%Y-%m-%dT%H:%M:%S%.fZ",
            "%m/%d/%Y %H:%M:%S",
            "%Y%m%d",
            "%d.%m.%Y %H:%M",
            "%Y-%m-%d  %H%%",
            "%Y年%m月%d日",
        ];
        for p in patterns {
            assert!(Simple::new(p, true).is_some(), "{p}");
        }
        assert_eq!(Simple::new("%-m/%d/%Y", true), None);
        assert_eq!(Simple::new("%I:%M %p", true), None);
        assert_eq!(Simple::new("%Y-%m-%dT%H:%M:%S%.3f", true), None);
        assert_eq!(Simple::new("%H:%M:%S%.f", false), None);
        // Texts made of a pattern's own pieces, cut, doubled, padded and with digits changed:
        // whenever the simple reader answers, jiff gives the same fields.
        let alphabet = [
            "0", "1", "2", "9", "12", "31", "60", "2026", "0000", "-", "/", ":", ".", "T", "Z",
            " ", "\t", "+", "%", "年", "月", "日", ".123", ".1234567891",
        ];
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let mut answered = 0;
        for p in patterns {
            let simple = Simple::new(p, true).unwrap();
            let sample = BrokenDownTime::from(
                civil::date(2026, 3, 14).at(9, 26, 53, 120_000_000),
            )
            .to_string(p.replace("%.f", ".%f"))
            .unwrap();
            for _ in 0..4000 {
                let mut text = sample.clone();
                for _ in 0..rng.next(3) {
                    let at = rng.next(text.len() + 1);
                    if text.is_char_boundary(at) {
                        let piece = alphabet[rng.next(alphabet.len())];
                        match rng.next(3) {
                            0 => text.insert_str(at, piece),
                            1 => text.truncate(at),
                            _ => {
                                let end = (at + piece.len()).min(text.len());
                                if text.is_char_boundary(end) {
                                    text.replace_range(at..end, piece);
                                }
                            }
                        }
                    }
                }
                if let Some(tm) = simple.parse(&text) {
                    answered += 1;
                    let jiff = BrokenDownTime::parse(p, &text)
                        .unwrap_or_else(|e| panic!("{p} on {text:?}: simple read it, jiff: {e}"));
                    assert_eq!(fields(&tm), fields(&jiff), "{p} on {text:?}");
                }
            }
        }
        assert!(answered > 1000, "only {answered} texts read");
    }

    #[test]
    fn simple_patterns_write_like_jiff() {
        let patterns = ["%m/%d/%Y %H:%M:%S", "%Y-%m-%dT%H:%M:%SZ", "%Y%m%d%%", "%d.%m.%Y"];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for p in patterns {
            let simple = Simple::new(p, false).unwrap();
            for i in 0..3000 {
                // Seconds from year 0000 to 9999, and a few out of that range.
                let secs = rng.next(315_537_800_000) as i64 - 62_167_219_200;
                let secs = if i % 500 == 0 { -62_200_000_000 } else { secs };
                let dt = Timestamp::from_second(secs)
                    .unwrap()
                    .to_zoned(jiff::tz::TimeZone::UTC)
                    .datetime();
                let mut out = String::new();
                if simple.write(dt, &mut out) {
                    assert_eq!(out, BrokenDownTime::from(dt).to_string(p).unwrap(), "{p} {dt}");
                } else {
                    assert!(dt.year() < 0, "{dt}");
                }
            }
        }
    }

    const CHASE: &str = "{date: {from: \"%Y-%m-%dT%H:%M:%S%.fZ\", to: \"%m/%d/%Y %H:%M:%S\"}}";

    fn ok(step: &str, input: &str) -> Value {
        run(step, input).unwrap_or_else(|e| panic!("{step} on {input}: {e}"))
    }

    #[test]
    fn chasedata_callback_date() {
        assert_eq!(
            ok(CHASE, r#""2026-03-14T09:26:53Z""#),
            json!("03/14/2026 09:26:53")
        );
        assert_eq!(
            ok(CHASE, r#""2026-03-14T09:26:53.120Z""#),
            json!("03/14/2026 09:26:53")
        );
        // Fractions are dropped, never rounded up.
        assert_eq!(
            ok(CHASE, r#""2026-03-14T09:26:53.999999999Z""#),
            json!("03/14/2026 09:26:53")
        );
        assert_eq!(
            ok(CHASE, r#"" 2026-12-31T23:59:59.9Z ""#),
            json!("12/31/2026 23:59:59")
        );
        for bad in [
            r#""03/14/2026 9:26 AM""#,
            r#""""#,
            r#""2026-03-14""#,
            r#""2026-03-14T09:26:53+01:00""#,
            r#""2026-03-14 09:26:53Z""#,
            r#""2026-03-14T09:26:53Zjunk""#,
        ] {
            assert_eq!(run(CHASE, bad).unwrap_err().reason, "invalid_date", "{bad}");
        }
        let e = run(CHASE, r#""03/14/2026 9:26 AM""#).unwrap_err();
        assert_eq!(
            e.message,
            "\"03/14/2026 9:26 AM\" does not match any accepted date format (tried: %Y-%m-%dT%H:%M:%S%.fZ)"
        );
    }

    #[test]
    fn calendar_invalid_dates_say_why() {
        let e = run(CHASE, r#""2026-02-30T09:26:53Z""#).unwrap_err();
        assert_eq!(e.reason, "invalid_date");
        assert!(
            e.message.contains(
                "matches the date format `%Y-%m-%dT%H:%M:%S%.fZ` but is not a valid date"
            ),
            "{}",
            e.message
        );
        assert_eq!(
            run("date", r#""2026-02-30T09:26:53Z""#).unwrap_err().reason,
            "invalid_date"
        );
        assert_eq!(
            run(CHASE, r#""2026-03-14T25:26:53Z""#).unwrap_err().reason,
            "invalid_date"
        );
    }

    #[test]
    fn formats_tried_in_order() {
        let step = "{date: {from: [\"%m/%d/%Y %I:%M %p\", \"%m/%d/%Y\", rfc3339, epoch_s], to: \"%Y-%m-%d %H:%M\"}}";
        assert_eq!(
            ok(step, r#""03/14/2026 9:26 PM""#),
            json!("2026-03-14 21:26")
        );
        assert_eq!(
            ok(step, r#""3/4/2026 12:05 am""#),
            json!("2026-03-04 00:05")
        );
        assert_eq!(ok(step, r#""03/14/2026""#), json!("2026-03-14 00:00"));
        assert_eq!(
            ok(step, r#""2026-03-14T09:26:53-04:00""#),
            json!("2026-03-14 13:26")
        );
        assert_eq!(ok(step, r#""1556755937""#), json!("2019-05-02 00:12"));
        assert_eq!(ok(step, "1556755937"), json!("2019-05-02 00:12"));
        let e = run(step, r#""yesterday""#).unwrap_err();
        assert!(
            e.message
                .ends_with("(tried: %m/%d/%Y %I:%M %p, %m/%d/%Y, rfc3339, epoch_s)"),
            "{}",
            e.message
        );
    }

    #[test]
    fn rfc3339_in_and_out() {
        assert_eq!(
            ok("date", r#""2026-03-14T09:26:53Z""#),
            json!("2026-03-14T09:26:53Z")
        );
        assert_eq!(
            ok("date", r#""2026-03-14T09:26:53.12Z""#),
            json!("2026-03-14T09:26:53.12Z")
        );
        assert_eq!(
            ok("date", r#""2026-03-14t09:26:53z""#),
            json!("2026-03-14T09:26:53Z")
        );
        assert_eq!(
            ok("date", r#""2026-03-14T20:26:53+11:00""#),
            json!("2026-03-14T09:26:53Z")
        );
        // No offset: read in `tz`.
        assert_eq!(
            ok("date", r#""2026-03-14T09:26:53""#),
            json!("2026-03-14T09:26:53Z")
        );
        assert_eq!(
            ok("{date: {tz: Australia/Sydney}}", r#""2026-03-14T09:26:53""#),
            json!("2026-03-14T09:26:53+11:00")
        );
        assert_eq!(
            ok(
                "{date: {tz: Australia/Sydney, to_tz: UTC}}",
                r#""2026-03-14T09:26:53""#
            ),
            json!("2026-03-13T22:26:53Z")
        );
        assert_eq!(
            ok(
                "{date: {to_tz: America/New_York}}",
                r#""2026-03-14T09:26:53Z""#
            ),
            json!("2026-03-14T05:26:53-04:00")
        );
        assert_eq!(
            run("date", r#""14/03/2026""#).unwrap_err().reason,
            "invalid_date"
        );
        assert_eq!(run("date", "true").unwrap_err().reason, "invalid_date");
    }

    #[test]
    fn delacon_epoch_ms() {
        let step = "{date: {from: epoch_ms, to_tz: Australia/Sydney, to: \"%d/%m/%Y %H:%M:%S\"}}";
        assert_eq!(
            ok(step, r#""00000001556755937003""#),
            json!("02/05/2019 10:12:17")
        );
        assert_eq!(ok(step, "1556755937003"), json!("02/05/2019 10:12:17"));
        assert_eq!(ok(step, "1556755937003.0"), json!("02/05/2019 10:12:17"));
        assert_eq!(
            ok("{date: {from: epoch_ms}}", r#""00000001556755937003""#),
            json!("2019-05-02T00:12:17.003Z")
        );
        assert_eq!(
            ok(
                "{date: {from: epoch_ms, to: epoch_s}}",
                r#""00000001556755937003""#
            ),
            json!(1556755937)
        );
        assert_eq!(
            ok(
                "{date: {from: epoch_ms, to: epoch_ms}}",
                r#""00000001556755937003""#
            ),
            json!(1556755937003_i64)
        );
        // Sydney in summer (AEDT, +11) and in winter (AEST, +10).
        assert_eq!(
            ok(
                "{date: {from: epoch_s, to_tz: Australia/Sydney}}",
                "1767225600"
            ),
            json!("2026-01-01T11:00:00+11:00")
        );
        assert_eq!(
            ok(
                "{date: {from: epoch_s, to_tz: Australia/Sydney}}",
                "1782864000"
            ),
            json!("2026-07-01T10:00:00+10:00")
        );
    }

    #[test]
    fn epoch_edges() {
        let s = "{date: {from: epoch_s}}";
        assert_eq!(ok(s, r#""0""#), json!("1970-01-01T00:00:00Z"));
        assert_eq!(ok(s, r#"" 000 ""#), json!("1970-01-01T00:00:00Z"));
        assert_eq!(ok(s, r#""1556755937.5""#), json!("2019-05-02T00:12:17.5Z"));
        assert_eq!(ok(s, "1556755937.25"), json!("2019-05-02T00:12:17.25Z"));
        assert_eq!(ok(s, r#""-1""#), json!("1969-12-31T23:59:59Z"));
        assert_eq!(
            ok("{date: {from: epoch_s, to: epoch_s}}", r#""-0.5""#),
            json!(-1)
        );
        assert_eq!(
            ok("{date: {from: epoch_s, to: epoch_ms}}", r#""-0.5""#),
            json!(-500)
        );
        for bad in [
            r#""""#,
            r#""12a""#,
            r#""1e9""#,
            r#""99999999999999999999999999""#,
            r#"".5""#,
            r#""--1""#,
            "1e300",
            "-1e300",
        ] {
            assert_eq!(run(s, bad).unwrap_err().reason, "invalid_date", "{bad}");
        }
    }

    #[test]
    fn dst_edges() {
        let step = "{date: {from: \"%Y-%m-%d %H:%M:%S\", tz: America/New_York, to_tz: UTC}}";
        // The spring gap: 02:30 does not exist on 2026-03-08; it is moved forward an hour.
        assert_eq!(
            ok(step, r#""2026-03-08 02:30:00""#),
            json!("2026-03-08T07:30:00Z")
        );
        assert_eq!(
            ok(step, r#""2026-03-08 01:59:59""#),
            json!("2026-03-08T06:59:59Z")
        );
        assert_eq!(
            ok(step, r#""2026-03-08 03:00:00""#),
            json!("2026-03-08T07:00:00Z")
        );
        // The autumn fold: 01:30 happens twice on 2026-11-01; the first (EDT) is taken.
        assert_eq!(
            ok(step, r#""2026-11-01 01:30:00""#),
            json!("2026-11-01T05:30:00Z")
        );
        // Sydney's DST starts 2026-10-04 at 02:00 local.
        let syd = "{date: {from: epoch_s, to_tz: Australia/Sydney, to: \"%Y-%m-%d %H:%M:%S %Z\"}}";
        assert_eq!(ok(syd, "1791043199"), json!("2026-10-04 01:59:59 AEST"));
        assert_eq!(ok(syd, "1791043200"), json!("2026-10-04 03:00:00 AEDT"));
    }

    #[test]
    fn offsets_and_zones_in_patterns() {
        let step = "{date: {from: \"%Y-%m-%d %H:%M:%S %z\", tz: Australia/Sydney, to_tz: UTC}}";
        assert_eq!(
            ok(step, r#""2026-03-14 09:26:53 -0500""#),
            json!("2026-03-14T14:26:53Z")
        );
        let step = "{date: {from: \"%Y-%m-%d %H:%M %Q\", to_tz: UTC}}";
        assert_eq!(
            ok(step, r#""2026-07-14 21:14 America/New_York""#),
            json!("2026-07-15T01:14:00Z")
        );
        // A literal Z is text: the time is read in `tz`.
        let step = "{date: {from: \"%Y-%m-%dT%H:%M:%SZ\", tz: America/New_York, to_tz: UTC}}";
        assert_eq!(
            ok(step, r#""2026-07-14T21:14:00Z""#),
            json!("2026-07-15T01:14:00Z")
        );
    }

    #[test]
    fn output_patterns() {
        let iso = r#""2026-03-14T09:26:53.120Z""#;
        assert_eq!(ok("{date: {to: \"%Y-%m-%d\"}}", iso), json!("2026-03-14"));
        assert_eq!(
            ok("{date: {to: \"%Y-%m-%d %H:%M:%S%.3f\"}}", iso),
            json!("2026-03-14 09:26:53.120")
        );
        assert_eq!(
            ok("{date: {to: \"%-m/%-d/%Y %-I:%M %p\"}}", iso),
            json!("3/14/2026 9:26 AM")
        );
        assert_eq!(
            ok("{date: {to: \"%a %d %b %Y\"}}", iso),
            json!("Sat 14 Mar 2026")
        );
        assert_eq!(
            ok(
                "{date: {to: \"%Y-%m-%dT%H:%M:%S%:z\", to_tz: Asia/Kolkata}}",
                iso
            ),
            json!("2026-03-14T14:56:53+05:30")
        );
    }

    #[test]
    fn numbers_through_patterns_and_lists() {
        assert_eq!(
            ok("{date: {from: \"%Y%m%d\", to: \"%m/%d/%Y\"}}", "20260314"),
            json!("03/14/2026")
        );
        assert_eq!(ok("date", "null"), Value::Null);
        assert_eq!(
            ok(
                "{date: {from: epoch_s, to: \"%Y\"}}",
                r#"[0, "1556755937", null]"#
            ),
            json!(["1970", "2019", null])
        );
        assert_eq!(run("date", r#"{"a": 1}"#).unwrap_err().reason, "wrong_type");
    }

    #[test]
    fn compile_errors() {
        let e = compile_err("{date: {tz: Austrlia/Sydney}}");
        assert!(
            e.contains("unknown time zone `Austrlia/Sydney`; did you mean `Australia/Sydney`?"),
            "{e}"
        );
        let e = compile_err("{date: {to_tz: Mars/Olympus}}");
        assert!(
            e.contains("`to_tz`: unknown time zone `Mars/Olympus`"),
            "{e}"
        );
        let e = compile_err("{date: {from: iso8601}}");
        assert!(e.contains("`iso8601` is neither a keyword"), "{e}");
        let e = compile_err("{date: {from: []}}");
        assert!(e.contains("`from` is empty"), "{e}");
        let e = compile_err("{date: {from: \"%Y-%J\"}}");
        assert!(e.contains("bad date pattern `%Y-%J`"), "{e}");
        let e = compile_err("{date: {from: \"%Y-%m-%d %Z\"}}");
        assert!(e.contains("cannot be used to read dates"), "{e}");
        let e = compile_err("{date: {from: \"%H:%M\"}}");
        assert!(e.contains("does not give a full date"), "{e}");
        let e = compile_err("{date: {from: \"%m/%d/%Y %I:%M\"}}");
        assert!(e.contains("without AM/PM"), "{e}");
        let e = compile_err("{date: {to: \"%Y-%J\"}}");
        assert!(e.contains("`to`: bad date pattern"), "{e}");
        let e = compile_err("{date: {to: unix}}");
        assert!(e.contains("`unix` is neither a keyword"), "{e}");
        let e = compile_err("{date: {form: rfc3339}}");
        assert!(e.contains("form"), "{e}");
    }

    #[test]
    fn bound_of_the_output_format() {
        let max = |step: &str| bound(step, Bound::unknown());
        // RFC 3339 at its widest: a signed year, nine digits of fraction, an offset.
        assert_eq!(max("date"), Bound::at_most("-009999-12-31T23:59:59.987654321Z".len()));
        assert_eq!(max("{date: {to_tz: America/New_York}}"), Bound::at_most(38));
        assert_eq!(max("{date: {to: epoch_s}}"), Bound::at_most("-377705116800".len()));
        assert_eq!(max("{date: {to: epoch_ms}}"), Bound::at_most(16));
        // Patterns refuse years outside 0 to 9999: `%Y` is four characters.
        assert_eq!(max("{date: {to: \"%m/%d/%Y %H:%M:%S\"}}"), Bound::at_most(19));
        assert_eq!(max("{date: {to: \"%Y%m%d%%\"}}"), Bound::at_most(9));
        assert_eq!(max("{date: {to: \"%-m/%-d %-I:%M %p\"}}"), Bound::at_most(14));
        assert_eq!(max("{date: {to: \"%H:%M:%S%z\"}}"), Bound::at_most(15));
        // Names have no known width.
        for names in ["%B %d, %Y", "%a %H:%M", "%H:%M %Z", "%Y-%m-%d %Q", "%c", "%h %d"] {
            assert_eq!(max(&format!("{{date: {{to: \"{names}\"}}}}")), Bound::unknown(), "{names}");
        }
        // The input does not matter.
        assert_eq!(bound("{date: {to: \"%Y\"}}", Bound::exactly(["2026-03-14"])), Bound::at_most(4));
    }

    /// Moments across jiff's whole range, in zones with odd offsets (Monrovia's -00:44:30 until
    /// 1972), never come out longer than the bound.
    #[test]
    fn outputs_are_within_the_bound() {
        let formats = [
            "rfc3339",
            "epoch_s",
            "epoch_ms",
            "\"%m/%d/%Y %H:%M:%S\"",
            "\"%Y-%m-%dT%H:%M:%S%.f%:z\"",
            "\"%-m/%-d/%y %-I:%M %P\"",
            "\"%s|%j|%U|%W|%V|%G|%g|%C|%::z|%:::z|%z|%e|%k|%l|%f|%N|%3f|%q|%u|%w|%D|%F|%T|%R\"",
        ];
        let zones = ["UTC", "America/New_York", "Asia/Kathmandu", "Pacific/Kiritimati", "Africa/Monrovia"];
        let (lo, hi) = (Timestamp::MIN.as_second(), Timestamp::MAX.as_second());
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut inputs: Vec<String> = vec![lo.to_string(), format!("{hi}.999999999"), "-100000000000".into(), "0".into()];
        for _ in 0..300 {
            let secs = lo + (rng.next(usize::MAX) as i64).rem_euclid(hi - lo);
            inputs.push(format!("{secs}.{:09}", rng.next(1_000_000_000)));
            // The usual years too, where offsets with seconds were in use.
            inputs.push(format!("{}.{}", -3_000_000_000 + rng.next(6_000_000_000) as i64, rng.next(1000)));
        }
        let mut written = 0;
        for to in formats {
            for zone in zones {
                let step = format!("{{date: {{from: epoch_s, to: {to}, to_tz: {zone}}}}}");
                let max = bound(&step, Bound::unknown()).max_chars.unwrap_or_else(|| panic!("{step}"));
                for input in &inputs {
                    let Ok(out) = run(&step, &json!(input).to_string()) else { continue };
                    written += 1;
                    let text = crate::transform::as_text(&out).unwrap_or_default().chars().count();
                    assert!(text <= max, "{step} on {input}: {out} has {text} characters, the bound is {max}");
                }
            }
        }
        assert!(written > 15_000, "{written} outputs");
    }
}
