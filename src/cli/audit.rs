//! `attest audit verify | checkpoint | export`.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use futures::StreamExt;

use crate::audit::checkpoint::{self, Checkpoint, CHECKPOINT_DIR};
use crate::audit::export::{self, Format};
use crate::audit::verify::{self, Walker};
use crate::audit::{review, writer::append, AuditEvent, EventType, StoredEvent};
use crate::clock::{Clock, SystemClock};
use crate::db::Db;

async fn record(db: &Db, e: AuditEvent) -> anyhow::Result<()> {
    let mut tx = db.begin_write().await?;
    append(&mut tx, &[e]).await?;
    tx.commit().await?;
    Ok(())
}

fn trusted_key(data_dir: &Path, public_key: Option<&str>) -> anyhow::Result<ed25519_dalek::VerifyingKey> {
    match public_key {
        Some(hex_key) => {
            let bytes: [u8; 32] = hex::decode(hex_key.trim()).ok().and_then(|b| b.try_into().ok()).ok_or_else(|| anyhow::anyhow!("--public-key: 64 hex digits expected"))?;
            Ok(ed25519_dalek::VerifyingKey::from_bytes(&bytes)?)
        }
        None => Ok(checkpoint::load_public(data_dir)?),
    }
}

pub struct VerifyArgs {
    pub checkpoints: Vec<PathBuf>,
    pub data_dir: PathBuf,
    pub public_key: Option<String>,
    pub no_local_checkpoints: bool,
    pub jsonl: Option<PathBuf>,
}

pub async fn verify_cmd(url: &str, a: VerifyArgs) -> anyhow::Result<ExitCode> {
    let mut checkpoints: Vec<Checkpoint> = Vec::new();
    for path in &a.checkpoints {
        checkpoints.push(checkpoint::read_file(path).map_err(|e| anyhow::anyhow!(e))?);
    }
    if !a.no_local_checkpoints {
        checkpoints.extend(checkpoint::read_dir(&a.data_dir.join(CHECKPOINT_DIR)).map_err(|e| anyhow::anyhow!(e))?);
    }
    if !checkpoints.is_empty() {
        let key = trusted_key(&a.data_dir, a.public_key.as_deref())?;
        for cp in &checkpoints {
            if let Err(m) = cp.verify_signature(&key) {
                println!("FAILED: checkpoint of {} (size {}): {m}", cp.time, cp.size);
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    checkpoints.sort_by_key(|c| c.size);

    if let Some(file) = a.jsonl {
        // An exported file, verified offline: no database involved.
        let f = std::io::BufReader::new(std::fs::File::open(&file)?);
        let mut w = Walker::new(&checkpoints.iter().map(|c| c.size).collect::<Vec<_>>());
        for (i, line) in f.lines().enumerate() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let e: StoredEvent = serde_json::from_str(&line).map_err(|e| anyhow::anyhow!("{}:{}: {e}", file.display(), i + 1))?;
            if !w.feed(&e) {
                break;
            }
        }
        w.check_checkpoints(&checkpoints);
        return Ok(print_report(w.count, &w.head(), w.problem.as_ref().map(|p| (p.seq, p.message.as_str())), checkpoints.len()));
    }

    let db = Db::connect(url).await?;
    db.migrate().await?;
    let started = std::time::Instant::now();
    let report = verify::verify_db(&db, &checkpoints).await?;
    let secs = started.elapsed().as_secs_f64();
    let code = print_report(report.events, &report.head, report.problem.as_ref().map(|p| (p.seq, p.message.as_str())), checkpoints.len());
    eprintln!("verified {} events in {:.2} s ({:.0} events/s)", report.events, secs, report.events as f64 / secs.max(1e-9));
    let mut e = AuditEvent::new(EventType::AuditVerify, SystemClock.now_ms()).outcome(if report.ok() { "ok" } else { "failed" });
    e.detail = Some(serde_json::json!({ "by": "command line", "events": report.events, "head": report.head,
        "first_bad_seq": report.problem.as_ref().map(|p| p.seq), "checkpoints": checkpoints.len() }));
    // A tampered log is still appended to: the failed verification is itself evidence.
    if let Err(err) = record(&db, e).await {
        eprintln!("warning: could not record this verification in the log: {err}");
    }
    Ok(code)
}

fn print_report(events: i64, head: &str, problem: Option<(i64, &str)>, checkpoints: usize) -> ExitCode {
    match problem {
        None => {
            println!("OK: {events} events, head {head}, {checkpoints} checkpoint{} extended", if checkpoints == 1 { "" } else { "s" });
            ExitCode::SUCCESS
        }
        Some((seq, message)) => {
            println!("FAILED at event {seq}: {message}");
            ExitCode::FAILURE
        }
    }
}

pub async fn checkpoint_cmd(url: &str, data_dir: &Path, write: bool) -> anyhow::Result<ExitCode> {
    let db = Db::connect(url).await?;
    db.migrate().await?;
    let key = checkpoint::load_or_create_key(data_dir)?;
    let (size, head) = verify::head(&db).await?;
    let cp = Checkpoint::sign(&key, size, &head, SystemClock.now_ms());
    println!("{}", serde_json::to_string_pretty(&cp)?);
    if write {
        let path = checkpoint::write_to_dir(&data_dir.join(CHECKPOINT_DIR), &cp)?;
        eprintln!("written to {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn export_cmd(url: &str, format: &str, filter: app::types::AuditFilter, output: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let format = Format::parse(format).ok_or_else(|| anyhow::anyhow!("--format: use csv or jsonl"))?;
    let db = Db::connect(url).await?;
    let w = review::where_of(&filter, db.backend).map_err(|e| anyhow::anyhow!("{e}"))?;
    db.migrate().await?;
    let mut e = AuditEvent::new(EventType::AuditExport, SystemClock.now_ms());
    e.detail = Some(serde_json::json!({ "by": "command line", "format": format.extension(), "filter": filter }));
    record(&db, e).await?;
    let mut out: Box<dyn Write> = match output {
        Some(p) => Box::new(std::io::BufWriter::new(std::fs::File::create(p)?)),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let mut s = Box::pin(export::stream(db.clone(), w, format));
    while let Some(chunk) = s.next().await {
        out.write_all(&chunk?)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
