//! The Bot API as this plugin uses it: the shapes it reads, calling a method, and what a failure
//! means for the gateway (retry later, fix the configuration, or the platform refused).

use openclaw_plugin_sdk::ChannelError;
use openclaw_plugin_sdk::http::{HttpError, Request, Response, secret};
use serde::Deserialize;
use serde_json::Value;

/// The secret the gateway puts into the URL prefix `https://api.telegram.org/bot{}/`.
pub const TOKEN_SECRET: &str = "TELEGRAM_BOT_TOKEN";
/// The secret Telegram echoes in `X-Telegram-Bot-Api-Secret-Token` (named in `setWebhook`).
pub const WEBHOOK_SECRET: &str = "TELEGRAM_WEBHOOK_SECRET";

/// Update kinds the channel asks for.
pub const ALLOWED_UPDATES: [&str; 3] = ["message", "edited_message", "channel_post"];

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct User {
    pub id: i64,
    #[serde(default)]
    pub is_bot: bool,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Chat {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MessageEntity {
    #[serde(rename = "type")]
    pub kind: String,
    /// In UTF-16 code units.
    pub offset: usize,
    pub length: usize,
    #[serde(default)]
    pub user: Option<User>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Message {
    pub message_id: i64,
    #[serde(default)]
    pub message_thread_id: Option<i64>,
    #[serde(default)]
    pub from: Option<User>,
    #[serde(default)]
    pub sender_chat: Option<Chat>,
    #[serde(default)]
    pub date: i64,
    pub chat: Chat,
    #[serde(default)]
    pub is_topic_message: bool,
    #[serde(default)]
    pub reply_to_message: Option<Box<Message>>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub entities: Vec<MessageEntity>,
    #[serde(default)]
    pub caption: Option<String>,
    #[serde(default)]
    pub caption_entities: Vec<MessageEntity>,
    /// Present on the service message that opened a forum topic.
    #[serde(default)]
    pub forum_topic_created: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Update {
    pub update_id: i64,
    #[serde(default)]
    pub message: Option<Message>,
    #[serde(default)]
    pub edited_message: Option<Message>,
    #[serde(default)]
    pub channel_post: Option<Message>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct ResponseParameters {
    #[serde(default)]
    pub retry_after: Option<u64>,
    #[serde(default)]
    pub migrate_to_chat_id: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct Envelope {
    ok: bool,
    #[serde(default)]
    result: Value,
    #[serde(default)]
    error_code: Option<u16>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: Option<ResponseParameters>,
}

/// Why a method call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Telegram answered with an error (`ok: false`, or an HTTP error without an envelope).
    Api {
        code: u16,
        description: String,
        parameters: ResponseParameters,
    },
    /// The request did not get an answer (network, timeout, the gateway's refusal).
    Transport(HttpError),
}

impl Failure {
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::Api {
                code: 429, parameters, ..
            } => Some(parameters.retry_after.unwrap_or(1)),
            _ => None,
        }
    }

    /// What the gateway should do about it. `method` names the call in the message.
    pub fn into_channel_error(self, method: &str) -> ChannelError {
        match self {
            Self::Api { code: 401 | 404, .. } if method == "getMe" => {
                ChannelError::Config("the bot token was refused by Telegram; check channels.telegram.botToken".into())
            }
            Self::Api { code: 401, .. } => {
                ChannelError::Config("the bot token was refused by Telegram; check channels.telegram.botToken".into())
            }
            Self::Api {
                code: 429, parameters, ..
            } => ChannelError::Retry(format!(
                "Telegram limits {method} (429 Too Many Requests); retry after {} s",
                parameters.retry_after.unwrap_or(1)
            )),
            Self::Api {
                code: 409, description, ..
            } => ChannelError::Config(format!(
                "Telegram refused {method} (409 {description}): a webhook is set for this bot, or another \
                 program polls it. Set channels.telegram.webhookUrl to use the webhook, or delete it \
                 (https://api.telegram.org/bot<token>/deleteWebhook) and stop any other poller of this bot"
            )),
            Self::Api { code, description, .. } if code >= 500 => {
                ChannelError::Retry(format!("Telegram failed {method} ({code} {description})"))
            }
            Self::Api {
                code,
                description,
                parameters,
            } => match parameters.migrate_to_chat_id {
                Some(to) => ChannelError::Platform(format!(
                    "Telegram refused {method} ({code} {description}): the group is now the supergroup {to}; \
                     use that id in channels.telegram.groups"
                )),
                None => ChannelError::Platform(format!("Telegram refused {method} ({code} {description})")),
            },
            Self::Transport(HttpError::Denied(m)) => ChannelError::Denied(m),
            Self::Transport(HttpError::Invalid(m)) => ChannelError::Config(format!(
                "the {method} request is malformed (check channels.telegram.apiRoot): {m}"
            )),
            Self::Transport(HttpError::TooLarge(m)) => {
                ChannelError::Platform(format!("Telegram's answer to {method} is too large: {m}"))
            }
            Self::Transport(other) => ChannelError::Retry(format!("cannot reach Telegram for {method}: {other}")),
        }
    }
}

/// `{api_root}/bot{{secret:TELEGRAM_BOT_TOKEN}}/{method}`: the only place the token goes.
pub fn method_url(api_root: &str, method: &str) -> String {
    format!("{api_root}/bot{}/{method}", secret(TOKEN_SECRET))
}

/// Reads Telegram's answer: the `result` of `{"ok": true}`, or the failure it describes.
pub fn read_response(response: &Response) -> Result<Value, Failure> {
    match serde_json::from_slice::<Envelope>(&response.body) {
        Ok(envelope) if envelope.ok && response.is_success() => Ok(envelope.result),
        Ok(envelope) => Err(Failure::Api {
            code: envelope.error_code.unwrap_or(response.status),
            description: envelope
                .description
                .unwrap_or_else(|| format!("HTTP {}", response.status)),
            parameters: envelope.parameters.unwrap_or_default(),
        }),
        Err(_) if response.is_success() => Err(Failure::Api {
            code: 502,
            description: "the answer is not a Bot API response".into(),
            parameters: ResponseParameters::default(),
        }),
        Err(_) => Err(Failure::Api {
            code: response.status,
            description: format!("HTTP {}", response.status),
            parameters: ResponseParameters::default(),
        }),
    }
}

/// Calls `method` with JSON `params`. `wait_seconds` is how long Telegram may hold the request
/// (a long poll); the request's own timeout allows for it.
pub fn call(api_root: &str, method: &str, params: &Value, wait_seconds: u32) -> Result<Value, Failure> {
    let request = Request::post(method_url(api_root, method))
        .json(params)
        .timeout_ms((wait_seconds + 15) * 1000)
        .max_redirects(0);
    let response = request.send().map_err(Failure::Transport)?;
    read_response(&response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn kind(e: &ChannelError) -> &'static str {
        match e {
            ChannelError::Config(_) => "config",
            ChannelError::Platform(_) => "platform",
            ChannelError::Denied(_) => "denied",
            ChannelError::Retry(_) => "retry",
        }
    }

    #[test]
    fn results_and_failures() {
        assert_eq!(
            read_response(&response(200, r#"{"ok":true,"result":[1]}"#)).unwrap(),
            serde_json::json!([1])
        );
        for (method, status, body, expected, needle) in [
            (
                "getMe",
                401,
                r#"{"ok":false,"error_code":401,"description":"Unauthorized"}"#,
                "config",
                "botToken",
            ),
            (
                "getMe",
                404,
                r#"{"ok":false,"error_code":404,"description":"Not Found"}"#,
                "config",
                "botToken",
            ),
            (
                "getUpdates",
                429,
                r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#,
                "retry",
                "retry after 7 s",
            ),
            (
                "getUpdates",
                409,
                r#"{"ok":false,"error_code":409,"description":"Conflict: can't use getUpdates method while webhook is active"}"#,
                "config",
                "deleteWebhook",
            ),
            (
                "sendMessage",
                400,
                r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#,
                "platform",
                "chat not found",
            ),
            (
                "sendMessage",
                400,
                r#"{"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded to a supergroup chat","parameters":{"migrate_to_chat_id":-1001}}"#,
                "platform",
                "-1001",
            ),
            (
                "sendMessage",
                403,
                r#"{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}"#,
                "platform",
                "blocked",
            ),
            ("sendMessage", 502, "<html>Bad Gateway</html>", "retry", "502"),
            ("sendMessage", 200, "not json", "retry", "not a Bot API response"),
        ] {
            let failure = read_response(&response(status, body)).unwrap_err();
            let error = failure.into_channel_error(method);
            assert_eq!(kind(&error), expected, "{method} {status}: {error}");
            assert!(error.to_string().contains(needle), "{error}");
        }
        for (error, expected) in [
            (HttpError::Timeout("timed out".into()), "retry"),
            (HttpError::Failed("connection refused".into()), "retry"),
            (HttpError::Denied("host not granted".into()), "denied"),
            (HttpError::Invalid("bad url".into()), "config"),
        ] {
            assert_eq!(kind(&Failure::Transport(error).into_channel_error("getMe")), expected);
        }
    }

    #[test]
    fn the_token_goes_only_into_the_url_prefix() {
        assert_eq!(
            method_url("https://api.telegram.org", "getMe"),
            "https://api.telegram.org/bot{{secret:TELEGRAM_BOT_TOKEN}}/getMe"
        );
    }
}
