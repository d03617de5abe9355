//! The server writes a signed checkpoint to `<data-dir>/checkpoints/` every
//! `checkpoint_interval_mins` (a site setting; 0 = never), for copying off the machine.

use std::time::Duration;

use super::checkpoint::{self, Checkpoint, CHECKPOINT_DIR};
use super::verify;
use crate::state::AppState;

pub fn start(state: AppState) {
    let key = match checkpoint::load_or_create_key(&state.config.data_dir) {
        Ok(k) => k,
        Err(e) => {
            tracing::error!(error = %e, dir = %state.config.data_dir.display(), "cannot create the audit signing key; no checkpoints will be written");
            return;
        }
    };
    tokio::spawn(async move {
        let dir = state.config.data_dir.join(CHECKPOINT_DIR);
        let mut last_written: Option<(i64, std::time::Instant)> = None;
        let mut tick = tokio::time::interval(Duration::from_secs(30));
        loop {
            tick.tick().await;
            let Ok(s) = crate::settings::load(&state.db.pool).await else { continue };
            if s.checkpoint_interval_mins <= 0 {
                continue;
            }
            let due = last_written.is_none_or(|(_, at)| at.elapsed() >= Duration::from_secs(s.checkpoint_interval_mins as u64 * 60));
            if !due {
                continue;
            }
            let Ok((size, head)) = verify::head(&state.db).await else { continue };
            if size == 0 || last_written.is_some_and(|(n, _)| n == size) {
                continue;
            }
            let cp = Checkpoint::sign(&key, size, &head, state.now());
            match checkpoint::write_to_dir(&dir, &cp) {
                Ok(path) => {
                    tracing::info!(size, path = %path.display(), "audit checkpoint written");
                    last_written = Some((size, std::time::Instant::now()));
                }
                Err(e) => tracing::error!(error = %e, "cannot write an audit checkpoint"),
            }
        }
    });
}
