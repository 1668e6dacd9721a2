//! Does a received stanza match an expected one? Prosody's scansion rules, as
//! `../shared/conformance/README.md` records them:
//!
//! - non-strict (elements in `jabber:client`): listed attributes must be present with
//!   those values; extra attributes and children are ignored; children in any order;
//!   a text child is compared trimmed;
//! - strict (any other namespace, or `scansion:strict='true'`): the same attributes,
//!   the same children in the same order, the same text;
//! - `{scansion:any}` matches any value, `{scansion:capture:NAME}` binds NAME the first
//!   time and must equal it afterwards.
//!
//! One deliberate widening, off by default ([`MatchOptions::unordered_children`]): the
//! children of a `muc#user` `<x/>` in any order, still strict otherwise (the same
//! number of children, each matched strictly by a distinct one). XEP-0045's schema
//! for that element (§19.2, `http://jabber.org/protocol/muc#user`) is an
//! `xs:choice` with `maxOccurs='unbounded'`: it fixes no order, and servers differ
//! (Prosody sends `<status/>` before `<item/>`, ejabberd `<item/>` first). Scripts
//! written against Prosody rely on its order; with the option they hold for a
//! server that orders them otherwise.

use super::NS_SCANSION;
use server::ns;
use server::xml::{Attr, Element, Node};
use std::collections::BTreeMap;
use std::fmt;

const ANY: &str = "{scansion:any}";
const CAPTURE: &str = "{scansion:capture:";

/// How far matching departs from Prosody's rules. The default is Prosody's rules.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MatchOptions {
    /// Accept the children of a `muc#user` `<x/>` in any order (XEP-0045 §19.2's
    /// schema fixes none); count, attributes and text stay strict.
    pub unordered_children: bool,
}

/// Values bound by `{scansion:capture:NAME}` so far in a script.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Captures(BTreeMap<String, String>);

impl Captures {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// Why a stanza does not match: where (a path of element names) and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    pub path: String,
    pub reason: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at <{}>: {}", self.path, self.reason)
    }
}

/// Matches `got` against `expected` by Prosody's rules. Captures are bound only when
/// the whole stanza matches.
pub fn matches(expected: &Element, got: &Element, caps: &mut Captures) -> Result<(), Mismatch> {
    matches_with(expected, got, caps, MatchOptions::default())
}

/// [`matches`], with the departures `opts` allows.
pub fn matches_with(
    expected: &Element,
    got: &Element,
    caps: &mut Captures,
    opts: MatchOptions,
) -> Result<(), Mismatch> {
    let mut trial = caps.clone();
    Matcher { opts }.element(expected, got, &mut trial, &expected.name)?;
    *caps = trial;
    Ok(())
}

/// Whether the children of `e` carry no order (XEP-0045 §19.2: the `muc#user`
/// `<x/>`'s content is an unbounded `xs:choice`).
fn order_free(e: &Element) -> bool {
    e.is("x", ns::MUC_USER)
}

fn is_strict(e: &Element) -> bool {
    match e.attr_ns(NS_SCANSION, "strict") {
        Some(v) => v == "true" || v == "1",
        None => e.ns != ns::CLIENT,
    }
}

fn expected_attrs(e: &Element) -> impl Iterator<Item = &Attr> {
    e.attrs.iter().filter(|a| a.ns != NS_SCANSION)
}

fn fail(path: &str, reason: String) -> Result<(), Mismatch> {
    Err(Mismatch {
        path: path.to_string(),
        reason,
    })
}

struct Matcher {
    opts: MatchOptions,
}

impl Matcher {
    fn element(&self, exp: &Element, got: &Element, caps: &mut Captures, path: &str) -> Result<(), Mismatch> {
        if exp.name != got.name || exp.ns != got.ns {
            return fail(
                path,
                format!(
                    "expected <{}/> in {}, got <{}/> in {}",
                    exp.name, exp.ns, got.name, got.ns
                ),
            );
        }
        let strict = is_strict(exp);
        for a in expected_attrs(exp) {
            let Some(v) = got.attr_ns(&a.ns, &a.name) else {
                return fail(path, format!("attribute '{}' missing", a.name));
            };
            match_value(&a.value, v, caps)
                .or_else(|why| fail(path, format!("attribute '{}': {why}", a.name)))?;
        }
        if strict {
            if let Some(extra) = got
                .attrs
                .iter()
                .find(|g| !expected_attrs(exp).any(|a| a.ns == g.ns && a.name == g.name))
            {
                return fail(path, format!("unexpected attribute '{}' (strict)", extra.name));
            }
        }
        let exp_text = text_of(exp);
        let got_text = text_of(got);
        if strict {
            if exp_text != got_text {
                return fail(
                    path,
                    format!("text expected {exp_text:?}, got {got_text:?} (strict)"),
                );
            }
        } else if !exp_text.trim().is_empty() && exp_text.trim() != got_text.trim() {
            return fail(
                path,
                format!("text expected {:?}, got {:?}", exp_text.trim(), got_text.trim()),
            );
        }
        let exp_children: Vec<&Element> = exp.elements().collect();
        let got_children: Vec<&Element> = got.elements().collect();
        if strict {
            if exp_children.len() != got_children.len() {
                return fail(
                    path,
                    format!(
                        "expected {} child elements, got {} (strict)",
                        exp_children.len(),
                        got_children.len()
                    ),
                );
            }
            if self.opts.unordered_children && order_free(exp) {
                return self.any_order(&exp_children, &got_children, caps, path);
            }
            for (e, g) in exp_children.iter().zip(&got_children) {
                self.element(e, g, caps, &format!("{path}/{}", e.name))?;
            }
            return Ok(());
        }
        // Non-strict: each expected child matches a distinct received child, in any order.
        let mut used = vec![false; got_children.len()];
        for e in exp_children {
            let child_path = format!("{path}/{}", e.name);
            let mut first_miss = None;
            let mut found = false;
            for (i, g) in got_children.iter().enumerate() {
                if used[i] {
                    continue;
                }
                let mut trial = caps.clone();
                match self.element(e, g, &mut trial, &child_path) {
                    Ok(()) => {
                        *caps = trial;
                        used[i] = true;
                        found = true;
                        break;
                    }
                    Err(m) => {
                        if first_miss.is_none() && g.name == e.name && g.ns == e.ns {
                            first_miss = Some(m);
                        }
                    }
                }
            }
            if !found {
                return Err(first_miss.unwrap_or(Mismatch {
                    path: child_path,
                    reason: format!("no child <{}/> in {}", e.name, e.ns),
                }));
            }
        }
        Ok(())
    }

    /// Strict children in any order: as many received as expected, each expected child
    /// matched (strictly) by a distinct received one. Searches every assignment (the
    /// lists are a handful long), so a `{scansion:any}` child cannot take the one a
    /// later expected child needed.
    fn any_order(
        &self,
        exp: &[&Element],
        got: &[&Element],
        caps: &mut Captures,
        path: &str,
    ) -> Result<(), Mismatch> {
        let mut used = vec![false; got.len()];
        let mut first_miss = None;
        if self.assign(exp, got, &mut used, caps, path, &mut first_miss) {
            return Ok(());
        }
        Err(first_miss.unwrap_or_else(|| Mismatch {
            path: path.to_string(),
            reason: "no order of the received children matches (unordered children)".into(),
        }))
    }

    fn assign(
        &self,
        exp: &[&Element],
        got: &[&Element],
        used: &mut [bool],
        caps: &mut Captures,
        path: &str,
        first_miss: &mut Option<Mismatch>,
    ) -> bool {
        let Some((e, rest)) = exp.split_first() else {
            return true;
        };
        let child_path = format!("{path}/{}", e.name);
        for (i, g) in got.iter().enumerate() {
            if used[i] {
                continue;
            }
            let mut trial = caps.clone();
            match self.element(e, g, &mut trial, &child_path) {
                Ok(()) => {
                    used[i] = true;
                    if self.assign(rest, got, used, &mut trial, path, first_miss) {
                        *caps = trial;
                        return true;
                    }
                    used[i] = false;
                }
                Err(m) => {
                    if first_miss.is_none() && g.name == e.name && g.ns == e.ns {
                        *first_miss = Some(m);
                    }
                }
            }
        }
        if first_miss.is_none() {
            *first_miss = Some(Mismatch {
                path: child_path,
                reason: format!(
                    "no child <{}/> in {} left to match (unordered children)",
                    e.name, e.ns
                ),
            });
        }
        false
    }
}

/// The text children, with whitespace-only text (indentation) counted as none.
fn text_of(e: &Element) -> String {
    let mut t = String::new();
    for n in &e.children {
        if let Node::Text(s) = n {
            t.push_str(s);
        }
    }
    if t.trim().is_empty() {
        String::new()
    } else {
        t
    }
}

fn match_value(exp: &str, got: &str, caps: &mut Captures) -> Result<(), String> {
    if exp == ANY {
        return Ok(());
    }
    if let Some(name) = exp.strip_prefix(CAPTURE).and_then(|r| r.strip_suffix('}')) {
        return match caps.0.get(name) {
            None => {
                caps.0.insert(name.to_string(), got.to_string());
                Ok(())
            }
            Some(v) if v == got => Ok(()),
            Some(v) => Err(format!("capture {name} is {v:?}, got {got:?}")),
        };
    }
    if exp == got {
        Ok(())
    } else {
        Err(format!("expected {exp:?}, got {got:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use server::xml::parse_stanza;

    fn el(s: &str) -> Element {
        let wrapped = format!("<w xmlns:scansion='{NS_SCANSION}'>{s}</w>");
        let w = parse_stanza(wrapped.as_bytes(), ns::CLIENT, &Default::default()).unwrap();
        let first = w.elements().next().unwrap().clone();
        first
    }

    fn ok(exp: &str, got: &str) -> bool {
        matches(&el(exp), &el(got), &mut Captures::default()).is_ok()
    }

    #[test]
    fn non_strict_ignores_extra_attributes_and_children() {
        assert!(ok(
            "<presence from='a@b/c'/>",
            "<presence from='a@b/c' id='x'><occupant-id xmlns='urn:xmpp:occupant-id:0' id='1'/></presence>"
        ));
        assert!(!ok("<presence from='a@b/c'/>", "<presence from='a@b/d'/>"));
        assert!(!ok(
            "<presence from='a@b/c' type='unavailable'/>",
            "<presence from='a@b/c'/>"
        ));
        assert!(!ok("<presence/>", "<message/>"));
    }

    #[test]
    fn non_strict_children_in_any_order_each_distinct() {
        assert!(ok(
            "<message><body>hi</body><subject/></message>",
            "<message><subject/><body>hi</body></message>"
        ));
        assert!(!ok(
            "<message><body/><body/></message>",
            "<message><body/></message>"
        ));
        assert!(!ok("<message><thread/></message>", "<message><body/></message>"));
    }

    #[test]
    fn non_strict_text_is_trimmed() {
        assert!(ok(
            "<message><body>\n hi \n</body></message>",
            "<message><body>hi</body></message>"
        ));
        assert!(!ok(
            "<message><body>hi</body></message>",
            "<message><body>ho</body></message>"
        ));
        // No expected text: any text matches.
        assert!(ok(
            "<message><body/></message>",
            "<message><body>ho</body></message>"
        ));
    }

    #[test]
    fn namespaced_elements_are_strict() {
        let exp =
            "<presence><x xmlns='http://jabber.org/protocol/muc#user'><status code='110'/></x></presence>";
        assert!(ok(exp, exp));
        // An extra child of a strict element fails.
        assert!(!ok(
            exp,
            "<presence><x xmlns='http://jabber.org/protocol/muc#user'><status code='110'/><status code='100'/></x></presence>"
        ));
        // An extra attribute on a strict element fails.
        assert!(!ok(
            exp,
            "<presence><x xmlns='http://jabber.org/protocol/muc#user'><status code='110' x='1'/></x></presence>"
        ));
        // Order matters in strict mode.
        let two = "<x xmlns='urn:x'><a/><b/></x>";
        assert!(ok(two, two));
        assert!(!ok(two, "<x xmlns='urn:x'><b/><a/></x>"));
        // Strict text is exact.
        assert!(!ok("<x xmlns='urn:x'>a</x>", "<x xmlns='urn:x'> a</x>"));
    }

    #[test]
    fn scansion_strict_overrides_the_default() {
        assert!(ok(
            "<x xmlns='urn:x' scansion:strict='false'><a/></x>",
            "<x xmlns='urn:x' y='1'><b/><a/></x>"
        ));
        assert!(!ok(
            "<x xmlns='urn:x'><a/></x>",
            "<x xmlns='urn:x' y='1'><b/><a/></x>"
        ));
        assert!(ok(
            "<message scansion:strict='true'><body>x</body></message>",
            "<message><body>x</body></message>"
        ));
        assert!(!ok(
            "<message scansion:strict='true'><body>x</body></message>",
            "<message id='1'><body>x</body></message>"
        ));
    }

    #[test]
    fn any_matches_any_present_value() {
        assert!(ok("<iq id='{scansion:any}'/>", "<iq id='42'/>"));
        assert!(!ok("<iq id='{scansion:any}'/>", "<iq/>"));
    }

    #[test]
    fn captures_bind_once_and_must_agree() {
        let mut caps = Captures::default();
        assert!(matches(
            &el("<iq id='{scansion:capture:X}'/>"),
            &el("<iq id='7'/>"),
            &mut caps
        )
        .is_ok());
        assert_eq!(caps.get("X"), Some("7"));
        assert!(matches(
            &el("<iq id='{scansion:capture:X}'/>"),
            &el("<iq id='7'/>"),
            &mut caps
        )
        .is_ok());
        assert!(matches(
            &el("<iq id='{scansion:capture:X}'/>"),
            &el("<iq id='8'/>"),
            &mut caps
        )
        .is_err());
        // A failed match binds nothing.
        let mut caps = Captures::default();
        assert!(matches(
            &el("<iq id='{scansion:capture:Y}' type='get'/>"),
            &el("<iq id='1' type='set'/>"),
            &mut caps
        )
        .is_err());
        assert_eq!(caps.get("Y"), None);
    }

    #[test]
    fn namespaces_compare_by_uri_not_prefix() {
        assert!(ok("<x xmlns='urn:x'/>", "<p:x xmlns:p='urn:x'/>"));
        assert!(!ok("<x xmlns='urn:x'/>", "<x xmlns='urn:y'/>"));
    }

    fn ok_unordered(exp: &str, got: &str) -> bool {
        let opts = MatchOptions {
            unordered_children: true,
        };
        matches_with(&el(exp), &el(got), &mut Captures::default(), opts).is_ok()
    }

    const PROSODY_ORDER: &str = "<presence><x xmlns='http://jabber.org/protocol/muc#user'>\
        <status code='201'/><item affiliation='owner' role='moderator'/><status code='110'/></x></presence>";
    const EJABBERD_ORDER: &str = "<presence><x xmlns='http://jabber.org/protocol/muc#user'>\
        <item affiliation='owner' role='moderator'/><status code='110'/><status code='201'/></x></presence>";

    #[test]
    fn muc_user_children_keep_their_order_by_default() {
        assert!(ok(PROSODY_ORDER, PROSODY_ORDER));
        assert!(!ok(PROSODY_ORDER, EJABBERD_ORDER));
        assert!(!ok(EJABBERD_ORDER, PROSODY_ORDER));
    }

    #[test]
    fn unordered_children_accepts_any_order_of_muc_user_children() {
        assert!(ok_unordered(PROSODY_ORDER, EJABBERD_ORDER));
        assert!(ok_unordered(EJABBERD_ORDER, PROSODY_ORDER));
        assert!(ok_unordered(PROSODY_ORDER, PROSODY_ORDER));
    }

    #[test]
    fn unordered_children_stays_strict_otherwise() {
        let x = |inner: &str| {
            format!("<presence><x xmlns='http://jabber.org/protocol/muc#user'>{inner}</x></presence>")
        };
        let exp = x("<status code='110'/><item role='moderator'/>");
        // A missing child, an extra child, a wrong value, an extra attribute: all fail.
        assert!(!ok_unordered(&exp, &x("<item role='moderator'/>")));
        assert!(!ok_unordered(
            &exp,
            &x("<item role='moderator'/><status code='110'/><status code='100'/>")
        ));
        assert!(!ok_unordered(
            &exp,
            &x("<item role='participant'/><status code='110'/>")
        ));
        assert!(!ok_unordered(
            &exp,
            &x("<item role='moderator' nick='n'/><status code='110'/>")
        ));
        // Two expected children never share one received child.
        assert!(!ok_unordered(
            &x("<status code='110'/><status code='110'/>"),
            &x("<status code='110'/><status code='201'/>")
        ));
        // Only the muc#user <x/> is order-free: other strict elements keep their order.
        assert!(!ok_unordered(
            "<x xmlns='urn:x'><a/><b/></x>",
            "<x xmlns='urn:x'><b/><a/></x>"
        ));
        assert!(!ok_unordered(
            "<iq><query xmlns='http://jabber.org/protocol/muc#admin'><item nick='a'/><item nick='b'/></query></iq>",
            "<iq><query xmlns='http://jabber.org/protocol/muc#admin'><item nick='b'/><item nick='a'/></query></iq>"
        ));
    }

    #[test]
    fn unordered_children_searches_past_a_greedy_choice() {
        // {scansion:any} first would take 201 greedily and leave nothing for 201.
        let x = |inner: &str| {
            format!("<presence><x xmlns='http://jabber.org/protocol/muc#user'>{inner}</x></presence>")
        };
        assert!(ok_unordered(
            &x("<status code='{scansion:any}'/><status code='201'/>"),
            &x("<status code='201'/><status code='110'/>")
        ));
        // Captures bind only along the assignment that matched.
        let mut caps = Captures::default();
        let opts = MatchOptions {
            unordered_children: true,
        };
        assert!(matches_with(
            &el(&x("<status code='{scansion:capture:C}'/><status code='201'/>")),
            &el(&x("<status code='201'/><status code='110'/>")),
            &mut caps,
            opts
        )
        .is_ok());
        assert_eq!(caps.get("C"), Some("110"));
    }

    #[test]
    fn mismatch_names_the_place() {
        let m = matches(
            &el("<presence><x xmlns='urn:x'><item role='none'/></x></presence>"),
            &el("<presence><x xmlns='urn:x'><item role='participant'/></x></presence>"),
            &mut Captures::default(),
        )
        .unwrap_err();
        assert_eq!(m.path, "presence/x/item");
        assert!(m.reason.contains("role"), "{m}");
    }
}
