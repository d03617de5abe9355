//! Site settings: one row in the database, read fresh where a decision needs it so that a
//! change made on one node applies on every node at once.

use sqlx::Row;

pub use app::types::{SiteSettings as Settings, SiteSettingsPatch as SettingsPatch};

/// The most failed sign-ins one account may take in an hour (NIST SP 800-63B 5.2.2).
pub const MAX_ATTEMPTS_PER_HOUR: i64 = 100;
/// The longest password accepted (far beyond the 64 that NIST asks for).
pub const PASSWORD_MAX_LENGTH: usize = 1024;

#[derive(Debug, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidSetting {
    pub field: &'static str,
    pub message: String,
}

fn range(field: &'static str, v: i64, lo: i64, hi: i64, unit: &str) -> Result<(), InvalidSetting> {
    if v < lo || v > hi {
        return Err(InvalidSetting { field, message: format!("must be between {lo} and {hi} {unit}, got {v}") });
    }
    Ok(())
}

/// The rules for site settings (server-side).
pub trait SettingsRules: Sized {
    fn apply(&self, patch: &SettingsPatch) -> Result<Self, InvalidSetting>;
    fn validate(&self) -> Result<(), InvalidSetting>;
    fn max_attempts_per_hour(&self) -> i64;
    fn idle_ms(&self) -> i64;
    fn absolute_ms(&self) -> i64;
}

impl SettingsRules for Settings {
    fn apply(&self, patch: &SettingsPatch) -> Result<Settings, InvalidSetting> {
        let mut s = self.clone();
        macro_rules! take {
            ($($f:ident),*) => { $( if let Some(v) = patch.$f { s.$f = v; } )* };
        }
        take!(
            allow_session_keys, idle_timeout_mins, absolute_timeout_mins, key_use_refreshes_idle,
            lockout_attempts, lockout_window_mins, lockout_duration_mins, password_min_length,
            inactivity_disable_days, irb_registry_enabled, checkpoint_interval_mins
        );
        s.validate()?;
        Ok(s)
    }

    fn validate(&self) -> Result<(), InvalidSetting> {
        range("idle_timeout_mins", self.idle_timeout_mins, 1, 1440, "minutes")?;
        range("absolute_timeout_mins", self.absolute_timeout_mins, 5, 43_200, "minutes")?;
        if self.absolute_timeout_mins < self.idle_timeout_mins {
            return Err(InvalidSetting {
                field: "absolute_timeout_mins",
                message: "must not be shorter than the idle timeout".into(),
            });
        }
        range("lockout_attempts", self.lockout_attempts, 1, 100, "attempts")?;
        range("lockout_window_mins", self.lockout_window_mins, 1, 1440, "minutes")?;
        range("lockout_duration_mins", self.lockout_duration_mins, 1, 1440, "minutes")?;
        let per_hour = self.max_attempts_per_hour();
        if per_hour > MAX_ATTEMPTS_PER_HOUR {
            return Err(InvalidSetting {
                field: "lockout_attempts",
                message: format!(
                    "these values allow {per_hour} failed sign-ins an hour; at most {MAX_ATTEMPTS_PER_HOUR} are allowed \
                     (lower the attempts or lengthen the lockout)"
                ),
            });
        }
        range("password_min_length", self.password_min_length, 8, 64, "characters")?;
        range("inactivity_disable_days", self.inactivity_disable_days, 0, 3650, "days")?;
        range("checkpoint_interval_mins", self.checkpoint_interval_mins, 0, 10_080, "minutes")?;
        Ok(())
    }

    /// The worst case: N failures, locked out R minutes, N more... within one hour.
    fn max_attempts_per_hour(&self) -> i64 {
        let cycle = self.lockout_duration_mins.max(1);
        self.lockout_attempts * ((60 + cycle - 1) / cycle)
    }

    fn idle_ms(&self) -> i64 {
        self.idle_timeout_mins * 60_000
    }

    fn absolute_ms(&self) -> i64 {
        self.absolute_timeout_mins * 60_000
    }
}

const COLUMNS: &str = "allow_session_keys, idle_timeout_mins, absolute_timeout_mins, key_use_refreshes_idle, \
    lockout_attempts, lockout_window_mins, lockout_duration_mins, password_min_length, inactivity_disable_days, \
    irb_registry_enabled, checkpoint_interval_mins";

pub async fn load<'e, E>(exec: E) -> Result<Settings, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let r = sqlx::query(&format!("SELECT {COLUMNS} FROM settings WHERE id = 1")).fetch_one(exec).await?;
    from_row(&r, 0)
}

/// The settings columns under a table alias, for queries that read them along with other
/// things (the principal lookup reads them in the same statement as the session).
pub fn columns_of(alias: &str) -> String {
    COLUMNS.split(", ").map(|c| format!("{alias}.{}", c.trim())).collect::<Vec<_>>().join(", ")
}

/// How many columns `columns_of` names.
pub fn column_count() -> usize {
    COLUMNS.split(", ").count()
}

/// Settings from a row whose columns from `at` on are `columns_of(..)`.
pub fn from_row(r: &sqlx::any::AnyRow, at: usize) -> Result<Settings, sqlx::Error> {
    Ok(Settings {
        allow_session_keys: r.try_get::<i64, _>(at)? != 0,
        idle_timeout_mins: r.try_get(at + 1)?,
        absolute_timeout_mins: r.try_get(at + 2)?,
        key_use_refreshes_idle: r.try_get::<i64, _>(at + 3)? != 0,
        lockout_attempts: r.try_get(at + 4)?,
        lockout_window_mins: r.try_get(at + 5)?,
        lockout_duration_mins: r.try_get(at + 6)?,
        password_min_length: r.try_get(at + 7)?,
        inactivity_disable_days: r.try_get(at + 8)?,
        irb_registry_enabled: r.try_get::<i64, _>(at + 9)? != 0,
        checkpoint_interval_mins: r.try_get(at + 10)?,
    })
}

pub async fn store(tx: &mut sqlx::AnyConnection, s: &Settings, now_ms: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE settings SET allow_session_keys = $1, idle_timeout_mins = $2, absolute_timeout_mins = $3, \
         key_use_refreshes_idle = $4, lockout_attempts = $5, lockout_window_mins = $6, lockout_duration_mins = $7, \
         password_min_length = $8, inactivity_disable_days = $9, irb_registry_enabled = $10, \
         checkpoint_interval_mins = $11, updated_at = $12 WHERE id = 1",
    )
    .bind(s.allow_session_keys as i64)
    .bind(s.idle_timeout_mins)
    .bind(s.absolute_timeout_mins)
    .bind(s.key_use_refreshes_idle as i64)
    .bind(s.lockout_attempts)
    .bind(s.lockout_window_mins)
    .bind(s.lockout_duration_mins)
    .bind(s.password_min_length)
    .bind(s.inactivity_disable_days)
    .bind(s.irb_registry_enabled as i64)
    .bind(s.checkpoint_interval_mins)
    .bind(now_ms)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_match_the_issue() {
        let s = Settings::default();
        s.validate().unwrap();
        assert!(!s.allow_session_keys);
        assert_eq!((s.lockout_attempts, s.lockout_window_mins, s.lockout_duration_mins), (10, 15, 15));
        assert_eq!(s.password_min_length, 15);
        assert_eq!(s.max_attempts_per_hour(), 40);
    }

    #[test]
    fn out_of_range_values_are_refused_with_the_field() {
        let s = Settings::default();
        let e = s.apply(&SettingsPatch { idle_timeout_mins: Some(0), ..Default::default() }).unwrap_err();
        assert_eq!(e.field, "idle_timeout_mins");
        let e = s
            .apply(&SettingsPatch { lockout_attempts: Some(100), lockout_duration_mins: Some(1), ..Default::default() })
            .unwrap_err();
        assert!(e.message.contains("6000 failed sign-ins an hour"), "{}", e.message);
        let e = s.apply(&SettingsPatch { password_min_length: Some(65), ..Default::default() }).unwrap_err();
        assert_eq!(e.field, "password_min_length");
        let ok = s.apply(&SettingsPatch { allow_session_keys: Some(true), ..Default::default() }).unwrap();
        assert!(ok.allow_session_keys);
    }
}
