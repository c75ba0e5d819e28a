//! `lgt watchlist`: build a signed list from CSV (server side), import it, check against it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use chrono::{Duration, NaiveDate};
use clap::{Args, Subcommand};
use lgt_core::crypto::{PublicKey, SigningKey, StretchParams};
use lgt_core::watchlist::{
    AlertListener, Confidence, ListKind, ListStatus, RowKind, Subject, WatchlistAlert,
    WatchlistPolicy,
};
use lgt_publisher::{read_csv, Epoch, PublishedList, Signer, Validity};
use serde_json::json;

use crate::commands::{write_private, Session};

#[derive(Debug, Subcommand)]
pub enum WatchlistCommand {
    /// Create a root key and a signer key (server side; keep the root key offline).
    Keygen {
        /// Directory for root.key, root.pub and signer.key (created with mode 0700).
        #[arg(long)]
        dir: PathBuf,
    },
    /// Build a signed list version from a CSV of entries (server side).
    Build(BuildArgs),
    /// Verify a list package and make it the list in use, then re-check local registrations.
    Import {
        /// The package file.
        file: PathBuf,
        /// The pinned root public key (hex file, e.g. root.pub).
        #[arg(long)]
        root: PathBuf,
        /// Accept lists built with the labelled test cost (never on a phone).
        #[arg(long)]
        allow_test_cost: bool,
    },
    /// The list in use: version, expiry, entries; "list out of date" once expired.
    Status,
    /// Check an identity number (and optionally name, birth date, sex) against the list.
    Check {
        /// Identity number (18 or 15 digits).
        id: Option<String>,
        /// Name (characters or pinyin).
        #[arg(long)]
        name: Option<String>,
        /// Birth date YYYY-MM-DD.
        #[arg(long)]
        dob: Option<String>,
        /// Sex code (1 male, 2 female).
        #[arg(long)]
        sex: Option<String>,
    },
    /// Alerts that stand (viewing them is audited).
    Alerts,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Entries: entry_ref,name,sex,birth_date,id_numbers,case_summary,instructions
    /// (identity numbers separated by ';'). For a delta: the entries added.
    #[arg(long)]
    csv: PathBuf,
    /// For a delta: the entries removed (same columns).
    #[arg(long, requires = "delta")]
    removes: Option<PathBuf>,
    /// Build a delta against the version in --state instead of a snapshot.
    #[arg(long)]
    delta: bool,
    /// Directory made by `keygen`.
    #[arg(long)]
    keys: PathBuf,
    /// The server's list state, read for a delta and written after every build.
    #[arg(long)]
    state: PathBuf,
    /// Output package file.
    #[arg(long)]
    out: PathBuf,
    /// List id.
    #[arg(long, default_value = "wanted")]
    list_id: String,
    /// Version number of the package (strictly increasing).
    #[arg(long)]
    version: u64,
    /// Key epoch of a snapshot (a new epoch draws a new salt).
    #[arg(long, default_value_t = 1)]
    epoch: u32,
    /// Days until the list is out of date.
    #[arg(long, default_value_t = 7)]
    valid_days: i64,
    /// Stretching cost: `field` (16 MiB Argon2id) or `test` (labelled cheap cost for fixtures).
    #[arg(long, default_value = "field")]
    cost: String,
}

/// Prints alerts the moment they are raised, on standard error.
struct PrintAlerts;

impl AlertListener for PrintAlerts {
    fn on_alert(&self, alert: &WatchlistAlert) {
        eprintln!("{}", alert_line(alert));
    }
}

/// Makes `lgt` print every alert as it is raised, whichever command raised it.
pub fn listen(core: &lgt_core::FieldCore) {
    core.set_alert_listener(Arc::new(PrintAlerts));
}

/// One alert, one line.
pub fn alert_line(alert: &WatchlistAlert) -> String {
    let confidence = match alert.confidence {
        Confidence::Exact => "exact",
        Confidence::Low => "low-confidence",
    };
    let matched_on = match alert.matched_on {
        RowKind::IdNumber => "identity number",
        RowKind::NameHanzi => "name, birth date and sex",
        RowKind::NamePinyin => "pinyin of the name, birth date and sex",
    };
    let out_of_date = if alert.list_out_of_date {
        ", list out of date"
    } else {
        ""
    };
    let mut line = format!(
        "ALERT {}: {confidence} match on {matched_on} (score {}, list v{}{out_of_date}); {}",
        alert.wording, alert.score, alert.list_version, alert.instructions
    );
    if let Some(details) = &alert.details {
        line.push_str(&format!(
            "; entry {}: {}, {}",
            details.entry_ref, details.name, details.case_summary
        ));
    }
    line.push_str(&format!("; alert {}", alert.alert_id));
    line
}

fn status_line(status: &ListStatus) -> String {
    match status {
        ListStatus::Missing => status.label().into(),
        ListStatus::Current(info) | ListStatus::OutOfDate(info) => format!(
            "{}: list {} version {} (key epoch {}), {} entries, expires {}, signer {}",
            status.label(),
            info.list_id,
            info.version,
            info.key_epoch,
            info.entry_count,
            info.expires_at,
            info.signer_key_id
        ),
    }
}

pub fn run(ctx: &Session, command: WatchlistCommand) -> Result<()> {
    match command {
        WatchlistCommand::Keygen { dir } => keygen(ctx, &dir),
        WatchlistCommand::Build(args) => build(ctx, args),
        WatchlistCommand::Import {
            file,
            root,
            allow_test_cost,
        } => {
            let root = read_public_key(&root)?;
            let mut policy = WatchlistPolicy::new(vec![root]);
            if allow_test_cost {
                policy.min_stretch = StretchParams::MINIMUM;
            }
            let bytes = std::fs::read(&file).context("cannot read the list package")?;
            let core = ctx.open()?;
            let info = core.watchlist_import(&bytes, &policy)?;
            let report = core.watchlist_recheck()?;
            ctx.out.value(&json!({ "list": info, "recheck": report }), |_| {
                let mut lines: Vec<String> = report.raised.iter().map(alert_line).collect();
                lines.insert(0, format!(
                    "imported list {} version {} ({} entries, expires {}); re-checked {} persons: {} new alerts, {} cleared",
                    info.list_id,
                    info.version,
                    info.entry_count,
                    info.expires_at,
                    report.persons,
                    report.raised.len(),
                    report.cleared.len()
                ));
                lines.join("\n")
            })
        }
        WatchlistCommand::Status => {
            let status = ctx.open()?.watchlist_status()?;
            ctx.out.value(&status, status_line)
        }
        WatchlistCommand::Check { id, name, dob, sex } => {
            let birth_date = dob
                .map(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d"))
                .transpose()
                .map_err(|_| anyhow!("--dob must be YYYY-MM-DD"))?;
            if id.is_none() && (name.is_none() || birth_date.is_none() || sex.is_none()) {
                bail!("give an identity number, or --name with --dob and --sex");
            }
            let subject = Subject {
                id_numbers: id.into_iter().collect(),
                name,
                birth_date,
                sex,
            };
            let outcome = ctx.open()?.watchlist_check_identity(&subject)?;
            ctx.out.value(&outcome, |o| {
                let mut lines = vec![status_line(&o.list)];
                if o.alerts.is_empty() {
                    lines.push(match o.list {
                        ListStatus::Current(_) => "no match".into(),
                        _ => "no match in this list, which cannot be relied on".into(),
                    });
                }
                lines.extend(o.alerts.iter().map(alert_line));
                lines.join("\n")
            })
        }
        WatchlistCommand::Alerts => {
            let alerts = ctx.open()?.watchlist_alerts()?;
            ctx.out.value(&alerts, |alerts| {
                if alerts.is_empty() {
                    return "no standing alerts".into();
                }
                alerts.iter().map(alert_line).collect::<Vec<_>>().join("\n")
            })
        }
    }
}

fn keygen(ctx: &Session, dir: &Path) -> Result<()> {
    lgt_core::store::create_private_dir(dir).context("cannot create the key directory")?;
    let root = SigningKey::generate()?;
    let signer = SigningKey::generate()?;
    for (name, key) in [("root.key", &root), ("signer.key", &signer)] {
        write_private(&dir.join(name), key.pkcs8())?;
    }
    let public: String = root
        .public_key()
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    std::fs::write(dir.join("root.pub"), format!("{public}\n"))?;
    ctx.out.value(
        &json!({ "dir": dir, "root_key_id": root.public_key().key_id() }),
        |_| {
            format!(
                "created root key {} and a signer key in {}; pin root.pub in the phones",
                root.public_key().key_id(),
                dir.display()
            )
        },
    )
}

pub(crate) fn read_public_key(path: &Path) -> Result<PublicKey> {
    let text = std::fs::read_to_string(path).context("cannot read the root public key")?;
    let text = text.trim();
    let bytes: Vec<u8> = (0..text.len() / 2)
        .map(|i| u8::from_str_radix(text.get(2 * i..2 * i + 2).unwrap_or("zz"), 16))
        .collect::<Result<_, _>>()
        .map_err(|_| anyhow!("the root public key file must hold 64 hex digits"))?;
    PublicKey::try_from_slice(&bytes)
        .map_err(|_| anyhow!("the root public key file must hold 64 hex digits"))
}

fn read_entries(path: &Path, today: NaiveDate) -> Result<Vec<lgt_publisher::ListedPerson>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(read_csv(file, today).map_err(lgt_core::Error::from)?)
}

fn build(ctx: &Session, args: BuildArgs) -> Result<()> {
    let stretch = match args.cost.as_str() {
        "field" => StretchParams::FIELD,
        "test" => StretchParams::MINIMUM,
        _ => bail!("--cost must be field or test"),
    };
    let now = ctx.clock.now();
    let root = SigningKey::from_pkcs8(&std::fs::read(args.keys.join("root.key"))?)
        .context("root.key is not a key")?;
    let signer_key = SigningKey::from_pkcs8(&std::fs::read(args.keys.join("signer.key"))?)
        .context("signer.key is not a key")?;
    let signer = Signer::delegate(&root, signer_key, now + Duration::days(365))
        .map_err(lgt_core::Error::from)?;
    let validity = Validity {
        created_at: now,
        expires_at: now + Duration::days(args.valid_days),
    };
    let today = ctx.clock.today();
    let adds = read_entries(&args.csv, today)?;
    let (list, package) = if args.delta {
        let state = std::fs::read(&args.state).context("cannot read the list state")?;
        let mut list = PublishedList::from_bytes(&state).map_err(lgt_core::Error::from)?;
        let removes = match &args.removes {
            Some(path) => read_entries(path, today)?,
            None => Vec::new(),
        };
        let package = list
            .delta(args.version, &adds, &removes, validity, &signer)
            .map_err(lgt_core::Error::from)?;
        (list, package)
    } else {
        let epoch = Epoch::new(args.epoch, stretch).map_err(lgt_core::Error::from)?;
        PublishedList::snapshot(&args.list_id, args.version, epoch, &adds, validity, &signer)
            .map_err(lgt_core::Error::from)?
    };
    let bytes = package.to_bytes();
    std::fs::write(&args.out, &bytes).context("cannot write the package")?;
    std::fs::write(&args.state, list.to_bytes()).context("cannot write the list state")?;
    let manifest = package
        .unverified_manifest()
        .map_err(lgt_core::Error::from)?;
    ctx.out.value(&manifest, |m| {
        let kind = match m.kind {
            ListKind::Snapshot => "snapshot",
            ListKind::Delta => "delta",
        };
        format!(
            "built {kind} of list {} version {} (key epoch {}, Argon2id {} KiB x {}): {} entries, +{} -{}, {} bytes, expires {}",
            m.list_id, m.version, m.key_epoch, m.stretch.m_kib, m.stretch.t,
            m.entry_count, m.adds, m.removes, bytes.len(), m.expires_at
        )
    })
}
