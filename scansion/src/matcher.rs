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
                // Strict children in any order: each expected child matched
                // (strictly) by a distinct received one (the counts agree).
                return self.children(&exp_children, &got_children, caps, path, Search::Backtrack);
            }
            for (e, g) in exp_children.iter().zip(&got_children) {
                self.element(e, g, caps, &format!("{path}/{}", e.name))?;
            }
            return Ok(());
        }
        // Non-strict: each expected child matches a distinct received child, in any
        // order; each takes the first that fits and keeps it (Prosody's rule).
        self.children(&exp_children, &got_children, caps, path, Search::Greedy)
    }

    /// Matches each of `exp` to a distinct one of `got`, in any order, binding
    /// captures only when every expected child has its match. The error is the first
    /// mismatch against a received child of the expected one's name (see
    /// [`Search`] for which), else "no child".
    fn children(
        &self,
        exp: &[&Element],
        got: &[&Element],
        caps: &mut Captures,
        path: &str,
        search: Search,
    ) -> Result<(), Mismatch> {
        let mut used = vec![false; got.len()];
        let mut first_miss = None;
        let mut trial = caps.clone();
        if self.assign(exp, got, &mut used, &mut trial, path, search, &mut first_miss) {
            *caps = trial;
            return Ok(());
        }
        Err(first_miss.unwrap_or_else(|| Mismatch {
            path: path.to_string(),
            reason: "no assignment of the received children matches".into(),
        }))
    }

    /// Matches `exp[0]` to an unused received child, then the rest; on failure leaves
    /// the reason in `first_miss` (if none is there yet).
    #[allow(clippy::too_many_arguments)]
    fn assign(
        &self,
        exp: &[&Element],
        got: &[&Element],
        used: &mut [bool],
        caps: &mut Captures,
        path: &str,
        search: Search,
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
                    if search == Search::Greedy {
                        // The misses before this child's match do not count.
                        *first_miss = None;
                    }
                    if self.assign(rest, got, used, &mut trial, path, search, first_miss) {
                        *caps = trial;
                        return true;
                    }
                    if search == Search::Greedy {
                        return false;
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
                reason: match search {
                    Search::Greedy => format!("no child <{}/> in {}", e.name, e.ns),
                    Search::Backtrack => format!(
                        "no child <{}/> in {} left to match (unordered children)",
                        e.name, e.ns
                    ),
                },
            });
        }
        false
    }
}

/// How children in any order find their matches.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Search {
    /// Prosody's non-strict rule: each expected child, in turn, takes the first unused
    /// received child that matches and keeps it, even when a later expected child
    /// needed it. The error is the first mismatch met while looking for the expected
    /// child that found none.
    Greedy,
    /// [`MatchOptions::unordered_children`]: every assignment is tried (the lists are
    /// a handful long), so a `{scansion:any}` child cannot take the one a later
    /// expected child needed. The error is the first mismatch met in the whole search.
    Backtrack,
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

    const PROSODY: MatchOptions = MatchOptions {
        unordered_children: false,
    };
    const UNORDERED: MatchOptions = MatchOptions {
        unordered_children: true,
    };

    /// Each row `(expected, received, matches)` comes out as it says under `opts`.
    #[track_caller]
    fn check(opts: MatchOptions, rows: &[(&str, &str, bool)]) {
        for (i, &(exp, got, want)) in rows.iter().enumerate() {
            let got_ok = matches_with(&el(exp), &el(got), &mut Captures::default(), opts).is_ok();
            assert_eq!(got_ok, want, "row {i}: {exp} against {got}");
        }
    }

    #[test]
    fn non_strict_ignores_extra_attributes_and_children() {
        let extra =
            "<presence from='a@b/c' id='x'><occupant-id xmlns='urn:xmpp:occupant-id:0' id='1'/></presence>";
        check(
            PROSODY,
            &[
                ("<presence from='a@b/c'/>", extra, true),
                ("<presence from='a@b/c'/>", "<presence from='a@b/d'/>", false),
                (
                    "<presence from='a@b/c' type='unavailable'/>",
                    "<presence from='a@b/c'/>",
                    false,
                ),
                ("<presence/>", "<message/>", false),
            ],
        );
    }

    #[test]
    fn non_strict_children_in_any_order_each_distinct() {
        check(
            PROSODY,
            &[
                (
                    "<message><body>hi</body><subject/></message>",
                    "<message><subject/><body>hi</body></message>",
                    true,
                ),
                (
                    "<message><body/><body/></message>",
                    "<message><body/></message>",
                    false,
                ),
                (
                    "<message><thread/></message>",
                    "<message><body/></message>",
                    false,
                ),
            ],
        );
    }

    #[test]
    fn non_strict_children_match_greedily() {
        // Prosody's rule: the first expected <thread/> (any text) takes the first
        // received one and keeps it, though the second needed it; the unordered
        // search is only for the muc#user <x/>.
        let exp = "<message><thread/><thread>b</thread></message>";
        let got = "<message><thread>b</thread><thread>c</thread></message>";
        check(
            PROSODY,
            &[
                (exp, got, false),
                (
                    exp,
                    "<message><thread>c</thread><thread>b</thread></message>",
                    true,
                ),
            ],
        );
        check(UNORDERED, &[(exp, got, false)]);
        // The error names the expected child that found no match, and its first miss.
        let m = matches(&el(exp), &el(got), &mut Captures::default()).unwrap_err();
        assert_eq!(m.path, "message/thread");
        assert_eq!(m.reason, "text expected \"b\", got \"c\"");
        let m = matches(
            &el("<message><body/></message>"),
            &el("<message/>"),
            &mut Captures::default(),
        )
        .unwrap_err();
        assert_eq!(
            (m.path.as_str(), m.reason.as_str()),
            ("message/body", "no child <body/> in jabber:client")
        );
    }

    #[test]
    fn non_strict_text_is_trimmed() {
        check(
            PROSODY,
            &[
                (
                    "<message><body>\n hi \n</body></message>",
                    "<message><body>hi</body></message>",
                    true,
                ),
                (
                    "<message><body>hi</body></message>",
                    "<message><body>ho</body></message>",
                    false,
                ),
                // No expected text: any text matches.
                (
                    "<message><body/></message>",
                    "<message><body>ho</body></message>",
                    true,
                ),
            ],
        );
    }

    #[test]
    fn namespaced_elements_are_strict() {
        let x = |inner: &str| {
            format!("<presence><x xmlns='http://jabber.org/protocol/muc#user'>{inner}</x></presence>")
        };
        let exp = x("<status code='110'/>");
        let two = "<x xmlns='urn:x'><a/><b/></x>";
        check(
            PROSODY,
            &[
                (&exp, &exp, true),
                // An extra child of a strict element fails.
                (&exp, &x("<status code='110'/><status code='100'/>"), false),
                // An extra attribute on a strict element fails.
                (&exp, &x("<status code='110' x='1'/>"), false),
                // Order matters in strict mode.
                (two, two, true),
                (two, "<x xmlns='urn:x'><b/><a/></x>", false),
                // Strict text is exact.
                ("<x xmlns='urn:x'>a</x>", "<x xmlns='urn:x'> a</x>", false),
            ],
        );
    }

    #[test]
    fn scansion_strict_overrides_the_default() {
        let got = "<x xmlns='urn:x' y='1'><b/><a/></x>";
        let strict_message = "<message scansion:strict='true'><body>x</body></message>";
        check(
            PROSODY,
            &[
                ("<x xmlns='urn:x' scansion:strict='false'><a/></x>", got, true),
                ("<x xmlns='urn:x'><a/></x>", got, false),
                (strict_message, "<message><body>x</body></message>", true),
                (strict_message, "<message id='1'><body>x</body></message>", false),
            ],
        );
    }

    #[test]
    fn any_matches_any_present_value() {
        let any = "<iq id='{scansion:any}'/>";
        check(PROSODY, &[(any, "<iq id='42'/>", true), (any, "<iq/>", false)]);
    }

    #[test]
    fn captures_bind_once_and_must_agree() {
        // In turn against one set of captures: (expected, received, matches, X after).
        let x = "<iq id='{scansion:capture:X}'/>";
        let mut caps = Captures::default();
        for (i, (got, ok, bound)) in [
            ("<iq id='7'/>", true, "7"),
            ("<iq id='7'/>", true, "7"),
            ("<iq id='8'/>", false, "7"),
        ]
        .into_iter()
        .enumerate()
        {
            assert_eq!(matches(&el(x), &el(got), &mut caps).is_ok(), ok, "step {i}");
            assert_eq!(caps.get("X"), Some(bound), "step {i}");
        }
        // A failed match binds nothing.
        let mut caps = Captures::default();
        let y = el("<iq id='{scansion:capture:Y}' type='get'/>");
        assert!(matches(&y, &el("<iq id='1' type='set'/>"), &mut caps).is_err());
        assert_eq!(caps.get("Y"), None);
    }

    #[test]
    fn namespaces_compare_by_uri_not_prefix() {
        let x = "<x xmlns='urn:x'/>";
        check(
            PROSODY,
            &[
                (x, "<p:x xmlns:p='urn:x'/>", true),
                (x, "<x xmlns='urn:y'/>", false),
            ],
        );
    }

    const PROSODY_ORDER: &str = "<presence><x xmlns='http://jabber.org/protocol/muc#user'>\
        <status code='201'/><item affiliation='owner' role='moderator'/><status code='110'/></x></presence>";
    const EJABBERD_ORDER: &str = "<presence><x xmlns='http://jabber.org/protocol/muc#user'>\
        <item affiliation='owner' role='moderator'/><status code='110'/><status code='201'/></x></presence>";

    #[test]
    fn muc_user_children_keep_their_order_unless_unordered() {
        let (p, e) = (PROSODY_ORDER, EJABBERD_ORDER);
        for (exp, got) in [(p, p), (p, e), (e, p)] {
            // By default only the same order matches; with the option, any order.
            check(PROSODY, &[(exp, got, exp == got)]);
            check(UNORDERED, &[(exp, got, true)]);
        }
    }

    fn muc_user(inner: &str) -> String {
        format!("<presence><x xmlns='http://jabber.org/protocol/muc#user'>{inner}</x></presence>")
    }

    #[test]
    fn unordered_children_stays_strict_otherwise() {
        let x = muc_user;
        let exp = x("<status code='110'/><item role='moderator'/>");
        check(
            UNORDERED,
            &[
                // A missing child, an extra child, a wrong value, an extra attribute: all fail.
                (&exp, &x("<item role='moderator'/>"), false),
                (&exp, &x("<item role='moderator'/><status code='110'/><status code='100'/>"), false),
                (&exp, &x("<item role='participant'/><status code='110'/>"), false),
                (&exp, &x("<item role='moderator' nick='n'/><status code='110'/>"), false),
                // Two expected children never share one received child.
                (&x("<status code='110'/><status code='110'/>"), &x("<status code='110'/><status code='201'/>"), false),
                // Only the muc#user <x/> is order-free: other strict elements keep their order.
                ("<x xmlns='urn:x'><a/><b/></x>", "<x xmlns='urn:x'><b/><a/></x>", false),
                (
                    "<iq><query xmlns='http://jabber.org/protocol/muc#admin'><item nick='a'/><item nick='b'/></query></iq>",
                    "<iq><query xmlns='http://jabber.org/protocol/muc#admin'><item nick='b'/><item nick='a'/></query></iq>",
                    false,
                ),
            ],
        );
    }

    #[test]
    fn unordered_children_searches_past_a_greedy_choice() {
        // {scansion:any} first would take 201 greedily and leave nothing for 201.
        let x = muc_user;
        let got = x("<status code='201'/><status code='110'/>");
        let any_first = el(&x("<status code='{scansion:any}'/><status code='201'/>"));
        assert!(matches_with(&any_first, &el(&got), &mut Captures::default(), UNORDERED).is_ok());
        // Captures bind only along the assignment that matched.
        let mut caps = Captures::default();
        let exp = el(&x("<status code='{scansion:capture:C}'/><status code='201'/>"));
        assert!(matches_with(&exp, &el(&got), &mut caps, UNORDERED).is_ok());
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
