//! Printing: human text by default, JSON with `--json`; errors as one line.

use anyhow::Result;
use lgt_core::permit::{Permit, PermitRecord};
use lgt_core::registration::PersonRecord;
use serde::Serialize;
use serde_json::json;

/// Prints values in the chosen format.
pub struct Printer {
    json: bool,
}

impl Printer {
    pub fn new(json: bool) -> Self {
        Self { json }
    }

    /// Prints `value` as JSON, or as the text `human` makes of it.
    pub fn value<T: Serialize>(&self, value: &T, human: impl FnOnce(&T) -> String) -> Result<()> {
        if self.json {
            println!("{}", serde_json::to_string(value)?);
        } else {
            println!("{}", human(value));
        }
        Ok(())
    }
}

/// Reports an error as one line on standard error (and as JSON on standard output with
/// `--json`).
pub fn error(json: bool, error: &anyhow::Error) {
    let core = error.downcast_ref::<lgt_core::Error>();
    let code = core.map_or("error", lgt_core::Error::code);
    let message = format!("{error:#}").replace('\n', " ");
    if json {
        let fields = match core {
            Some(lgt_core::Error::Validation(v)) => json!(v.0),
            _ => json!(null),
        };
        println!(
            "{}",
            json!({ "error": { "code": code, "message": message, "fields": fields } })
        );
    }
    eprintln!("lgt: {message}");
}

/// One person, a few lines.
pub fn person(p: &PersonRecord) -> String {
    let sex = match p.person.sex.as_str() {
        "1" => "male",
        "2" => "female",
        _ => "sex unknown",
    };
    let mut lines = vec![format!(
        "person {}: {} ({sex}, born {})",
        p.person_id, p.person.name, p.person.birth_date
    )];
    for identifier in &p.identifiers {
        let status = if identifier.superseded_at.is_some() {
            "former"
        } else {
            "current"
        };
        lines.push(format!(
            "  {status} document {}: {}",
            identifier.document.doc_type, identifier.document.number
        ));
    }
    if let Some(r) = &p.current_registration {
        lines.push(format!(
            "  lives at {} ({}), since {}; registration {}",
            r.registration.dwelling.address,
            r.registration.dwelling.house_code,
            r.registration.moved_in,
            r.id
        ));
    }
    lines.join("\n")
}

/// One permit, one line.
pub fn permit_line(p: &Permit) -> String {
    let mut line = format!(
        "permit {}: {} (version {})",
        p.id,
        p.state.as_str(),
        p.version
    );
    if let Some(number) = &p.number {
        line.push_str(&format!(", number {number}"));
    }
    if let Some(due) = p.endorsement_due {
        line.push_str(&format!(", endorsement due {due}"));
    }
    if let Some(reason) = &p.cancel_reason {
        line.push_str(&format!(", cancelled for reason {reason}"));
    }
    line
}

/// A permit and its event log.
pub fn permit_with_log(r: &PermitRecord) -> String {
    let mut lines = vec![permit_line(&r.permit)];
    lines.extend(r.events.iter().map(|e| {
        format!(
            "  v{} {} on {} by {} (recorded {})",
            e.version,
            e.event.kind(),
            e.occurred_on,
            e.actor,
            e.recorded_at
        )
    }));
    lines.join("\n")
}
