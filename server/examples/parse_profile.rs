//! The parser bench's work without the bench's timing, for instruction counts under
//! callgrind (which, unlike wall-clock time, the machine's load does not move):
//!
//! ```sh
//! cargo build --release -p mucsim-server --example parse_profile
//! valgrind --tool=callgrind target/release/examples/parse_profile mucsim 3
//! ```
//!
//! `parse_profile READER [N]`: READER is `mucsim` (the stream parser over 4 KiB reads,
//! as the bench feeds it) or `roxmltree`; N parses (default 1) of the bench's bytes.
//! Instructions per parse: (count at N=3 − count at N=1) / 2, which removes the cost
//! of building the bytes and of starting the process.

#[path = "../benches/common/stream_bytes.rs"]
mod stream_bytes;

use server::xml::{Limits, StreamParser};
use std::hint::black_box;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: parse_profile mucsim|roxmltree [N]";
    let reader = args.get(1).map(String::as_str).unwrap_or("");
    let n: usize = match args.get(2).map(|s| s.parse()) {
        None => 1,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("parse_profile: bad N: {e}\n{usage}");
            std::process::exit(2);
        }
    };
    let bytes = stream_bytes::stream_bytes();
    for _ in 0..n {
        let count = match reader {
            "mucsim" => {
                let mut p = StreamParser::new(Limits::default());
                let mut events = 0;
                for chunk in bytes.chunks(4096) {
                    match p.feed(chunk) {
                        Ok(ev) => events += ev.len(),
                        Err(e) => {
                            eprintln!("parse_profile: the parser refused the bench's bytes: {e}");
                            std::process::exit(1);
                        }
                    }
                }
                events
            }
            "roxmltree" => {
                let text = std::str::from_utf8(&bytes).expect("the bench's bytes are UTF-8");
                match roxmltree::Document::parse(text) {
                    Ok(doc) => doc.descendants().count(),
                    Err(e) => {
                        eprintln!("parse_profile: roxmltree refused the bench's bytes: {e}");
                        std::process::exit(1);
                    }
                }
            }
            _ => {
                eprintln!("parse_profile: unknown reader {reader:?}\n{usage}");
                std::process::exit(2);
            }
        };
        black_box(count);
    }
}
