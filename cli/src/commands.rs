//! What each subcommand does: open the store, call the core, print the result.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use lgt_core::clock::{Clock, FixedClock, SystemClock};
use lgt_core::crypto::{KeyFile, KeyProvider};
use lgt_core::outbox::OperationState;
use lgt_core::permit::{PermitCommand as CorePermitCommand, PermitEvent};
use lgt_core::registration::{
    Contact, DocumentInput, Dwelling, Employer, Householder, PersonInput, RegistrationInput,
};
use lgt_core::store::StoreOptions;
use lgt_core::synthetic::SyntheticPeople;
use lgt_core::{codes, identity, FieldCore, Lang, OpenParams};
use serde_json::json;

use crate::args::*;
use crate::output::{CliError, Printer};

mod sync;

pub(crate) struct Session {
    pub(crate) store: Option<PathBuf>,
    key_file: Option<PathBuf>,
    actor: String,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) out: Printer,
    /// The language of human output and errors (`--lang` or the locale).
    pub(crate) lang: Lang,
}

impl Session {
    fn store_dir(&self) -> Result<&Path> {
        self.store.as_deref().ok_or_else(|| {
            CliError::new(
                "cli.no_store",
                "未指定数据库目录：请使用 --store DIR 或设置 LGT_STORE",
                "no store given: pass --store DIR or set LGT_STORE",
            )
            .into()
        })
    }

    fn key_path(&self) -> Result<PathBuf> {
        Ok(match &self.key_file {
            Some(path) => path.clone(),
            None => self.store_dir()?.join("store.key"),
        })
    }

    fn params<'a>(&'a self, dir: &'a Path, keys: &'a dyn KeyProvider) -> OpenParams<'a> {
        OpenParams {
            dir,
            keys,
            actor: &self.actor,
            clock: self.clock.clone(),
            options: StoreOptions::default(),
        }
    }

    pub(crate) fn open(&self) -> Result<FieldCore> {
        let dir = self.store_dir()?;
        let keys = self.key_file()?;
        Ok(FieldCore::open(self.params(dir, &keys))?)
    }

    /// The store's key file, opened.
    pub(crate) fn key_file(&self) -> Result<KeyFile> {
        KeyFile::open(self.key_path()?)
            .map_err(key_error)
            .context(CliError::new(
                "cli.key_file",
                "无法读取密钥文件",
                "cannot read the key file",
            ))
    }
}

/// A key file's failure as the core reports a key provider's, so that it prints from the
/// catalogue.
fn key_error(error: lgt_core::crypto::KeyError) -> lgt_core::Error {
    lgt_core::Error::Store(lgt_core::store::StoreError::Key(error))
}

/// Runs one command line, speaking `lang` (what [`Cli::lang`] resolved).
pub fn run(cli: Cli, lang: Lang) -> Result<()> {
    let clock: Arc<dyn Clock> = match &cli.now {
        Some(now) => {
            let at =
                DateTime::parse_from_rfc3339(now).context("--now must be an RFC 3339 instant")?;
            Arc::new(FixedClock::new(at.with_timezone(&Utc)))
        }
        None => Arc::new(SystemClock),
    };
    let ctx = Session {
        store: cli.store,
        key_file: cli.key_file,
        actor: cli.actor,
        clock,
        out: Printer::new(cli.json),
        lang,
    };
    match cli.command {
        Command::Init => init(&ctx),
        Command::Id(IdCommand::Check { number }) => id_check(&ctx, &number),
        Command::Register(args) => register(&ctx, args),
        Command::Find(args) => find(&ctx, args),
        Command::Dwelling(DwellingCommand::Show { house_code }) => {
            let found = ctx.open()?.dwelling(&house_code)?;
            ctx.out
                .value(&found, |d| crate::output::dwelling(d, ctx.lang))
        }
        Command::Person(PersonCommand::AddId {
            person_id,
            doc_type,
            number,
        }) => {
            let identifier = ctx
                .open()?
                .add_identifier(&person_id, &DocumentInput { doc_type, number })?;
            ctx.out.value(&identifier, |i| match lang {
                Lang::ZhCn => format!("人员 {person_id}：已记录证件 {}", i.id),
                Lang::En => format!("person {person_id}: recorded identifier {}", i.id),
            })
        }
        Command::Permit(command) => permit(&ctx, command),
        Command::Audit(AuditCommand::Verify) => audit_verify(&ctx),
        Command::Audit(AuditCommand::Log { limit }) => {
            let records = ctx.open()?.audit_recent(limit)?;
            ctx.out.value(&records, |rs| {
                rs.iter()
                    .map(|r| {
                        format!(
                            "{:>6} {} {} {} {} {}",
                            r.seq, r.at, r.actor, r.action, r.record_kind, r.record_id
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        Command::Outbox { state } => outbox(&ctx, state.as_deref()),
        Command::Export { person_id, out } => export(&ctx, &person_id, out.as_deref()),
        Command::Codes { table } => show_codes(&ctx, table.as_deref()),
        Command::Wipe { yes } => wipe(&ctx, yes),
        Command::Seed { count, seed } => seed_synthetic(&ctx, count, seed),
        Command::Demo => crate::demo::run(ctx.clock.clone(), &ctx.actor, ctx.lang),
        Command::Watchlist(command) => crate::watchlist::run(&ctx, command),
        Command::Scan { paths, mode, all } => crate::scan::scan(&ctx, &paths, &mode, all),
        Command::Enroll {
            server,
            server_pin,
            code,
            watchlist_root,
            allow_test_cost,
        } => sync::enroll(
            &ctx,
            &server,
            &server_pin,
            &code,
            &watchlist_root,
            allow_test_cost,
        ),
        Command::Sync { watch, interval } => sync::sync(&ctx, watch, interval),
        Command::Status => sync::status(&ctx),
    }
}

fn init(ctx: &Session) -> Result<()> {
    let dir = ctx.store_dir()?;
    if lgt_core::store::Store::exists(dir) {
        bail!(CliError::new(
            "store.exists",
            format!("{} 中已有数据库", dir.display()),
            format!("a store already exists in {}", dir.display()),
        ));
    }
    lgt_core::store::create_private_dir(dir).context(CliError::new(
        "cli.store_dir",
        "无法创建数据库目录",
        "cannot create the store directory",
    ))?;
    let key_path = ctx.key_path()?;
    let keys = KeyFile::create(&key_path)
        .map_err(key_error)
        .context(CliError::new(
            "cli.key_file",
            "无法创建密钥文件（是否已存在？）",
            "cannot create the key file (does it exist already?)",
        ))?;
    let core = FieldCore::create(ctx.params(dir, &keys))?;
    ctx.out.value(
        &json!({ "store": dir, "key_file": key_path, "store_id": core.store_id() }),
        |_| match ctx.lang {
            Lang::ZhCn => format!(
                "已在 {} 创建数据库 {}（密钥文件 {}，权限 0600）",
                dir.display(),
                core.store_id(),
                key_path.display()
            ),
            Lang::En => format!(
                "created store {} in {} (key file {}, mode 0600)",
                core.store_id(),
                dir.display(),
                key_path.display()
            ),
        },
    )
}

fn id_check(ctx: &Session, number: &str) -> Result<()> {
    let id = identity::parse(number, ctx.clock.today())?;
    let region = id.region();
    let report = json!({
        "valid": true,
        "number": id.as_str(),
        "legacy": id.legacy(),
        "kind": id.kind(),
        "sex": id.sex(),
        "birth_date": id.birth_date(),
        "region_code": id.region_code(),
        "region": region,
        "warnings": id.warnings().iter().map(ToString::to_string).collect::<Vec<_>>(),
    });
    let lang = ctx.lang;
    ctx.out.value(&report, |_| {
        let mut lines = vec![
            format!("{}: {}", lang.pick("有效", "valid"), id.as_str()),
            format!("{}: {:?}", lang.pick("类型", "kind"), id.kind()),
            format!(
                "{}: {}",
                lang.pick("性别", "sex"),
                match id.sex() {
                    identity::IdSex::Male => lang.pick("男", "male"),
                    identity::IdSex::Female => lang.pick("女", "female"),
                }
            ),
            format!(
                "{}: {}",
                lang.pick("出生日期", "birth date"),
                id.birth_date()
            ),
        ];
        if let Some(legacy) = id.legacy() {
            lines.push(lang.pick(
                format!("由 15 位号码 {legacy} 升位"),
                format!("upgraded from 15-digit {legacy}"),
            ));
        }
        let place = region
            .as_ref()
            .map(|r| {
                [&r.province, &r.prefecture, &r.county]
                    .iter()
                    .filter_map(|p| p.as_deref())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_else(|| lang.pick("未知", "unknown").into());
        lines.push(format!(
            "{}: {} {}",
            lang.pick("地区", "region"),
            id.region_code(),
            place
        ));
        let warning = lang.pick("提示", "warning");
        lines.extend(id.warnings().iter().map(|w| format!("{warning}: {w}")));
        lines.join("\n")
    })
}

fn read_registration(path: &Path) -> Result<RegistrationInput> {
    let mut text = String::new();
    if path == Path::new("-") {
        std::io::stdin().read_to_string(&mut text)?;
    } else {
        text = std::fs::read_to_string(path).context(CliError::new(
            "cli.registration_file",
            "无法读取登记文件",
            "cannot read the registration file",
        ))?;
    }
    // serde's message names the field and position, never the value.
    serde_json::from_str(&text).map_err(|e| {
        CliError::new(
            "cli.registration_file",
            format!("登记文件无效：{e}"),
            format!("registration file is not valid: {e}"),
        )
        .into()
    })
}

fn register(ctx: &Session, args: Box<RegisterArgs>) -> Result<()> {
    let args = *args;
    let input = match &args.file {
        Some(path) => read_registration(path)?,
        None => RegistrationInput {
            person: PersonInput {
                name: args.name.unwrap_or_default(),
                former_name: args.former_name,
                sex: args.sex,
                ethnicity: args.ethnicity,
                birth_date: args.birth_date,
            },
            document: DocumentInput {
                doc_type: args.doc_type,
                number: args.number.unwrap_or_default(),
            },
            household_address: args.household_address,
            dwelling: Dwelling {
                house_code: args.house_code,
                address: args.address,
                housing_type: args.housing_type,
            },
            moved_in: args.moved_in,
            expected_stay_until: args.expected_stay_until,
            reason_for_stay: args.reason,
            occupation: args.occupation,
            employer: args.employer.map(|name| Employer {
                name,
                credit_code: args.employer_credit_code,
            }),
            landlord: args
                .landlord_name
                .zip(args.landlord_phone)
                .map(|(name, phone)| Contact { name, phone }),
            householder: args
                .householder_name
                .zip(args.householder_relation)
                .map(|(name, relation)| Householder { name, relation }),
            contact_phone: args.phone,
        },
    };
    let receipt = ctx.open()?.register(&input)?;
    let lang = ctx.lang;
    ctx.out.value(&receipt, |r| {
        let mut lines = vec![match lang {
            Lang::ZhCn => format!(
                "已登记{}人员 {}：登记 {}，待同步操作 {}",
                if r.new_person { "新" } else { "已知" },
                r.person_id,
                r.registration_id,
                r.operation_id
            ),
            Lang::En => format!(
                "registered {} person {}: registration {}, queued operation {}",
                if r.new_person { "new" } else { "known" },
                r.person_id,
                r.registration_id,
                r.operation_id
            ),
        }];
        if let Some(closed) = &r.closed_registration_id {
            lines.push(lang.pick(
                format!("已结束之前的登记 {closed}"),
                format!("closed earlier registration {closed}"),
            ));
        }
        let warning = lang.pick("提示", "warning");
        lines.extend(r.warnings.iter().map(|w| format!("{warning}: {w}")));
        lines.extend(
            r.alerts
                .iter()
                .map(|a| crate::watchlist::alert_line(a, lang)),
        );
        lines.join("\n")
    })
}

fn find(ctx: &Session, args: FindArgs) -> Result<()> {
    let core = ctx.open()?;
    // Watchlist alerts raised by the look-up appear on standard error at once.
    crate::watchlist::listen(&core, ctx.lang);
    let found = match (&args.id, &args.name) {
        (Some(number), _) => core.find_by_document_number(number)?,
        (None, Some(name)) => core.find_by_name(name)?,
        (None, None) => bail!(CliError::new(
            "cli.usage",
            "请给出 --id 或 --name",
            "give --id or --name"
        )),
    };
    ctx.out.value(&found, |persons| {
        if persons.is_empty() {
            return ctx.lang.pick("无匹配", "no match").into();
        }
        persons
            .iter()
            .map(|p| crate::output::person(p, ctx.lang))
            .collect::<Vec<_>>()
            .join("\n")
    })
}

fn permit(ctx: &Session, command: PermitCommand) -> Result<()> {
    let core = ctx.open()?;
    let apply = |target: Target, event: PermitEvent| CorePermitCommand::Apply {
        permit_id: target.permit_id,
        base_version: target.base_version,
        event,
    };
    let command = match command {
        PermitCommand::Show { permit_id } => {
            let record = core.permit_show(&permit_id)?;
            return ctx
                .out
                .value(&record, |r| crate::output::permit_with_log(r, ctx.lang));
        }
        PermitCommand::Qr { permit, out } => {
            return crate::scan::permit_qr(ctx, &core, &permit, &out)
        }
        PermitCommand::IssuerKey => return crate::scan::issuer_key(ctx, &core),
        PermitCommand::TrustIssuer { public_key, label } => {
            return crate::scan::trust_issuer(ctx, &core, &public_key, &label)
        }
        PermitCommand::RevokeIssuer { key_id } => {
            core.revoke_issuer(&key_id)?;
            return ctx.out.value(&json!({ "revoked": key_id }), |_| {
                ctx.lang.pick(
                    format!("已吊销签发密钥 {key_id}"),
                    format!("issuer key {key_id} revoked"),
                )
            });
        }
        PermitCommand::Accept { person_id } => CorePermitCommand::Accept { person_id },
        PermitCommand::Issue { target, number } => {
            let number = match number {
                Some(number) => number,
                None => core.permit_number_from_pool()?.ok_or_else(|| {
                    CliError::new(
                        "cli.no_permit_number",
                        "预留的居住证证号已用完：请同步以补充，或使用 --number",
                        "no reserved permit number left: sync to refill, or pass --number",
                    )
                })?,
            };
            apply(target, PermitEvent::Issue { number })
        }
        PermitCommand::Deliver(target) => apply(target, PermitEvent::Deliver),
        PermitCommand::Endorse(target) => apply(target, PermitEvent::Endorse),
        PermitCommand::Suspend(target) => apply(target, PermitEvent::Suspend),
        PermitCommand::Restore(target) => apply(target, PermitEvent::Restore),
        PermitCommand::ChangeAddress {
            target,
            house_code,
            address,
            housing_type,
        } => apply(
            target,
            PermitEvent::ChangeAddress {
                dwelling: Dwelling {
                    house_code,
                    address,
                    housing_type,
                },
            },
        ),
        PermitCommand::Cancel { target, reason } => apply(target, PermitEvent::Cancel { reason }),
    };
    let record = core.permit(&command)?;
    ctx.out
        .value(&record, |r| crate::output::permit_line(&r.permit, ctx.lang))
}

fn audit_verify(ctx: &Session) -> Result<()> {
    let report = ctx.open()?.audit_verify()?;
    ctx.out
        .value(&report, |r| match (r.first_broken, ctx.lang) {
            (None, Lang::ZhCn) => format!("审计链完整：共 {} 条记录", r.records),
            (None, Lang::En) => format!("audit chain intact: {} records", r.records),
            (Some(b), Lang::ZhCn) => format!("审计链在第 {} 条记录处断开（{:?}）", b.seq, b.kind),
            (Some(b), Lang::En) => {
                format!("audit chain broken at record {} ({:?})", b.seq, b.kind).to_lowercase()
            }
        })?;
    match report.first_broken {
        None => Ok(()),
        Some(b) => Err(CliError::new(
            "audit.broken",
            format!("审计链在第 {} 条记录处断开", b.seq),
            format!("audit chain broken at record {}", b.seq),
        )
        .into()),
    }
}

fn outbox(ctx: &Session, state: Option<&str>) -> Result<()> {
    let state = state
        .map(|s| {
            serde_json::from_value::<OperationState>(json!(s)).map_err(|_| {
                CliError::new(
                    "cli.usage",
                    format!("未知状态 {s:?}"),
                    format!("unknown state {s:?}"),
                )
            })
        })
        .transpose()?;
    let operations = ctx.open()?.outbox(state)?;
    ctx.out.value(&operations, |ops| {
        let mut lines = vec![ctx.lang.pick(
            format!("共 {} 个操作", ops.len()),
            format!("{} operations", ops.len()),
        )];
        lines.extend(ops.iter().map(|o| {
            format!(
                "{:>6} {} {:?} {} {} {}",
                o.seq, o.op_id, o.state, o.kind, o.record_id, o.created_at
            )
        }));
        lines.join("\n")
    })
}

/// Writes a new file readable only by its owner (mode 0600); an existing file is an error.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).with_context(|| {
        CliError::new(
            "cli.file_exists",
            format!("无法创建 {}（是否已存在？）", path.display()),
            format!("cannot create {} (does it exist already?)", path.display()),
        )
    })?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

fn export(ctx: &Session, person_id: &str, out: Option<&Path>) -> Result<()> {
    let export = ctx.open()?.export_person(person_id)?;
    let text = serde_json::to_string_pretty(&export)?;
    match out {
        Some(path) => {
            write_private(path, text.as_bytes())?;
            ctx.out
                .value(&json!({ "exported": person_id, "file": path }), |_| {
                    ctx.lang.pick(
                        format!(
                            "已将人员 {person_id} 导出到 {}（权限 0600）",
                            path.display()
                        ),
                        format!(
                            "exported person {person_id} to {} (mode 0600)",
                            path.display()
                        ),
                    )
                })
        }
        None => {
            println!("{text}");
            Ok(())
        }
    }
}

fn show_codes(ctx: &Session, table: Option<&str>) -> Result<()> {
    let tables: Vec<_> = codes::CodeTableId::ALL
        .iter()
        .map(|&id| codes::table(id))
        .filter(|t| table.is_none_or(|name| json!(t.id) == json!(name)))
        .collect();
    if tables.is_empty() {
        bail!(CliError::new(
            "cli.no_code_table",
            "没有这个名称的代码表",
            "no code table of that name"
        ));
    }
    ctx.out.value(&tables, |ts| {
        ts.iter()
            .map(|t| {
                let mut lines = vec![format!(
                    "{} ({})",
                    json!(t.id).as_str().unwrap_or_default(),
                    t.version
                )];
                lines.extend(
                    t.entries
                        .iter()
                        .map(|e| format!("  {:>3} {} / {}", e.code, e.zh, e.en)),
                );
                lines.join("\n")
            })
            .collect::<Vec<_>>()
            .join("\n")
    })
}

fn wipe(ctx: &Session, yes: bool) -> Result<()> {
    if !yes {
        bail!(CliError::new(
            "cli.confirm",
            "清除将销毁密钥和全部记录：请用 --yes 确认",
            "wipe destroys the key and every record; confirm with --yes"
        ));
    }
    let dir = ctx.store_dir()?;
    let keys = ctx.key_file()?;
    match FieldCore::open(ctx.params(dir, &keys)) {
        Ok(core) => core.wipe(&keys)?,
        // A store that no longer opens (wrong key, damage) is wiped all the same.
        Err(_) => lgt_core::store::wipe_dir(dir, &keys)?,
    }
    ctx.out.value(&json!({ "wiped": dir }), |_| {
        ctx.lang.pick(
            format!("已清除 {} 中的数据库", dir.display()),
            format!("wiped store in {}", dir.display()),
        )
    })
}

fn seed_synthetic(ctx: &Session, count: u64, seed: u64) -> Result<()> {
    let core = ctx.open()?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for input in SyntheticPeople::new(seed, ctx.clock.today()).take(count as usize) {
        let receipt = core.register(&input)?;
        // Printed only after the commit returned: every line printed is a durable record.
        let line = json!({ "person_id": receipt.person_id, "registration_id": receipt.registration_id, "record": input });
        writeln!(out, "{line}")?;
        out.flush()?;
    }
    Ok(())
}
