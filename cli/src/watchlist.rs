//! `lgt watchlist`: build a signed list from CSV (server side), import it, check against it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use chrono::{Duration, NaiveDate};
use clap::{Args, Subcommand};
use lgt_core::crypto::{PublicKey, SigningKey, StretchParams};
use lgt_core::watchlist::{
    AlertListener, Confidence, ListKind, ListStatus, RowKind, Subject, WatchlistAlert,
    WatchlistPolicy,
};
use lgt_core::Lang;
use lgt_publisher::{read_csv, Epoch, PublishedList, Signer, Validity};
use serde_json::json;

use crate::commands::{write_private, Session};
use crate::output::CliError;

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
    /// Also write the map of the added rows' tags to their entry_ref (`tag,entry_ref` lines),
    /// for the server's console (`lgt-server` maps hit reports to entries with it). Derives
    /// every tag a second time.
    #[arg(long)]
    map: Option<PathBuf>,
}

/// Prints alerts the moment they are raised, on standard error, in the session's language.
struct PrintAlerts(Lang);

impl AlertListener for PrintAlerts {
    fn on_alert(&self, alert: &WatchlistAlert) {
        eprintln!("{}", alert_line(alert, self.0));
    }
}

/// Makes `lgt` print every alert as it is raised, whichever command raised it.
pub fn listen(core: &lgt_core::FieldCore, lang: Lang) {
    core.set_alert_listener(Arc::new(PrintAlerts(lang)));
}

/// One alert, one line. The wording and instructions are the list's own, as issued.
pub fn alert_line(alert: &WatchlistAlert, lang: Lang) -> String {
    let confidence = match alert.confidence {
        Confidence::Exact => lang.pick("精确", "exact"),
        Confidence::Low => lang.pick("低置信度", "low-confidence"),
    };
    let matched_on = match alert.matched_on {
        RowKind::IdNumber => lang.pick("身份号码", "identity number"),
        RowKind::NameHanzi => lang.pick("姓名、出生日期和性别", "name, birth date and sex"),
        RowKind::NamePinyin => lang.pick(
            "姓名拼音、出生日期和性别",
            "pinyin of the name, birth date and sex",
        ),
    };
    let out_of_date = match alert.list_out_of_date {
        true => lang.pick("，名单已过时", ", list out of date"),
        false => "",
    };
    let (wording, score, version) = (&alert.wording, alert.score, alert.list_version);
    let mut line = match lang {
        Lang::ZhCn => format!(
            "预警 {wording}：{confidence}匹配{matched_on}（分数 {score}，名单 v{version}{out_of_date}）；{}",
            alert.instructions
        ),
        Lang::En => format!(
            "ALERT {wording}: {confidence} match on {matched_on} (score {score}, list v{version}{out_of_date}); {}",
            alert.instructions
        ),
    };
    if let Some(details) = &alert.details {
        line.push_str(&match lang {
            Lang::ZhCn => format!(
                "；条目 {}：{}，{}",
                details.entry_ref, details.name, details.case_summary
            ),
            Lang::En => format!(
                "; entry {}: {}, {}",
                details.entry_ref, details.name, details.case_summary
            ),
        });
    }
    line.push_str(&lang.pick(
        format!("；预警 {}", alert.alert_id),
        format!("; alert {}", alert.alert_id),
    ));
    line
}

fn status_label(status: &ListStatus, lang: Lang) -> &'static str {
    match (status, lang) {
        (_, Lang::En) => status.label(),
        (ListStatus::Missing, Lang::ZhCn) => "未载入布控名单",
        (ListStatus::Current(_), Lang::ZhCn) => "名单为最新",
        (ListStatus::OutOfDate(_), Lang::ZhCn) => "名单已过时",
    }
}

fn status_line(status: &ListStatus, lang: Lang) -> String {
    let label = status_label(status, lang);
    match status {
        ListStatus::Missing => label.into(),
        ListStatus::Current(info) | ListStatus::OutOfDate(info) => match lang {
            Lang::ZhCn => format!(
                "{label}：名单 {} 版本 {}（密钥周期 {}），{} 条，{} 过期，签发密钥 {}",
                info.list_id,
                info.version,
                info.key_epoch,
                info.entry_count,
                info.expires_at,
                info.signer_key_id
            ),
            Lang::En => format!(
                "{label}: list {} version {} (key epoch {}), {} entries, expires {}, signer {}",
                info.list_id,
                info.version,
                info.key_epoch,
                info.entry_count,
                info.expires_at,
                info.signer_key_id
            ),
        },
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
            let bytes = std::fs::read(&file).context(CliError::new(
                "cli.io",
                "无法读取名单数据包",
                "cannot read the list package",
            ))?;
            let core = ctx.open()?;
            let info = core.watchlist_import(&bytes, &policy)?;
            let report = core.watchlist_recheck()?;
            let lang = ctx.lang;
            ctx.out.value(&json!({ "list": info, "recheck": report }), |_| {
                let mut lines: Vec<String> =
                    report.raised.iter().map(|a| alert_line(a, lang)).collect();
                lines.insert(0, lang.pick(format!(
                    "已导入名单 {} 版本 {}（{} 条，{} 过期）；已复核 {} 人：新增 {} 条预警，解除 {} 条",
                    info.list_id,
                    info.version,
                    info.entry_count,
                    info.expires_at,
                    report.persons,
                    report.raised.len(),
                    report.cleared.len()
                ), format!(
                    "imported list {} version {} ({} entries, expires {}); re-checked {} persons: {} new alerts, {} cleared",
                    info.list_id,
                    info.version,
                    info.entry_count,
                    info.expires_at,
                    report.persons,
                    report.raised.len(),
                    report.cleared.len()
                )));
                lines.join("\n")
            })
        }
        WatchlistCommand::Status => {
            let status = ctx.open()?.watchlist_status()?;
            ctx.out.value(&status, |s| status_line(s, ctx.lang))
        }
        WatchlistCommand::Check { id, name, dob, sex } => {
            let birth_date = dob
                .map(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d"))
                .transpose()
                .map_err(|_| {
                    CliError::new(
                        "cli.usage",
                        "--dob 应为 YYYY-MM-DD",
                        "--dob must be YYYY-MM-DD",
                    )
                })?;
            if id.is_none() && (name.is_none() || birth_date.is_none() || sex.is_none()) {
                bail!(CliError::new(
                    "cli.usage",
                    "请给出身份号码，或 --name 与 --dob 和 --sex",
                    "give an identity number, or --name with --dob and --sex",
                ));
            }
            let subject = Subject {
                id_numbers: id.into_iter().collect(),
                name,
                birth_date,
                sex,
            };
            let outcome = ctx.open()?.watchlist_check_identity(&subject)?;
            let lang = ctx.lang;
            ctx.out.value(&outcome, |o| {
                let mut lines = vec![status_line(&o.list, lang)];
                if o.alerts.is_empty() {
                    lines.push(match o.list {
                        ListStatus::Current(_) => lang.pick("无匹配", "no match").into(),
                        _ => lang
                            .pick(
                                "此名单中无匹配，但此名单不可依赖",
                                "no match in this list, which cannot be relied on",
                            )
                            .into(),
                    });
                }
                lines.extend(o.alerts.iter().map(|a| alert_line(a, lang)));
                lines.join("\n")
            })
        }
        WatchlistCommand::Alerts => {
            let alerts = ctx.open()?.watchlist_alerts()?;
            ctx.out.value(&alerts, |alerts| {
                if alerts.is_empty() {
                    return ctx
                        .lang
                        .pick("没有未处理的预警", "no standing alerts")
                        .into();
                }
                alerts
                    .iter()
                    .map(|a| alert_line(a, ctx.lang))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
    }
}

fn keygen(ctx: &Session, dir: &Path) -> Result<()> {
    lgt_core::store::create_private_dir(dir).context(CliError::new(
        "cli.io",
        "无法创建密钥目录",
        "cannot create the key directory",
    ))?;
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
        |_| match ctx.lang {
            Lang::ZhCn => format!(
                "已在 {} 创建根密钥 {} 和签发密钥；请在手机中固定 root.pub",
                dir.display(),
                root.public_key().key_id()
            ),
            Lang::En => format!(
                "created root key {} and a signer key in {}; pin root.pub in the phones",
                root.public_key().key_id(),
                dir.display()
            ),
        },
    )
}

pub(crate) fn read_public_key(path: &Path) -> Result<PublicKey> {
    let text = std::fs::read_to_string(path).context(CliError::new(
        "cli.io",
        "无法读取根公钥",
        "cannot read the root public key",
    ))?;
    let text = text.trim();
    let not_a_key = || {
        CliError::new(
            "cli.bad_key",
            "根公钥文件应包含 64 位十六进制数字",
            "the root public key file must hold 64 hex digits",
        )
    };
    let bytes: Vec<u8> = (0..text.len() / 2)
        .map(|i| u8::from_str_radix(text.get(2 * i..2 * i + 2).unwrap_or("zz"), 16))
        .collect::<Result<_, _>>()
        .map_err(|_| not_a_key())?;
    Ok(PublicKey::try_from_slice(&bytes).map_err(|_| not_a_key())?)
}

fn read_entries(path: &Path, today: NaiveDate) -> Result<Vec<lgt_publisher::ListedPerson>> {
    let file = std::fs::File::open(path).with_context(|| {
        CliError::new(
            "cli.io",
            format!("无法读取 {}", path.display()),
            format!("cannot read {}", path.display()),
        )
    })?;
    Ok(read_csv(file, today).map_err(lgt_core::Error::from)?)
}

fn build(ctx: &Session, args: BuildArgs) -> Result<()> {
    let stretch = match args.cost.as_str() {
        "field" => StretchParams::FIELD,
        "test" => StretchParams::MINIMUM,
        _ => bail!(CliError::new(
            "cli.usage",
            "--cost 应为 field 或 test",
            "--cost must be field or test",
        )),
    };
    let now = ctx.clock.now();
    let root = SigningKey::from_pkcs8(&std::fs::read(args.keys.join("root.key"))?).context(
        CliError::new("cli.bad_key", "root.key 不是密钥", "root.key is not a key"),
    )?;
    let signer_key = SigningKey::from_pkcs8(&std::fs::read(args.keys.join("signer.key"))?)
        .context(CliError::new(
            "cli.bad_key",
            "signer.key 不是密钥",
            "signer.key is not a key",
        ))?;
    let signer = Signer::delegate(&root, signer_key, now + Duration::days(365))
        .map_err(lgt_core::Error::from)?;
    let validity = Validity {
        created_at: now,
        expires_at: now + Duration::days(args.valid_days),
    };
    let today = ctx.clock.today();
    let adds = read_entries(&args.csv, today)?;
    let (list, package) = if args.delta {
        let state = std::fs::read(&args.state).context(CliError::new(
            "cli.io",
            "无法读取名单状态",
            "cannot read the list state",
        ))?;
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
    if let Some(path) = &args.map {
        let mut text = String::from("tag,entry_ref\n");
        for (tag, entry_ref) in list
            .entry_map(&adds, today)
            .map_err(lgt_core::Error::from)?
        {
            text.push_str(&format!("{tag},{entry_ref}\n"));
        }
        std::fs::write(path, text).context(CliError::new(
            "cli.io",
            "无法写入条目对照表",
            "cannot write the entry map",
        ))?;
    }
    let bytes = package.to_bytes();
    std::fs::write(&args.out, &bytes).context(CliError::new(
        "cli.io",
        "无法写入数据包",
        "cannot write the package",
    ))?;
    std::fs::write(&args.state, list.to_bytes()).context(CliError::new(
        "cli.io",
        "无法写入名单状态",
        "cannot write the list state",
    ))?;
    let manifest = package
        .unverified_manifest()
        .map_err(lgt_core::Error::from)?;
    ctx.out.value(&manifest, |m| {
        let kind = match m.kind {
            ListKind::Snapshot => ctx.lang.pick("快照", "snapshot"),
            ListKind::Delta => ctx.lang.pick("增量", "delta"),
        };
        match ctx.lang {
            Lang::ZhCn => format!(
                "已生成名单 {} 版本 {} 的{kind}（密钥周期 {}，Argon2id {} KiB x {}）：{} 条，+{} -{}，{} 字节，{} 过期",
                m.list_id, m.version, m.key_epoch, m.stretch.m_kib, m.stretch.t,
                m.entry_count, m.adds, m.removes, bytes.len(), m.expires_at
            ),
            Lang::En => format!(
                "built {kind} of list {} version {} (key epoch {}, Argon2id {} KiB x {}): {} entries, +{} -{}, {} bytes, expires {}",
                m.list_id, m.version, m.key_epoch, m.stretch.m_kib, m.stretch.t,
                m.entry_count, m.adds, m.removes, bytes.len(), m.expires_at
            ),
        }
    })
}
