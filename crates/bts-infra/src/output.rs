//! How commands print their result: one JSON object on stdout with `--json`, else short text.

use anyhow::Context as _;
use clap::Args;
use serde::Serialize;
use std::io::{self, Write};

/// A command's result, printable for a script (JSON) or for a person (text).
pub(crate) trait Report: Serialize {
    /// Writes the human-readable form.
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()>;
}

/// The `--json` flag, flattened into every command that prints a result.
#[derive(Args, Default)]
pub(crate) struct OutputArgs {
    /// Print exactly one JSON object on stdout instead of text
    #[arg(long)]
    json: bool,
}

impl OutputArgs {
    /// Prints `report` on stdout in the chosen form, ending with a newline.
    pub(crate) fn print(&self, report: &impl Report) -> anyhow::Result<()> {
        match self.write(report, &mut io::stdout().lock()) {
            // The reader went away (`| head`): there is nobody left to tell, as with other tools.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            result => result.context("cannot write the result to stdout"),
        }
    }

    fn write(&self, report: &impl Report, out: &mut impl Write) -> io::Result<()> {
        if self.json {
            serde_json::to_writer(&mut *out, report)?;
            writeln!(out)?;
        } else {
            report.write_text(out)?;
        }
        out.flush()
    }
}
