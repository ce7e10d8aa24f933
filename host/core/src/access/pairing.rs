//! The DM pairing store (reference §1.2) as plain data: OpenClaw's file shapes and names, and
//! the rules for issuing, refreshing, listing and approving codes. Reading, locking and atomically
//! writing the files is the caller's job; time and randomness are parameters.
//!
//! The pending cap (3) counts per channel *account*, inside the one per-channel file. Early
//! OpenClaw counted the whole file, so strangers writing to one account could use up the cap and
//! lock out pairing on every other account of the channel (GHSA-wwfp-w96m-c6x8, fixed in
//! 2026.3.31); the file format is unchanged, the account is `meta.accountId`.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::account::{DEFAULT_ACCOUNT_ID, IdStyle, normalize_entry};

/// Characters of a pairing code: no 0, O, 1 or I.
pub const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
pub const CODE_LENGTH: usize = 8;
/// A request expires this long after it was created; later messages do not extend it.
pub const PAIRING_TTL_MS: u64 = 60 * 60 * 1000;
/// Live pending requests per channel account.
pub const PAIRING_PENDING_MAX: usize = 3;
/// Tries to draw a code not already pending before giving up.
pub const CODE_ATTEMPTS: usize = 500;
pub const STORE_VERSION: u32 = 1;

// ---------------------------------------------------------------------------------------------
// File names

/// A channel or account id made safe as part of a file name: lower-cased; `\ / : * ? " < > |`
/// and `..` become `_`.
pub fn safe_file_key(raw: &str) -> String {
    let lowered = raw.trim().to_lowercase();
    let replaced: String = lowered
        .chars()
        .map(|c| {
            if matches!(c, '\\' | '/' | ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let safe = replaced.replace("..", "_");
    if safe.is_empty() { "_".to_string() } else { safe }
}

/// `<channel>-pairing.json`: pending requests of every account of the channel.
pub fn pairing_file_name(channel: &str) -> String {
    format!("{}-pairing.json", safe_file_key(channel))
}

/// Approved senders: `<channel>-allowFrom.json` for the default account,
/// `<channel>-<accountId>-allowFrom.json` for the others.
pub fn allow_from_file_name(channel: &str, account_id: &str) -> String {
    let account = account_key(account_id);
    if account == DEFAULT_ACCOUNT_ID {
        legacy_allow_from_file_name(channel)
    } else {
        format!("{}-{}-allowFrom.json", safe_file_key(channel), safe_file_key(&account))
    }
}

/// The scoped file of the default account (`<channel>-default-allowFrom.json`), which reads merge
/// with the unscoped one.
pub fn scoped_default_allow_from_file_name(channel: &str) -> String {
    format!("{}-{}-allowFrom.json", safe_file_key(channel), DEFAULT_ACCOUNT_ID)
}

/// The allowFrom files an account's store entries are read from, in merge order: for the default
/// account the scoped file then the unscoped one; for others only their scoped file. Missing
/// files count as empty.
pub fn allow_from_read_files(channel: &str, account_id: &str) -> Vec<String> {
    if account_key(account_id) == DEFAULT_ACCOUNT_ID {
        vec![
            scoped_default_allow_from_file_name(channel),
            legacy_allow_from_file_name(channel),
        ]
    } else {
        vec![allow_from_file_name(channel, account_id)]
    }
}

/// The unscoped file (`<channel>-allowFrom.json`) from before accounts.
pub fn legacy_allow_from_file_name(channel: &str) -> String {
    format!("{}-allowFrom.json", safe_file_key(channel))
}

fn account_key(account_id: &str) -> String {
    match account_id.trim() {
        "" => DEFAULT_ACCOUNT_ID.to_string(),
        id => id.to_lowercase(),
    }
}

// ---------------------------------------------------------------------------------------------
// Time

/// Milliseconds since the Unix epoch as OpenClaw writes them: `2026-02-01T10:00:00.000Z`.
pub fn format_iso(ms: u64) -> String {
    let days = (ms / 86_400_000) as i64;
    let in_day = ms % 86_400_000;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff]` followed by `Z` or `±HH:MM` into ms since the epoch.
/// `None` for anything else (including dates before 1970).
pub fn parse_iso(text: &str) -> Option<u64> {
    let text = text.trim();
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    if bytes.len() < 20 || bytes[4] != b'-' || bytes[7] != b'-' || !matches!(bytes[10], b'T' | b't' | b' ') {
        return None;
    }
    if bytes[13] != b':' || bytes[16] != b':' {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &text[19..];
    let mut millis = 0i64;
    if let Some(fraction) = rest.strip_prefix('.') {
        let len = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if len == 0 {
            return None;
        }
        let scaled: String = fraction[..len].chars().chain("000".chars()).take(3).collect();
        millis = scaled.parse().ok()?;
        rest = &fraction[len..];
    }
    let offset_minutes = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (h, m) = rest[1..].split_once(':')?;
            if h.len() != 2 || m.len() != 2 {
                return None;
            }
            let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
            if h > 23 || m > 59 {
                return None;
            }
            sign * (h * 60 + m)
        }
    };
    let days = days_from_civil(year, month, day);
    let total =
        days * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1000 + millis - offset_minutes * 60_000;
    u64::try_from(total).ok()
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (eras of 400 years, March-based years so
/// the leap day is last).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let march_month = (month + 9) % 12;
    let day_of_year = (153 * march_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let march_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * march_month + 2) / 5 + 1;
    let month = if march_month < 10 {
        march_month + 3
    } else {
        march_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

// ---------------------------------------------------------------------------------------------
// Files

/// One pending request in `<channel>-pairing.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PairingRequest {
    /// The sender id.
    pub id: String,
    /// Missing fields read as empty: a request without a code can never be approved, one without
    /// a readable `createdAt` is expired. A damaged row is pruned, not a reason to refuse the file.
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub created_at: String,
    #[serde(default)]
    pub last_seen_at: String,
    /// `accountId` plus whatever the channel recorded (name, username). OpenClaw writes strings;
    /// other JSON values are kept as they are.
    #[serde(default)]
    pub meta: BTreeMap<String, serde_json::Value>,
}

impl PairingRequest {
    pub fn account_id(&self) -> &str {
        self.meta
            .get("accountId")
            .and_then(serde_json::Value::as_str)
            .map(|a| a.trim())
            .filter(|a| !a.is_empty())
            .unwrap_or(DEFAULT_ACCOUNT_ID)
    }

    fn belongs_to(&self, account_id: &str) -> bool {
        self.account_id().eq_ignore_ascii_case(account_id)
    }

    /// Expired at `now` (age ≥ TTL). An unreadable `createdAt` counts as expired so it can never
    /// be approved, and so does one more than a TTL in the future: a hand-edited or
    /// clock-skewed row must not stay live for ever.
    pub fn is_expired(&self, now: u64) -> bool {
        parse_iso(&self.created_at).is_none_or(|created| {
            now.saturating_sub(created) >= PAIRING_TTL_MS || created > now.saturating_add(PAIRING_TTL_MS)
        })
    }

    fn last_seen(&self) -> u64 {
        parse_iso(&self.last_seen_at)
            .or_else(|| parse_iso(&self.created_at))
            .unwrap_or(0)
    }
}

/// `<channel>-pairing.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairingFile {
    pub version: u32,
    #[serde(default)]
    pub requests: Vec<PairingRequest>,
}

impl Default for PairingFile {
    fn default() -> Self {
        Self {
            version: STORE_VERSION,
            requests: Vec::new(),
        }
    }
}

/// `<channel>[-<accountId>]-allowFrom.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllowFromFile {
    pub version: u32,
    #[serde(default, rename = "allowFrom")]
    pub allow_from: Vec<String>,
}

impl Default for AllowFromFile {
    fn default() -> Self {
        Self {
            version: STORE_VERSION,
            allow_from: Vec::new(),
        }
    }
}

/// A store file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// Not JSON of the expected shape.
    Malformed { file: String, detail: String },
    /// A `version` this gateway does not know.
    UnsupportedVersion { file: String, version: u32 },
    /// No unused code was drawn in [`CODE_ATTEMPTS`] tries (the random source is broken).
    CodeSpaceExhausted,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed { file, detail } => write!(
                f,
                "{file} is not a valid pairing store file ({detail}); move it aside to start with an empty store, or fix the JSON"
            ),
            Self::UnsupportedVersion { file, version } => write!(
                f,
                "{file} has version {version}, this gateway reads version {STORE_VERSION}; it was written by a newer OpenClaw (run its `openclaw doctor` to migrate, or move the file aside)"
            ),
            Self::CodeSpaceExhausted => write!(
                f,
                "could not draw an unused pairing code in {CODE_ATTEMPTS} attempts; the random source is not uniform"
            ),
        }
    }
}

impl std::error::Error for StoreError {}

fn parse_versioned<T: serde::de::DeserializeOwned>(
    text: &str,
    file: &str,
    version: impl Fn(&T) -> u32,
) -> Result<T, StoreError> {
    let value: T = serde_json::from_str(text).map_err(|e| StoreError::Malformed {
        file: file.to_string(),
        detail: e.to_string(),
    })?;
    match version(&value) {
        STORE_VERSION => Ok(value),
        other => Err(StoreError::UnsupportedVersion {
            file: file.to_string(),
            version: other,
        }),
    }
}

impl PairingFile {
    /// Reads a pending file; `file` names it in errors. Empty text is an empty store.
    pub fn parse(text: &str, file: &str) -> Result<Self, StoreError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        parse_versioned(text, file, |f: &Self| f.version)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// Removes expired requests, then keeps the [`PAIRING_PENDING_MAX`] most recently seen per
    /// account. Returns whether anything changed (the caller then writes the file).
    pub fn prune(&mut self, now: u64) -> bool {
        let before = self.requests.len();
        self.requests.retain(|r| !r.is_expired(now));
        let mut per_account: BTreeMap<String, Vec<(u64, usize)>> = BTreeMap::new();
        for (index, request) in self.requests.iter().enumerate() {
            per_account
                .entry(request.account_id().to_lowercase())
                .or_default()
                .push((request.last_seen(), index));
        }
        let mut drop = vec![false; self.requests.len()];
        for rows in per_account.values_mut() {
            if rows.len() > PAIRING_PENDING_MAX {
                rows.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
                for (_, index) in &rows[PAIRING_PENDING_MAX..] {
                    drop[*index] = true;
                }
            }
        }
        let mut index = 0;
        self.requests.retain(|_| {
            index += 1;
            !drop[index - 1]
        });
        self.requests.len() != before
    }

    /// Live requests, oldest first; `account` filters to one account.
    pub fn list(&mut self, now: u64, account: Option<&str>) -> Vec<&PairingRequest> {
        self.prune(now);
        let mut out: Vec<&PairingRequest> = self
            .requests
            .iter()
            .filter(|r| account.is_none_or(|a| r.belongs_to(&account_key(a))))
            .collect();
        out.sort_by_key(|r| parse_iso(&r.created_at).unwrap_or(0));
        out
    }

    /// Live requests of one account.
    pub fn pending_count(&self, account_id: &str, now: u64) -> usize {
        let account = account_key(account_id);
        self.requests
            .iter()
            .filter(|r| r.belongs_to(&account) && !r.is_expired(now))
            .count()
    }

    /// A DM from an unknown sender under `pairing`: creates a request or refreshes the sender's
    /// live one.
    ///
    /// - The sender already has a live request: `lastSeenAt` moves, the code and `createdAt` stay
    ///   (the TTL is not extended), `created: false`: no second reply.
    /// - The account already has [`PAIRING_PENDING_MAX`] live requests: nothing is stored,
    ///   `code: None`, `created: false`: silence.
    /// - Otherwise a new request with a fresh code, `created: true`: send [`pairing_reply`].
    ///
    /// `sender_id` is the channel-normalized id ([`SenderRef::id`](super::SenderRef)), so one
    /// sender is one row whatever prefix or formatting the platform used. `random(n)` returns a
    /// uniformly drawn index below `n` (values ≥ `n` are reduced, never trusted).
    ///
    /// Read, upsert and write under the file's lock: the cap check and the insert must be one
    /// step (formal claim A6(a)).
    pub fn upsert(
        &mut self,
        sender_id: &str,
        account_id: &str,
        meta: &BTreeMap<String, String>,
        now: u64,
        random: &mut dyn FnMut(u32) -> u32,
    ) -> Result<Upsert, StoreError> {
        self.prune(now);
        let account = account_key(account_id);
        let sender = sender_id.trim();
        let stamp = format_iso(now);
        if let Some(existing) = self
            .requests
            .iter_mut()
            .find(|r| r.id == sender && r.belongs_to(&account))
        {
            existing.last_seen_at = stamp;
            for (key, value) in meta {
                if key != "accountId" {
                    existing.meta.insert(key.clone(), value.clone().into());
                }
            }
            return Ok(Upsert {
                code: Some(existing.code.clone()),
                created: false,
            });
        }
        if self.pending_count(&account, now) >= PAIRING_PENDING_MAX {
            return Ok(Upsert {
                code: None,
                created: false,
            });
        }
        let code = self.fresh_code(random)?;
        let mut meta: BTreeMap<String, serde_json::Value> =
            meta.iter().map(|(k, v)| (k.clone(), v.clone().into())).collect();
        meta.insert("accountId".to_string(), account.into());
        self.requests.push(PairingRequest {
            id: sender.to_string(),
            code: code.clone(),
            created_at: stamp.clone(),
            last_seen_at: stamp,
            meta,
        });
        Ok(Upsert {
            code: Some(code),
            created: true,
        })
    }

    fn fresh_code(&self, random: &mut dyn FnMut(u32) -> u32) -> Result<String, StoreError> {
        let alphabet_len = CODE_ALPHABET.len() as u32;
        for _ in 0..CODE_ATTEMPTS {
            let code: String = (0..CODE_LENGTH)
                .map(|_| char::from(CODE_ALPHABET[(random(alphabet_len) % alphabet_len) as usize]))
                .collect();
            if !self.requests.iter().any(|r| r.code == code) {
                return Ok(code);
            }
        }
        Err(StoreError::CodeSpaceExhausted)
    }

    /// `openclaw pairing approve`: finds a live request by code (upper-cased; filtered by account
    /// when given) and removes it. The caller adds [`Approved::id`] to the allowFrom file of
    /// [`Approved::account_id`]. `None`: no live request has that code.
    pub fn approve(&mut self, code: &str, account: Option<&str>, now: u64) -> Option<Approved> {
        self.prune(now);
        let code = code.trim().to_uppercase();
        if code.is_empty() {
            return None;
        }
        let account = account.map(account_key);
        let index = self
            .requests
            .iter()
            .position(|r| r.code == code && account.as_deref().is_none_or(|a| r.belongs_to(a)))?;
        let request = self.requests.remove(index);
        let account_id = account_key(request.account_id());
        Some(Approved {
            id: request.id,
            account_id,
        })
    }
}

/// The result of [`PairingFile::upsert`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upsert {
    /// The sender's pending code (`None` when the account is at its cap).
    pub code: Option<String>,
    /// A new request was stored: reply with the code. Never true for a refresh.
    pub created: bool,
}

/// An approved request: add `id` to the allowFrom store of `account_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approved {
    pub id: String,
    pub account_id: String,
}

impl AllowFromFile {
    /// Reads an allowFrom file; `file` names it in errors. Empty text is an empty store.
    pub fn parse(text: &str, file: &str) -> Result<Self, StoreError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        parse_versioned(text, file, |f: &Self| f.version)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// Adds a sender, normalized for `channel`. `"*"` and empty entries are refused: the store
    /// holds people, never a wildcard. Returns whether the file changed.
    pub fn add(&mut self, channel: &str, entry: &str) -> bool {
        let value = normalize_entry(IdStyle::of(channel), channel, entry);
        if value.is_empty() || value == "*" || self.allow_from.contains(&value) {
            return false;
        }
        self.allow_from.push(value);
        true
    }

    /// Removes a sender; returns whether it was there.
    pub fn remove(&mut self, channel: &str, entry: &str) -> bool {
        let value = normalize_entry(IdStyle::of(channel), channel, entry);
        let before = self.allow_from.len();
        self.allow_from.retain(|e| *e != value);
        self.allow_from.len() != before
    }

    /// The entries as access control uses them: normalized, deduplicated, no `"*"`.
    pub fn entries(&self, channel: &str) -> Vec<String> {
        merge_allow_from(channel, [self])
    }
}

/// The store entries of one account: for the default account the scoped file then the legacy
/// unscoped one, deduplicated; other accounts pass only their scoped file.
pub fn merge_allow_from<'f>(channel: &str, files: impl IntoIterator<Item = &'f AllowFromFile>) -> Vec<String> {
    let style = IdStyle::of(channel);
    let mut out: Vec<String> = Vec::new();
    for file in files {
        for entry in &file.allow_from {
            let value = normalize_entry(style, channel, entry);
            if !value.is_empty() && value != "*" && !out.contains(&value) {
                out.push(value);
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Reply

/// The id line of the pairing reply, in the channel's words.
fn id_line(channel: &str, sender_id: &str) -> String {
    let label = match channel {
        "telegram" => "Your Telegram user id",
        "whatsapp" => "Your WhatsApp phone number",
        "signal" => "Your Signal number",
        "discord" => "Your Discord user id",
        "slack" => "Your Slack user id",
        "imessage" | "bluebubbles" => "Your iMessage sender id",
        "irc" => "Your IRC nick",
        "googlechat" => "Your Google Chat user id",
        "line" => "Your LINE user id",
        "matrix" => "Your Matrix user id",
        "msteams" => "Your Teams user id",
        _ => "Your sender id",
    };
    format!("{label}: {sender_id}")
}

/// The reply to a sender who got a new pairing code (five lines).
pub fn pairing_reply(channel: &str, sender_id: &str, code: &str) -> String {
    [
        "OpenClaw: access not configured.".to_string(),
        id_line(channel, sender_id),
        format!("Pairing code: {code}"),
        "Ask the bot owner to approve with:".to_string(),
        format!("openclaw pairing approve {channel} {code}"),
    ]
    .join("\n")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    const T0: u64 = 1_769_940_000_000; // 2026-02-01T10:00:00.000Z

    fn counter() -> impl FnMut(u32) -> u32 {
        let mut state = 0u32;
        move |n| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (state >> 8) % n
        }
    }

    #[test]
    fn iso_round_trips() {
        assert_eq!(format_iso(T0), "2026-02-01T10:00:00.000Z");
        assert_eq!(parse_iso("2026-02-01T10:00:00.000Z"), Some(T0));
        assert_eq!(parse_iso("2026-02-01T11:00:00+01:00"), Some(T0));
        assert_eq!(parse_iso("2026-02-01T10:00:00.5Z"), Some(T0 + 500));
        assert_eq!(format_iso(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_iso(951_782_400_000), "2000-02-29T00:00:00.000Z");
        for bad in [
            "",
            "yesterday",
            "2026-02-30T10:00:00Z",
            "2026-02-01T10:00:00",
            "2026-02-01T25:00:00Z",
            "1969-12-31T23:59:59Z",
        ] {
            assert_eq!(parse_iso(bad), None, "{bad}");
        }
        for ms in [0, T0, 4_102_444_800_123, 1_709_164_800_000] {
            assert_eq!(parse_iso(&format_iso(ms)), Some(ms));
        }
    }

    #[test]
    fn file_names_are_sanitized() {
        assert_eq!(pairing_file_name("Telegram"), "telegram-pairing.json");
        assert_eq!(allow_from_file_name("telegram", "default"), "telegram-allowFrom.json");
        assert_eq!(allow_from_file_name("telegram", "Work"), "telegram-work-allowFrom.json");
        assert_eq!(pairing_file_name("../x:y"), "__x_y-pairing.json");
        assert_eq!(allow_from_file_name("a", "b/..\\c"), "a-b___c-allowFrom.json");
    }

    #[test]
    fn the_openclaw_file_shape_round_trips() {
        let text = r#"{"version":1,"requests":[{"id":"123","code":"ABCD2345","createdAt":"2026-02-01T10:00:00.000Z","lastSeenAt":"2026-02-01T10:05:00.000Z","meta":{"accountId":"default","username":"bob"}}]}"#;
        let mut file = PairingFile::parse(text, "telegram-pairing.json").unwrap();
        assert_eq!(file.requests[0].account_id(), "default");
        let again = PairingFile::parse(&file.to_json(), "x").unwrap();
        assert_eq!(again, file);
        assert!(file.to_json().contains("\"lastSeenAt\""));
        assert_eq!(file.approve("abcd2345", None, T0 + 1000).unwrap().id, "123");
    }

    #[test]
    fn default_reads_merge_scoped_then_legacy() {
        assert_eq!(
            allow_from_read_files("telegram", ""),
            ["telegram-default-allowFrom.json", "telegram-allowFrom.json"]
        );
        assert_eq!(
            allow_from_read_files("telegram", "work"),
            ["telegram-work-allowFrom.json"]
        );
    }

    #[test]
    fn damaged_rows_are_pruned_not_fatal() {
        let text = r#"{"version":1,"requests":[{"id":"1","meta":{"accountId":7}},{"id":"2","code":"ABCDEFGH","createdAt":"2026-02-01T10:00:00.000Z","meta":{"accountId":"work","n":null}}]}"#;
        let mut file = PairingFile::parse(text, "f").unwrap();
        assert_eq!(file.list(T0 + 1, None).len(), 1);
        assert_eq!(file.requests[0].account_id(), "work");
        assert_eq!(file.approve("", None, T0 + 1), None);
    }

    #[test]
    fn garbage_files_are_errors_not_panics() {
        for text in [
            "{",
            "[]",
            r#"{"version":"x"}"#,
            r#"{"version":1,"requests":[{"id":1}]}"#,
            "\u{0}",
        ] {
            assert!(
                matches!(PairingFile::parse(text, "f"), Err(StoreError::Malformed { .. })),
                "{text}"
            );
        }
        assert!(matches!(
            AllowFromFile::parse(r#"{"version":2,"allowFrom":[]}"#, "f"),
            Err(StoreError::UnsupportedVersion { version: 2, .. })
        ));
        let err = PairingFile::parse("{", "telegram-pairing.json").unwrap_err();
        assert!(err.to_string().contains("telegram-pairing.json"));
    }

    #[test]
    fn unreadable_timestamps_count_as_expired() {
        let text = r#"{"version":1,"requests":[{"id":"1","code":"AAAAAAAA","createdAt":"soon","lastSeenAt":"soon"}]}"#;
        let mut file = PairingFile::parse(text, "f").unwrap();
        assert_eq!(file.approve("AAAAAAAA", None, T0), None);
        assert!(file.requests.is_empty());
    }

    #[test]
    fn upsert_refreshes_without_resending_and_keeps_the_ttl() {
        let mut file = PairingFile::default();
        let mut rng = counter();
        let meta = BTreeMap::new();
        let first = file.upsert("42", "default", &meta, T0, &mut rng).unwrap();
        assert!(first.created);
        let code = first.code.clone().unwrap();
        assert_eq!(code.len(), CODE_LENGTH);
        let again = file.upsert("42", "default", &meta, T0 + 30 * 60_000, &mut rng).unwrap();
        assert_eq!(
            again,
            Upsert {
                code: Some(code.clone()),
                created: false
            }
        );
        assert_eq!(file.requests[0].last_seen_at, format_iso(T0 + 30 * 60_000));
        // The TTL runs from createdAt: at exactly 60 minutes the request is gone.
        assert_eq!(file.approve(&code, None, T0 + PAIRING_TTL_MS), None);
        let fresh = file
            .upsert("42", "default", &meta, T0 + PAIRING_TTL_MS, &mut rng)
            .unwrap();
        assert!(fresh.created);
    }

    #[test]
    fn the_cap_is_per_account() {
        let mut file = PairingFile::default();
        let mut rng = counter();
        let meta = BTreeMap::new();
        for sender in ["1", "2", "3"] {
            assert!(file.upsert(sender, "default", &meta, T0, &mut rng).unwrap().created);
        }
        assert_eq!(
            file.upsert("4", "default", &meta, T0, &mut rng).unwrap(),
            Upsert {
                code: None,
                created: false
            }
        );
        assert!(file.upsert("4", "work", &meta, T0, &mut rng).unwrap().created);
        let approved = file.approve(&file.requests[3].code.clone(), Some("default"), T0);
        assert_eq!(approved, None, "the work account's code does not approve on default");
        let code = file.requests[3].code.clone();
        assert_eq!(
            file.approve(&code, Some("WORK"), T0),
            Some(Approved {
                id: "4".into(),
                account_id: "work".into()
            })
        );
    }

    #[test]
    fn a_broken_random_source_is_an_error() {
        let mut file = PairingFile::default();
        let mut zero = |_| 0;
        let meta = BTreeMap::new();
        assert!(file.upsert("1", "default", &meta, T0, &mut zero).unwrap().created);
        assert_eq!(
            file.upsert("2", "default", &meta, T0, &mut zero),
            Err(StoreError::CodeSpaceExhausted)
        );
    }

    #[test]
    fn allow_from_drops_wildcards_and_merges_scoped_then_legacy() {
        let mut scoped = AllowFromFile::default();
        assert!(scoped.add("telegram", "tg:42"));
        assert!(!scoped.add("telegram", "42"));
        assert!(!scoped.add("telegram", "*"));
        let legacy = AllowFromFile {
            version: 1,
            allow_from: vec!["7".into(), "42".into(), "*".into()],
        };
        assert_eq!(merge_allow_from("telegram", [&scoped, &legacy]), vec!["42", "7"]);
    }

    #[test]
    fn reply_has_five_lines() {
        let reply = pairing_reply("telegram", "123", "ABCD2345");
        assert_eq!(
            reply,
            "OpenClaw: access not configured.\nYour Telegram user id: 123\nPairing code: ABCD2345\nAsk the bot owner to approve with:\nopenclaw pairing approve telegram ABCD2345"
        );
    }
}
