//! Builds the compact synonym table that `temper-augment` compiles in.
//!
//! ```text
//! cargo run --release -p temper-augment --example build_synonyms -- \
//!     ../shared/data/wordnet-3.0 crates/temper-augment/assets/text/wordnet-synonyms.tsv.gz
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use temper_augment::text::SynonymTable;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, out] = args.as_slice() else {
        eprintln!("usage: build_synonyms <wordnet-dict-dir> <out.tsv.gz>");
        return ExitCode::FAILURE;
    };
    let table = match SynonymTable::from_wordnet_dir(&PathBuf::from(dir)) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let written = std::fs::File::create(out).and_then(|f| {
        let mut w = std::io::BufWriter::new(f);
        table.write_compact(&mut w)?;
        std::io::Write::flush(&mut w)
    });
    if let Err(e) = written {
        eprintln!("error: {out}: {e}");
        return ExitCode::FAILURE;
    }
    println!(
        "{out}: {} synsets, {} exceptions",
        table.num_synsets(),
        table.num_exceptions()
    );
    ExitCode::SUCCESS
}
