//! The one public error, and the one place that turns core errors (and panics) into it.
//!
//! Every variant carries a stable `code` (the core's [`lgt_core::Error::code`]), an English and a
//! Chinese message, both from the core's catalogue ([`lgt_core::messages`]): this file only
//! sorts errors into what a shell does about them. Messages hold record ids, field names,
//! positions and dates only: never a name, number, phone or address, because they end up on
//! screens and in crash reports.

use lgt_core::identity::IdError;
use lgt_core::messages;
use lgt_core::permit::PermitError;
use lgt_core::registration;
use lgt_core::scan::ScanError;
use lgt_core::store::StoreError;
use lgt_core::sync::SyncError;
use lgt_core::Lang;

/// One field of a registration that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct InputIssue {
    /// Path of the field, e.g. `person.name`.
    pub field: String,
    /// Stable code of the rule, e.g. `required`, `id.check_digit`.
    pub code: String,
    /// English explanation, without the value.
    pub message_en: String,
    /// Chinese explanation, without the value.
    pub message_zh: String,
}

/// Why an identity number is not valid (a scanned code shaped like one that fails the checks).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct IdIssue {
    /// Stable code of the rule, e.g. `id.check_digit`.
    pub code: String,
    /// English explanation, without the number.
    pub message_en: String,
    /// Chinese explanation, without the number.
    pub message_zh: String,
}

impl From<&IdError> for IdIssue {
    fn from(error: &IdError) -> Self {
        Self {
            code: error.code().to_owned(),
            message_en: messages::id_error(error, Lang::En),
            message_zh: messages::id_error(error, Lang::ZhCn),
        }
    }
}

/// Everything the core can refuse or fail at, grouped by what a shell does about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum LgtError {
    /// The input is wrong (a registration's fields, an identity number, an argument): show
    /// the messages, let the coordinator correct it. `fields` lists every field at fault.
    #[error("{code}: {message_en}")]
    Invalid {
        /// Stable code.
        code: String,
        /// English message.
        message_en: String,
        /// Chinese message.
        message_zh: String,
        /// The fields at fault, for a registration; empty otherwise.
        fields: Vec<InputIssue>,
    },
    /// The request contradicts stored data (an illegal permit transition, a stale version,
    /// a document number held by someone else): refresh and decide again.
    #[error("{code}: {message_en}")]
    Refused {
        /// Stable code.
        code: String,
        /// English message.
        message_en: String,
        /// Chinese message.
        message_zh: String,
    },
    /// No record with that id.
    #[error("{code}: {message_en}")]
    NotFound {
        /// Stable code.
        code: String,
        /// English message.
        message_en: String,
        /// Chinese message.
        message_zh: String,
    },
    /// The key does not open this store (wrong or replaced key). Nothing was touched.
    #[error("{code}: {message_en}")]
    WrongKey {
        /// Stable code.
        code: String,
        /// English message.
        message_en: String,
        /// Chinese message.
        message_zh: String,
    },
    /// The key provider could not supply or destroy the key (locked device, missing key).
    #[error("{code}: {message_en}")]
    KeyUnavailable {
        /// Stable code.
        code: String,
        /// English message.
        message_en: String,
        /// Chinese message.
        message_zh: String,
    },
    /// The store cannot be used: missing, already existing, newer schema, corrupt, I/O.
    #[error("{code}: {message_en}")]
    Store {
        /// Stable code.
        code: String,
        /// English message.
        message_en: String,
        /// Chinese message.
        message_zh: String,
    },
    /// The sync server or the network is unavailable for now: try again later (a watching
    /// sync retries by itself with backoff).
    #[error("{code}: {message_en}")]
    Offline {
        /// Stable code.
        code: String,
        /// English message.
        message_en: String,
        /// Chinese message.
        message_zh: String,
        /// How long the server asked to wait, if it said.
        retry_after_ms: Option<u64>,
    },
    /// The sync server refused this device's credentials: ask the user to check the clock or
    /// enroll the device again.
    #[error("{code}: {message_en}")]
    AuthRequired {
        /// Stable code.
        code: String,
        /// English message.
        message_en: String,
        /// Chinese message.
        message_zh: String,
    },
    /// A supervisor revoked this device: wipe the store now.
    #[error("{code}: {message_en}")]
    Revoked {
        /// Stable code.
        code: String,
        /// English message.
        message_en: String,
        /// Chinese message.
        message_zh: String,
    },
    /// The device went past its offline limit without a successful sync: personal data stays
    /// locked until a sync succeeds.
    #[error("{code}: {message_en}")]
    Locked {
        /// Stable code.
        code: String,
        /// English message.
        message_en: String,
        /// Chinese message.
        message_zh: String,
    },
    /// The store was closed or wiped; open it again.
    #[error("{code}: {message_en}")]
    Closed {
        /// Stable code.
        code: String,
        /// English message.
        message_en: String,
        /// Chinese message.
        message_zh: String,
    },
    /// A bug: a panic in the core or an unexpected failure of a shell callback; report it.
    /// A panic inside a change rolls the change back.
    #[error("{code}: {message_en}")]
    Internal {
        /// Stable code.
        code: String,
        /// English message.
        message_en: String,
        /// Chinese message.
        message_zh: String,
    },
}

impl LgtError {
    /// The stable code of any variant.
    pub fn code(&self) -> &str {
        match self {
            Self::Invalid { code, .. }
            | Self::Refused { code, .. }
            | Self::NotFound { code, .. }
            | Self::WrongKey { code, .. }
            | Self::KeyUnavailable { code, .. }
            | Self::Store { code, .. }
            | Self::Offline { code, .. }
            | Self::AuthRequired { code, .. }
            | Self::Revoked { code, .. }
            | Self::Locked { code, .. }
            | Self::Closed { code, .. }
            | Self::Internal { code, .. } => code,
        }
    }

    pub(crate) fn closed() -> Self {
        Self::Closed {
            code: "store.closed".into(),
            message_en: "the store is closed".into(),
            message_zh: "数据库已关闭".into(),
        }
    }

    pub(crate) fn internal(what: &str) -> Self {
        Self::Internal {
            code: "internal".into(),
            message_en: format!("internal error ({what}); please report it"),
            message_zh: format!("内部错误（{what}），请报告此问题"),
        }
    }
}

/// A shell callback threw something other than an [`LgtError`]; its message is not passed
/// on, as it may hold anything.
impl From<uniffi::UnexpectedUniFFICallbackError> for LgtError {
    fn from(_: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::internal("callback failed")
    }
}

/// The single conversion point from the core's rich error to the public one.
impl From<lgt_core::Error> for LgtError {
    fn from(error: lgt_core::Error) -> Self {
        Self::from(&error)
    }
}

impl From<&lgt_core::Error> for LgtError {
    fn from(error: &lgt_core::Error) -> Self {
        use lgt_core::Error as E;
        let code = error.code().to_owned();
        let message_en = error.message(Lang::En);
        let message_zh = error.message(Lang::ZhCn);
        match error {
            E::Validation(errors) => Self::Invalid {
                code,
                message_en,
                message_zh,
                fields: errors.0.iter().map(InputIssue::from).collect(),
            },
            E::Scan(ScanError::DecoderPanicked) => Self::Internal {
                code,
                message_en,
                message_zh,
            },
            E::Id(_) | E::InvalidArgument { .. } | E::Scan(_) | E::PermitQr(_) => Self::Invalid {
                code,
                message_en,
                message_zh,
                fields: Vec::new(),
            },
            E::Permit(PermitError::InvalidNumber { .. } | PermitError::UnknownReason { .. }) => {
                Self::Invalid {
                    code,
                    message_en,
                    message_zh,
                    fields: Vec::new(),
                }
            }
            E::Sync(sync) => Self::from(sync),
            E::Permit(_) | E::Conflict { .. } | E::Watchlist(_) => Self::Refused {
                code,
                message_en,
                message_zh,
            },
            E::NotFound { .. } => Self::NotFound {
                code,
                message_en,
                message_zh,
            },
            E::Store(StoreError::WrongKey) => Self::WrongKey {
                code,
                message_en,
                message_zh,
            },
            E::Store(StoreError::Key(_)) => Self::KeyUnavailable {
                code,
                message_en,
                message_zh,
            },
            E::Store(_) => Self::Store {
                code,
                message_en,
                message_zh,
            },
        }
    }
}

/// A failed sync, also as a watching sync's observer sees it (by reference: the engine
/// keeps the error to decide whether to go on).
impl From<&SyncError> for LgtError {
    fn from(error: &SyncError) -> Self {
        let code = error.code().to_owned();
        let message_en = messages::sync_error(error, Lang::En);
        let message_zh = messages::sync_error(error, Lang::ZhCn);
        match error {
            SyncError::Transient { retry_after, .. } => Self::Offline {
                code,
                message_en,
                message_zh,
                retry_after_ms: retry_after
                    .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            },
            // Nothing was sent; another network may reach the real server. A cancelled sync
            // is seen only by a caller that no longer waits.
            SyncError::UntrustedServer | SyncError::Cancelled => Self::Offline {
                code,
                message_en,
                message_zh,
                retry_after_ms: None,
            },
            SyncError::BadServerAddress { .. } => Self::Invalid {
                code,
                message_en,
                message_zh,
                fields: Vec::new(),
            },
            SyncError::Auth { .. } => Self::AuthRequired {
                code,
                message_en,
                message_zh,
            },
            SyncError::Revoked | SyncError::WipeOrdered => Self::Revoked {
                code,
                message_en,
                message_zh,
            },
            SyncError::Locked { .. }
            | SyncError::ClockRollback { .. }
            | SyncError::ClockTampered => Self::Locked {
                code,
                message_en,
                message_zh,
            },
            SyncError::Store(_) => Self::Store {
                code,
                message_en,
                message_zh,
            },
            SyncError::NotEnrolled
            | SyncError::UpgradeRequired { .. }
            | SyncError::AlreadyEnrolled { .. }
            | SyncError::Permanent { .. }
            | SyncError::TooLarge => Self::Refused {
                code,
                message_en,
                message_zh,
            },
        }
    }
}

impl From<&registration::InputIssue> for InputIssue {
    fn from(issue: &registration::InputIssue) -> Self {
        Self {
            field: issue.field.clone(),
            code: issue.code.to_owned(),
            message_en: messages::input_issue(issue, Lang::En),
            message_zh: messages::input_issue(issue, Lang::ZhCn),
        }
    }
}

#[cfg(test)]
mod tests {
    use lgt_core::watchlist::WatchlistError;

    use super::*;

    #[test]
    fn every_core_error_keeps_its_code_and_gets_both_languages() {
        let errors = [
            lgt_core::Error::Store(StoreError::WrongKey),
            lgt_core::Error::Id(IdError::WrongLength { length: 7 }),
            lgt_core::Error::NotFound {
                kind: "person",
                id: "p-1".into(),
            },
            lgt_core::Error::Permit(PermitError::StaleVersion {
                permit_id: "x".into(),
                based_on: 1,
                current: 2,
            }),
            lgt_core::Error::Watchlist(WatchlistError::Rollback {
                current: 2,
                offered: 1,
            }),
        ];
        for error in errors {
            let code = error.code();
            let public = LgtError::from(error);
            assert_eq!(public.code(), code);
            let text = format!("{public:?}");
            assert!(text.contains("message_zh: \"") && !text.contains("message_zh: \"\""));
        }
    }

    #[test]
    fn issues_carry_the_catalogue_texts() {
        let wrong = IdError::WrongLength { length: 7 };
        let issue = IdIssue::from(&wrong);
        assert_eq!(issue.code, "id.wrong_length");
        assert_eq!(issue.message_zh, messages::id_error(&wrong, Lang::ZhCn));
        assert_eq!(issue.message_en, wrong.to_string());

        let field = registration::InputIssue {
            field: "moved_in".into(),
            code: "invalid_date",
            message: "is not a real date in the form YYYY-MM-DD".into(),
        };
        let public = LgtError::from(lgt_core::Error::Validation(registration::ValidationErrors(
            vec![field.clone()],
        )));
        let LgtError::Invalid { fields, .. } = public else {
            panic!("a validation error is Invalid: {public:?}");
        };
        assert_eq!(
            fields,
            [InputIssue {
                field: "moved_in".into(),
                code: "invalid_date".into(),
                message_en: field.message,
                message_zh: "不是 YYYY-MM-DD 格式的有效日期".into(),
            }]
        );
    }

    #[test]
    fn sync_errors_map_to_what_the_shell_must_do() {
        let transient = SyncError::Transient {
            reason: "503".into(),
            retry_after: Some(std::time::Duration::from_secs(2)),
        };
        assert!(matches!(
            LgtError::from(lgt_core::Error::Sync(transient)),
            LgtError::Offline { retry_after_ms: Some(2000), ref code, .. } if code == "sync.transient"
        ));
        let cases = [
            (SyncError::Revoked, "Revoked"),
            (
                SyncError::Auth {
                    code: "auth.clock_skew".into(),
                },
                "AuthRequired",
            ),
            (
                SyncError::Locked {
                    since: "2026-11-29".into(),
                },
                "Locked",
            ),
            (SyncError::NotEnrolled, "Refused"),
        ];
        for (error, variant) in cases {
            let public = LgtError::from(&error);
            assert_eq!(public.code(), error.code());
            assert!(format!("{public:?}").starts_with(variant), "{public:?}");
        }
    }

    #[test]
    fn a_refused_watchlist_package_is_refused_with_its_code() {
        let error = LgtError::from(lgt_core::Error::Watchlist(WatchlistError::BadSignature {
            what: "manifest",
        }));
        assert!(
            matches!(error, LgtError::Refused { ref code, .. } if code == "watchlist.bad_signature")
        );
    }
}
