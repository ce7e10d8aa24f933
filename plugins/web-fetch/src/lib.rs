//! `web_fetch`: fetches a URL and returns readable text. It can reach only the hosts the operator
//! listed for it; the gateway enforces that (and refuses private addresses, caps the response
//! size and time), so this plugin needs no checks of its own beyond the URL's shape.

mod html;

use openclaw_plugin_sdk::prelude::*;

const DEFAULT_MAX_CHARS: usize = 50_000;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Args {
    url: String,
    #[serde(default)]
    max_chars: Option<usize>,
    #[serde(default)]
    raw: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Settings {
    max_chars: Option<usize>,
    user_agent: Option<String>,
}

pub struct WebFetch;

fn cut(text: &str, max_chars: usize) -> (String, bool) {
    match text.char_indices().nth(max_chars) {
        Some((at, _)) => (text[..at].to_string(), true),
        None => (text.to_string(), false),
    }
}

fn is_html(content_type: &str, body: &str) -> bool {
    content_type.contains("html") || (content_type.is_empty() && body.trim_start().starts_with('<'))
}

impl Tool for WebFetch {
    fn tools() -> Vec<ToolSpec> {
        vec![ToolSpec::new(
            "web_fetch",
            "Fetch a web page or API response by URL (http or https) and return its readable text. \
             Only hosts approved by the operator can be reached.",
            json!({
                "type": "object",
                "properties": {
                    "url": { "type": "string", "description": "The URL to fetch (http:// or https://)." },
                    "maxChars": { "type": "integer", "minimum": 100, "description": "Longest text to return." },
                    "raw": { "type": "boolean", "description": "Return the body as is instead of extracting text from HTML." }
                },
                "required": ["url"],
                "additionalProperties": false
            }),
        )]
    }

    fn call(name: &str, args: Value, _ctx: &CallContext) -> Result<Value, ToolError> {
        if name != "web_fetch" {
            return Err(ToolError::unknown_tool(name));
        }
        let args: Args = parse_args(args)?;
        if !(args.url.starts_with("https://") || args.url.starts_with("http://")) {
            return Err(ToolError::InvalidArgs(format!(
                "\"{}\" is not an http(s) URL",
                args.url
            )));
        }
        let settings: Settings = config::get().unwrap_or_default();
        let max_chars = args
            .max_chars
            .or(settings.max_chars)
            .unwrap_or(DEFAULT_MAX_CHARS)
            .max(100);
        let mut request =
            Request::get(&args.url).header("accept", "text/html, application/json, text/plain;q=0.9, */*;q=0.5");
        if let Some(agent) = &settings.user_agent {
            request = request.header("user-agent", agent);
        }
        let response = request.send()?;
        let content_type = response.header("content-type").unwrap_or_default().to_ascii_lowercase();
        let body = response.text();
        let (title, text) = if !args.raw && is_html(&content_type, &body) {
            (html::title(&body), html::to_text(&body))
        } else {
            (None, body)
        };
        let (text, truncated) = cut(&text, max_chars);
        log_debug!(
            "fetched {} ({} chars, status {})",
            args.url,
            text.len(),
            response.status
        );
        Ok(json!({
            "url": args.url,
            "status": response.status,
            "contentType": content_type,
            "title": title,
            "text": text,
            "truncated": truncated,
        }))
    }
}

export_tool!(WebFetch);

#[cfg(test)]
mod tests {
    use super::*;
    use openclaw_plugin_sdk::testing::MockHost;

    #[test]
    fn fetches_html_as_text_and_truncates() {
        let host = MockHost::new()
            .config(json!({"userAgent": "test-agent"}))
            .http(|_| {
                Ok(Response {
                    status: 200,
                    headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
                    body: b"<html><title>T</title><body><p>Hello world</p></body></html>".to_vec(),
                })
            })
            .install();
        let ctx = CallContext::default();
        let out = WebFetch::call("web_fetch", json!({"url": "https://docs.rs/x"}), &ctx).unwrap();
        assert_eq!(out["title"], "T");
        assert_eq!(out["text"], "T\nHello world");
        assert_eq!(out["truncated"], false);
        let sent = host.requests();
        assert!(
            sent[0]
                .headers
                .iter()
                .any(|(k, v)| k == "user-agent" && v == "test-agent")
        );
        let short = WebFetch::call(
            "web_fetch",
            json!({"url": "https://docs.rs/x", "maxChars": 100, "raw": true}),
            &ctx,
        )
        .unwrap();
        assert!(short["text"].as_str().unwrap().starts_with("<html>"));
    }

    #[test]
    fn refuses_bad_arguments_and_reports_denials() {
        let _host = MockHost::new()
            .http(|_| Err(HttpError::Denied("host not granted".into())))
            .install();
        let ctx = CallContext::default();
        assert!(matches!(
            WebFetch::call("web_fetch", json!({"url": "file:///etc/passwd"}), &ctx),
            Err(ToolError::InvalidArgs(_))
        ));
        assert!(matches!(
            WebFetch::call("web_fetch", json!({"url": "https://a", "extra": 1}), &ctx),
            Err(ToolError::InvalidArgs(_))
        ));
        assert!(matches!(
            WebFetch::call("web_fetch", json!({"url": "https://evil.example"}), &ctx),
            Err(ToolError::Denied(_))
        ));
    }
}
