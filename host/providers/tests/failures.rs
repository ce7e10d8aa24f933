//! Retries, fallbacks, timeouts, broken answers, cancellation and credential scrubbing, each
//! against the scripted model server (or a closed port) over real sockets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{APIS, ask, chain, closed_port, other, run, spec, text_of};
use openclaw_providers::{
    Api, AttemptFailure, FailureCause, ProviderError, ProviderSpec, Providers, StreamEvent, TimeoutKind,
};
use openclaw_test_support::model_server::{ModelServer, Script, Turn};
use secrecy::SecretString;
use tokio::sync::watch;

fn statuses(attempts: &[AttemptFailure]) -> Vec<Option<u16>> {
    attempts
        .iter()
        .map(|a| match a.cause {
            FailureCause::Status { status, .. } => Some(status),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn rate_limit_is_retried_after_the_wait_the_provider_asks_for() {
    for api in APIS {
        let server =
            ModelServer::start(Script::new().model("m", [Turn::status(429).retry_after(1), Turn::text("ok")])).await;
        let providers = Providers::new(vec![spec(&server, "p", api)]);

        let (result, _) = run(&providers, &chain(&["p/m"]), &ask("hi")).await;
        let completion = result.unwrap();

        assert_eq!(completion.text, "ok", "{api:?}");
        assert_eq!(statuses(&completion.attempts), vec![Some(429)]);
        assert!(
            completion.attempts[0]
                .to_string()
                .contains("answered HTTP 429: scripted status 429"),
            "{}",
            completion.attempts[0]
        );
        let requests = server.requests();
        assert_eq!(requests.len(), 2);
        // The backoff is 10 ms; only the Retry-After of one second explains a longer gap.
        let gap = requests[1].received_at - requests[0].received_at;
        assert!(gap >= Duration::from_secs(1), "{api:?}: retried after {gap:?}");
    }
}

#[tokio::test]
async fn server_errors_use_up_the_retries_then_the_next_model_answers() {
    for api in APIS {
        // The fallback speaks the other API: a chain may mix providers freely.
        let server = ModelServer::start(
            Script::new()
                .model("primary", [Turn::status(500), Turn::status(503), Turn::status(500)])
                .model("fallback", [Turn::text("from the fallback")]),
        )
        .await;
        let providers = Providers::new(vec![spec(&server, "a", api), spec(&server, "b", other(api))]);

        let (result, events) = run(&providers, &chain(&["a/primary", "b/fallback"]), &ask("hi")).await;
        let completion = result.unwrap();

        assert_eq!(
            (completion.provider.as_str(), completion.model.as_str()),
            ("b", "fallback")
        );
        assert_eq!(completion.text, "from the fallback");
        assert_eq!(
            text_of(&events),
            "from the fallback",
            "nothing of the failed model was streamed"
        );
        // max_retries = 2: three tries of the primary, then the fallback.
        assert_eq!(statuses(&completion.attempts), vec![Some(500), Some(503), Some(500)]);
        assert!(
            completion
                .attempts
                .iter()
                .all(|a| a.provider == "a" && a.model == "primary")
        );
        assert_eq!(server.remaining("primary"), 0);
        assert_eq!(server.requests().len(), 4);
    }
}

#[tokio::test]
async fn when_no_model_answers_the_error_names_each_and_why() {
    let server = ModelServer::start(
        Script::new()
            .model("bad", [Turn::garbage()])
            .model("denied", [Turn::status(401)]),
    )
    .await;
    let mut refused = ProviderSpec::new(
        "down",
        Api::OpenaiCompletions,
        format!("http://127.0.0.1:{}/v1", closed_port()),
    );
    refused.max_retries = 1;
    refused.backoff = Duration::from_millis(1);
    let providers = Providers::new(vec![
        spec(&server, "junk", Api::OpenaiCompletions),
        spec(&server, "strict", Api::AnthropicMessages),
        refused,
    ]);

    let (result, events) = run(
        &providers,
        &chain(&["junk/bad", "strict/denied", "down/any", "missing/model"]),
        &ask("hi"),
    )
    .await;

    assert!(events.is_empty());
    let error = result.unwrap_err();
    let ProviderError::NoModelAnswered { attempts } = &error else {
        panic!("{error:?}");
    };
    let causes: Vec<String> = attempts.iter().map(ToString::to_string).collect();
    assert_eq!(causes.len(), 5, "{causes:#?}");
    assert!(
        causes[0].starts_with(
            "junk/bad: provider `junk` returned a body that is not a chat completion: expected value at line 1 column 1 in the body `<html>this is not a model</html> {`"
        ),
        "{}",
        causes[0]
    );
    // 401 is not transient: no retry.
    assert_eq!(
        causes[1],
        "strict/denied: provider `strict` answered HTTP 401: scripted status 401"
    );
    // Connection refused is retried once (max_retries = 1).
    for cause in &causes[2..4] {
        assert!(
            cause.starts_with("down/any: could not connect to provider `down`:"),
            "{cause}"
        );
        assert!(cause.to_lowercase().contains("refused"), "{cause}");
    }
    assert_eq!(
        causes[4],
        "missing/model: provider `missing` is not configured (add it under models.providers.missing)"
    );
    let text = error.to_string();
    assert!(text.starts_with("no model answered: junk/bad: "), "{text}");
    assert_eq!(server.requests().len(), 2, "garbage and 401 are each tried once");
}

#[tokio::test]
async fn a_model_that_never_answers_times_out_and_the_next_is_asked() {
    for api in APIS {
        let server = ModelServer::start(
            Script::new()
                .model("slow", [Turn::hang()])
                .model("quick", [Turn::text("here")]),
        )
        .await;
        let mut slow = spec(&server, "slow", api);
        slow.idle_timeout = Duration::from_millis(300);
        let providers = Providers::new(vec![slow, spec(&server, "quick", api)]);

        let (result, _) = run(&providers, &chain(&["slow/slow", "quick/quick"]), &ask("hi")).await;
        let completion = result.unwrap();

        assert_eq!(completion.text, "here", "{api:?}");
        assert_eq!(completion.attempts.len(), 1, "a timeout is not retried");
        assert_eq!(
            completion.attempts[0].cause,
            FailureCause::Timeout {
                kind: TimeoutKind::Response,
                after: Duration::from_millis(300)
            }
        );
        assert_eq!(
            completion.attempts[0].to_string(),
            "slow/slow: provider `slow` sent no response within 0.3s"
        );
    }
}

#[tokio::test]
async fn the_total_timeout_bounds_a_slow_stream() {
    let server = ModelServer::start(Script::new().model("m", [Turn::hang()])).await;
    let mut slow = spec(&server, "p", Api::OpenaiCompletions);
    slow.timeout = Duration::from_millis(200);
    let providers = Providers::new(vec![slow]);
    let (result, _) = run(&providers, &chain(&["p/m"]), &ask("hi")).await;
    let error = result.unwrap_err().to_string();
    assert_eq!(error, "no model answered: p/m: provider `p` did not finish within 0.2s");
}

#[tokio::test]
async fn after_output_was_streamed_a_failure_ends_the_turn_without_fallback() {
    for api in APIS {
        let server = ModelServer::start(
            Script::new()
                .model("cut", [Turn::text("the first half of an answer").then_drop()])
                .model("stall", [Turn::text("an answer that stops").then_stall()])
                .model("fallback", [Turn::text("never asked"), Turn::text("never asked")]),
        )
        .await;
        let mut stalling = spec(&server, "p", api);
        stalling.idle_timeout = Duration::from_millis(300);
        let providers = Providers::new(vec![stalling]);

        let (result, events) = run(&providers, &chain(&["p/cut", "p/fallback"]), &ask("hi")).await;
        let error = result.unwrap_err();
        assert_eq!(text_of(&events), "the first half of an answer", "{api:?}");
        let ProviderError::Interrupted { failure, attempts } = &error else {
            panic!("{api:?}: {error:?}");
        };
        assert!(attempts.is_empty());
        assert_eq!(failure.model, "cut");
        assert!(
            matches!(failure.cause, FailureCause::Transport { .. }),
            "{api:?}: {failure}"
        );
        assert!(
            error.to_string().contains("broke off after output had been streamed"),
            "{error}"
        );

        let (result, events) = run(&providers, &chain(&["p/stall", "p/fallback"]), &ask("hi")).await;
        let error = result.unwrap_err();
        assert_eq!(text_of(&events), "an answer that stops");
        let ProviderError::Interrupted { failure, .. } = &error else {
            panic!("{api:?}: {error:?}");
        };
        assert_eq!(
            failure.to_string(),
            "p/stall: provider `p` stopped sending: nothing arrived for 0.3s"
        );
        assert_eq!(server.remaining("fallback"), 2, "{api:?}: the fallback was asked");
    }
}

#[tokio::test]
async fn credentials_never_appear_in_errors_or_debug_output() {
    const KEY: &str = "sk-test-SECRET-1234567890";
    const HEADER_SECRET: &str = "hdr-SECRET-abcdef";
    for api in APIS {
        let server =
            ModelServer::start(Script::new().model("m", [Turn::reflect_headers(401), Turn::reflect_headers(500)]))
                .await;
        let mut provider = spec(&server, "p", api);
        provider.api_key = Some(SecretString::from(KEY));
        provider.headers = vec![("x-custom-token".into(), SecretString::from(HEADER_SECRET))];
        provider.max_retries = 0;
        let providers = Providers::new(vec![provider.clone()]);

        let (first, _) = run(&providers, &chain(&["p/m"]), &ask("hi")).await;
        let (second, _) = run(&providers, &chain(&["p/m"]), &ask("hi")).await;

        // The server really received and echoed the secrets, so the scrubbing is what hides them.
        let request = &server.requests()[0];
        assert_eq!(request.header("x-custom-token"), Some(HEADER_SECRET));
        let echoed_key = match api {
            Api::OpenaiCompletions => request.header("authorization").map(|v| v.replace("Bearer ", "")),
            Api::AnthropicMessages => request.header("x-api-key").map(str::to_string),
        };
        assert_eq!(echoed_key.as_deref(), Some(KEY));

        for error in [first.unwrap_err(), second.unwrap_err()] {
            let shown = [
                error.to_string(),
                format!("{error:?}"),
                format!("{:?}", error.attempts()),
            ];
            for text in shown {
                assert!(
                    !text.contains(KEY) && !text.contains(HEADER_SECRET),
                    "{api:?} leaked: {text}"
                );
                assert!(text.contains("[redacted]"), "{api:?}: {text}");
                assert!(
                    text.contains("you sent:"),
                    "{api:?}: the provider's message is kept: {text}"
                );
            }
        }
        for text in [format!("{providers:?}"), format!("{provider:?}")] {
            assert!(!text.contains(KEY) && !text.contains(HEADER_SECRET), "{text}");
        }
    }
}

/// Waits (bounded) until `condition` holds.
async fn eventually(what: &str, condition: impl Fn() -> bool) {
    for _ in 0..500 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test]
async fn cancellation_stops_the_request_promptly() {
    for api in APIS {
        // (turn, whether output is already flowing when the call is cancelled)
        let table = [
            (Turn::hang(), false),
            (Turn::text("partial output, then nothing").then_stall(), true),
            (Turn::status(503).retry_after(30), false),
        ];
        for (turn, streaming) in table {
            let server = ModelServer::start(Script::new().model("m", [turn.clone()])).await;
            let mut provider = spec(&server, "p", api);
            provider.timeout = Duration::from_secs(3600);
            provider.idle_timeout = Duration::from_secs(3600);
            let providers = Providers::new(vec![provider]);
            let (cancel_tx, cancel) = watch::channel(false);
            let (events_tx, mut events_rx) = tokio::sync::mpsc::unbounded_channel();
            let call = tokio::spawn(async move {
                providers
                    .complete(
                        &chain(&["p/m"]),
                        &ask("hi"),
                        &mut |e: StreamEvent| drop(events_tx.send(e)),
                        &cancel,
                    )
                    .await
            });

            eventually("the request arrived", || server.requests().len() == 1).await;
            if streaming {
                // Cancel only once output is flowing, so the stream itself is what gets cut.
                events_rx.recv().await.unwrap();
            }
            cancel_tx.send(true).unwrap();
            // A generous bound only so a broken build fails instead of hanging: without
            // cancellation these waits are an hour long.
            let result = tokio::time::timeout(Duration::from_secs(20), call)
                .await
                .unwrap()
                .unwrap();
            assert!(
                matches!(result, Err(ProviderError::Cancelled { .. })),
                "{api:?} {turn:?}: {result:?}"
            );
            if streaming {
                eventually("the server saw the stream abandoned", || server.disconnects() == 1).await;
            }
            assert_eq!(server.requests().len(), 1, "no retry after cancellation");
        }
    }
}

#[tokio::test]
async fn already_cancelled_call_sends_nothing() {
    let server = ModelServer::start(Script::new().model("m", [Turn::text("unused")])).await;
    let providers = Providers::new(vec![spec(&server, "p", Api::OpenaiCompletions)]);
    let (_tx, cancel) = watch::channel(true);
    let result = providers
        .complete(&chain(&["p/m"]), &ask("hi"), &mut |_| {}, &cancel)
        .await;
    assert!(matches!(result, Err(ProviderError::Cancelled { .. })), "{result:?}");
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn unscripted_requests_get_a_clear_error() {
    let server = ModelServer::start(Script::new()).await;
    let mut provider = spec(&server, "p", Api::AnthropicMessages);
    provider.max_retries = 0;
    let providers = Providers::new(vec![provider]);
    let (result, _) = run(&providers, &chain(&["p/ghost"]), &ask("hi")).await;
    assert_eq!(
        result.unwrap_err().to_string(),
        "no model answered: p/ghost: provider `p` answered HTTP 500: script exhausted for model ghost"
    );
}

#[tokio::test]
async fn malformed_chains_are_refused_before_any_request() {
    let server = ModelServer::start(Script::new().model("m", [Turn::text("unused")])).await;
    let providers = Providers::new(vec![spec(&server, "p", Api::OpenaiCompletions)]);
    let (empty, _) = run(&providers, &[], &ask("hi")).await;
    assert_eq!(empty.unwrap_err(), ProviderError::EmptyChain);
    let (bad, _) = run(&providers, &chain(&["p/m", "gpt-4o"]), &ask("hi")).await;
    let bad = bad.unwrap_err().to_string();
    assert!(bad.contains("model `gpt-4o` must be written `provider/model`"), "{bad}");
    assert!(server.requests().is_empty());
}
