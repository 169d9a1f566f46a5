//! Stage 7: the test user is deleted (its records stay, under a test tenant).

use std::time::{Duration, Instant};

use super::{error_code, sdk_error};
use crate::report::{Stage, StageReport, Status};
use crate::Verifier;

impl Verifier {
    /// Deletes the test user, if one was (or was being) created; idempotent.
    pub(crate) async fn cleanup(&self) -> StageReport {
        let started = Instant::now();
        let report = |status, summary: String| StageReport {
            stage: Stage::Cleanup,
            status,
            elapsed: started.elapsed(),
            summary,
            details: Vec::new(),
        };
        let Some(username) = self.user() else {
            return StageReport {
                elapsed: Duration::ZERO,
                ..report(Status::Skip, "no test user was created".to_owned())
            };
        };
        let pool = &self.stack.user_pool_id;
        if self.options.keep_user {
            return report(
                Status::Skip,
                format!(
                    "kept {username} (--keep-user); delete it with `aws cognito-idp \
                     admin-delete-user --user-pool-id {pool} --username {username}`"
                ),
            );
        }
        let deleted = self
            .aws
            .cognito
            .admin_delete_user()
            .user_pool_id(pool)
            .username(&username)
            .send()
            .await;
        match deleted {
            Ok(_) => {
                *self.user.lock().expect("the user slot") = None;
                report(Status::Pass, format!("deleted {username}"))
            }
            Err(e) if error_code(&e) == Some("UserNotFoundException") => {
                *self.user.lock().expect("the user slot") = None;
                report(
                    Status::Pass,
                    format!("{username} does not exist (it was never created)"),
                )
            }
            Err(e) => report(
                Status::Fail,
                format!(
                    "could not delete {username}: {}; delete it with `aws cognito-idp \
                     admin-delete-user --user-pool-id {pool} --username {username}`",
                    sdk_error(&e)
                ),
            ),
        }
    }
}
