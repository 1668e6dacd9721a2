//! The parser bench's readers without the bench's timing, for instruction counts under
//! callgrind (which, unlike wall-clock time, the machine's load does not move):
//!
//! ```sh
//! cargo build --release -p mucsim-server --example parse_profile
//! valgrind --tool=callgrind target/release/examples/parse_profile mucsim 3
//! ```
//!
//! `parse_profile READER [N]`: N runs (default 1) of one of the bench's readers over
//! the bench's bytes. READER: `mucsim` (the stream parser over 4 KiB reads, as the
//! bench feeds it), `raw` (quick-xml's raw reader), `nsreader` (quick-xml's NsReader
//! resolving every name and reading every attribute), `roxmltree`, `minidom`.
//! Instructions per run: (count at N=3 − count at N=1) / 2, which removes building
//! the bytes and starting the process.

#[path = "../benches/common/readers.rs"]
mod readers;

use std::hint::black_box;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: parse_profile mucsim|raw|nsreader|roxmltree|minidom [N]";
    let read: fn(&[u8]) -> usize = match args.get(1).map(String::as_str) {
        Some("mucsim") => readers::mucsim_parse,
        Some("raw") => readers::raw_read,
        Some("nsreader") => readers::ns_read,
        Some("roxmltree") => readers::roxmltree_tree,
        Some("minidom") => readers::minidom_tree,
        other => {
            eprintln!("parse_profile: unknown reader {other:?}\n{usage}");
            std::process::exit(2);
        }
    };
    let n: usize = args.get(2).map_or(Ok(1), |s| s.parse()).unwrap_or_else(|e| {
        eprintln!("parse_profile: bad N: {e}\n{usage}");
        std::process::exit(2)
    });
    let bytes = readers::stream_bytes();
    for _ in 0..n {
        black_box(read(&bytes));
    }
}
