//! Stage 2: a temporary user of a test tenant signs in, and cannot change its tenant.

use aws_sdk_cognitoidentityprovider::types::{AttributeType, AuthFlowType, MessageActionType};

use super::{error_code, sdk_error, Finding, Outcome, TestUser};
use crate::claims::{claim, claims};
use crate::Verifier;

/// The prefix of the test tenants (and users): billing never invoices them
/// (`pricing.test_tenant_prefixes`).
pub const TEST_PREFIX: &str = "verify-";

/// `n` random bytes as lower-case hex.
pub(crate) fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).expect("the system's random source");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A password any Cognito password policy accepts: 24 random letters and digits plus one
/// of each class.
fn password() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).expect("the system's random source");
    let mut text: String = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    text.push_str("Aa1!");
    text
}

fn attribute(name: &str, value: &str) -> AttributeType {
    AttributeType::builder()
        .name(name)
        .value(value)
        .build()
        .expect("name is set")
}

impl Verifier {
    pub(crate) async fn identity_stage(&self) -> Outcome<TestUser> {
        let stack = &self.stack;
        let cognito = &self.aws.cognito;
        let claim_name = &stack.tenant_claim;
        if !claim_name.starts_with("custom:") {
            return Err(Finding::new(format!(
                "the tenant claim `{claim_name}` is not a custom attribute (`custom:<name>`): \
                 verify can only give its test user a tenant through one"
            )));
        }
        let id = random_hex(6);
        let tenant = format!("{TEST_PREFIX}{id}");
        // The pool signs users in by e-mail; example.com is reserved (RFC 2606) and no
        // message is sent (MessageAction SUPPRESS).
        let username = format!("{TEST_PREFIX}{id}@example.com");
        let password = password();
        *self.user.lock().expect("the user slot") = Some(username.clone());

        cognito
            .admin_create_user()
            .user_pool_id(&stack.user_pool_id)
            .username(&username)
            .user_attributes(attribute("email", &username))
            .user_attributes(attribute("email_verified", "true"))
            .user_attributes(attribute(claim_name, &tenant))
            .message_action(MessageActionType::Suppress)
            .temporary_password(&password)
            .send()
            .await
            .map_err(|e| {
                Finding::new(format!("AdminCreateUser refused: {}", sdk_error(&e)))
                    .detail(format!("user pool {}, user {username}", stack.user_pool_id))
            })?;
        cognito
            .admin_set_user_password()
            .user_pool_id(&stack.user_pool_id)
            .username(&username)
            .password(&password)
            .permanent(true)
            .send()
            .await
            .map_err(|e| {
                Finding::new(format!("AdminSetUserPassword refused: {}", sdk_error(&e)))
            })?;
        let signed_in = cognito
            .initiate_auth()
            .client_id(&stack.user_pool_client_id)
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .auth_parameters("USERNAME", &username)
            .auth_parameters("PASSWORD", &password)
            .send()
            .await
            .map_err(|e| {
                Finding::new(format!(
                    "sign-in (InitiateAuth USER_PASSWORD_AUTH) refused: {}",
                    sdk_error(&e)
                ))
            })?;
        if let Some(challenge) = signed_in.challenge_name() {
            return Err(Finding::new(format!(
                "sign-in asked for the challenge {challenge}: does the pool require MFA or a \
                 password change? verify signs in with a permanent password only"
            )));
        }
        let result = signed_in.authentication_result();
        let (Some(id_token), Some(access_token)) = (
            result.and_then(|r| r.id_token()),
            result.and_then(|r| r.access_token()),
        ) else {
            return Err(Finding::new("sign-in returned no ID or access token"));
        };
        let token_claims = claims(id_token)
            .map_err(|e| Finding::new(format!("the ID token Cognito issued: {e}")))?;
        match claim(&token_claims, claim_name) {
            Some(value) if value == tenant => {}
            other => {
                return Err(Finding::new(format!(
                    "the ID token's `{claim_name}` is {other:?}, not {tenant:?}: does the app \
                     client's read_attributes list it?"
                )))
            }
        }
        let Some(sub) = claim(&token_claims, "sub") else {
            return Err(Finding::new("the ID token has no `sub`"));
        };

        // The user must not be able to move to another tenant: the app client may not write
        // the tenant attribute (Cognito answers NotAuthorizedException).
        let refused = cognito
            .update_user_attributes()
            .access_token(access_token)
            .user_attributes(attribute(claim_name, &format!("{TEST_PREFIX}moved")))
            .send()
            .await;
        match refused {
            Err(e) if error_code(&e) == Some("NotAuthorizedException") => {}
            Err(e) => {
                return Err(Finding::new(format!(
                    "writing `{claim_name}` as the user failed, but not as refused: {}",
                    sdk_error(&e)
                )))
            }
            Ok(_) => {
                return Err(Finding::new(format!(
                    "the app client could write `{claim_name}`: a user can move their usage to \
                     another tenant; the client's write_attributes must not list it"
                )))
            }
        }

        let finding = Finding::new(format!(
            "{username} signed in as tenant {tenant}; the app client may not write {claim_name}"
        ))
        .detail(format!("sub {sub}"));
        Ok((
            TestUser {
                tenant,
                sub,
                id_token: id_token.to_owned(),
            },
            finding,
        ))
    }
}
