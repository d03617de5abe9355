//! The audit log at scale: 1,000,000 generated events; a filtered review page (target under
//! 200 ms) and full verification (target 200,000 events/s or more).
//! Run: cargo bench --bench audit_scale   (ATTEST_BENCH_EVENTS sets the count)

use std::time::Instant;

use app::types::AuditFilter;
use attest::audit::{review, verify, writer::append, AuditEvent, EventType};
use attest::db::Db;

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("ATTEST_BENCH_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    // ATTEST_BENCH_DB=path keeps the database (and reuses it when it exists: no writing)
    let dir = tempfile::tempdir().unwrap();
    let path = std::env::var("ATTEST_BENCH_DB").map(std::path::PathBuf::from).unwrap_or_else(|_| dir.path().join("audit.db"));
    let reuse = path.exists();
    let db = Db::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    db.migrate().await.unwrap();
    let started = Instant::now();
    let n = if reuse { 0 } else { n };
    let users = ["ada@example.org", "grace@example.org", "alan@example.org", "emmy@example.org", "kurt@example.org"];
    let datasets = ["patients", "encounters", "conditions", "medications"];
    let mut written = 0;
    while written < n {
        let batch: Vec<AuditEvent> = (written..(written + 2000).min(n))
            .map(|i| {
                let mut e = AuditEvent::new(if i % 10 == 0 { EventType::SignIn } else { EventType::DataAccess }, 1_700_000_000_000 + i as i64 * 1000);
                e.user_id = Some((i % 5) as i64 + 1);
                e.user_email = Some(users[i % 5].into());
                e.session_hash = Some(format!("{:064x}", i / 50));
                e.declaration_id = Some((i / 50) as i64);
                e.activity = Some("research-operations".into());
                e.irb = Some(format!("IRB-{}", i % 7));
                e.phi_level = Some("limited".into());
                if i % 10 != 0 {
                    e.study = Some("synthea".into());
                    e.dataset = Some(datasets[i % 4].into());
                    e.columns = Some(vec!["Id".into(), "START".into(), "CODE".into()]);
                    e.phi_columns = Some(vec!["START".into()]);
                    e.row_count = Some(3);
                    e.participants = Some(vec![format!("p{}", i % 50_000), format!("p{}", (i * 7) % 50_000)]);
                }
                e.client_ip = Some("10.0.0.1".into());
                e
            })
            .collect();
        let mut tx = db.begin_write().await.unwrap();
        append(&mut tx, &batch).await.unwrap();
        tx.commit().await.unwrap();
        written += batch.len();
    }
    println!("audit_scale: wrote {n} events in {:.1} s", started.elapsed().as_secs_f64());

    let filters = [
        ("newest page, no filter", AuditFilter::default()),
        ("user + event type", AuditFilter { user: Some("grace@example.org".into()), event_type: Some("data_access".into()), ..Default::default() }),
        ("dataset + IRB", AuditFilter { dataset: Some("encounters".into()), irb: Some("IRB-3".into()), ..Default::default() }),
        ("participant", AuditFilter { participant: Some("p12345".into()), ..Default::default() }),
        ("time range", AuditFilter { from: Some("2023-11-20".into()), to: Some("2023-11-21".into()), ..Default::default() }),
    ];
    for (name, f) in filters {
        let mut times = Vec::new();
        let mut rows = 0;
        for _ in 0..7 {
            let t = Instant::now();
            let page = review::page(&db, &f, None, 50).await.unwrap().unwrap();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            rows = page.events.len();
        }
        times.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!("audit_scale: filtered page ({name}): {rows} events, median {:.1} ms, worst {:.1} ms", times[3], times[6]);
    }
    let t = Instant::now();
    let report = verify::verify_db(&db, &[]).await.unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert!(report.ok());
    println!("audit_scale: verify {} events in {:.2} s = {:.0} events/s", report.events, secs, report.events as f64 / secs);
}
