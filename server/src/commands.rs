//! Signed commands to devices: wipe, minimum client version. Each is signed with the
//! server's command key (pinned by devices at enrollment) and put in the device's `commands`
//! bucket, so it reaches the device at its next pull and a forged one is refused there.

use lgt_core::crypto::SigningKey;
use lgt_protocol::{
    command_signing_message, hex, unhex, Bucket, Command, CommandAction, SignedCommand,
};
use sqlx::AnyConnection;
use uuid::Uuid;

use crate::auth::Device;
use crate::buckets;
use crate::db::{now, Db};

const COMMAND_KEY: &str = "command";

/// The server's command key, made and stored on first use (the first writer wins a race).
pub(crate) async fn key(conn: &mut AnyConnection) -> anyhow::Result<SigningKey> {
    let fresh = SigningKey::generate()?;
    sqlx::query(
        "INSERT INTO server_keys (name, pkcs8) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
    )
    .bind(COMMAND_KEY)
    .bind(hex(fresh.pkcs8()))
    .execute(&mut *conn)
    .await?;
    let (pkcs8,): (String,) = sqlx::query_as("SELECT pkcs8 FROM server_keys WHERE name = $1")
        .bind(COMMAND_KEY)
        .fetch_one(&mut *conn)
        .await?;
    let bytes =
        unhex(&pkcs8).ok_or_else(|| anyhow::anyhow!("the stored command key is not hex"))?;
    Ok(SigningKey::from_pkcs8(&bytes)?)
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
    let key = key(&mut tx).await?;
    let command = Command {
        command_id: Uuid::now_v7().to_string(),
        device_id: device_id.to_owned(),
        issued_at: now(),
        action,
    };
    let text = serde_json::to_string(&command)?;
    let signed = SignedCommand {
        signature: hex(&key.sign(&command_signing_message(&text))),
        command: text,
    };
    let bucket = buckets::name_for(
        &Device {
            id: device_id.to_owned(),
            district,
        },
        Bucket::Commands,
    );
    buckets::put(
        &mut tx,
        &bucket,
        &command.command_id,
        Some(&serde_json::to_string(&signed)?),
    )
    .await?;
    sqlx::query("INSERT INTO commands (id, device_id, action, issued_at) VALUES ($1, $2, $3, $4)")
        .bind(&command.command_id)
        .bind(device_id)
        .bind(serde_json::to_string(&command.action)?)
        .bind(command.issued_at)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(command = %command.command_id, device = %device_id, "command issued");
    Ok(command)
}
