//! The security headers every HTTP answer of the gateway carries (OpenClaw's
//! `setDefaultSecurityHeaders`, made stricter: nothing here is meant to be framed, embedded by
//! another site, or given a browser feature).

/// Browser features no gateway answer needs.
pub const PERMISSIONS_POLICY: &str = "accelerometer=(), autoplay=(), camera=(), display-capture=(), \
     encrypted-media=(), fullscreen=(), geolocation=(), gyroscope=(), hid=(), magnetometer=(), \
     microphone=(), midi=(), payment=(), picture-in-picture=(), publickey-credentials-get=(), \
     screen-wake-lock=(), serial=(), usb=(), xr-spatial-tracking=()";

/// The headers, by name and value. `strict_transport_security` is
/// `gateway.http.securityHeaders.strictTransportSecurity` when it is a (non-empty) string.
pub fn security_headers(strict_transport_security: Option<&str>) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        ("x-content-type-options", "nosniff".to_string()),
        ("referrer-policy", "no-referrer".to_string()),
        ("permissions-policy", PERMISSIONS_POLICY.to_string()),
        ("x-permitted-cross-domain-policies", "none".to_string()),
        ("cross-origin-resource-policy", "same-origin".to_string()),
        ("x-frame-options", "DENY".to_string()),
    ];
    if let Some(value) = strict_transport_security.map(str::trim).filter(|v| !v.is_empty()) {
        headers.push(("strict-transport-security", value.to_string()));
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hsts_only_when_configured() {
        let names = |h: Vec<(&'static str, String)>| h.into_iter().map(|(n, _)| n).collect::<Vec<_>>();
        assert!(!names(security_headers(None)).contains(&"strict-transport-security"));
        assert!(!names(security_headers(Some("  "))).contains(&"strict-transport-security"));
        let with = security_headers(Some("max-age=31536000"));
        assert!(with.contains(&("strict-transport-security", "max-age=31536000".to_string())));
        assert!(with.contains(&("x-frame-options", "DENY".to_string())));
        for feature in ["camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"] {
            assert!(PERMISSIONS_POLICY.contains(feature), "{feature}");
        }
    }
}
