//! What each subcommand does: open the store, call the core, print the result.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
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
use lgt_core::{codes, identity, FieldCore, OpenParams};
use serde_json::json;

use crate::args::*;
use crate::output::Printer;

mod sync;

pub(crate) struct Session {
    pub(crate) store: Option<PathBuf>,
    key_file: Option<PathBuf>,
    actor: String,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) out: Printer,
}

impl Session {
    fn store_dir(&self) -> Result<&Path> {
        self.store
            .as_deref()
            .ok_or_else(|| anyhow!("no store given: pass --store DIR or set LGT_STORE"))
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
        let keys = KeyFile::open(self.key_path()?).context("cannot read the key file")?;
        Ok(FieldCore::open(self.params(dir, &keys))?)
    }
}

/// Runs one command line.
pub fn run(cli: Cli) -> Result<()> {
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
    };
    match cli.command {
        Command::Init => init(&ctx),
        Command::Id(IdCommand::Check { number }) => id_check(&ctx, &number),
        Command::Register(args) => register(&ctx, args),
        Command::Find(args) => find(&ctx, args),
        Command::Person(PersonCommand::AddId {
            person_id,
            doc_type,
            number,
        }) => {
            let identifier = ctx
                .open()?
                .add_identifier(&person_id, &DocumentInput { doc_type, number })?;
            ctx.out.value(&identifier, |i| {
                format!("person {person_id}: recorded identifier {}", i.id)
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
        Command::Demo => crate::demo::run(ctx.clock.clone(), &ctx.actor, crate::lang()),
        Command::Watchlist(command) => crate::watchlist::run(&ctx, command),
        Command::Scan { paths, mode } => crate::scan::scan(&ctx, &paths, &mode),
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
        bail!("a store already exists in {}", dir.display());
    }
    lgt_core::store::create_private_dir(dir).context("cannot create the store directory")?;
    let key_path = ctx.key_path()?;
    let keys = KeyFile::create(&key_path)
        .context("cannot create the key file (does it exist already?)")?;
    let core = FieldCore::create(ctx.params(dir, &keys))?;
    ctx.out.value(
        &json!({ "store": dir, "key_file": key_path, "store_id": core.store_id() }),
        |_| {
            format!(
                "created store {} in {} (key file {}, mode 0600)",
                core.store_id(),
                dir.display(),
                key_path.display()
            )
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
    ctx.out.value(&report, |_| {
        let mut lines = vec![
            format!("valid: {}", id.as_str()),
            format!("kind: {:?}", id.kind()),
            format!("sex: {:?}", id.sex()).to_lowercase(),
            format!("birth date: {}", id.birth_date()),
        ];
        if let Some(legacy) = id.legacy() {
            lines.push(format!("upgraded from 15-digit {legacy}"));
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
            .unwrap_or_else(|| "unknown".into());
        lines.push(format!("region: {} {}", id.region_code(), place));
        lines.extend(id.warnings().iter().map(|w| format!("warning: {w}")));
        lines.join("\n")
    })
}

fn read_registration(path: &Path) -> Result<RegistrationInput> {
    let mut text = String::new();
    if path == Path::new("-") {
        std::io::stdin().read_to_string(&mut text)?;
    } else {
        text = std::fs::read_to_string(path).context("cannot read the registration file")?;
    }
    // serde's message names the field and position, never the value.
    serde_json::from_str(&text).map_err(|e| anyhow!("registration file is not valid: {e}"))
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
    ctx.out.value(&receipt, |r| {
        let mut lines = vec![format!(
            "registered {} person {}: registration {}, queued operation {}",
            if r.new_person { "new" } else { "known" },
            r.person_id,
            r.registration_id,
            r.operation_id
        )];
        if let Some(closed) = &r.closed_registration_id {
            lines.push(format!("closed earlier registration {closed}"));
        }
        lines.extend(r.warnings.iter().map(|w| format!("warning: {w}")));
        lines.extend(r.alerts.iter().map(crate::watchlist::alert_line));
        lines.join("\n")
    })
}

fn find(ctx: &Session, args: FindArgs) -> Result<()> {
    let core = ctx.open()?;
    // Watchlist alerts raised by the look-up appear on standard error at once.
    crate::watchlist::listen(&core);
    let found = match (&args.id, &args.name) {
        (Some(number), _) => core.find_by_document_number(number)?,
        (None, Some(name)) => core.find_by_name(name)?,
        (None, None) => bail!("give --id or --name"),
    };
    ctx.out.value(&found, |persons| {
        if persons.is_empty() {
            return "no match".into();
        }
        persons
            .iter()
            .map(crate::output::person)
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
            return ctx.out.value(&record, crate::output::permit_with_log);
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
                format!("issuer key {key_id} revoked")
            });
        }
        PermitCommand::Accept { person_id } => CorePermitCommand::Accept { person_id },
        PermitCommand::Issue { target, number } => {
            let number = match number {
                Some(number) => number,
                None => core.permit_number_from_pool()?.ok_or_else(|| {
                    anyhow!("no reserved permit number left: sync to refill, or pass --number")
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
        .value(&record, |r| crate::output::permit_line(&r.permit))
}

fn audit_verify(ctx: &Session) -> Result<()> {
    let report = ctx.open()?.audit_verify()?;
    ctx.out.value(&report, |r| match r.first_broken {
        None => format!("audit chain intact: {} records", r.records),
        Some(b) => format!("audit chain broken at record {} ({:?})", b.seq, b.kind).to_lowercase(),
    })?;
    match report.first_broken {
        None => Ok(()),
        Some(b) => Err(anyhow!("audit chain broken at record {}", b.seq)),
    }
}

fn outbox(ctx: &Session, state: Option<&str>) -> Result<()> {
    let state = state
        .map(|s| {
            serde_json::from_value::<OperationState>(json!(s))
                .map_err(|_| anyhow!("unknown state {s:?}"))
        })
        .transpose()?;
    let operations = ctx.open()?.outbox(state)?;
    ctx.out.value(&operations, |ops| {
        let mut lines = vec![format!("{} operations", ops.len())];
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
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {} (does it exist already?)", path.display()))?;
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
                    format!(
                        "exported person {person_id} to {} (mode 0600)",
                        path.display()
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
        bail!("no code table of that name");
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
        bail!("wipe destroys the key and every record; confirm with --yes");
    }
    let dir = ctx.store_dir()?;
    let keys = KeyFile::open(ctx.key_path()?).context("cannot read the key file")?;
    match FieldCore::open(ctx.params(dir, &keys)) {
        Ok(core) => core.wipe(&keys)?,
        // A store that no longer opens (wrong key, damage) is wiped all the same.
        Err(_) => lgt_core::store::wipe_dir(dir, &keys)?,
    }
    ctx.out.value(&json!({ "wiped": dir }), |_| {
        format!("wiped store in {}", dir.display())
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
