//! Site administration: users, sessions, impersonation, terms of use, IRB protocols. Each
//! operation checks the caller, changes the database and writes its audit event in one
//! transaction. The JSON API (`api::admin`) and the browser (`web::port`) both call these.

pub mod impersonation;
pub mod irb;
pub mod sessions;
pub mod settings;
pub mod terms;
pub mod users;

use app::types::Role;

use crate::api::error::{ApiError, ApiResult};
use crate::auth::principal::Principal;

/// Admin operations need the acting identity to be an admin (an admin impersonating a
/// researcher has a researcher's rights until they stop).
pub fn require_admin(p: &Principal) -> ApiResult<()> {
    if p.user.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::forbidden("admin_only", "Only site administrators may do this."))
    }
}
