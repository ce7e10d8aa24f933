//! Verifying a channel's webhook request with the recipe in its manifest, before the plugin sees
//! it. Pure: the gateway hands in the request and the secret's value. Comparisons take the same
//! time whatever the input, so a caller cannot find the secret byte by byte.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::manifest::WebhookVerify;

/// Why a webhook request was refused (for the gateway's log; the sender gets a bare 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookRefusal {
    #[error("the request has no {0} header")]
    MissingHeader(String),
    #[error("the {0} header does not match")]
    Mismatch(String),
    #[error("the {0} header is not `{1}` followed by a hex HMAC-SHA256")]
    Malformed(String, String),
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Checks `headers` and `body` against `recipe`, using `secret` (the value of the secret the
/// recipe names).
pub fn verify(
    recipe: &WebhookVerify,
    headers: &[(String, String)],
    body: &[u8],
    secret: &str,
) -> Result<(), WebhookRefusal> {
    match recipe {
        WebhookVerify::HeaderEquals { header: name, .. } => {
            let presented = header(headers, name).ok_or_else(|| WebhookRefusal::MissingHeader(name.clone()))?;
            if bool::from(presented.as_bytes().ct_eq(secret.as_bytes())) {
                Ok(())
            } else {
                Err(WebhookRefusal::Mismatch(name.clone()))
            }
        }
        WebhookVerify::HmacSha256 {
            header: name, prefix, ..
        } => {
            let presented = header(headers, name).ok_or_else(|| WebhookRefusal::MissingHeader(name.clone()))?;
            let signature = presented
                .trim()
                .strip_prefix(prefix.as_str())
                .and_then(decode_hex)
                .ok_or_else(|| WebhookRefusal::Malformed(name.clone(), prefix.clone()))?;
            let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
                .map_err(|_| WebhookRefusal::Mismatch(name.clone()))?;
            mac.update(body);
            mac.verify_slice(&signature)
                .map_err(|_| WebhookRefusal::Mismatch(name.clone()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn shared_secret_header() {
        let recipe = WebhookVerify::HeaderEquals {
            header: "X-Telegram-Bot-Api-Secret-Token".into(),
            secret: "WEBHOOK_SECRET".into(),
        };
        let ok = headers(&[("x-telegram-bot-api-secret-token", "s3cret")]);
        assert_eq!(verify(&recipe, &ok, b"{}", "s3cret"), Ok(()));
        let wrong = headers(&[("X-Telegram-Bot-Api-Secret-Token", "s3cre")]);
        assert!(matches!(
            verify(&recipe, &wrong, b"{}", "s3cret"),
            Err(WebhookRefusal::Mismatch(_))
        ));
        assert!(matches!(
            verify(&recipe, &[], b"{}", "s3cret"),
            Err(WebhookRefusal::MissingHeader(_))
        ));
    }

    #[test]
    fn hmac_signature_of_the_body() {
        // GitHub's documented example: secret "It's a Secret to Everybody", body "Hello, World!".
        let recipe = WebhookVerify::HmacSha256 {
            header: "X-Hub-Signature-256".into(),
            secret: "HOOK".into(),
            prefix: "sha256=".into(),
        };
        let good = headers(&[(
            "x-hub-signature-256",
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        )]);
        assert_eq!(
            verify(&recipe, &good, b"Hello, World!", "It's a Secret to Everybody"),
            Ok(())
        );
        assert!(matches!(
            verify(&recipe, &good, b"Hello, World?", "It's a Secret to Everybody"),
            Err(WebhookRefusal::Mismatch(_))
        ));
        let no_prefix = headers(&[(
            "x-hub-signature-256",
            "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        )]);
        assert!(matches!(
            verify(&recipe, &no_prefix, b"Hello, World!", "It's a Secret to Everybody"),
            Err(WebhookRefusal::Malformed(..))
        ));
    }
}
