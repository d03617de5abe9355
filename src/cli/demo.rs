//! First start on an empty database: the demo study (from our own generator) and demo users,
//! whose passwords are printed once and never stored in clear.

use app::types::{PhiLevel, Role};
use secrecy::{ExposeSecret, SecretString};

use crate::auth::token::{base62, random_256};
use crate::data::{demo, import};
use crate::state::AppState;
use crate::users;

pub struct DemoUser {
    pub email: &'static str,
    pub name: &'static str,
    pub role: Role,
    pub max_phi: PhiLevel,
}

pub const DEMO_USERS: &[DemoUser] = &[
    DemoUser { email: "admin@example.org", name: "Demo Admin", role: Role::Admin, max_phi: PhiLevel::Restricted },
    DemoUser { email: "researcher@example.org", name: "Demo Researcher", role: Role::Researcher, max_phi: PhiLevel::Full },
    DemoUser { email: "auditor@example.org", name: "Demo Auditor", role: Role::Auditor, max_phi: PhiLevel::NotPhi },
];

pub async fn seed_if_empty(state: &AppState) -> anyhow::Result<()> {
    if users::count(&state.db).await? > 0 {
        return Ok(());
    }
    let dir = std::env::temp_dir().join(format!("attest-demo-{}", std::process::id()));
    let map = demo::write_demo(&dir, 250, 20261203)?;
    let (plans, _warnings) = import::prepare(&dir, demo::DEMO_STUDY, &map).map_err(|e| anyhow::anyhow!("{e}"))?;
    let report = import::import(&state.db, state.now(), demo::DEMO_STUDY, &plans, &mut |_| {}).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let _ = std::fs::remove_dir_all(&dir);
    println!();
    println!("First start: created the demo study '{}' ({} datasets) and these users.", demo::DEMO_STUDY, report.datasets.len());
    println!("Their passwords are shown this once; they are stored only as argon2id hashes.");
    for u in DEMO_USERS {
        let password = SecretString::from(base62(&random_256(), 43)[..20].to_string());
        super::user::create(&state.db, u.email, u.name, u.role, u.max_phi, &password).await?;
        println!("  {:<24} {:<11} max PHI {:<11} password: {}", u.email, u.role.as_str(), u.max_phi.as_str(), password.expose_secret());
    }
    println!();
    Ok(())
}
