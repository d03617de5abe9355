//! `attest user add ... --password-stdin`.

use std::io::Read;

use app::types::{PhiLevel, Role};
use secrecy::{ExposeSecret, SecretString};

use crate::audit::{writer::append, AuditEvent, EventType};
use crate::auth::password::{check_policy, hash_blocking};
use crate::clock::{Clock, SystemClock};
use crate::db::Db;
use crate::users::{self, NewUser};

/// Reads one password from standard input (a trailing newline is not part of it).
pub fn read_password_stdin() -> anyhow::Result<SecretString> {
    let mut raw = String::new();
    std::io::stdin().read_to_string(&mut raw)?;
    let pw = raw.strip_suffix('\n').unwrap_or(&raw);
    let pw = pw.strip_suffix('\r').unwrap_or(pw);
    Ok(SecretString::from(pw.to_string()))
}

pub async fn add(url: &str, email: &str, name: &str, role: Role, max_phi: PhiLevel) -> anyhow::Result<()> {
    let password = read_password_stdin()?;
    let db = Db::connect(url).await?;
    db.migrate().await?;
    let id = create(&db, email, name, role, max_phi, &password).await?;
    println!("created user {id}: {} ({role}, max PHI {max_phi})", users::normalize_email(email)?);
    Ok(())
}

/// Creates a user after checking the password policy; audited as created from the command line.
pub async fn create(db: &Db, email: &str, name: &str, role: Role, max_phi: PhiLevel, password: &SecretString) -> anyhow::Result<i64> {
    let settings = crate::settings::load(&db.pool).await?;
    check_policy(password.expose_secret(), &settings, email, name).map_err(|e| anyhow::anyhow!("{e}"))?;
    let pw = password.clone();
    let hash = tokio::task::spawn_blocking(move || hash_blocking(pw.expose_secret())).await??;
    let now = SystemClock.now_ms();
    let mut tx = db.begin_write().await?;
    let id = users::insert(
        &mut tx,
        &NewUser { email: email.to_string(), name: name.to_string(), role, max_phi, password_hash: hash, expires_on: None },
        now,
    )
    .await?;
    let mut e = AuditEvent::new(EventType::UserCreated, now);
    e.user_id = Some(id);
    e.user_email = Some(users::normalize_email(email)?);
    e.detail = Some(serde_json::json!({ "role": role.as_str(), "max_phi": max_phi.as_str(), "by": "command line" }));
    append(&mut tx, &[e]).await?;
    tx.commit().await?;
    Ok(id)
}
