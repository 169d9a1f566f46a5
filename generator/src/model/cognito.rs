//! The `cognito` section: the user pool behind the API's authorizer.

use super::Checker;
use crate::context::Cognito;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct CognitoModel {
    pub user_pool_name: String,
}

pub(super) fn build(cognito: &Cognito, c: &mut Checker) -> CognitoModel {
    let pool = &cognito.user_pool_name;
    // The app client is `<pool>-client`, and a client name has at most 128 characters
    // (Cognito API Reference, CreateUserPoolClient, ClientName).
    if pool.is_empty()
        || pool.chars().count() > 121
        || !pool
            .chars()
            .all(|ch| ch.is_alphanumeric() || " +=,.@-_".contains(ch))
    {
        c.fail(
            "cognito.user_pool_name",
            "must have 1 to 121 letters, digits, spaces or `+ = , . @ - _` (the app client is `<pool>-client`, and Cognito takes client names of at most 128 characters)",
        );
    }
    CognitoModel {
        user_pool_name: pool.clone(),
    }
}
