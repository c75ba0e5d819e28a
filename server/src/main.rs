//! `lgt-server`: serve the sync API, or run a supervisor command against its database.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use lgt_protocol::CommandAction;
use lgt_server::{admin, Db};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "lgt-server",
    version,
    about = "The 流管通 reference sync server"
)]
struct Args {
    /// Data directory (the SQLite database lives here unless --database-url is given).
    #[arg(
        long,
        global = true,
        default_value = "lgt-server-data",
        env = "LGT_SERVER_DATA"
    )]
    data: PathBuf,
    /// PostgreSQL URL (postgres://...); SQLite in --data when absent.
    #[arg(long, global = true, env = "LGT_DATABASE_URL")]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the sync API until SIGINT or SIGTERM.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
    },
    /// Issue a one-time enrollment code for a coordinator's new device.
    EnrollmentCode {
        /// Coordinator account id.
        #[arg(long)]
        coordinator: String,
        /// District code the device will sync.
        #[arg(long)]
        district: String,
        /// Hours the code stays valid.
        #[arg(long, default_value_t = 24)]
        ttl_hours: i64,
        /// Hours the device may go without syncing before it locks its personal data.
        #[arg(long, default_value_t = 72)]
        max_offline_hours: i64,
    },
    /// List devices with their sync health.
    Devices,
    /// Revoke a device: it purges its personal data at its next contact.
    Revoke {
        /// Device id.
        device_id: String,
    },
    /// List conflicts (unresolved ones unless --all).
    Conflicts {
        /// Include resolved conflicts.
        #[arg(long)]
        all: bool,
    },
    /// Publish a signed watchlist package (built by `lgt watchlist build`) to every device:
    /// a snapshot replaces the list, a delta updates the version before it.
    WatchlistPublish {
        /// The package file.
        package: PathBuf,
    },
    /// Order a device, by a command signed with the server's key, to purge its personal data
    /// at its next sync.
    Wipe {
        /// Device id.
        device_id: String,
    },
    /// Order a device, by a signed command, to stop syncing until it runs at least VERSION.
    MinClientVersion {
        /// Device id.
        device_id: String,
        /// The least client version (MAJOR.MINOR.PATCH).
        version: String,
    },
    /// List the watchlist hit reports devices sent (ids, versions and tags only).
    WatchlistHits,
    /// Resolve a conflict with a note.
    Resolve {
        /// Conflict id.
        conflict_id: String,
        /// What the supervisor decided.
        #[arg(long)]
        resolution: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let db = Db::open(&args.data, args.database_url.as_deref()).await?;
    match args.command {
        Command::Serve { listen } => {
            let listener = tokio::net::TcpListener::bind(listen).await?;
            tracing::info!(addr = %listener.local_addr()?, backend = ?db.backend, "listening");
            lgt_server::serve(listener, db, shutdown_signal()).await?;
            tracing::info!("stopped");
        }
        Command::EnrollmentCode {
            coordinator,
            district,
            ttl_hours,
            max_offline_hours,
        } => {
            let code = admin::create_enrollment_code(
                &db,
                &coordinator,
                &district,
                ttl_hours * 3600,
                max_offline_hours * 3600,
            )
            .await?;
            print_json(&code)?;
        }
        Command::Devices => print_json(&admin::devices(&db).await?)?,
        Command::Revoke { device_id } => admin::revoke(&db, &device_id).await?,
        Command::WatchlistPublish { package } => {
            let bytes = std::fs::read(&package)?;
            print_json(&lgt_server::watchlist::publish(&db, &bytes).await?)?;
        }
        Command::Wipe { device_id } => {
            print_json(&lgt_server::commands::issue(&db, &device_id, CommandAction::Wipe).await?)?
        }
        Command::MinClientVersion { device_id, version } => print_json(
            &lgt_server::commands::issue(
                &db,
                &device_id,
                CommandAction::MinClientVersion { version },
            )
            .await?,
        )?,
        Command::WatchlistHits => print_json(&lgt_server::watchlist::hits(&db).await?)?,
        Command::Conflicts { all } => print_json(&admin::conflicts(&db, all).await?)?,
        Command::Resolve {
            conflict_id,
            resolution,
        } => admin::resolve(&db, &conflict_id, &resolution).await?,
    }
    Ok(())
}

fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
}
