//! `attest import DIR --study NAME --phi-map FILE`: progress per file on a terminal, a summary
//! per dataset at the end, and errors that name file and line.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use crate::clock::{Clock, SystemClock};
use crate::data::import::{self, ImportReport, Progress};
use crate::db::Db;

pub async fn run(url: &str, dir: &Path, study: &str, map: &Path) -> anyhow::Result<ExitCode> {
    let (plans, warnings) = match import::prepare(dir, study, map) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("nothing was imported");
            return Ok(ExitCode::FAILURE);
        }
    };
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    let db = Db::connect(url).await?;
    db.migrate().await?;
    let tty = std::io::stderr().is_terminal();
    let mut progress = |p: Progress<'_>| {
        if !tty && !p.done {
            return;
        }
        let rate = if p.elapsed_secs > 0.0 { p.rows as f64 / p.elapsed_secs } else { 0.0 };
        let line = format!("{}: {} / {} rows ({:.0} rows/s)", p.file, p.rows, p.total, rate);
        let mut err = std::io::stderr();
        if tty {
            let _ = write!(err, "\r\x1b[2K{line}{}", if p.done { "\n" } else { "" });
        } else {
            let _ = writeln!(err, "{line}");
        }
        let _ = err.flush();
    };
    match import::import(&db, SystemClock.now_ms(), study, &plans, &mut progress).await {
        Ok(report) => {
            print_summary(study, &report);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("nothing was imported");
            Ok(ExitCode::FAILURE)
        }
    }
}

pub fn print_summary(study: &str, report: &ImportReport) {
    println!("study '{study}': {} datasets", report.datasets.len());
    println!("{:<20} {:>9} {:>8} {:>8} {:>8} {:>11} {:>13}", "dataset", "rows", "not-phi", "limited", "full", "restricted", "participants");
    for d in &report.datasets {
        let n = |l| d.columns_by_level.get(&l).copied().unwrap_or(0);
        use app::types::PhiLevel::*;
        println!(
            "{:<20} {:>9} {:>8} {:>8} {:>8} {:>11} {:>13}",
            d.name,
            d.rows,
            n(NotPhi),
            n(Limited),
            n(Full),
            n(Restricted),
            d.participants.map(|p| p.to_string()).unwrap_or_else(|| "-".into())
        );
    }
}
