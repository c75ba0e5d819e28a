//! Obeys the `commands` bucket: commands signed with the server's command key pinned at
//! enrollment, for this device only. A command that does not verify is refused and reported;
//! one that does is recorded as a standing order (a wipe, a minimum client version), which
//! holds even if the shell is killed before acting on it, or changes what the device trusts
//! and signs with (the server's TLS keys, the command key, the device key).

use chrono::{DateTime, Utc};
use lgt_protocol::{command_signing_message, unhex, Command, CommandAction, Entry, SignedCommand};
use rusqlite::Transaction;

use super::state;
use super::SyncError;
use crate::crypto::{PublicKey, RowCipher};
use crate::store::StoreError;

/// Records the orders of the verified commands among `entries`; returns why the others were
/// refused (command ids and reasons only). A command obeyed before (a recovery brings the
/// bucket again) is skipped.
pub(super) fn obey(
    tx: &Transaction<'_>,
    cipher: &RowCipher,
    entries: &[Entry],
    now: DateTime<Utc>,
) -> Result<Vec<String>, StoreError> {
    let mut refused = Vec::new();
    let Some(enrollment) = state::enrollment(tx)? else {
        return Ok(refused);
    };
    let plain_http = enrollment.server_url.starts_with("http:");
    let mut key = state::command_key(tx)?;
    for entry in entries {
        let Some(data) = &entry.data else {
            continue;
        };
        if state::obeyed(tx, &entry.key)? {
            continue;
        }
        let verified = key
            .as_ref()
            .ok_or("no command key is pinned on this device")
            .and_then(|key| verify(key, &enrollment.device_id, plain_http, data));
        let command = match verified {
            Ok(command) => command,
            Err(reason) => {
                refused.push(format!("command {}: {reason}", entry.key));
                continue;
            }
        };
        match command.action {
            CommandAction::Wipe => state::obey(tx, Some(&command.command_id), None)?,
            CommandAction::MinClientVersion { version } => state::obey(tx, None, Some(&version))?,
            CommandAction::TrustServerKeys { pins } => state::save_server_pins(tx, &pins)?,
            CommandAction::RotateDeviceKey => state::make_pending_key(tx, cipher)?,
            CommandAction::RotateCommandKey { key: new } => {
                // Checked by `verify`; the commands after this one are signed by the new key.
                if let Some(new) = public_key(&new) {
                    state::save_command_key(tx, &new)?;
                    key = Some(new);
                }
            }
        }
        state::record_obeyed(tx, &entry.key, now)?;
    }
    Ok(refused)
}

/// Verifies one `commands` bucket entry's data against the pinned command `key`, for
/// `device_id`, and decodes its command: what `obey` does before recording an order.
/// Public (as `sync::verify_command`) for the `signed_command` fuzz target only.
pub fn verify(
    key: &PublicKey,
    device_id: &str,
    plain_http: bool,
    data: &str,
) -> Result<Command, &'static str> {
    let signed: SignedCommand = serde_json::from_str(data).map_err(|_| "malformed")?;
    let signature = unhex(&signed.signature).ok_or("malformed signature")?;
    key.verify(&command_signing_message(&signed.command), &signature)
        .map_err(|_| "the signature does not verify against the pinned command key")?;
    let command: Command = serde_json::from_str(&signed.command).map_err(|_| "malformed")?;
    if command.device_id != device_id {
        return Err("issued for another device");
    }
    match &command.action {
        CommandAction::MinClientVersion { version } => {
            parse_version(version).ok_or("malformed version")?;
        }
        CommandAction::TrustServerKeys { pins } if pins.is_empty() => {
            return Err("no server key to trust");
        }
        CommandAction::TrustServerKeys { .. } if plain_http => {
            return Err("this device reaches its server over plain HTTP (loopback)");
        }
        CommandAction::RotateCommandKey { key } => {
            public_key(key).ok_or("malformed command key")?;
        }
        _ => {}
    }
    Ok(command)
}

fn public_key(hex: &str) -> Option<PublicKey> {
    unhex(hex).and_then(|bytes| PublicKey::try_from_slice(&bytes).ok())
}

fn parse_version(text: &str) -> Option<Vec<u64>> {
    text.trim()
        .split('.')
        .map(|part| part.parse().ok())
        .collect::<Option<Vec<u64>>>()
        .filter(|parts| parts.len() == 3)
}

/// The standing orders as an error: a wipe, or a client older than the least version.
pub(super) fn standing(tx: &rusqlite::Connection) -> Result<Option<SyncError>, StoreError> {
    let (wipe, minimum) = state::orders(tx)?;
    if wipe.is_some() {
        return Ok(Some(SyncError::WipeOrdered));
    }
    let current = env!("CARGO_PKG_VERSION");
    Ok(minimum
        .filter(|minimum| parse_version(current) < parse_version(minimum))
        .map(|minimum| SyncError::UpgradeRequired {
            current: current.to_owned(),
            minimum,
        }))
}

#[cfg(test)]
mod tests {
    use super::parse_version;

    #[test]
    fn versions_compare_by_number_not_by_text() {
        assert!(parse_version("0.10.0") > parse_version("0.9.9"));
        assert!(parse_version("1.0.0") > parse_version("0.99.99"));
        assert_eq!(parse_version("1.2"), None);
        assert_eq!(parse_version("1.x.0"), None);
    }
}
