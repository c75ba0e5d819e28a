//! Signed commands to devices: wipe, minimum client version, key rotations. Each is signed
//! with the server's command key (pinned by devices at enrollment) and put in the device's
//! `commands` bucket, so it reaches the device at its next pull and a forged one is refused
//! there. The command key itself rotates by a command signed with the key it replaces.

use lgt_common::crypto::SigningKey;
use lgt_protocol::{command_signing_message, hex, Bucket, Command, CommandAction, SignedCommand};
use sqlx::AnyConnection;
use uuid::Uuid;

use crate::auth::Device;
use crate::buckets;
use crate::db::{now, Db};
use crate::vault::{Vault, COMMAND_KEY};

/// The server's command key, made on first use and stored wrapped
/// ([`crate::vault::stored_key`]); no command is signed with a key that a concurrent
/// rotation is replacing.
pub(crate) async fn key(conn: &mut AnyConnection, vault: &Vault) -> anyhow::Result<SigningKey> {
    let fresh = SigningKey::generate()?;
    let pkcs8 = crate::vault::stored_key(conn, vault, COMMAND_KEY, fresh.pkcs8()).await?;
    Ok(SigningKey::from_pkcs8(&pkcs8)?)
}

/// Signs `action` for `device_id` and queues it in the device's `commands` bucket.
pub async fn issue(db: &Db, device_id: &str, action: CommandAction) -> anyhow::Result<Command> {
    let mut tx = db.pool.begin().await?;
    let device: Option<(String,)> =
        sqlx::query_as("SELECT district FROM devices WHERE id = $1 AND revoked_at IS NULL")
            .bind(device_id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((district,)) = device else {
        anyhow::bail!("no active device {device_id}");
    };
    let key = key(&mut tx, &db.vault).await?;
    let device = Device {
        id: device_id.to_owned(),
        district,
    };
    let command = sign_into_bucket(&mut tx, &db.vault, &key, &device, action).await?;
    tx.commit().await?;
    Ok(command)
}

/// Signs `action` for every active device, in one transaction.
pub async fn issue_to_active(db: &Db, action: CommandAction) -> anyhow::Result<Vec<Command>> {
    let mut tx = db.pool.begin().await?;
    let key = key(&mut tx, &db.vault).await?;
    let mut commands = Vec::new();
    for device in active_devices(&mut tx).await? {
        commands.push(sign_into_bucket(&mut tx, &db.vault, &key, &device, action.clone()).await?);
    }
    tx.commit().await?;
    Ok(commands)
}

/// The devices not revoked, by id.
async fn active_devices(conn: &mut AnyConnection) -> sqlx::Result<Vec<Device>> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT id, district FROM devices WHERE revoked_at IS NULL ORDER BY id")
            .fetch_all(&mut *conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(id, district)| Device { id, district })
        .collect())
}

/// A rotation of the server's command key.
#[derive(Debug, serde::Serialize)]
pub struct CommandKeyRotation {
    /// The new public key, hex (enrollment answers carry it from now on).
    pub public_key: String,
    /// The rotation commands queued, one per active device, signed by the old key.
    pub commands: Vec<Command>,
}

/// Replaces the command key: every active device gets a command, signed by the old key,
/// naming the new one; commands issued afterwards are signed by the new key and reach each
/// device after that command, in bucket order. One transaction.
pub async fn rotate_key(db: &Db) -> anyhow::Result<CommandKeyRotation> {
    let mut tx = db.pool.begin().await?;
    let old = key(&mut tx, &db.vault).await?;
    let new = SigningKey::generate()?;
    let public_key = hex(new.public_key().as_bytes());
    let mut commands = Vec::new();
    for device in active_devices(&mut tx).await? {
        let action = CommandAction::RotateCommandKey {
            key: public_key.clone(),
        };
        commands.push(sign_into_bucket(&mut tx, &db.vault, &old, &device, action).await?);
    }
    let (wrapped, kek_id) = db.vault.wrap(COMMAND_KEY, new.pkcs8());
    sqlx::query("UPDATE server_keys SET pkcs8 = $2, kek_id = $3 WHERE name = $1")
        .bind(COMMAND_KEY)
        .bind(&wrapped)
        .bind(&kek_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(devices = commands.len(), "command key rotated");
    Ok(CommandKeyRotation {
        public_key,
        commands,
    })
}

async fn sign_into_bucket(
    tx: &mut AnyConnection,
    vault: &Vault,
    key: &SigningKey,
    device: &Device,
    action: CommandAction,
) -> anyhow::Result<Command> {
    let command = Command {
        command_id: Uuid::now_v7().to_string(),
        device_id: device.id.clone(),
        issued_at: now(),
        action,
    };
    let text = serde_json::to_string(&command)?;
    let signed = SignedCommand {
        signature: hex(&key.sign(&command_signing_message(&text))),
        command: text,
    };
    let bucket = buckets::name_for(device, Bucket::Commands);
    buckets::put(
        &mut *tx,
        vault,
        &bucket,
        &command.command_id,
        Some(&serde_json::to_string(&signed)?),
    )
    .await?;
    sqlx::query("INSERT INTO commands (id, device_id, action, issued_at) VALUES ($1, $2, $3, $4)")
        .bind(&command.command_id)
        .bind(&device.id)
        .bind(serde_json::to_string(&command.action)?)
        .bind(command.issued_at)
        .execute(&mut *tx)
        .await?;
    tracing::info!(command = %command.command_id, device = %device.id, "command issued");
    Ok(command)
}
