//! Failure paths moto cannot produce, with the SDK's own mocks: a throttled Cognito that
//! stays throttled through the SDK's retries, and a user that was never created.

use aws_sdk_cognitoidentityprovider::Client as Cognito;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use serde_json::json;
use verify::{Aws, Options, Stage, Status, Verifier};

fn stack() -> verify::Stack {
    let output = |value: serde_json::Value| json!({"value": value});
    let outputs = json!({
        "user_pool_id": output(json!("us-east-1_Abc")),
        "user_pool_client_id": output(json!("client1")),
        "rest_api_endpoint": output(json!("https://x.execute-api.us-east-1.amazonaws.com/prod")),
        "access_log_bucket": output(json!("logs")),
        "firehose_arn": output(json!("arn:aws:firehose:us-east-1:123456789012:deliverystream/x")),
        "athena_workgroup": output(json!("wg")),
        "json_table": output(json!("db.json")),
        "parquet_table": output(json!("db.parquet")),
        "compaction_function_name": output(json!("Compaction")),
        "verify": output(json!({
            "tenant_claim": "custom:tenant_id",
            "metered_path": "/random/strings",
            "json_folder": "json-data",
            "error_prefix": "error/",
            "buffer_interval_seconds": 60,
            "metering_config_uri": null,
        })),
    });
    verify::Stack::from_json(&outputs.to_string(), "outputs").unwrap()
}

/// The identity stage (and its cleanup) over `cognito`; no other service is called.
fn identity_only(cognito: Cognito) -> Verifier {
    let aws = Aws {
        cognito,
        s3: mock_client!(aws_sdk_s3, []),
        athena: mock_client!(aws_sdk_athena, []),
        lambda: mock_client!(aws_sdk_lambda, []),
        glue: mock_client!(aws_sdk_glue, []),
        firehose: mock_client!(aws_sdk_firehose, []),
    };
    let options = Options {
        stages: verify::select(&[Stage::Identity]).unwrap(),
        ..Options::default()
    };
    Verifier::new(stack(), aws, verify::Http::new().unwrap(), options)
}

fn error(code: &str, message: &str) -> String {
    format!(r#"{{"__type":"{code}","message":"{message}"}}"#)
}

#[tokio::test(start_paused = true)]
async fn a_cognito_that_stays_throttled_fails_the_identity_stage_and_cleanup_still_runs() {
    // As Cognito answers: HTTP 400 with the error's type in the JSON body.
    let throttled = mock!(Cognito::admin_create_user)
        .sequence()
        .http_status(
            400,
            Some(error("TooManyRequestsException", "Rate exceeded")),
        )
        .repeatedly()
        .build();
    let never_created = mock!(Cognito::admin_delete_user)
        .sequence()
        .http_status(
            400,
            Some(error("UserNotFoundException", "User does not exist.")),
        )
        .build();
    let cognito = mock_client!(
        aws_sdk_cognitoidentityprovider,
        RuleMode::MatchAny,
        &[&throttled, &never_created]
    );
    let verifier = identity_only(cognito);

    let report = verify::run_until(&verifier, std::future::pending(), |_| {}).await;

    let identity = &report.stages[0];
    assert_eq!(identity.status, Status::Fail, "{report}");
    assert!(
        identity
            .summary
            .starts_with("AdminCreateUser refused: TooManyRequestsException: Rate exceeded"),
        "{report}"
    );
    assert_eq!(throttled.num_calls(), 3, "the SDK's standard retries");
    let cleanup = &report.stages[1];
    assert_eq!(cleanup.stage, Stage::Cleanup);
    assert_eq!(cleanup.status, Status::Pass, "{report}");
    assert!(
        cleanup
            .summary
            .ends_with("does not exist (it was never created)"),
        "{report}"
    );
    assert_eq!(never_created.num_calls(), 1, "the user is deleted even so");
    assert_eq!(report.exit_code(), 1);
}

#[test]
fn stages_name_what_they_need() {
    assert_eq!(
        verify::select(&[Stage::Usage]).unwrap_err(),
        "stage `usage` works on what identity and api and delivery and compaction finds: add \
         them (--stages identity,api,delivery,compaction,usage)"
    );
    let stages = verify::select(&[Stage::Stack, Stage::Identity]).unwrap();
    assert_eq!(
        stages.into_iter().collect::<Vec<_>>(),
        [Stage::Stack, Stage::Identity, Stage::Cleanup],
        "cleanup comes with identity"
    );
    assert_eq!(
        verify::select(&[Stage::Events]).unwrap_err(),
        "stage `events` works on what identity finds: add it (--stages identity,events)"
    );
    assert_eq!(
        verify::select(&[Stage::Identity, Stage::Events])
            .unwrap()
            .into_iter()
            .collect::<Vec<_>>(),
        [Stage::Identity, Stage::Events, Stage::Cleanup],
        "the events stage needs only the test tenant"
    );
    assert_eq!(verify::select(&[]).unwrap().len(), 8);
}

/// A token whose payload holds `claims` (the signature is not checked by `verify`).
fn jwt(claims: &serde_json::Value) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    format!(
        "eyJhbGciOiJSUzI1NiJ9.{}.c2ln",
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

#[tokio::test(start_paused = true)]
async fn a_user_that_cannot_be_deleted_fails_the_cleanup_naming_the_command_that_deletes_it() {
    use aws_sdk_cognitoidentityprovider::operation::admin_create_user::AdminCreateUserOutput;
    use aws_sdk_cognitoidentityprovider::operation::admin_set_user_password::AdminSetUserPasswordOutput;
    use aws_sdk_cognitoidentityprovider::operation::initiate_auth::InitiateAuthOutput;
    use aws_sdk_cognitoidentityprovider::types::AuthenticationResultType;
    use std::sync::{Arc, Mutex};

    // The tenant the stage gives its user, as AdminCreateUser receives it.
    let tenant = Arc::new(Mutex::new(String::new()));
    let seen = tenant.clone();
    let create = mock!(Cognito::admin_create_user)
        .match_requests(move |r| {
            let attribute = r
                .user_attributes()
                .iter()
                .find(|a| a.name() == "custom:tenant_id");
            *seen.lock().unwrap() = attribute.and_then(|a| a.value()).unwrap_or_default().into();
            true
        })
        .then_output(|| AdminCreateUserOutput::builder().build());
    let set_password = mock!(Cognito::admin_set_user_password)
        .then_output(|| AdminSetUserPasswordOutput::builder().build());
    let issued = tenant.clone();
    let sign_in = mock!(Cognito::initiate_auth).then_output(move || {
        let claims = json!({"sub": "u-1", "custom:tenant_id": *issued.lock().unwrap()});
        InitiateAuthOutput::builder()
            .authentication_result(
                AuthenticationResultType::builder()
                    .id_token(jwt(&claims))
                    .access_token("access")
                    .build(),
            )
            .build()
    });
    let write_refused = mock!(Cognito::update_user_attributes)
        .sequence()
        .http_status(
            400,
            Some(error(
                "NotAuthorizedException",
                "A client attempted to write unauthorized attribute",
            )),
        )
        .build();
    let delete_refused = mock!(Cognito::admin_delete_user)
        .sequence()
        .http_status(400, Some(error("AccessDeniedException", "not allowed")))
        .build();
    let cognito = mock_client!(
        aws_sdk_cognitoidentityprovider,
        RuleMode::MatchAny,
        &[
            &create,
            &set_password,
            &sign_in,
            &write_refused,
            &delete_refused
        ]
    );
    let verifier = identity_only(cognito);

    let report = verify::run_until(&verifier, std::future::pending(), |_| {}).await;

    assert_eq!(report.stages[0].status, Status::Pass, "{report}");
    let cleanup = &report.stages[1];
    assert_eq!(cleanup.status, Status::Fail, "{report}");
    let user = verifier.user().expect("the user is still there");
    assert!(
        user.starts_with("verify-") && user.ends_with("@example.com"),
        "{user}"
    );
    assert_eq!(
        cleanup.summary,
        format!(
            "could not delete {user}: AccessDeniedException: not allowed; delete it with `aws \
             cognito-idp admin-delete-user --user-pool-id us-east-1_Abc --username {user}`"
        )
    );
    assert_eq!(report.exit_code(), 1);
}
