//! Printing: human text by default, JSON with `--json`; errors as one line. Human text and
//! errors are in the session's language ([`Lang`]); JSON keys and codes stay the same in both.

use anyhow::Result;
use lgt_core::identity::IdError;
use lgt_core::permit::{Permit, PermitRecord, PermitState};
use lgt_core::registration::{DwellingRecord, PersonRecord, RegistrationStatus};
use lgt_core::scan::ScanError;
use lgt_core::sync::SyncError;
use lgt_core::{messages, Lang};
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

/// A refusal or failure of `lgt` itself (a missing flag, an unreadable file), in both
/// languages with a stable code, so that it prints like a core error. Raise it with `bail!`, or
/// put it over a lower error with `.context(...)`: the lower error's text follows it.
#[derive(Debug)]
pub struct CliError {
    /// Stable code, e.g. `cli.no_store`.
    pub code: &'static str,
    zh: String,
    en: String,
}

impl CliError {
    /// A message with its code, Chinese first.
    pub fn new(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            code,
            zh: zh.into(),
            en: en.into(),
        }
    }

    /// The message in `lang`.
    pub fn message(&self, lang: Lang) -> &str {
        lang.pick(&self.zh, &self.en)
    }
}

/// English, for anything that prints an error without a language (logs, `{:?}` of a chain).
impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.en)
    }
}

impl std::error::Error for CliError {}

/// The stable code of an error (`error` when it has none) and its message in `lang`: a core
/// error's from the core's catalogue, `lgt`'s own from its [`CliError`], followed by the
/// errors below it (an I/O error under "cannot read the key file").
pub fn describe(error: &anyhow::Error, lang: Lang) -> (&'static str, String) {
    let mut code = None;
    let mut parts = Vec::new();
    for (depth, cause) in error.chain().enumerate() {
        if let Some((core_code, message)) = catalogue(cause, lang) {
            code = code.or(Some(core_code));
            parts.push(message);
            // The catalogue's message is whole; what lies under it is for developers.
            break;
        }
        // A context's own type is reached through the anyhow error only, not its chain.
        let own = match depth {
            0 => error.downcast_ref::<CliError>(),
            _ => cause.downcast_ref::<CliError>(),
        };
        match own {
            Some(own) => {
                code = code.or(Some(own.code));
                parts.push(own.message(lang).to_owned());
            }
            None => parts.push(cause.to_string()),
        }
    }
    (
        code.unwrap_or("error"),
        parts.join(lang.pick("：", ": ")).replace('\n', " "),
    )
}

/// The code and catalogue message of a core error, also of the capability errors that reach
/// `lgt` without being wrapped in [`lgt_core::Error`].
fn catalogue(
    cause: &(dyn std::error::Error + 'static),
    lang: Lang,
) -> Option<(&'static str, String)> {
    if let Some(error) = cause.downcast_ref::<lgt_core::Error>() {
        return Some((error.code(), error.message(lang)));
    }
    if let Some(error) = cause.downcast_ref::<IdError>() {
        return Some((error.code(), lgt_core::Error::Id(*error).message(lang)));
    }
    if let Some(error) = cause.downcast_ref::<ScanError>() {
        return Some((
            error.code(),
            lgt_core::Error::Scan(error.clone()).message(lang),
        ));
    }
    if let Some(error) = cause.downcast_ref::<SyncError>() {
        return Some((error.code(), messages::sync_error(error, lang)));
    }
    None
}

/// Reports an error as one line on standard error, in `lang` with its stable code (and as
/// JSON on standard output with `--json`: the code, the English and the Chinese message, and
/// a registration's fields at fault).
pub fn error(json: bool, lang: Lang, error: &anyhow::Error) {
    let (code, message) = describe(error, lang);
    if json {
        let fields = match error.downcast_ref::<lgt_core::Error>() {
            Some(lgt_core::Error::Validation(v)) => json!(v.0),
            _ => json!(null),
        };
        let (_, message_en) = describe(error, Lang::En);
        let (_, message_zh) = describe(error, Lang::ZhCn);
        println!(
            "{}",
            json!({ "error": {
                "code": code,
                "message": message_en,
                "message_zh": message_zh,
                "fields": fields,
            } })
        );
    }
    if code == "error" {
        eprintln!("lgt: {message}");
    } else {
        eprintln!("lgt: {message} [{code}]");
    }
}

/// One person, a few lines.
/// A dwelling and the registrations at it, one line each.
pub fn dwelling(d: &DwellingRecord, lang: Lang) -> String {
    let mut lines = vec![match (&d.dwelling, lang) {
        (Some(w), Lang::ZhCn) => format!(
            "房屋 {}：{}（房屋类型 {}）",
            d.house_code, w.address, w.housing_type
        ),
        (Some(w), Lang::En) => format!(
            "dwelling {}: {} (housing type {})",
            d.house_code, w.address, w.housing_type
        ),
        (None, Lang::ZhCn) => format!("房屋 {}", d.house_code),
        (None, Lang::En) => format!("dwelling {}", d.house_code),
    }];
    if let Some(landlord) = &d.landlord {
        lines.push(match lang {
            Lang::ZhCn => format!("  房东：{}（{}）", landlord.name, landlord.phone),
            Lang::En => format!("  landlord: {} ({})", landlord.name, landlord.phone),
        });
    }
    for r in &d.registrations {
        let status = match (r.status, lang) {
            (RegistrationStatus::Active, Lang::ZhCn) => "现住",
            (RegistrationStatus::Closed, Lang::ZhCn) => "已迁离",
            (RegistrationStatus::Active, Lang::En) => "lives here",
            (RegistrationStatus::Closed, Lang::En) => "moved out",
        };
        let moved_in = r.registration.moved_in;
        lines.push(match lang {
            Lang::ZhCn => format!(
                "  {status}：{}（人员 {}，登记 {}，{moved_in} 入住）",
                r.registration.person.name, r.person_id, r.id
            ),
            Lang::En => format!(
                "  {status}: {} (person {}, registration {}, moved in {moved_in})",
                r.registration.person.name, r.person_id, r.id
            ),
        });
    }
    if d.registrations.is_empty() {
        lines.push(lang.pick("  无登记", "  no registrations").into());
    }
    lines.join("\n")
}

pub fn person(p: &PersonRecord, lang: Lang) -> String {
    let sex = match p.person.sex.as_str() {
        "1" => lang.pick("男", "male"),
        "2" => lang.pick("女", "female"),
        _ => lang.pick("性别不详", "sex unknown"),
    };
    let mut lines = vec![match lang {
        Lang::ZhCn => format!(
            "人员 {}：{}（{sex}，{} 出生）",
            p.person_id, p.person.name, p.person.birth_date
        ),
        Lang::En => format!(
            "person {}: {} ({sex}, born {})",
            p.person_id, p.person.name, p.person.birth_date
        ),
    }];
    for identifier in &p.identifiers {
        let status = match identifier.superseded_at {
            Some(_) => lang.pick("原", "former"),
            None => lang.pick("现", "current"),
        };
        let kind = &identifier.document.doc_type;
        let number = &identifier.document.number;
        lines.push(match lang {
            Lang::ZhCn => format!("  {status}证件（类型 {kind}）：{number}"),
            Lang::En => format!("  {status} document {kind}: {number}"),
        });
    }
    if let Some(r) = &p.current_registration {
        let dwelling = &r.registration.dwelling;
        let moved_in = r.registration.moved_in;
        lines.push(match lang {
            Lang::ZhCn => format!(
                "  现住 {}（{}），{moved_in} 起；登记 {}",
                dwelling.address, dwelling.house_code, r.id
            ),
            Lang::En => format!(
                "  lives at {} ({}), since {moved_in}; registration {}",
                dwelling.address, dwelling.house_code, r.id
            ),
        });
    }
    lines.join("\n")
}

/// A permit state as the supervisor names it.
fn state_name(state: PermitState, lang: Lang) -> &'static str {
    match lang {
        Lang::En => state.as_str(),
        Lang::ZhCn => match state {
            PermitState::Accepted => "已受理",
            PermitState::Issued => "已签发",
            PermitState::Delivered => "已发放",
            PermitState::Suspended => "功能中止",
            PermitState::Cancelled => "已注销",
        },
    }
}

/// One permit, one line.
pub fn permit_line(p: &Permit, lang: Lang) -> String {
    let state = state_name(p.state, lang);
    let mut line = match lang {
        Lang::ZhCn => format!("居住证 {}：{state}（版本 {}）", p.id, p.version),
        Lang::En => format!("permit {}: {state} (version {})", p.id, p.version),
    };
    if let Some(number) = &p.number {
        line.push_str(&lang.pick(format!("，证号 {number}"), format!(", number {number}")));
    }
    if let Some(due) = p.endorsement_due {
        line.push_str(&lang.pick(
            format!("，签注截止 {due}"),
            format!(", endorsement due {due}"),
        ));
    }
    if let Some(reason) = &p.cancel_reason {
        line.push_str(&lang.pick(
            format!("，注销原因 {reason}"),
            format!(", cancelled for reason {reason}"),
        ));
    }
    line
}

/// A permit and its event log.
pub fn permit_with_log(r: &PermitRecord, lang: Lang) -> String {
    let mut lines = vec![permit_line(&r.permit, lang)];
    lines.extend(r.events.iter().map(|e| match lang {
        Lang::ZhCn => format!(
            "  v{} {} 于 {}，操作人 {}（记录于 {}）",
            e.version,
            e.event.kind(),
            e.occurred_on,
            e.actor,
            e.recorded_at
        ),
        Lang::En => format!(
            "  v{} {} on {} by {} (recorded {})",
            e.version,
            e.event.kind(),
            e.occurred_on,
            e.actor,
            e.recorded_at
        ),
    }));
    lines.join("\n")
}
