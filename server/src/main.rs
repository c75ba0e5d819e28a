//! `lgt-server`: serve the sync API, or run a supervisor command against its database.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use lgt_protocol::{CommandAction, ServerPin};
use lgt_server::{admin, Db, TlsIdentity};
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
    /// Directory of the server's key file (the key-encryption key that wraps the database's
    /// keys; made 0700, the file 0600, on first start): DATA/keys when absent. Put it on
    /// another volume than the database, and back it up apart from the database.
    #[arg(long, global = true, env = "LGT_SERVER_KEYS")]
    keys_dir: Option<PathBuf>,
    #[command(flatten)]
    tls: TlsFiles,
    #[command(subcommand)]
    command: Command,
}

/// Where the TLS identity comes from.
#[derive(clap::Args)]
struct TlsFiles {
    /// TLS certificate chain (PEM, leaf first); a self-signed one in DATA/tls/ when absent.
    #[arg(long, global = true, env = "LGT_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, global = true, env = "LGT_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

impl TlsFiles {
    /// The operator's certificate when given, else the one kept in (or made in) `data`.
    fn identity(&self, data: &std::path::Path) -> anyhow::Result<TlsIdentity> {
        Ok(match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => TlsIdentity::from_pem_files(cert, key)?,
            _ => TlsIdentity::in_data_dir(data)?,
        })
    }
}

/// The rate and concurrency limits of `serve` (0 turns one off). They are kept per process:
/// behind a load balancer over N processes a client may get up to N times each.
#[derive(clap::Args)]
struct LimitArgs {
    /// Enrollment attempts per minute from one source address (an IPv6 /64 counts as one).
    #[arg(long, default_value_t = 20)]
    enroll_per_minute_per_address: u32,
    /// Enrollment attempts per minute with one code, from anywhere (burst of 5).
    #[arg(long, default_value_t = 1)]
    enroll_per_minute_per_code: u32,
    /// Signed requests (pushes, pulls, ...) per minute by one device (burst of half that).
    #[arg(long, default_value_t = 240)]
    device_requests_per_minute: u32,
    /// Requests in flight in this process; more are answered 503 at once.
    #[arg(long, default_value_t = 512)]
    max_in_flight: usize,
}

impl LimitArgs {
    fn limits(&self) -> lgt_server::Limits {
        use lgt_server::Rate;
        let rate = |burst: u32, per_minute: u32| {
            (per_minute > 0).then_some(Rate {
                burst: burst.max(1),
                per_minute,
            })
        };
        lgt_server::Limits {
            enroll_per_address: rate(
                self.enroll_per_minute_per_address,
                self.enroll_per_minute_per_address,
            ),
            enroll_per_code: rate(5, self.enroll_per_minute_per_code),
            per_device: rate(
                self.device_requests_per_minute / 2,
                self.device_requests_per_minute,
            ),
            max_in_flight: (self.max_in_flight > 0).then_some(self.max_in_flight),
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Serve the sync API until SIGINT or SIGTERM.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Serve plain HTTP: only behind a load balancer that terminates TLS with the pinned
        /// key, or on loopback in development (phones refuse plain HTTP to anywhere else).
        #[arg(long)]
        plain_http: bool,
        /// Serve the Prometheus counters (`GET /metrics`, plain HTTP) on this address, for
        /// operators only (loopback or an operators' network); not served at all without it.
        #[arg(long)]
        metrics_listen: Option<SocketAddr>,
        /// Serve the supervisor console (web pages for station PCs) on this address, over
        /// HTTPS with the API's certificate (plain HTTP with --plain-http); not served without it.
        #[arg(long)]
        console_listen: Option<SocketAddr>,
        /// The API's address as phones reach it (`https://host:port`), put into the console's
        /// enrollment QR codes.
        #[arg(long)]
        public_url: Option<String>,
        /// Console login attempts per minute from one source address (0 turns it off).
        #[arg(long, default_value_t = 10)]
        console_logins_per_minute: u32,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Create a supervisor console account (the first administrator, or a supervisor of some
    /// districts). The password is read from LGT_CONSOLE_PASSWORD or standard input; the
    /// account's TOTP secret is printed once, for its authenticator app.
    ConsoleAccount {
        /// Account name.
        username: String,
        /// Its role.
        #[arg(long, value_enum, default_value = "supervisor")]
        role: lgt_server::console::Role,
        /// A district it may see (six digits); repeat for several. An admin sees all.
        #[arg(long = "district")]
        districts: Vec<String>,
        /// It may see which watchlist entry a hit matched.
        #[arg(long)]
        watchlist: bool,
    },
    /// Print the pin of the server's TLS key (`sha256/...`), which phones enroll with.
    TlsPin,
    /// Issue a one-time enrollment code for a coordinator's new device; the answer carries
    /// the server's TLS pin too.
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
    /// Revoke a device: it purges its personal data at its next contact; its permit-issuer
    /// keys are revoked.
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
    /// Order devices, by a signed command, to trust these server TLS keys from now on (the
    /// key rotation path: the new pin beside the old, then the new one alone).
    TrustServerKeys {
        /// Device ids.
        #[arg(required_unless_present = "all")]
        device_ids: Vec<String>,
        /// Every active device.
        #[arg(long, conflicts_with = "device_ids")]
        all: bool,
        /// A pin to trust (`sha256/...`, see `tls-pin`); repeat for several.
        #[arg(long = "pin", required = true)]
        pins: Vec<ServerPin>,
    },
    /// Order a device, by a signed command, to make a new device key and register it at its
    /// next sync (the old key is refused from then on).
    RotateDeviceKey {
        /// Device id.
        device_id: String,
    },
    /// Replace the server's command key: every active device is told the new key by a
    /// command signed with the old one; later commands are signed by the new key.
    RotateCommandKey,
    /// List the permit-issuer keys devices published (ids, devices, revocation).
    Issuers,
    /// Revoke one permit-issuer key: phones refuse its permit codes from their next sync
    /// (revoking a device revokes its keys too).
    RevokeIssuer {
        /// Key id.
        key_id: String,
    },
    /// Delete the tombstones (removed bucket entries) older than the horizon; phones that last
    /// synced before it download the affected buckets again by themselves.
    Compact {
        /// The horizon, in days.
        #[arg(long, default_value_t = 90)]
        older_than_days: i64,
    },
    /// List the watchlist hit reports devices sent (ids, versions and tags only).
    WatchlistHits,
    /// Show a dwelling of a district with the persons (ids, versions and names) and the
    /// registrations (ids, versions, status) at it, its address and, for rented housing, the
    /// landlord. Never an identity number.
    Dwelling {
        /// House code (房屋编码).
        house_code: String,
        /// District code.
        #[arg(long)]
        district: String,
    },
    /// List the merges of a district: phones' local person ids attached to the district
    /// person that already held the identity number (ids and times only).
    Merges {
        /// District code.
        #[arg(long)]
        district: String,
    },
    /// Print a device's audit trail as the server holds it, up to its last sync (a lost
    /// phone's too): who did what, when, to which record (ids only, never a personal value),
    /// with the hash chain checked again and the heads the device signed.
    AuditTrail {
        /// Device id.
        device_id: String,
        /// The first sequence number to list.
        #[arg(long, default_value_t = 1)]
        from: i64,
        /// At most this many records (all when absent).
        #[arg(long)]
        limit: Option<i64>,
    },
    /// Resolve a conflict: keep the server's record, or apply the phone's change to it as it
    /// stands (which then reaches every phone of the district).
    Resolve {
        /// Conflict id.
        conflict_id: String,
        /// Which side to keep.
        #[arg(long, value_enum, default_value = "server")]
        side: lgt_server::resolution::Side,
        /// Why (kept with the conflict).
        #[arg(long)]
        note: String,
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
    let Args {
        data,
        database_url,
        keys_dir,
        tls,
        command,
    } = Args::parse();
    let keys = lgt_server::vault::FileKeySource::new(
        keys_dir.unwrap_or_else(|| lgt_server::vault::default_keys_dir(&data)),
    );
    let db = Db::open_with_keys(&data, database_url.as_deref(), &keys).await?;
    match command {
        Command::Serve {
            listen,
            plain_http,
            metrics_listen,
            console_listen,
            public_url,
            console_logins_per_minute,
            limits,
        } => {
            // The console's: the pin for its enrollment QR codes, and its own TLS identity.
            let (console_pin, console_tls) = match console_listen {
                Some(_) => (
                    Some(tls.identity(&data)?.pin().to_string()),
                    if plain_http {
                        None
                    } else {
                        Some(tls.identity(&data)?)
                    },
                ),
                None => (None, None),
            };
            let tls = if plain_http {
                None
            } else {
                Some(tls.identity(&data)?)
            };
            let listener = tokio::net::TcpListener::bind(listen).await?;
            tracing::info!(
                addr = %listener.local_addr()?,
                backend = ?db.backend,
                tls_pin = tls.as_ref().map(|t| t.pin().to_string()),
                "listening"
            );
            let (stop, stopped) = tokio::sync::watch::channel(false);
            if let Some(addr) = metrics_listen {
                let metrics = tokio::net::TcpListener::bind(addr).await?;
                tracing::info!(addr = %metrics.local_addr()?, "metrics listening");
                let mut stopped = stopped.clone();
                tokio::spawn(lgt_server::serve_metrics(metrics, async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                }));
            }
            if let Some(addr) = console_listen {
                let console = tokio::net::TcpListener::bind(addr).await?;
                tracing::info!(addr = %console.local_addr()?, "console listening");
                let config = lgt_server::console::ConsoleConfig {
                    server_pin: console_pin,
                    server_url: public_url,
                    logins_per_minute: console_logins_per_minute,
                };
                let mut stopped = stopped.clone();
                tokio::spawn(lgt_server::serve_console(
                    console,
                    db.clone(),
                    console_tls,
                    config,
                    async move {
                        let _ = stopped.wait_for(|stop| *stop).await;
                    },
                ));
            }
            let limits = limits.limits();
            lgt_server::serve_with(listener, db, tls, limits, async move {
                shutdown_signal().await;
                let _ = stop.send(true);
            })
            .await?;
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
            #[derive(serde::Serialize)]
            struct WithPin {
                #[serde(flatten)]
                code: admin::EnrollmentCode,
                server_pin: String,
            }
            let server_pin = tls.identity(&data)?.pin().to_string();
            print_json(&WithPin { code, server_pin })?;
        }
        Command::ConsoleAccount {
            username,
            role,
            districts,
            watchlist,
        } => {
            let password = match std::env::var("LGT_CONSOLE_PASSWORD") {
                Ok(password) => password,
                Err(_) => {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            print_json(
                &lgt_server::console::create_account(
                    &db, &username, &password, role, &districts, watchlist,
                )
                .await?,
            )?;
        }
        Command::TlsPin => println!("{}", tls.identity(&data)?.pin()),
        Command::Devices => print_json(&admin::devices(&db).await?)?,
        Command::Revoke { device_id } => admin::revoke(&db, &device_id).await?,
        Command::WatchlistPublish { package } => {
            let bytes = std::fs::read(&package)?;
            let published = lgt_server::watchlist::publish(&db, &bytes).await?;
            lgt_server::console::record_published(&db, &published).await?;
            print_json(&published)?;
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
        Command::TrustServerKeys {
            device_ids,
            all,
            pins,
        } => {
            let action = CommandAction::TrustServerKeys { pins };
            let issued = if all {
                lgt_server::commands::issue_to_active(&db, action).await?
            } else {
                let mut issued = Vec::new();
                for device_id in device_ids {
                    issued
                        .push(lgt_server::commands::issue(&db, &device_id, action.clone()).await?);
                }
                issued
            };
            print_json(&issued)?
        }
        Command::RotateDeviceKey { device_id } => print_json(
            &lgt_server::commands::issue(&db, &device_id, CommandAction::RotateDeviceKey).await?,
        )?,
        Command::RotateCommandKey => print_json(&lgt_server::commands::rotate_key(&db).await?)?,
        Command::Issuers => print_json(&lgt_server::issuers::list(&db).await?)?,
        Command::RevokeIssuer { key_id } => lgt_server::issuers::revoke_key(&db, &key_id).await?,
        Command::Compact { older_than_days } => {
            let deleted = admin::compact(&db, older_than_days * 86_400).await?;
            print_json(&serde_json::json!({ "tombstones_deleted": deleted }))?
        }
        Command::WatchlistHits => print_json(&lgt_server::watchlist::hits(&db).await?)?,
        Command::Dwelling {
            house_code,
            district,
        } => print_json(&admin::dwelling(&db, &district, &house_code).await?)?,
        Command::Merges { district } => print_json(&admin::merges(&db, &district).await?)?,
        Command::Conflicts { all } => print_json(&admin::conflicts(&db, all).await?)?,
        Command::AuditTrail {
            device_id,
            from,
            limit,
        } => print_json(&admin::audit_trail(&db, &device_id, from, limit).await?)?,
        Command::Resolve {
            conflict_id,
            side,
            note,
        } => print_json(&lgt_server::resolution::resolve(&db, &conflict_id, side, &note).await?)?,
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
