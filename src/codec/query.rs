//! URL query strings and `application/x-www-form-urlencoded` bodies.
//!
//! Both are `key=value` pairs joined by `&`, percent-encoded; a `+` means a space. A key given
//! more than once becomes a list of its values, in order. A query line may be a whole URL: only
//! the part after `?` is read.

use std::borrow::Cow;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode};
use serde_json::Value;

use crate::record::{Fields, Refill, fields_with_capacity, put_str};

/// Parse `a=1&b=x+y&a=2` into `{"a": ["1", "2"], "b": "x y"}`. Fails with a message when a
/// percent-escape decodes to bytes that are not UTF-8.
pub fn parse(input: &[u8]) -> Result<Fields, String> {
    let mut out = fields_with_capacity(0);
    parse_into(input, &mut out)?;
    Ok(out)
}

/// [`parse`] into `out`, which may hold an earlier record (its room is reused, see [`Refill`]).
/// On an error `out` holds no record.
pub fn parse_into(input: &[u8], out: &mut Fields) -> Result<(), String> {
    let mut s = input;
    if let Some(q) = memchr::memchr(b'?', s) {
        s = &s[q + 1..];
    }
    if let Some(h) = memchr::memchr(b'#', s) {
        s = &s[..h];
    }
    if out.capacity() == 0 {
        out.reserve(memchr::memchr_iter(b'&', s).count() + 1);
    }
    let mut fill = Refill::new(out);
    for pair in s.split(|b| *b == b'&') {
        if pair.is_empty() {
            continue;
        }
        let (k, v) = match memchr::memchr(b'=', pair) {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        let k = decode(k).map_err(|e| format!("key {e}"))?;
        let v = decode(v).map_err(|e| format!("value of `{k}` {e}"))?;
        match fill.slot(&k) {
            (slot, false) => match v {
                Cow::Borrowed(v) => put_str(slot, v),
                Cow::Owned(v) => *slot = Value::String(v),
            },
            // A repeated key: its values in a list.
            (Value::Array(list), true) => list.push(Value::String(v.into_owned())),
            (prev, true) => {
                let first = prev.take();
                *prev = Value::Array(vec![first, Value::String(v.into_owned())]);
            }
        }
    }
    fill.finish();
    Ok(())
}

fn decode(raw: &[u8]) -> Result<Cow<'_, str>, String> {
    // Most keys and values have nothing to decode.
    if !raw.iter().any(|&b| b == b'%' || b == b'+')
        && let Ok(text) = std::str::from_utf8(raw)
    {
        return Ok(Cow::Borrowed(text));
    }
    let plus: Vec<u8>;
    let bytes = if raw.contains(&b'+') {
        plus = raw
            .iter()
            .map(|b| if *b == b'+' { b' ' } else { *b })
            .collect();
        &plus[..]
    } else {
        raw
    };
    let decoded: Vec<u8> = percent_decode(bytes).collect();
    String::from_utf8(decoded).map(Cow::Owned).map_err(|_| {
        format!(
            "{:?} is not UTF-8 text once percent-decoded",
            String::from_utf8_lossy(raw)
        )
    })
}

/// Characters left as they are in values: RFC 3986 unreserved.
const KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Append one `key=value` pair, percent-encoded (`form`: spaces as `+`).
pub fn push_pair(buf: &mut Vec<u8>, key: &str, value: &str, form: bool) {
    if !buf.is_empty() && buf.last() != Some(&b'\n') {
        buf.push(b'&');
    }
    push_encoded(buf, key, form);
    buf.push(b'=');
    push_encoded(buf, value, form);
}

/// `s` percent-encoded as a query value (spaces as `%20`).
pub fn encode_component(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, KEEP).to_string()
}

fn push_encoded(buf: &mut Vec<u8>, s: &str, form: bool) {
    if form && s.contains(' ') {
        for (i, part) in s.split(' ').enumerate() {
            if i > 0 {
                buf.push(b'+');
            }
            push_runs(buf, part);
        }
    } else {
        push_runs(buf, s);
    }
}

/// The encoder yields runs of text kept as is and `%XX` escapes: copy each run at once.
fn push_runs(buf: &mut Vec<u8>, s: &str) {
    for run in percent_encoding::utf8_percent_encode(s, KEEP) {
        buf.extend_from_slice(run.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_callerready_get() {
        let m = parse(b"https://x.example/ring?ReferralID=0&Phone=9492651111&FirstName=Mary+Ann&City=San%20Diego&x").unwrap();
        assert_eq!(
            Value::Object(m.into_iter().collect()),
            json!({"ReferralID": "0", "Phone": "9492651111", "FirstName": "Mary Ann", "City": "San Diego", "x": ""})
        );
    }

    #[test]
    fn repeated_keys_become_lists_and_plus_decodes() {
        let m = parse(b"a=1&a=2&a=3&p=%2b61").unwrap();
        assert_eq!(
            Value::Object(m.into_iter().collect()),
            json!({"a": ["1", "2", "3"], "p": "+61"})
        );
    }

    #[test]
    fn bad_utf8_is_an_error() {
        assert!(parse(b"a=%ff").unwrap_err().contains("not UTF-8"));
        // Raw bytes too, where there is nothing to percent-decode.
        assert!(parse(b"a=\xff").unwrap_err().contains("not UTF-8"));
        assert!(parse(b"\xfe=1").unwrap_err().starts_with("key "));
    }

    #[test]
    fn encode_round_trip() {
        let mut b = Vec::new();
        push_pair(&mut b, "Agent Names", "Anthony Smith,Erin Jones", true);
        push_pair(&mut b, "e", "a@x.com&b=1", false);
        assert_eq!(
            String::from_utf8(b.clone()).unwrap(),
            "Agent+Names=Anthony+Smith%2CErin+Jones&e=a%40x.com%26b%3D1"
        );
        assert_eq!(
            Value::Object(parse(&b).unwrap().into_iter().collect()),
            json!({"Agent Names": "Anthony Smith,Erin Jones", "e": "a@x.com&b=1"})
        );
    }
}
