//! `lgt demo`: the field workflow end to end in a fresh temporary store, wiped at the end.

use std::sync::Arc;

use anyhow::{Context, Result};
use lgt_core::clock::Clock;
use lgt_core::crypto::KeyFile;
use lgt_core::permit::{PermitCommand, PermitEvent};
use lgt_core::store::StoreOptions;
use lgt_core::synthetic::SyntheticPeople;
use lgt_core::{FieldCore, OpenParams};

pub fn run(clock: Arc<dyn Clock>, actor: &str) -> Result<()> {
    let dir = std::env::temp_dir().join(format!(
        "lgt-demo-{}-{}",
        std::process::id(),
        clock.now().timestamp_micros()
    ));
    lgt_core::store::create_private_dir(&dir)?;
    let keys = KeyFile::create(dir.join("store.key"))?;
    let today = clock.today();
    let clock_now = clock.now();
    let core = FieldCore::create(OpenParams {
        dir: &dir,
        keys: &keys,
        actor,
        clock,
        options: StoreOptions::default(),
    })?;
    println!(
        "1. created an encrypted store {} in {}",
        core.store_id(),
        dir.display()
    );

    let people: Vec<_> = SyntheticPeople::new(2026, today).take(25).collect();
    for input in &people {
        core.register(input)?;
    }
    println!(
        "2. registered {} synthetic persons (validated, sealed, queued, audited)",
        people.len()
    );

    let sample = &people[0];
    let found = core.find_by_document_number(&sample.document.number)?;
    let person = found
        .first()
        .context("the person just registered was not found")?;
    println!(
        "3. found person {} by identity number; by name: {} match(es)",
        person.person_id,
        core.find_by_name(&sample.person.name)?.len()
    );

    let accepted = core.permit(&PermitCommand::Accept {
        person_id: person.person_id.clone(),
    })?;
    let permit_id = accepted.permit.id.clone();
    let apply = |event| PermitCommand::Apply {
        permit_id: permit_id.clone(),
        base_version: None,
        event,
    };
    core.permit(&apply(PermitEvent::Issue {
        number: format!("DEMO{}", today.format("%Y%m%d")),
    }))?;
    let delivered = core.permit(&apply(PermitEvent::Deliver))?;
    println!(
        "4. permit {permit_id} accepted, issued and delivered; endorsement due {}",
        delivered
            .permit
            .endorsement_due
            .map_or_else(|| "-".into(), |d| d.to_string())
    );

    match core.permit(&apply(PermitEvent::Endorse)) {
        Err(e) => println!("5. endorsing today is refused, as it should be: {e}"),
        Ok(_) => println!("5. endorsed (the endorsement window is open)"),
    }
    core.permit(&apply(PermitEvent::Cancel { reason: "3".into() }))?;
    let refused = core
        .permit(&apply(PermitEvent::Endorse))
        .map(|_| ())
        .unwrap_err();
    println!("6. cancelled for reason 3 (left the area); endorsing it now: {refused}");
    let shown = core.permit_show(&permit_id)?;
    println!(
        "7. the permit's log holds {} events; its state is still {}",
        shown.events.len(),
        shown.permit.state.as_str()
    );

    let export = core.export_person(&person.person_id)?;
    println!(
        "8. the person's own record exports as {} bytes of JSON",
        serde_json::to_vec(&export)?.len()
    );
    watchlist_step(&core, &people[1], clock_now)?;

    let report = core.audit_verify()?;
    println!(
        "9. audit chain: {} records, intact: {}; {} operations queued for sync; integrity: {}",
        report.records,
        report.is_intact(),
        core.outbox(None)?.len(),
        core.integrity_check()?
    );
    core.wipe(&keys)?;
    std::fs::remove_dir(&dir).ok();
    println!("10. wiped: key destroyed first, then the files");
    Ok(())
}

/// 8b: a signed list naming one registered person (field-cost stretching), imported through
/// the pinned root; the re-check raises "possible match: verify".
fn watchlist_step(
    core: &FieldCore,
    listed: &lgt_core::registration::RegistrationInput,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    use lgt_core::crypto::{SigningKey, StretchParams};
    use lgt_core::watchlist::WatchlistPolicy;
    use lgt_publisher::{Epoch, ListedPerson, PublishedList, Signer, Validity};

    let root = SigningKey::generate()?;
    let signer = Signer::delegate(
        &root,
        SigningKey::generate()?,
        now + chrono::Duration::days(30),
    )
    .map_err(lgt_core::Error::from)?;
    let person = ListedPerson {
        entry_ref: "DEMO-CASE-1".into(),
        name: listed.person.name.clone(),
        sex: listed.person.sex.clone(),
        birth_date: chrono::NaiveDate::parse_from_str(
            listed.person.birth_date.as_deref().unwrap_or_default(),
            "%Y-%m-%d",
        )?,
        id_numbers: vec![listed.document.number.clone()],
        case_summary: "synthetic demonstration case".into(),
        instructions: "do not confront; call the duty officer".into(),
    };
    let epoch = Epoch::new(1, StretchParams::FIELD).map_err(lgt_core::Error::from)?;
    let validity = Validity {
        created_at: now,
        expires_at: now + chrono::Duration::days(7),
    };
    let (_, package) = PublishedList::snapshot("demo", 1, epoch, &[person], validity, &signer)
        .map_err(lgt_core::Error::from)?;
    let info = core.watchlist_import(
        &package.to_bytes(),
        &WatchlistPolicy::new(vec![root.public_key()]),
    )?;
    let recheck = core.watchlist_recheck()?;
    let alert = recheck
        .raised
        .first()
        .context("the listed person raised no alert")?;
    println!(
        "8b. signed watchlist v{} imported ({} stretched tags); re-check of {} persons: \"{}\" ({:?}, score {}): {}",
        info.version,
        info.entry_count,
        recheck.persons,
        alert.wording,
        alert.confidence,
        alert.score,
        alert.instructions
    );
    Ok(())
}
