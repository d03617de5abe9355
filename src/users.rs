//! User accounts: who may sign in, with which role and maximum PHI level.

use app::types::{PhiLevel, Role, UserView};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::db::Db;

#[derive(Clone)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub max_phi: PhiLevel,
    pub disabled: bool,
    /// Last day (YYYY-MM-DD, UTC) the account may sign in.
    pub expires_on: Option<String>,
    pub locked_until: Option<i64>,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
    password_hash: String,
}

// Debug without the password hash.
impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User").field("id", &self.id).field("email", &self.email).field("role", &self.role).finish()
    }
}

impl User {
    pub fn view(&self) -> UserView {
        UserView { id: self.id, email: self.email.clone(), name: self.name.clone(), role: self.role, max_phi: self.max_phi }
    }

    pub fn password_hash(&self) -> &str {
        &self.password_hash
    }

    /// Expired accounts cannot sign in; `today` is YYYY-MM-DD in UTC.
    pub fn is_expired(&self, today: &str) -> bool {
        self.expires_on.as_deref().is_some_and(|d| d < today)
    }
}

pub const USER_COLUMNS: &str =
    "id, email, display_name, role, max_phi, disabled, expires_on, locked_until, created_at, last_login_at, password_hash";

pub fn from_row(r: &AnyRow, at: usize) -> Result<User, sqlx::Error> {
    let role: String = r.try_get(at + 3)?;
    let phi: String = r.try_get(at + 4)?;
    Ok(User {
        id: r.try_get(at)?,
        email: r.try_get(at + 1)?,
        name: r.try_get(at + 2)?,
        role: Role::parse(&role).ok_or_else(|| sqlx::Error::Decode(format!("bad role {role}").into()))?,
        max_phi: PhiLevel::parse(&phi).ok_or_else(|| sqlx::Error::Decode(format!("bad PHI level {phi}").into()))?,
        disabled: r.try_get::<i64, _>(at + 5)? != 0,
        expires_on: r.try_get(at + 6)?,
        locked_until: r.try_get(at + 7)?,
        created_at: r.try_get(at + 8)?,
        last_login_at: r.try_get(at + 9)?,
        password_hash: r.try_get(at + 10)?,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("invalid e-mail address")]
    InvalidEmail,
    #[error("the name must not be empty")]
    EmptyName,
    #[error("a user with this e-mail address already exists")]
    Duplicate,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Parses an e-mail address once, at the edge: trimmed, lower-cased, one '@', no spaces.
pub fn normalize_email(raw: &str) -> Result<String, UserError> {
    let e = raw.trim().to_lowercase();
    let valid = e.len() <= 254
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        && matches!(e.split_once('@'), Some((l, d)) if !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.') && !d.contains('@'));
    if valid {
        Ok(e)
    } else {
        Err(UserError::InvalidEmail)
    }
}

pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub max_phi: PhiLevel,
    pub password_hash: String,
    pub expires_on: Option<String>,
}

pub async fn insert(conn: &mut AnyConnection, u: &NewUser, now: i64) -> Result<i64, UserError> {
    let email = normalize_email(&u.email)?;
    let name = u.name.trim();
    if name.is_empty() {
        return Err(UserError::EmptyName);
    }
    let exists = sqlx::query("SELECT id FROM users WHERE email = $1").bind(&email).fetch_optional(&mut *conn).await?;
    if exists.is_some() {
        return Err(UserError::Duplicate);
    }
    let id: i64 = sqlx::query(
        "INSERT INTO users (email, display_name, role, max_phi, password_hash, disabled, expires_on, created_at, \
         password_changed_at) VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $7) RETURNING id",
    )
    .bind(&email)
    .bind(name)
    .bind(u.role.as_str())
    .bind(u.max_phi.as_str())
    .bind(&u.password_hash)
    .bind(&u.expires_on)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?
    .try_get(0)?;
    Ok(id)
}

pub async fn by_email<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(exec: E, email: &str) -> Result<Option<User>, sqlx::Error> {
    let email = email.trim().to_lowercase();
    let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1"))
        .bind(email)
        .fetch_optional(exec)
        .await?;
    row.map(|r| from_row(&r, 0)).transpose()
}

pub async fn by_id<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(exec: E, id: i64) -> Result<Option<User>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1")).bind(id).fetch_optional(exec).await?;
    row.map(|r| from_row(&r, 0)).transpose()
}

pub async fn count(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) FROM users").fetch_one(&db.pool).await?.try_get(0)
}

/// Users whose e-mail or name contains `search` (case-insensitive), by e-mail.
pub async fn list(db: &Db, search: Option<&str>) -> Result<Vec<User>, sqlx::Error> {
    let pattern = format!("%{}%", search.unwrap_or("").trim().to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
    let rows = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE email LIKE $1 ESCAPE '\\' OR LOWER(display_name) LIKE $1 ESCAPE '\\' ORDER BY email"
    ))
    .bind(pattern)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(|r| from_row(r, 0)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_parsed_once() {
        assert_eq!(normalize_email("  Ada@Example.ORG ").unwrap(), "ada@example.org");
        for bad in ["", "ada", "@example.org", "ada@", "ada@example", "a da@example.org", "a@b@c.org", "ada@.org"] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }
}
