//! Obeys the `commands` bucket: commands signed with the server's command key pinned at
//! enrollment, for this device only. A command that does not verify is refused and reported;
//! one that does is recorded as a standing order (a wipe, a minimum client version), which
//! holds even if the shell is killed before acting on it, or changes what the device trusts
//! (the server's TLS keys).

use lgt_protocol::{command_signing_message, unhex, Command, CommandAction, Entry, SignedCommand};
use rusqlite::Transaction;

use super::state;
use super::SyncError;
use crate::store::StoreError;

/// Records the orders of the verified commands among `entries`; returns why the others were
/// refused (command ids and reasons only).
pub(super) fn obey(
    tx: &Transaction<'_>,
    device_id: &str,
    entries: &[Entry],
) -> Result<Vec<String>, StoreError> {
    let mut refused = Vec::new();
    let key = state::command_key(tx)?;
    let plain_http = state::enrollment(tx)?.is_some_and(|e| e.server_url.starts_with("http:"));
    for entry in entries {
        let Some(data) = &entry.data else {
            continue;
        };
        let verified = key
            .as_ref()
            .ok_or("no command key is pinned on this device")
            .and_then(|key| verify(key, device_id, plain_http, data));
        match verified {
            Ok(command) => match command.action {
                CommandAction::Wipe => state::obey(tx, Some(&command.command_id), None)?,
                CommandAction::MinClientVersion { version } => {
                    state::obey(tx, None, Some(&version))?
                }
                CommandAction::TrustServerKeys { pins } => state::save_server_pins(tx, &pins)?,
            },
            Err(reason) => refused.push(format!("command {}: {reason}", entry.key)),
        }
    }
    Ok(refused)
}

fn verify(
    key: &crate::crypto::PublicKey,
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
        _ => {}
    }
    Ok(command)
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
