//! Parsing `.scs` scripts into a [`Script`]. Every error names the line and the reason.

use server::xml::{Element, Limits, StreamEvent, StreamParser, XmlError};

/// The namespace scripts' unbound `scansion:` prefix (e.g. `scansion:strict`) stands for.
pub const NS_SCANSION: &str = "https://matthewwild.co.uk/projects/scansion";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientDef {
    pub name: String,
    pub jid: String,
    pub password: String,
    pub resource: Option<String>,
    pub line: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActionKind {
    Connects,
    Disconnects,
    Sends(Vec<Element>),
    Receives(Vec<Element>),
    /// `X receives: nothing`.
    ReceivesNothing,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Action {
    pub client: String,
    pub kind: ActionKind,
    /// 1-based line of the action's first line.
    pub line: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Script {
    pub title: Option<String>,
    pub clients: Vec<ClientDef>,
    pub actions: Vec<Action>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub reason: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for ParseError {}

fn err<T>(line: usize, reason: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError {
        line,
        reason: reason.into(),
    })
}

fn is_indented(l: &str) -> bool {
    l.starts_with('\t') || l.starts_with(' ')
}

/// Parses a whole script. A UTF-8 byte order mark at the start is skipped (editors
/// on some systems write one).
pub fn parse(text: &str) -> Result<Script, ParseError> {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    let mut title = None;
    let mut clients: Vec<ClientDef> = Vec::new();
    let mut header_done = false;

    // Header: title comment, client blocks, then a line of dashes.
    while i < lines.len() {
        let n = i + 1;
        let l = lines[i].trim_end();
        i += 1;
        if l.trim().is_empty() {
            continue;
        }
        if let Some(c) = l.strip_prefix('#') {
            if title.is_none() && clients.is_empty() {
                title = Some(c.trim().to_string());
            }
            continue;
        }
        if l.starts_with("---") && l.chars().all(|c| c == '-') {
            header_done = true;
            break;
        }
        if let Some(name) = l.strip_prefix("[Client]") {
            let name = name.trim();
            if name.is_empty() {
                return err(n, "client definition without a name");
            }
            if clients.iter().any(|c| c.name == name) {
                return err(n, format!("client '{name}' is defined twice"));
            }
            let (mut jid, mut password, mut resource) = (None, None, None);
            while i < lines.len() && is_indented(lines[i]) && !lines[i].trim().is_empty() {
                let kv = lines[i].trim();
                let Some((k, v)) = kv.split_once(':') else {
                    return err(
                        i + 1,
                        format!("expected 'key: value' in client '{name}', found '{kv}'"),
                    );
                };
                let v = v.trim().to_string();
                match k.trim() {
                    "jid" => jid = Some(v),
                    "password" => password = Some(v),
                    "resource" => resource = Some(v),
                    other => return err(i + 1, format!("unknown client property '{other}'")),
                }
                i += 1;
            }
            let Some(jid) = jid else {
                return err(n, format!("client '{name}' has no jid"));
            };
            if jid::Jid::new(&jid).is_err() {
                return err(n, format!("client '{name}' has an invalid jid '{jid}'"));
            }
            clients.push(ClientDef {
                name: name.to_string(),
                jid,
                password: password.unwrap_or_default(),
                resource,
                line: n,
            });
            continue;
        }
        return err(
            n,
            format!("expected a [Client] definition or '-----', found '{l}'"),
        );
    }
    if !header_done {
        return err(
            lines.len().max(1),
            "the header does not end with a line of dashes ('-----')",
        );
    }

    let mut actions = Vec::new();
    while i < lines.len() {
        let n = i + 1;
        let l = lines[i].trim_end();
        i += 1;
        if l.trim().is_empty() || l.starts_with('#') {
            continue;
        }
        if is_indented(l) {
            return err(n, "indented line outside a sends/receives block");
        }
        let Some(client) = clients
            .iter()
            .map(|c| c.name.as_str())
            .filter(|c| l.starts_with(&format!("{c} ")))
            .max_by_key(|c| c.len())
        else {
            return err(n, format!("no client defined for '{l}'"));
        };
        let verb = l[client.len()..].trim();
        let (verb, rest) = match verb.split_once(':') {
            Some((v, r)) => (v.trim(), r.trim()),
            None => (verb, ""),
        };
        let kind = match (verb, rest) {
            ("connects", "") => ActionKind::Connects,
            ("disconnects", "") => ActionKind::Disconnects,
            ("receives", "nothing") => ActionKind::ReceivesNothing,
            ("sends" | "receives", "") => {
                let start = i;
                while i < lines.len() && (is_indented(lines[i]) || lines[i].trim().is_empty()) {
                    i += 1;
                }
                if lines[start..i].iter().all(|l| l.trim().is_empty()) {
                    return err(n, format!("'{verb}' without an indented stanza after it"));
                }
                let stanzas = parse_block(&lines[start..i], start + 1)?;
                if verb == "sends" {
                    ActionKind::Sends(stanzas)
                } else {
                    ActionKind::Receives(stanzas)
                }
            }
            _ => {
                return err(
                    n,
                    format!("unknown action '{verb}' (expected connects, disconnects, sends or receives)"),
                )
            }
        };
        actions.push(Action {
            client: client.to_string(),
            kind,
            line: n,
        });
    }
    Ok(Script {
        title,
        clients,
        actions,
    })
}

/// The stanzas of a block: one or more, in `jabber:client`, with the `scansion:`
/// prefix bound. The lines go through the service's stream parser one at a time, so an
/// error names the line it was found on (a token the parser holds back until it is
/// complete is reported where it ends), and no wrapper the block is parsed in ever
/// shows in a message.
fn parse_block(lines: &[&str], first_line: usize) -> Result<Vec<Element>, ParseError> {
    let limits = Limits {
        max_stanza_bytes: 1 << 20,
        ..Limits::default()
    };
    let mut p = StreamParser::new(limits);
    let header = format!(
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' \
         xmlns:scansion='{NS_SCANSION}'>"
    );
    let mut events = Vec::new();
    if let Err(e) = p.feed_into(header.as_bytes(), &mut events) {
        return err(
            first_line,
            format!("internal error: the block's wrapper is refused: {e}"),
        );
    }
    let mut stanzas = Vec::new();
    let mut last = first_line;
    for (k, l) in lines.iter().enumerate() {
        let n = first_line + k;
        if !l.trim().is_empty() {
            last = n;
        }
        if let Some(why) = unterminated_variable(l) {
            return err(n, why);
        }
        let fed = p.feed_into(l.as_bytes(), &mut events);
        let fed = fed.and_then(|()| p.feed_into(b"\n", &mut events));
        if let Err(why) = take_stanzas(events.drain(..), &mut stanzas) {
            return err(n, why);
        }
        if let Err(e) = fed {
            return err(n, block_error(&e));
        }
    }
    // The block's end: whatever is still open or unfinished is reported at its last
    // line, in our words (the parser's would name the wrapper's closing tag).
    match p.feed_into(b"</stream:stream>", &mut events) {
        Ok(()) => {}
        Err(XmlError::MismatchedEnd { expected, .. }) => {
            return err(last, format!("the block ends before <{expected}> is closed"))
        }
        Err(XmlError::TextOutsideElement) => return err(last, block_error(&XmlError::TextOutsideElement)),
        Err(_) => return err(last, "the block ends inside an unfinished tag"),
    }
    if let Err(why) = take_stanzas(events.into_iter(), &mut stanzas) {
        return err(last, why);
    }
    Ok(stanzas)
}

/// Moves the block's stanzas out of the parser's `events`; a stanza the parser
/// refused as over a per-stanza limit is the script's error, with the limit.
fn take_stanzas(events: impl Iterator<Item = StreamEvent>, stanzas: &mut Vec<Element>) -> Result<(), String> {
    for e in events {
        match e {
            StreamEvent::Stanza(s) => stanzas.push(s),
            StreamEvent::Open(_) | StreamEvent::Close => {}
            StreamEvent::Refused(r) => {
                return Err(format!("<{}> is over the parser's limits: {}", r.name, r.limit))
            }
        }
    }
    Ok(())
}

fn block_error(e: &XmlError) -> String {
    match e {
        XmlError::TextOutsideElement => "text outside any stanza in the block".into(),
        e => format!("stanza block is not well-formed XML: {e}"),
    }
}

/// Why `line` holds a `${` without its closing `}` (variables such as
/// `${Romeo's full JID}` never span lines), or `None`.
fn unterminated_variable(line: &str) -> Option<String> {
    let mut rest = line;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        match after.find('}') {
            Some(end) => rest = &after[end + 1..],
            None => {
                return Some(format!(
                    "unterminated '${{' (a variable such as ${{Romeo's full JID}} ends with '}}' \
                     on its line): {}",
                    line.trim()
                ))
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::corpus;

    #[test]
    fn parses_every_corpus_script() {
        let Some(dir) = corpus::for_test("parses_every_corpus_script") else {
            return;
        };
        let mut n = 0;
        for path in corpus::scripts(&dir) {
            let text = corpus::read(&path);
            let s = parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(
                !s.clients.is_empty() && !s.actions.is_empty(),
                "{}",
                path.display()
            );
            n += 1;
        }
        assert_eq!(n, 13);
    }

    #[test]
    fn founding_scenario_structure() {
        let Some(dir) = corpus::for_test("founding_scenario_structure") else {
            return;
        };
        let text = corpus::read(&dir.join("muc_members_only_change.scs"));
        let s = parse(&text).unwrap();
        assert_eq!(
            s.title.as_deref(),
            Some("MUC: Members-only rooms kick members who lose affiliation")
        );
        assert_eq!(
            s.clients.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            ["Romeo", "Juliet"]
        );
        assert_eq!(
            s.actions[0],
            Action {
                client: "Romeo".into(),
                kind: ActionKind::Connects,
                line: 13
            }
        );
        let ActionKind::Sends(st) = &s.actions[1].kind else {
            panic!()
        };
        assert!(st[0].is("presence", "jabber:client"));
        assert!(matches!(s.actions.last().unwrap().kind, ActionKind::Disconnects));
    }

    #[test]
    fn names_with_apostrophes_and_spaces_and_strict_attribute() {
        let s = parse(
            "# t\n[Client] Juliet's phone\n\tjid: j@localhost\n\tpassword: p\n-----\n\
             Juliet's phone sends\n\t<presence/>\n\t<presence type='unavailable'/>\n\
             Juliet's phone receives:\n\t<x xmlns='urn:x' scansion:strict='false'/>\n\
             Juliet's phone receives: nothing\n",
        )
        .unwrap();
        let ActionKind::Sends(st) = &s.actions[0].kind else {
            panic!()
        };
        assert_eq!(st.len(), 2);
        let ActionKind::Receives(r) = &s.actions[1].kind else {
            panic!()
        };
        assert_eq!(r[0].attr_ns(NS_SCANSION, "strict"), Some("false"));
        assert_eq!(s.actions[2].kind, ActionKind::ReceivesNothing);
    }

    #[test]
    fn malformed_scripts_get_line_numbered_errors() {
        let head = "[Client] A\n\tjid: a@localhost\n-----\n";
        let cases: [(&str, usize, &str); 8] = [
            (
                "[Client] A\n\tjid: a@localhost\nA connects\n",
                3,
                "expected a [Client]",
            ),
            ("[Client] A\n\tpassword: x\n-----\n", 1, "has no jid"),
            (
                "[Client] A\n\tjid: a@localhost\n[Client] A\n\tjid: b@localhost\n-----\n",
                3,
                "defined twice",
            ),
            (&format!("{head}B connects\n"), 4, "no client defined"),
            (&format!("{head}A dances\n"), 4, "unknown action"),
            (
                &format!("{head}A sends:\nA connects\n"),
                4,
                "without an indented stanza",
            ),
            (
                &format!("{head}A sends:\n\t<presence>\n"),
                5,
                "<presence> is closed",
            ),
            ("[Client] A\n\tjid: a@localhost\n", 2, "line of dashes"),
        ];
        for (text, line, reason) in cases {
            refused_at(text, line, reason);
        }
    }

    /// Parsing `text` fails at `line` with a reason containing `reason`; the error.
    fn refused_at(text: &str, line: usize, reason: &str) -> ParseError {
        let e = parse(text).unwrap_err();
        assert_eq!((e.line, e.reason.contains(reason)), (line, true), "{text:?}: {e}");
        e
    }

    /// Errors inside a block name the offending line, not the block's first, and
    /// never show the wrapper the block is parsed in.
    #[test]
    fn block_errors_name_the_offending_line() {
        let head = "[Client] A\n\tjid: a@localhost\n-----\n";
        let refused = |body: &str, line: usize, reason: &str| {
            let e = refused_at(&format!("{head}{body}"), line, reason);
            let shown = e.reason.contains("block>") || e.reason.contains("stream:stream");
            assert!(!shown, "{e}");
        };
        // Line 7: an attribute without quotes, two lines into the stanza.
        let two_lines_in =
            "A sends:\n\t<message to='x@y'>\n\t\t<body>hi</body>\n\t\t<x a=b/>\n\t</message>\n";
        refused(two_lines_in, 7, "not well-formed");
        // Line 6: a mismatched end tag on the block's second line.
        refused("A sends:\n\t<presence>\n\t</message>\n", 6, "not well-formed");
        // An unfinished closing tag at the block's end (was `</p</block>`).
        refused("A sends:\n\t<presence>\n\t</p\n", 6, "<presence> is closed");
        // Stray text after the stanza, on its own line.
        refused(
            "A sends:\n\t<presence/>\n\n\tstray\n",
            7,
            "text outside any stanza",
        );
    }

    #[test]
    fn a_byte_order_mark_at_the_start_is_accepted() {
        let s = parse("\u{FEFF}# t\n[Client] A\n\tjid: a@localhost\n-----\nA connects\n").unwrap();
        assert_eq!(s.title.as_deref(), Some("t"));
        assert_eq!(s.actions.len(), 1);
    }

    #[test]
    fn an_unterminated_variable_is_refused_at_parse_time() {
        let text = "[Client] A\n\tjid: a@localhost\n-----\nA sends:\n\t<message to='x@y'>\n\
                    \t\t<body>${A's JID</body>\n\t</message>\n";
        let e = parse(text).unwrap_err();
        assert_eq!(e.line, 6, "{e}");
        assert!(e.reason.contains("unterminated '${'"), "{e}");
        // Terminated ones parse.
        assert!(parse(&text.replace("JID<", "JID}<")).is_ok());
    }
}
