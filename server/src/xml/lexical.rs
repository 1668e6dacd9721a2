//! The lexical rules the tokenizer leaves to us: XML names and qualified names,
//! the characters XML 1.0 allows, and the fast split of plain attributes.

use super::XmlError;

/// XML 1.0 §2.3 NameStartChar, without the colon (namespaces split on it).
fn is_name_start(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z' | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}' | '\u{2070}'..='\u{218F}'
        | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}' | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}'
        | '\u{10000}'..='\u{EFFFF}')
}

/// XML 1.0 §2.3 NameChar, without the colon.
fn is_name_char(c: char) -> bool {
    is_name_start(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// A qualified name (Namespaces in XML §4): an NCName, or two joined by one colon.
/// quick-xml takes whatever precedes whitespace or `>` as the name, so this is ours.
pub(super) fn check_qname(q: &str) -> Result<(), XmlError> {
    // Fast path for the names XMPP uses: ASCII letters, digits, '-', '_', '.', at most
    // one colon, each part starting with a letter or '_'.
    let b = q.as_bytes();
    let start_ok = |c: u8| c.is_ascii_alphabetic() || c == b'_';
    if !b.is_empty() && start_ok(b[0]) {
        let mut colon = None;
        let mut ascii_ok = true;
        for (i, &c) in b.iter().enumerate() {
            if c == b':' {
                if colon.is_some() {
                    ascii_ok = false;
                    break;
                }
                colon = Some(i);
            } else if !(c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.')) {
                ascii_ok = false;
                break;
            }
        }
        if ascii_ok {
            match colon {
                None => return Ok(()),
                Some(i) if b.get(i + 1).copied().is_some_and(start_ok) => return Ok(()),
                Some(_) => {}
            }
        }
    }
    let ncname = |s: &str| {
        let mut cs = s.chars();
        cs.next().is_some_and(is_name_start) && cs.all(is_name_char)
    };
    let ok = match q.split_once(':') {
        Some((p, l)) => ncname(p) && ncname(l),
        None => ncname(q),
    };
    if ok {
        Ok(())
    } else {
        Err(XmlError::InvalidName(q.to_string()))
    }
}

/// Splits `raw` (a start tag after its name) into `[key start, key end, value start,
/// value end]` spans when every attribute is plain: whitespace, a name, `=`, a quoted
/// value holding no `&`, `<`, control character or 0xEF byte (so it needs neither
/// normalization nor the character check's slow path). Returns false for anything
/// else, leaving the general path to parse (and refuse) it.
pub(super) fn scan_plain_attrs(raw: &str, max: usize, out: &mut Vec<[usize; 4]>) -> bool {
    // Names are a few bytes: a byte loop finds their end for less than a memchr call.
    let b = raw.as_bytes();
    let n = b.len();
    let mut i = 0;
    loop {
        let ws_start = i;
        while i < n && is_xml_space(b[i]) {
            i += 1;
        }
        if i == n {
            return true;
        }
        if i == ws_start || out.len() >= max {
            return false;
        }
        let ks = i;
        while i < n && b[i] != b'=' {
            if is_xml_space(b[i]) {
                return false;
            }
            i += 1;
        }
        if i == n || i == ks {
            return false;
        }
        let ke = i;
        let q = match b.get(ke + 1) {
            Some(&q @ (b'\'' | b'"')) => q,
            _ => return false,
        };
        let vs = ke + 2;
        let Some(ve) = memchr::memchr(q, &b[vs..]).map(|n| vs + n) else {
            return false;
        };
        // Written as a fold so that it vectorizes.
        let special = b[vs..ve].iter().fold(false, |bad, &c| {
            bad | (c < 0x20) | (c == b'&') | (c == b'<') | (c == 0xEF)
        });
        if special {
            return false;
        }
        out.push([ks, ke, vs, ve]);
        i = ve + 1;
    }
}

/// XML 1.0 §2.3 white space (S).
pub(super) fn is_xml_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

pub(super) fn split_qname(q: &str) -> (&str, &str) {
    // A byte loop rather than `split_once`'s memchr: names are short.
    match q.bytes().position(|c| c == b':') {
        Some(i) => (&q[..i], &q[i + 1..]),
        None => ("", q),
    }
}

pub(super) fn check_chars(s: &str) -> Result<(), XmlError> {
    // Bytes, not chars: C0 controls are single bytes, and U+FFFE/U+FFFF are the only
    // other characters XML 1.0 forbids that UTF-8 can carry (EF BF BE / EF BF BF).
    let b = s.as_bytes();
    // Fast path, written as a fold so that it vectorizes: nothing below 0x20, no 0xEF.
    if !b.iter().fold(false, |bad, &c| bad | (c < 0x20) | (c == 0xEF)) {
        return Ok(());
    }
    for (i, &c) in b.iter().enumerate() {
        if c < 0x20 {
            if !matches!(c, b'\t' | b'\n' | b'\r') {
                return Err(XmlError::IllegalChar(c as u32));
            }
        } else if c == 0xEF && b.get(i + 1) == Some(&0xBF) && matches!(b.get(i + 2), Some(0xBE | 0xBF)) {
            return Err(XmlError::IllegalChar(if b[i + 2] == 0xBE {
                0xFFFE
            } else {
                0xFFFF
            }));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::scan_plain_attrs;
    use quick_xml::events::BytesStart;
    use quick_xml::XmlVersion;

    /// What quick-xml's attribute iterator (the general path) makes of `raw`, or None
    /// when it refuses it.
    fn general(raw: &str) -> Option<Vec<(String, String)>> {
        let tag = format!("e{raw}");
        let start = BytesStart::from_content(tag.as_str(), 1);
        start
            .attributes()
            .with_checks(false)
            .map(|a| {
                let a = a.ok()?;
                let v = a.normalized_value(XmlVersion::Implicit1_0).ok()?;
                Some((a.key.0.to_owned(), v.into_owned()))
            })
            .collect()
    }

    fn plain(raw: &str) -> Option<Vec<(String, String)>> {
        let mut spans = Vec::new();
        scan_plain_attrs(raw, 64, &mut spans).then(|| {
            spans
                .iter()
                .map(|&[ks, ke, vs, ve]| (raw[ks..ke].to_owned(), raw[vs..ve].to_owned()))
                .collect()
        })
    }

    #[test]
    fn plain_attributes_are_taken_as_quick_xml_takes_them() {
        for raw in [
            "",
            " a='1'",
            " a='1' b=\"2\"",
            "\n\ta='x y'\r\n",
            " p:a='1' xmlns:p='urn:p'",
            " a=\"it's\"",
        ] {
            assert!(plain(raw).is_some(), "{raw:?} is plain");
            assert_eq!(plain(raw), general(raw), "{raw:?}");
        }
        // Not plain: the general path decides these.
        for raw in [
            " a = '1'",
            " a='1'b='2'",
            " a=1",
            " a='&amp;'",
            " a='x\ty'",
            " a='<'",
            " a",
            " a='1",
            " a='it''s'",
        ] {
            assert_eq!(plain(raw), None, "{raw:?} is not plain");
        }
    }

    #[test]
    fn plain_scan_agrees_with_quick_xml_on_random_tags() {
        // Every string over a small, hostile alphabet: wherever the fast scan accepts,
        // it must find exactly what the general path finds.
        const ALPHABET: &[u8] = b"ab :='\"&;<\t";
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut accepted = 0;
        for _ in 0..200_000 {
            let len = next() % 14;
            let raw: String = (0..len)
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize] as char)
                .collect();
            if let Some(p) = plain(&raw) {
                accepted += 1;
                assert_eq!(Some(p), general(&raw), "{raw:?}");
            }
        }
        assert!(accepted > 1000, "the alphabet reaches the fast path ({accepted})");
    }
}
