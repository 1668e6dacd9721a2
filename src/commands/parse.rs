//! `mucsim parse FILE`: the service's parser and limits on a file. A stream is read in
//! chunks and printed event by event, so memory stays bounded by the largest stanza
//! (the parser's limit), not by the file.

use server::xml::{parse_stanza, Limits, StreamEvent, StreamParser, XmlError};
use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::process::ExitCode;

/// Bytes read from the file at a time.
const CHUNK: usize = 64 * 1024;

/// Why a parse run ended before the end of the file.
enum Stop {
    Read(std::io::Error),
    Refused(XmlError),
    /// The file ends inside a stanza (a cut-off capture, say).
    Truncated,
    /// stdout went away (closed pipe without SIGPIPE, full disk): nothing more to say.
    Write,
}

/// `mucsim parse FILE`: prints each event of a stream (or the one stanza) as the
/// service's serializer writes it. Exit codes: 0 parsed, 1 refused (RFC 6120 §4.9.3
/// stream error condition and reason on stderr), cut off inside a stanza, or stdout
/// gone, 2 unreadable file.
pub fn parse(file: &Path) -> ExitCode {
    let mut input = match std::fs::File::open(file) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("mucsim parse: cannot read {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let result = match sniff(&mut input) {
        Err(e) => Err(Stop::Read(e)),
        Ok((head, true)) => stream(&head, &mut input, &mut out),
        // One stanza: at most the stanza limit and one byte more is read, which the
        // parser refuses as too large; a huge file is never held whole.
        Ok((mut head, false)) => match input
            .take(Limits::default().max_stanza_bytes as u64 + 1)
            .read_to_end(&mut head)
        {
            Err(e) => Err(Stop::Read(e)),
            Ok(_) => match parse_stanza(&head, "jabber:client", &Limits::default()) {
                Ok(e) => writeln!(out, "{}", e.to_xml_in("jabber:client")).map_err(|_| Stop::Write),
                Err(e) => Err(Stop::Refused(e)),
            },
        },
    };
    let flushed = out.flush();
    match result {
        Ok(()) if flushed.is_ok() => ExitCode::SUCCESS,
        Ok(()) | Err(Stop::Write) => ExitCode::from(1),
        Err(Stop::Read(e)) => {
            eprintln!("mucsim parse: cannot read {}: {e}", file.display());
            ExitCode::from(2)
        }
        Err(Stop::Truncated) => {
            eprintln!(
                "mucsim parse: {}: the file ends inside a stanza (cut off; the stanzas before it are printed)",
                file.display()
            );
            ExitCode::from(1)
        }
        Err(Stop::Refused(e)) => {
            eprintln!(
                "mucsim parse: {}: refused ({}): {e}",
                file.display(),
                e.stream_condition()
            );
            ExitCode::from(1)
        }
    }
}

/// Reads up to the first non-whitespace bytes and says whether the file is a stream
/// (`<?xml` or `<stream:` first) rather than a single stanza; returns the bytes read.
fn sniff(input: &mut impl Read) -> std::io::Result<(Vec<u8>, bool)> {
    let mut head = Vec::new();
    let mut chunk = vec![0; CHUNK];
    loop {
        let start = head.iter().position(|b: &u8| !b.is_ascii_whitespace());
        if let Some(i) = start {
            if head.len() - i >= b"<stream:".len() {
                let t = &head[i..];
                return Ok((
                    head.clone(),
                    t.starts_with(b"<?xml") || t.starts_with(b"<stream:"),
                ));
            }
        }
        let n = input.read(&mut chunk)?;
        if n == 0 {
            let t = start.map_or(&head[..0], |i| &head[i..]);
            let is_stream = t.starts_with(b"<?xml") || t.starts_with(b"<stream:");
            return Ok((head, is_stream));
        }
        head.extend_from_slice(&chunk[..n]);
    }
}

/// Feeds the stream to the parser chunk by chunk, printing each event as it completes.
fn stream(head: &[u8], input: &mut impl Read, out: &mut impl Write) -> Result<(), Stop> {
    let mut p = StreamParser::new(Limits::default());
    let mut events = Vec::new();
    let mut chunk = vec![0; CHUNK];
    let mut bytes = head;
    loop {
        let fed = p.feed_into(bytes, &mut events);
        for e in events.drain(..) {
            let line = match e {
                StreamEvent::Open(h) => format!("stream open: {}", h.to_xml()),
                StreamEvent::Stanza(s) => s.to_xml_in("jabber:client"),
                StreamEvent::Close => "stream close".to_string(),
                StreamEvent::Refused(r) => format!(
                    "refused <{}> from {} (id {}): {}",
                    r.name,
                    r.from.as_deref().unwrap_or("-"),
                    r.id.as_deref().unwrap_or("-"),
                    r.limit
                ),
            };
            writeln!(out, "{line}").map_err(|_| Stop::Write)?;
        }
        fed.map_err(Stop::Refused)?;
        // Lines reach a reader as their stanzas complete, not only at the end.
        out.flush().map_err(|_| Stop::Write)?;
        let n = input.read(&mut chunk).map_err(Stop::Read)?;
        if n == 0 {
            return match p.inside_stanza() {
                true => Err(Stop::Truncated),
                false => Ok(()),
            };
        }
        bytes = &chunk[..n];
    }
}
