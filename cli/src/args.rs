//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use lgt_core::Lang;

/// lgt: the 流管通 field core on the desktop.
#[derive(Debug, Parser)]
#[command(name = "lgt", version, about)]
pub struct Cli {
    /// Store directory.
    #[arg(long, global = true, env = "LGT_STORE")]
    pub store: Option<PathBuf>,
    /// Key file (default: STORE/store.key). Keep it off the laptop's disk where you can.
    #[arg(long, global = true, env = "LGT_KEY_FILE")]
    pub key_file: Option<PathBuf>,
    /// The coordinator account recorded in the audit trail (an id, not a name).
    #[arg(long, global = true, env = "LGT_ACTOR", default_value = "coordinator")]
    pub actor: String,
    /// Pin the clock to an RFC 3339 instant (tests, reproducible runs).
    #[arg(long, global = true, env = "LGT_NOW", hide = true)]
    pub now: Option<String>,
    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    pub json: bool,
    /// Language of messages: zh-CN or en (default: the locale's, from LC_ALL, LC_MESSAGES or
    /// LANG; Chinese when none names Chinese or English).
    #[arg(long, global = true, value_name = "zh-CN|en", value_parser = parse_lang)]
    pub lang: Option<Lang>,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The language `lgt` speaks in: `--lang`, else the locale. Commands read it from their
    /// session (`Session::lang`).
    pub fn lang(&self) -> Lang {
        self.lang
            .unwrap_or_else(|| locale_lang(|name| std::env::var(name).ok()))
    }
}

/// The language of the locale as POSIX ranks its variables (`LC_ALL`, then `LC_MESSAGES`,
/// then `LANG`; the first one set decides); zh-CN when that names neither Chinese nor English,
/// or none is set: the coordinators and supervisors read Chinese first.
fn locale_lang(var: impl Fn(&str) -> Option<String>) -> Lang {
    ["LC_ALL", "LC_MESSAGES", "LANG"]
        .into_iter()
        .filter_map(var)
        .find(|value| !value.trim().is_empty())
        .and_then(|value| Lang::from_locale(&value))
        .unwrap_or_default()
}

fn parse_lang(tag: &str) -> Result<Lang, String> {
    Lang::from_locale(tag).ok_or_else(|| format!("{tag:?} is not zh-CN or en"))
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new store and its key.
    Init,
    /// Identity numbers.
    #[command(subcommand)]
    Id(IdCommand),
    /// Register a person at a dwelling, from flags or a JSON file.
    Register(Box<RegisterArgs>),
    /// Find persons by identity/document number or by name.
    Find(FindArgs),
    /// Dwellings (房屋) and who is registered there.
    #[command(subcommand)]
    Dwelling(DwellingCommand),
    /// Person records.
    #[command(subcommand)]
    Person(PersonCommand),
    /// Residence permits.
    #[command(subcommand)]
    Permit(PermitCommand),
    /// The audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Operations queued for sync.
    Outbox {
        /// Only operations in this state (pending, in_flight, acknowledged, quarantined, superseded).
        #[arg(long)]
        state: Option<String>,
    },
    /// Export everything stored about one person (their own record), as JSON.
    Export {
        /// The person's id.
        person_id: String,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Show the code tables (or one of them).
    Codes {
        /// Table name, e.g. reason_for_stay.
        table: Option<String>,
    },
    /// Destroy the key, then the store's files.
    Wipe {
        /// Confirm: this cannot be undone.
        #[arg(long)]
        yes: bool,
    },
    /// Register N synthetic persons, printing each as a JSON line once committed.
    Seed {
        /// How many.
        #[arg(long)]
        count: u64,
        /// Random seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Play the coordinator's day end to end: a sync server started in this process on
    /// loopback, a temporary store enrolled with it, scans, the watchlist alert, a permit and
    /// its QR code, sync and the audit check; then the store is wiped and the server stopped.
    Demo,
    /// The offline wanted-persons list: build, import, status, check.
    #[command(subcommand)]
    Watchlist(crate::watchlist::WatchlistCommand),
    /// Decode barcodes in images (files, or folders searched recursively): one line per image
    /// (with --all, one per code). With a store (--store / LGT_STORE), permit codes are
    /// verified against it.
    Scan {
        /// Image files (JPEG, PNG, WebP) or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// still (a photo: try harder) or live (one camera frame: fast).
        #[arg(long, default_value = "still")]
        mode: String,
        /// Every code in each image (e.g. an identity document's QR code and PDF417), one
        /// line per code; slower than reading one.
        #[arg(long)]
        all: bool,
    },
    /// Enroll this store's device with a sync server under a supervisor's one-time code.
    Enroll {
        /// The server's base URL, e.g. https://sync.example.org (plain http:// only to loopback).
        #[arg(long)]
        server: String,
        /// The pin of the server's TLS key (`sha256/...`, printed by `lgt-server
        /// enrollment-code` beside the code); required for https://.
        #[arg(long)]
        server_pin: Vec<lgt_core::sync::ServerPin>,
        /// The one-time enrollment code.
        #[arg(long)]
        code: String,
        /// The watchlist root public key (`root.pub`) the server's list packages must verify
        /// against; repeat it during a root rotation. Without one, synced lists are refused.
        #[arg(long)]
        watchlist_root: Vec<PathBuf>,
        /// Accept synced lists built with the labelled test cost (never on a phone).
        #[arg(long)]
        allow_test_cost: bool,
    },
    /// Push queued operations and pull the server's changes.
    Sync {
        /// Keep syncing: every --interval, after a backoff on failure, until interrupted.
        #[arg(long)]
        watch: bool,
        /// Seconds between successful syncs with --watch.
        #[arg(long, default_value_t = 300)]
        interval: u64,
    },
    /// Sync health: queue depth, last success, quarantined operations, buckets.
    Status,
}

#[derive(Debug, Subcommand)]
pub enum IdCommand {
    /// Parse an identity number and explain it.
    Check {
        /// The number (18 or 15 characters; full-width forms accepted).
        number: String,
    },
}

#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// Read the registration from a JSON file ("-" for standard input).
    #[arg(long, conflicts_with_all = ["name", "number"])]
    pub file: Option<PathBuf>,
    /// Name.
    #[arg(long, required_unless_present = "file")]
    pub name: Option<String>,
    /// Former name.
    #[arg(long)]
    pub former_name: Option<String>,
    /// Sex code (1 male, 2 female).
    #[arg(long, default_value = "")]
    pub sex: String,
    /// Ethnicity code (GB/T 3304), e.g. 01.
    #[arg(long, default_value = "")]
    pub ethnicity: String,
    /// Birth date YYYY-MM-DD (taken from a resident ID number when omitted).
    #[arg(long)]
    pub birth_date: Option<String>,
    /// Document type code (1 resident ID, 2 passport, 3 HK/MO/TW travel permit, 9 other).
    #[arg(long, default_value = "1")]
    pub doc_type: String,
    /// Document number.
    #[arg(long, required_unless_present = "file")]
    pub number: Option<String>,
    /// Household-registration address.
    #[arg(long, default_value = "")]
    pub household_address: String,
    /// Dwelling house code.
    #[arg(long, default_value = "")]
    pub house_code: String,
    /// Dwelling address.
    #[arg(long, default_value = "")]
    pub address: String,
    /// Housing type code.
    #[arg(long, default_value = "")]
    pub housing_type: String,
    /// Move-in date YYYY-MM-DD.
    #[arg(long, default_value = "")]
    pub moved_in: String,
    /// Expected end of stay YYYY-MM-DD.
    #[arg(long)]
    pub expected_stay_until: Option<String>,
    /// Reason-for-stay code.
    #[arg(long, default_value = "")]
    pub reason: String,
    /// Occupation code.
    #[arg(long, default_value = "")]
    pub occupation: String,
    /// Employer name.
    #[arg(long)]
    pub employer: Option<String>,
    /// Employer unified social credit code.
    #[arg(long, requires = "employer")]
    pub employer_credit_code: Option<String>,
    /// Landlord name.
    #[arg(long, requires = "landlord_phone")]
    pub landlord_name: Option<String>,
    /// Landlord phone.
    #[arg(long, requires = "landlord_name")]
    pub landlord_phone: Option<String>,
    /// Householder name.
    #[arg(long, requires = "householder_relation")]
    pub householder_name: Option<String>,
    /// Relation to the householder (GB/T 4761 code).
    #[arg(long, requires = "householder_name")]
    pub householder_relation: Option<String>,
    /// Contact phone.
    #[arg(long)]
    pub phone: Option<String>,
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct FindArgs {
    /// Identity or document number (15-digit numbers find their 18-digit upgrade).
    #[arg(long)]
    pub id: Option<String>,
    /// Name (exact, after normalisation), current or former.
    #[arg(long)]
    pub name: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum DwellingCommand {
    /// A dwelling with every registration at it, current ones first (this phone's and,
    /// once synced, its district colleagues').
    Show {
        /// House code (房屋编码), as on the door-plate QR.
        house_code: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum PersonCommand {
    /// Record a new identity number for a person (corrected or reissued number).
    AddId {
        /// The person's id.
        person_id: String,
        /// Document type code.
        #[arg(long = "type", default_value = "1")]
        doc_type: String,
        /// The number.
        #[arg(long)]
        number: String,
    },
}

#[derive(Debug, Args)]
pub struct Target {
    /// The permit id.
    pub permit_id: String,
    /// Refuse unless the permit is still at this version.
    #[arg(long)]
    pub base_version: Option<u32>,
}

#[derive(Debug, Subcommand)]
pub enum PermitCommand {
    /// Accept an application (受理) for a person with an active registration.
    Accept {
        /// The applicant's person id.
        person_id: String,
    },
    /// Issue (签发) under a permit number.
    Issue {
        #[command(flatten)]
        target: Target,
        /// The permit number (default: the next one the sync server reserved for this device).
        #[arg(long)]
        number: Option<String>,
    },
    /// Hand the card over (发放).
    Deliver(Target),
    /// Yearly endorsement (签注), in the month before the anniversary.
    Endorse(Target),
    /// Suspend after a missed endorsement (功能中止).
    Suspend(Target),
    /// Restore with a late endorsement (功能恢复).
    Restore(Target),
    /// Change the residence address (地址变更).
    ChangeAddress {
        #[command(flatten)]
        target: Target,
        /// New house code.
        #[arg(long)]
        house_code: String,
        /// New address.
        #[arg(long)]
        address: String,
        /// Housing type code.
        #[arg(long)]
        housing_type: String,
    },
    /// Cancel (注销) with a reason code.
    Cancel {
        #[command(flatten)]
        target: Target,
        /// Cancellation reason code (see `lgt codes cancellation_reason`).
        #[arg(long)]
        reason: String,
    },
    /// Show a permit and its event log.
    Show {
        /// The permit id.
        permit_id: String,
    },
    /// Render the signed QR code of an issued permit as a PNG.
    Qr {
        /// The permit id or the permit number.
        permit: String,
        /// The PNG file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print this device's permit-issuer public key (hex), for other devices to trust.
    IssuerKey,
    /// Accept permit codes signed by another device's or office's key.
    TrustIssuer {
        /// The public key, 64 hex digits.
        public_key: String,
        /// A label for the issuer (an office or device id).
        #[arg(long)]
        label: String,
    },
    /// Stop accepting permit codes signed by a key.
    RevokeIssuer {
        /// The key id (16 hex digits).
        key_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify the hash chain; reports the first broken link.
    Verify,
    /// Show the latest records.
    Log {
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang_with(vars: &[(&str, &str)]) -> Lang {
        locale_lang(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn the_first_locale_variable_set_decides() {
        assert_eq!(lang_with(&[]), Lang::ZhCn);
        assert_eq!(lang_with(&[("LANG", "en_US.UTF-8")]), Lang::En);
        assert_eq!(
            lang_with(&[("LANG", "en_US.UTF-8"), ("LC_MESSAGES", "zh_CN.UTF-8")]),
            Lang::ZhCn
        );
        assert_eq!(
            lang_with(&[("LC_ALL", "en_GB.UTF-8"), ("LC_MESSAGES", "zh_CN.UTF-8")]),
            Lang::En
        );
        assert_eq!(lang_with(&[("LC_ALL", ""), ("LANG", "C")]), Lang::ZhCn);
        assert_eq!(lang_with(&[("LANG", "fr_FR.UTF-8")]), Lang::ZhCn);
    }

    #[test]
    fn lang_flag_beats_the_locale() {
        let cli = Cli::try_parse_from(["lgt", "--lang", "en", "status"]).unwrap();
        assert_eq!(cli.lang(), Lang::En);
        let cli = Cli::try_parse_from(["lgt", "status", "--lang", "zh-CN"]).unwrap();
        assert_eq!(cli.lang(), Lang::ZhCn);
        assert!(Cli::try_parse_from(["lgt", "--lang", "fr", "status"]).is_err());
    }
}
