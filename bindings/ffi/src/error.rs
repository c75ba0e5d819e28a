//! The one public error, and the one place that turns core errors (and panics) into it.
//!
//! Every variant carries a stable `code` (the core's [`lgt_core::Error::code`]), an English and a
//! Chinese message. Messages hold record ids, field names, positions and dates only: never a
//! name, number, phone or address, because they end up on screens and in crash reports.

use lgt_core::identity::IdError;
use lgt_core::permit::PermitError;
use lgt_core::registration::InputIssue;
use lgt_core::scan::permit_qr::PermitQrError;
use lgt_core::scan::ScanError;
use lgt_core::store::StoreError;
use lgt_core::sync::SyncError;
use lgt_core::watchlist::WatchlistError;

/// One field of a registration that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FieldIssue {
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
            message_en: error.to_string(),
            message_zh: id_zh(error),
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
        fields: Vec<FieldIssue>,
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
        let message_en = error.to_string();
        let message_zh = chinese(error);
        match error {
            E::Validation(errors) => Self::Invalid {
                code,
                message_en,
                message_zh,
                fields: errors.0.iter().map(field_issue).collect(),
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
        let message_en = error.to_string();
        let message_zh = sync_zh(error);
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
            SyncError::Locked { .. } => Self::Locked {
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

fn field_issue(error: &InputIssue) -> FieldIssue {
    FieldIssue {
        field: error.field.clone(),
        code: error.code.to_owned(),
        message_en: error.message.clone(),
        message_zh: field_rule_zh(error.code).to_owned(),
    }
}

/// Chinese for each field rule of registration validation.
fn field_rule_zh(code: &str) -> &'static str {
    match code {
        "required" => "必填",
        "too_long" => "过长",
        "invalid_character" => "含有不允许的字符",
        "unknown_code" => "不是代码表中的代码",
        "invalid_date" => "不是 YYYY-MM-DD 格式的有效日期",
        "in_future" => "不能晚于今天",
        "invalid_phone" => "不是有效的电话号码",
        "mismatch" => "与身份号码不一致",
        "before_birth" => "早于出生日期",
        "before_move_in" => "早于迁入日期",
        "invalid_credit_code" => "不是有效的统一社会信用代码",
        "invalid_document_number" => "证件号码格式无效",
        "invalid_house_code" => "房屋编码格式无效",
        other => id_rule_zh(other),
    }
}

/// Chinese for each identity-number rule, by its code.
fn id_rule_zh(code: &str) -> &'static str {
    match code {
        "id.empty" => "身份号码为空",
        "id.non_ascii" => "身份号码含有数字和 X 以外的字符",
        "id.invalid_character" => "身份号码含有无效字符",
        "id.wrong_length" => "身份号码应为 18 位（或旧式 15 位）",
        "id.legacy_prefix" => "旧式 15 位号码不能使用居住证或外国人前缀",
        "id.invalid_date" => "身份号码中的出生日期无效",
        "id.future_date" => "身份号码中的出生日期晚于今天",
        "id.check_digit" => "身份号码校验码不符（输入错误或号码无效）",
        _ => "无效",
    }
}

fn id_zh(error: &IdError) -> String {
    let base = id_rule_zh(error.code());
    match error {
        IdError::InvalidCharacter { position } => format!("{base}（第 {position} 位）"),
        IdError::WrongLength { length } => format!("{base}，实为 {length} 位"),
        _ => base.to_owned(),
    }
}

fn chinese(error: &lgt_core::Error) -> String {
    use lgt_core::Error as E;
    match error {
        E::Store(store) => match store {
            StoreError::WrongKey => "密钥无法打开此数据库（密钥错误或已更换）".into(),
            StoreError::Key(_) => "无法从密钥提供方取得密钥".into(),
            StoreError::Missing => "该目录中没有数据库".into(),
            StoreError::AlreadyExists => "该目录中已有数据库".into(),
            StoreError::NewerSchema { found } => {
                format!("数据库结构版本为 {found}，高于本程序支持的版本")
            }
            StoreError::Crypto { record, .. } => format!("记录 {record} 无法解密或加密"),
            StoreError::Malformed { record } => format!("存储的记录 {record} 格式错误"),
            StoreError::Sqlite(_) => "数据库错误".into(),
            StoreError::Io(_) => "文件系统错误".into(),
        },
        E::Id(id) => id_zh(id),
        E::Validation(errors) => format!("登记信息有 {} 处错误", errors.0.len()),
        E::Permit(permit) => permit_zh(permit),
        E::NotFound { kind, id } => format!("未找到 {kind} {id}"),
        E::Conflict { .. } => "此操作与已存储的记录冲突".into(),
        E::InvalidArgument { field, .. } => format!("参数 {field} 无效"),
        E::Watchlist(watchlist) => watchlist_zh(watchlist),
        E::Scan(scan) => scan_zh(scan),
        E::PermitQr(qr) => permit_qr_zh(qr),
        E::Sync(sync) => sync_zh(sync),
    }
}

fn sync_zh(error: &SyncError) -> String {
    match error {
        SyncError::NotEnrolled => "本设备尚未在同步服务器注册（请先注册设备）".into(),
        SyncError::AlreadyEnrolled { device_id } => format!("本设备已注册为 {device_id}"),
        SyncError::Transient { .. } => "服务器或网络暂时不可用，稍后将自动重试".into(),
        SyncError::Auth { code } => {
            format!("服务器拒绝了本设备（{code}），请检查时钟或重新注册设备")
        }
        SyncError::Revoked => "本设备已被主管吊销，必须立即清除数据".into(),
        SyncError::WipeOrdered => "服务器签名指令要求清除本设备，必须立即清除数据".into(),
        SyncError::UpgradeRequired { current, minimum } => {
            format!("本程序版本为 {current}，服务器要求至少 {minimum}，请更新应用")
        }
        SyncError::Permanent { status, code, .. } => {
            format!("服务器拒绝了该请求（{status} {code}）")
        }
        SyncError::Locked { since } => {
            format!("自 {since} 起未成功同步：个人数据已锁定，同步成功后解锁")
        }
        SyncError::TooLarge => "请求过大，服务器无法处理".into(),
        SyncError::BadServerAddress { reason } => {
            format!("服务器地址不可用（{reason}）：须为带证书指纹的 https://，或本机回环的 http://")
        }
        SyncError::Cancelled => "同步已取消，其余数据将在下次同步时发送".into(),
        SyncError::UntrustedServer => {
            "服务器的 TLS 密钥与固定的指纹不符，网络可能被劫持；未发送任何数据".into()
        }
        SyncError::Store(_) => "同步时本地数据库出错".into(),
    }
}

fn scan_zh(error: &ScanError) -> String {
    match error {
        ScanError::EmptyFrame => "图像没有像素".into(),
        ScanError::TooLarge { width, height } => {
            format!("图像为 {width}x{height}，超出扫描器可处理的大小")
        }
        ScanError::BadStride { row_stride, width } => {
            format!("行跨度 {row_stride} 小于图像宽度 {width}")
        }
        ScanError::ShortBuffer { needed, got } => {
            format!("亮度数据只有 {got} 字节，需要 {needed} 字节")
        }
        ScanError::RegionOutside => "取景区域在图像之外".into(),
        ScanError::DecoderPanicked => "条码解码器无法处理此图像".into(),
        ScanError::UnknownMode => "扫描模式应为 live 或 still".into(),
        ScanError::FileTooLarge { bytes } => format!("文件为 {bytes} 字节，超出扫描器可处理的大小"),
        ScanError::Io(_) => "无法读取文件".into(),
        ScanError::BadImage(_) => "文件不是可读取的 JPEG、PNG 或 WebP 图像".into(),
        ScanError::Encode => "内容无法编码为二维码".into(),
    }
}

fn permit_qr_zh(error: &PermitQrError) -> String {
    match error {
        PermitQrError::Malformed => "居住证二维码格式错误".into(),
        PermitQrError::UnknownIssuer => "居住证二维码的签发方不受本设备信任".into(),
        PermitQrError::BadSignature => "居住证二维码签名无效：伪造或被篡改".into(),
        PermitQrError::Expired { until } => format!("居住证二维码已于 {until} 过期"),
        PermitQrError::NotYetValid { from } => format!("居住证二维码自 {from} 起生效"),
        PermitQrError::Unencodable => "居住证信息无法编码为二维码".into(),
    }
}

fn watchlist_zh(error: &WatchlistError) -> String {
    match error {
        WatchlistError::Malformed { .. } => "布控名单数据包格式错误".into(),
        WatchlistError::UnknownRoot { key_id } => format!("布控名单由未知根密钥 {key_id} 授权"),
        WatchlistError::BadSignature { .. } => "布控名单签名无效（可能被篡改）".into(),
        WatchlistError::DelegationExpired { at } => format!("布控名单签发密钥的授权已于 {at} 过期"),
        WatchlistError::PayloadMismatch { .. } => "布控名单内容与清单不符".into(),
        WatchlistError::Expired { version, at } => {
            format!("布控名单版本 {version} 已于 {at} 过期，名单已过时")
        }
        WatchlistError::Rollback { current, offered } => {
            format!("布控名单版本 {offered} 不新于正在使用的版本 {current}（回滚）")
        }
        WatchlistError::WrongBase { .. } => "布控名单增量的基础版本与正在使用的版本不符".into(),
        WatchlistError::Mixed { .. } => "布控名单版本混杂".into(),
        WatchlistError::WeakStretch => "布控名单的密钥强度低于本设备的要求".into(),
        WatchlistError::Crypto(_) => "布控名单密码运算失败".into(),
        WatchlistError::InvalidEntry { entry, field, .. } => {
            format!("布控名单条目 {entry} 的 {field} 无效")
        }
    }
}

fn permit_zh(error: &PermitError) -> String {
    match error {
        PermitError::IllegalTransition {
            permit_id, event, ..
        } => format!("居住证 {permit_id}：当前状态下不能执行 {event}"),
        PermitError::EndorsementNotDue { permit_id, opens } => {
            format!("居住证 {permit_id}：签注自 {opens} 起办理")
        }
        PermitError::EndorsementOverdue { permit_id, due } => {
            format!("居住证 {permit_id}：签注已于 {due} 逾期，请先中止再恢复")
        }
        PermitError::NotOverdue { permit_id, due } => {
            format!("居住证 {permit_id}：签注未逾期（截止 {due}）")
        }
        PermitError::UnknownReason { permit_id } => {
            format!("居住证 {permit_id}：注销原因代码无效")
        }
        PermitError::InvalidNumber { permit_id } => {
            format!("居住证 {permit_id}：证号应为 4 至 32 位字母或数字")
        }
        PermitError::StaleVersion {
            permit_id,
            based_on,
            current,
        } => format!("居住证 {permit_id}：自版本 {based_on} 后已被修改（现为 {current}）"),
    }
}

#[cfg(test)]
mod tests {
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
    fn every_identity_rule_has_chinese() {
        let errors = [
            IdError::Empty,
            IdError::NonAscii,
            IdError::InvalidCharacter { position: 3 },
            IdError::WrongLength { length: 7 },
            IdError::LegacyPrefix,
            IdError::InvalidDate,
            IdError::FutureDate,
            IdError::CheckDigit,
        ];
        for error in errors {
            assert_ne!(id_rule_zh(error.code()), "无效", "{}", error.code());
        }
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
