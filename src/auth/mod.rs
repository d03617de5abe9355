//! Authentication: passwords, sessions, session keys, and the principal every request runs as.

pub mod key;
pub mod password;
pub mod principal;
pub mod session;
pub mod token;
pub mod signin;
