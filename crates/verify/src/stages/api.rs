//! Stage 3: the metered method answers the user, refuses a bad parameter and a caller
//! without a token.

use chrono::Utc;

use super::{plain_id, Call, Calls, Finding, Outcome, TestUser};
use crate::aws::Answer;
use crate::Verifier;

/// The likely cause of an unexpected status.
fn cause(status: u16) -> &'static str {
    match status {
        401 => "the token was refused: is the authorizer's user pool this stack's?",
        403 => {
            "API Gateway found no such method (Missing Authentication Token) or refused it: \
                is `rest_api_endpoint` the metered stage's URL and the stage deployed?"
        }
        429 => "throttled: the stage's rate limit is lower than verify's calls",
        500..=599 => "the function or its integration failed: see the function's log group",
        _ => "unexpected",
    }
}

impl Verifier {
    pub(crate) async fn api_stage(&self, user: &TestUser) -> Outcome<Calls> {
        let url = format!(
            "{}{}",
            self.stack.rest_api_endpoint, self.stack.metered_path
        );
        let started = Utc::now();
        let mut calls = Vec::new();
        let mut call = |what: &str, answer: Result<Answer, String>, want: u16, token: bool| {
            let answer = answer.map_err(|e| Finding::new(format!("{what}: {e}")))?;
            if answer.status != want {
                return Err(Finding::new(format!(
                    "{what} answered {}, not {want}: {}",
                    answer.status,
                    cause(answer.status)
                ))
                .detail(String::from_utf8_lossy(&answer.body).into_owned()));
            }
            let request_id = match answer.request_id {
                Some(id) if plain_id(&id) => id,
                other => {
                    return Err(Finding::new(format!(
                        "{what} answered without a usable x-amzn-RequestId header ({other:?}): \
                         is `rest_api_endpoint` API Gateway?"
                    )))
                }
            };
            calls.push(Call {
                request_id,
                status: answer.status,
                authorized: token,
            });
            Ok(answer.body)
        };

        let ok_url = format!("{url}?num=2&len=8");
        for i in 1..=self.options.calls {
            let body = call(
                &format!("call {i} (GET {ok_url})"),
                self.http.get(&ok_url, Some(&user.id_token)).await,
                200,
                true,
            )?;
            let strings: Result<Vec<String>, _> = serde_json::from_slice(&body);
            if !matches!(&strings, Ok(s) if s.len() == 2) {
                return Err(Finding::new(format!(
                    "call {i} answered 200 but not a JSON array of 2 strings: {}",
                    String::from_utf8_lossy(&body)
                )));
            }
        }
        let bad_url = format!("{url}?num=0");
        call(
            &format!("a bad parameter (GET {bad_url})"),
            self.http.get(&bad_url, Some(&user.id_token)).await,
            400,
            true,
        )?;
        call(
            &format!("a call without a token (GET {ok_url})"),
            self.http.get(&ok_url, None).await,
            401,
            false,
        )?;

        let ids: Vec<&str> = calls.iter().map(|c| c.request_id.as_str()).collect();
        let finding = Finding::new(format!(
            "{} calls answered 200 with a JSON array, a bad parameter 400, no token 401",
            self.options.calls
        ))
        .detail(format!("request ids {}", ids.join(", ")));
        Ok((Calls { calls, started }, finding))
    }
}
