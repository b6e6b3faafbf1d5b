//! `temper augment text|audio`: augmentation outside training.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use temper_augment::audio::{AudioOp, Pipeline};
use temper_augment::text::{EdaConfig, SynonymTable, augment_lines};
use temper_train::write_atomic;

#[derive(Subcommand)]
pub enum AugmentCommand {
    /// EDA on each line of a text file (Wei & Zou 2019): synonym replacement, random insertion,
    /// swap and deletion; writes each line's augmentations, then the line itself.
    Text {
        /// The text file, one sentence per line.
        #[arg(long = "in", value_name = "FILE")]
        input: PathBuf,
        /// Augmented sentences per input line.
        #[arg(long, default_value_t = 9)]
        num_aug: usize,
        /// Fraction of words replaced by synonyms.
        #[arg(long, default_value_t = 0.1)]
        alpha_sr: f64,
        /// Fraction of words inserted (synonyms of words present).
        #[arg(long, default_value_t = 0.1)]
        alpha_ri: f64,
        /// Fraction of words swapped.
        #[arg(long, default_value_t = 0.1)]
        alpha_rs: f64,
        /// Probability of deleting each word.
        #[arg(long, default_value_t = 0.1)]
        p_rd: f64,
        /// Seed; the same seed gives the same output.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Read synonyms from a WordNet dictionary folder (e.g. /usr/share/wordnet) instead of
        /// the built-in WordNet 3.0 table.
        #[arg(long, value_name = "DIR")]
        wordnet: Option<PathBuf>,
        /// Write here instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Draw a PNG grid of training images and their augmentations under `[augment]`.
    Preview {
        /// Experiment file with an `[augment]` section.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// The PNG to write.
        #[arg(long, value_name = "PNG", default_value = "augment.png")]
        out: PathBuf,
        /// Images (rows) to show.
        #[arg(long, default_value_t = 8)]
        rows: usize,
        /// Augmented variants per image (columns after the original).
        #[arg(long, default_value_t = 8)]
        variants: usize,
        /// Pixel magnification.
        #[arg(long, default_value_t = 3)]
        scale: usize,
        /// Preview this image (PNG, JPEG or BMP) instead of training images.
        #[arg(long, value_name = "PATH")]
        image: Option<PathBuf>,
    },
    /// Apply audio ops to a WAV file, in order, e.g. `--op pitch:+2 --op noise-snr:20`.
    Audio {
        #[arg(long = "in", value_name = "WAV")]
        input: PathBuf,
        #[arg(long, value_name = "WAV")]
        out: PathBuf,
        /// gain:DB noise:AMP noise-snr:DB shift:F[:zero] speed:X stretch:R[:keep] pitch:ST
        /// time-mask:F spec-time-mask:F spec-freq-mask:F
        #[arg(long = "op", value_name = "OP", required = true)]
        ops: Vec<String>,
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
}

pub fn run(cmd: AugmentCommand) -> anyhow::Result<()> {
    match cmd {
        AugmentCommand::Text {
            input,
            num_aug,
            alpha_sr,
            alpha_ri,
            alpha_rs,
            p_rd,
            seed,
            wordnet,
            out,
        } => {
            let config = EdaConfig {
                alpha_sr,
                alpha_ri,
                alpha_rs,
                p_rd,
                num_aug,
                ..EdaConfig::default()
            };
            // Bounded: the whole text and its copies are held in memory. The message already
            // holds the I/O error; `{:#}` would repeat it from the source chain.
            let text = temper_augment::text::read_text(&input)
                .map_err(|e| anyhow::anyhow!(e.to_string()))?;
            let table = SynonymTable::load(wordnet.as_deref())?;
            let lines = augment_lines(&text, &config, &table, seed)?;
            let mut joined = lines.join("\n");
            joined.push('\n');
            match out {
                Some(path) => write_atomic(&path, joined.as_bytes())?,
                None => std::io::stdout()
                    .write_all(joined.as_bytes())
                    .context("writing standard output")?,
            }
            Ok(())
        }
        AugmentCommand::Preview {
            config,
            out,
            rows,
            variants,
            scale,
            image,
        } => {
            let exp = temper_train::Experiment::load(&config)?;
            temper_train::augment_preview(&exp, image.as_deref(), rows, variants, scale, &out)?;
            println!(
                "wrote {} ({rows} images x {variants} variants)",
                out.display()
            );
            Ok(())
        }
        AugmentCommand::Audio {
            input,
            out,
            ops,
            seed,
        } => {
            let ops = ops
                .iter()
                .map(|s| s.parse::<AudioOp>())
                .collect::<Result<Vec<_>, _>>()
                .context("--op")?;
            let applied = Pipeline::from_ops(ops)?.augment_wav_file(&input, &out, seed)?;
            let names: Vec<String> = applied.iter().map(ToString::to_string).collect();
            println!("applied {}; wrote {}", names.join(" "), out.display());
            Ok(())
        }
    }
}
