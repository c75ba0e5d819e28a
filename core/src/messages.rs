//! The message catalogue: what a coordinator or supervisor reads, in Chinese first and
//! English beside it, keyed by the stable error code.
//!
//! Every shell takes its words from here: the FFI facade puts both languages into each
//! public error, `lgt` prints the one its locale or `--lang` asks for. So a message is
//! written once, and a new error cannot ship without its Chinese (the matches below are
//! exhaustive).
//!
//! Messages carry only what identifies the record or the rule: record ids, field names,
//! positions, lengths, dates, versions and counts. Never a name, number, phone or address:
//! they end up on screens that are photographed, in logs and in crash reports.

use crate::identity::IdError;
use crate::permit::PermitError;
use crate::registration::InputIssue;
use crate::scan::permit_qr::PermitQrError;
use crate::scan::ScanError;
use crate::store::StoreError;
use crate::sync::SyncError;
use crate::watchlist::WatchlistError;
use crate::Error;

/// The language of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// Simplified Chinese (zh-CN): the default.
    #[default]
    ZhCn,
    /// English.
    En,
}

impl Lang {
    /// The language a POSIX locale (`LANG`, `LC_ALL`, `LC_MESSAGES`) or a tag such as `zh-CN`
    /// or `en` names; `None` for another language, and for `C`/`POSIX`, which choose none.
    pub fn from_locale(locale: &str) -> Option<Self> {
        let tag = locale.trim().to_ascii_lowercase();
        if tag.starts_with("zh") {
            Some(Self::ZhCn)
        } else if tag.starts_with("en") {
            Some(Self::En)
        } else {
            None
        }
    }
}

impl Lang {
    /// `zh` in Chinese, `en` in English: how a shell picks between its own two texts.
    pub fn pick<T>(self, zh: T, en: T) -> T {
        match self {
            Self::ZhCn => zh,
            Self::En => en,
        }
    }
}

impl Error {
    /// What to tell a coordinator or supervisor about this error, in `lang`; shown beside
    /// [`Error::code`]. Holds ids, field names, positions, dates and counts, never a
    /// personal value.
    pub fn message(&self, lang: Lang) -> String {
        match lang {
            // The Display texts are the English catalogue: written without values already.
            Lang::En => self.to_string(),
            Lang::ZhCn => chinese(self),
        }
    }
}

/// Why one field of a registration failed, in `lang`, without the field's name (shells put
/// it beside) and without its value.
pub fn input_issue(issue: &InputIssue, lang: Lang) -> String {
    match lang {
        // The validator's English depends on the field (a length limit, a document type),
        // so it is kept on the issue; the Chinese goes by the rule's code.
        Lang::En => issue.message.clone(),
        Lang::ZhCn => rule_zh(issue.code).to_owned(),
    }
}

/// Why an identity number was rejected, in `lang`, with the position or length where the
/// rule has one and never the number.
pub fn id_error(error: &IdError, lang: Lang) -> String {
    match lang {
        Lang::En => error.to_string(),
        Lang::ZhCn => id_zh(error),
    }
}

/// Why a sync failed, in `lang`: the same text as [`Error::message`] gives for
/// [`Error::Sync`], for the engine's observers, which see the error by reference.
pub fn sync_error(error: &SyncError, lang: Lang) -> String {
    match lang {
        Lang::En => error.to_string(),
        Lang::ZhCn => sync_zh(error),
    }
}

/// Chinese for each rule of registration validation, by its code (the identity-number
/// rules by theirs); `无效` for a code this build does not know.
fn rule_zh(code: &str) -> &'static str {
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
        other => id_rule_zh(other).unwrap_or("无效"),
    }
}

/// Chinese for each identity-number rule, by its code.
fn id_rule_zh(code: &str) -> Option<&'static str> {
    Some(match code {
        "id.empty" => "身份号码为空",
        "id.non_ascii" => "身份号码含有数字和 X 以外的字符",
        "id.invalid_character" => "身份号码含有无效字符",
        "id.wrong_length" => "身份号码应为 18 位（或旧式 15 位）",
        "id.legacy_prefix" => "旧式 15 位号码不能使用居住证或外国人前缀",
        "id.invalid_date" => "身份号码中的出生日期无效",
        "id.future_date" => "身份号码中的出生日期晚于今天",
        "id.check_digit" => "身份号码校验码不符（输入错误或号码无效）",
        _ => return None,
    })
}

fn id_zh(error: &IdError) -> String {
    let base = id_rule_zh(error.code()).unwrap_or("身份号码无效");
    match error {
        IdError::InvalidCharacter { position } => format!("{base}（第 {position} 位）"),
        IdError::WrongLength { length } => format!("{base}，实为 {length} 位"),
        _ => base.to_owned(),
    }
}

fn chinese(error: &Error) -> String {
    match error {
        Error::Store(store) => store_zh(store),
        Error::Id(id) => id_zh(id),
        Error::Validation(errors) => {
            let fields: Vec<String> = errors
                .0
                .iter()
                .map(|issue| format!("{} {}", issue.field, rule_zh(issue.code)))
                .collect();
            format!(
                "登记信息有 {} 处错误：{}",
                errors.0.len(),
                fields.join("；")
            )
        }
        Error::Permit(permit) => permit_zh(permit),
        Error::NotFound { kind, id } => format!("未找到 {kind} {id}"),
        Error::Conflict { .. } => "此操作与已存储的记录冲突".into(),
        Error::InvalidArgument { field, .. } => format!("参数 {field} 无效"),
        Error::Watchlist(watchlist) => watchlist_zh(watchlist),
        Error::Scan(scan) => scan_zh(scan),
        Error::PermitQr(qr) => permit_qr_zh(qr),
        Error::Sync(sync) => sync_zh(sync),
    }
}

fn store_zh(error: &StoreError) -> String {
    match error {
        StoreError::WrongKey => "密钥无法打开此数据库（密钥错误或已更换）".into(),
        StoreError::Key(_) => "无法从密钥提供方取得密钥".into(),
        StoreError::Missing => "该目录中没有数据库".into(),
        StoreError::AlreadyExists => "该目录中已有数据库".into(),
        StoreError::NewerSchema { found } => {
            format!("数据库结构版本为 {found}，高于本程序支持的版本")
        }
        StoreError::Crypto { record, .. } => format!("记录 {record} 无法解密或加密"),
        StoreError::Malformed { record } => format!("存储的记录 {record} 格式错误"),
        StoreError::Full => "设备存储空间已满：本次更改未保存".into(),
        StoreError::ReadOnly => "设备存储为只读：本次更改未保存".into(),
        StoreError::Sqlite(_) => "数据库错误".into(),
        StoreError::Io(_) => "文件系统错误".into(),
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
        SyncError::ClockRollback { latest } => {
            format!("时钟早于本机已记录的时间 {latest}（时钟被调回）：个人数据已锁定，请校正时钟，同步成功后解锁")
        }
        SyncError::ClockTampered => {
            "本机的时间记录未通过校验（已被篡改）：个人数据已锁定，同步成功后解锁".into()
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
    use std::collections::BTreeSet;

    use chrono::{NaiveDate, TimeZone, Utc};

    use super::*;
    use crate::crypto::{CryptoError, KeyError};
    use crate::permit::PermitState;
    use crate::registration::{validate, RegistrationInput, ValidationErrors};

    #[test]
    fn locales_name_their_language() {
        assert_eq!(Lang::from_locale("zh_CN.UTF-8"), Some(Lang::ZhCn));
        assert_eq!(Lang::from_locale("zh-CN"), Some(Lang::ZhCn));
        assert_eq!(Lang::from_locale("en_US.UTF-8"), Some(Lang::En));
        // The C locale chooses no language: the caller's default (Chinese) stands.
        assert_eq!(Lang::from_locale("C.UTF-8"), None);
        assert_eq!(Lang::from_locale("fr_FR.UTF-8"), None);
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    /// One error per variant the core can return (by way of `Error`).
    fn samples() -> Vec<Error> {
        let at = Utc.with_ymd_and_hms(2026, 11, 29, 2, 0, 0).unwrap();
        let permit_id = || "permit-1".to_owned();
        let store = [
            StoreError::WrongKey,
            StoreError::Missing,
            StoreError::AlreadyExists,
            StoreError::Key(KeyError::Provider("locked".into())),
            StoreError::NewerSchema { found: 9 },
            StoreError::Crypto {
                record: "person:p-1".into(),
                source: CryptoError::Authentication,
            },
            StoreError::Malformed {
                record: "person:p-1".into(),
            },
            StoreError::Sqlite(rusqlite::Error::QueryReturnedNoRows),
            StoreError::Io(std::io::ErrorKind::NotFound),
            StoreError::Full,
            StoreError::ReadOnly,
        ];
        let id = [
            IdError::Empty,
            IdError::NonAscii,
            IdError::InvalidCharacter { position: 3 },
            IdError::WrongLength { length: 7 },
            IdError::LegacyPrefix,
            IdError::InvalidDate,
            IdError::FutureDate,
            IdError::CheckDigit,
        ];
        let permit = [
            PermitError::IllegalTransition {
                permit_id: permit_id(),
                state: PermitState::Cancelled,
                event: "endorse",
            },
            PermitError::EndorsementNotDue {
                permit_id: permit_id(),
                opens: day("2027-10-29"),
            },
            PermitError::EndorsementOverdue {
                permit_id: permit_id(),
                due: day("2026-10-29"),
            },
            PermitError::NotOverdue {
                permit_id: permit_id(),
                due: day("2027-11-29"),
            },
            PermitError::UnknownReason {
                permit_id: permit_id(),
            },
            PermitError::InvalidNumber {
                permit_id: permit_id(),
            },
            PermitError::StaleVersion {
                permit_id: permit_id(),
                based_on: 1,
                current: 2,
            },
        ];
        let watchlist = [
            WatchlistError::Malformed { what: "manifest" },
            WatchlistError::UnknownRoot {
                key_id: "0011223344556677".into(),
            },
            WatchlistError::BadSignature { what: "manifest" },
            WatchlistError::DelegationExpired { at },
            WatchlistError::PayloadMismatch { what: "hash" },
            WatchlistError::Expired { version: 3, at },
            WatchlistError::Rollback {
                current: 2,
                offered: 1,
            },
            WatchlistError::WrongBase {
                current: Some(2),
                base: Some(1),
            },
            WatchlistError::Mixed {
                reason: "epoch 1 and 2".into(),
            },
            WatchlistError::WeakStretch,
            WatchlistError::Crypto(CryptoError::InvalidParameters),
            WatchlistError::InvalidEntry {
                entry: "line 2".into(),
                field: "id_numbers",
                reason: "is not an identity number".into(),
            },
        ];
        let scan = [
            ScanError::EmptyFrame,
            ScanError::TooLarge {
                width: 9000,
                height: 9000,
            },
            ScanError::BadStride {
                row_stride: 10,
                width: 20,
            },
            ScanError::ShortBuffer {
                needed: 400,
                got: 10,
            },
            ScanError::RegionOutside,
            ScanError::DecoderPanicked,
            ScanError::UnknownMode,
            ScanError::FileTooLarge { bytes: 1 << 30 },
            ScanError::Io("not found".into()),
            ScanError::BadImage("truncated".into()),
            ScanError::Encode,
        ];
        let permit_qr = [
            PermitQrError::Malformed,
            PermitQrError::UnknownIssuer,
            PermitQrError::BadSignature,
            PermitQrError::Expired {
                until: day("2026-01-01"),
            },
            PermitQrError::NotYetValid {
                from: day("2027-01-01"),
            },
            PermitQrError::Unencodable,
        ];
        let sync = [
            SyncError::NotEnrolled,
            SyncError::AlreadyEnrolled {
                device_id: "dev-1".into(),
            },
            SyncError::Transient {
                reason: "503".into(),
                retry_after: None,
            },
            SyncError::Auth {
                code: "auth.clock_skew".into(),
            },
            SyncError::Revoked,
            SyncError::WipeOrdered,
            SyncError::UpgradeRequired {
                current: "0.1.0".into(),
                minimum: "0.2.0".into(),
            },
            SyncError::Permanent {
                status: 400,
                code: "bad_request".into(),
                message: "malformed batch".into(),
            },
            SyncError::Locked {
                since: "2026-11-29".into(),
            },
            SyncError::ClockRollback {
                latest: "2026-11-29T02:00:00.000000Z".into(),
            },
            SyncError::ClockTampered,
            SyncError::BadServerAddress {
                reason: "no pin".into(),
            },
            SyncError::UntrustedServer,
            SyncError::Cancelled,
            SyncError::TooLarge,
            SyncError::Store(StoreError::Missing),
        ];
        let mut errors: Vec<Error> = Vec::new();
        errors.extend(store.map(Error::Store));
        errors.extend(id.map(Error::Id));
        errors.push(Error::Validation(ValidationErrors(vec![InputIssue {
            field: "person.name".into(),
            code: "required",
            message: "is required".into(),
        }])));
        errors.extend(permit.map(Error::Permit));
        errors.extend(watchlist.map(Error::Watchlist));
        errors.extend(scan.map(Error::Scan));
        errors.extend(permit_qr.map(Error::PermitQr));
        errors.extend(sync.map(Error::Sync));
        errors.push(Error::NotFound {
            kind: "person",
            id: "p-1".into(),
        });
        errors.push(Error::Conflict {
            reason: "document held by p-2".into(),
        });
        errors.push(Error::InvalidArgument {
            field: "limit",
            reason: "must be positive".into(),
        });
        errors
    }

    /// Every code `Error::code` gives: the catalogue must speak for each.
    const CODES: &[&str] = &[
        "store.wrong_key",
        "store.missing",
        "store.exists",
        "store.key_unavailable",
        "store.newer_schema",
        "store.corrupt",
        "store.io",
        "store.full",
        "store.read_only",
        "id.empty",
        "id.non_ascii",
        "id.invalid_character",
        "id.wrong_length",
        "id.legacy_prefix",
        "id.invalid_date",
        "id.future_date",
        "id.check_digit",
        "validation",
        "permit.illegal_transition",
        "permit.endorsement_not_due",
        "permit.endorsement_overdue",
        "permit.not_overdue",
        "permit.unknown_reason",
        "permit.invalid_number",
        "permit.stale_version",
        "watchlist.malformed",
        "watchlist.unknown_root",
        "watchlist.bad_signature",
        "watchlist.delegation_expired",
        "watchlist.payload_mismatch",
        "watchlist.expired",
        "watchlist.rollback",
        "watchlist.wrong_base",
        "watchlist.mixed",
        "watchlist.weak_stretch",
        "watchlist.crypto",
        "watchlist.invalid_entry",
        "scan.empty_image",
        "scan.too_large",
        "scan.bad_frame",
        "scan.region_outside",
        "scan.decoder_failed",
        "scan.unknown_mode",
        "scan.io",
        "scan.bad_image",
        "scan.encode",
        "permit_qr.malformed",
        "permit_qr.unknown_issuer",
        "permit_qr.forged",
        "permit_qr.expired",
        "permit_qr.not_yet_valid",
        "permit_qr.unencodable",
        "sync.not_enrolled",
        "sync.already_enrolled",
        "sync.transient",
        "sync.auth",
        "sync.revoked",
        "sync.wipe_ordered",
        "sync.upgrade_required",
        "sync.locked",
        "sync.clock_rollback",
        "sync.clock_tampered",
        "sync.refused",
        "sync.too_large",
        "sync.bad_server_address",
        "sync.untrusted_server",
        "sync.cancelled",
        "sync.store",
        "not_found",
        "conflict",
        "invalid_argument",
    ];

    fn has_chinese(text: &str) -> bool {
        text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
    }

    #[test]
    fn every_code_has_chinese_and_english() {
        let samples = samples();
        let covered: BTreeSet<&str> = samples.iter().map(Error::code).collect();
        let expected: BTreeSet<&str> = CODES.iter().copied().collect();
        assert_eq!(
            covered, expected,
            "a code without a sample, or a sample without a code"
        );
        for error in &samples {
            let zh = error.message(Lang::ZhCn);
            let en = error.message(Lang::En);
            assert!(has_chinese(&zh), "{}: {zh:?}", error.code());
            assert!(
                !en.trim().is_empty() && !has_chinese(&en),
                "{}: {en:?}",
                error.code()
            );
        }
    }

    #[test]
    fn parameters_reach_the_message_in_both_languages() {
        let error = Error::Permit(PermitError::EndorsementNotDue {
            permit_id: "permit-7".into(),
            opens: day("2027-10-29"),
        });
        for lang in [Lang::ZhCn, Lang::En] {
            let text = error.message(lang);
            assert!(
                text.contains("permit-7") && text.contains("2027-10-29"),
                "{text}"
            );
        }
        let wrong = IdError::WrongLength { length: 10 };
        assert_eq!(
            id_error(&wrong, Lang::ZhCn),
            "身份号码应为 18 位（或旧式 15 位），实为 10 位"
        );
        assert!(id_error(&wrong, Lang::En).contains("10 characters"));
    }

    #[test]
    fn every_validation_rule_has_chinese() {
        let rules = [
            "required",
            "too_long",
            "invalid_character",
            "unknown_code",
            "invalid_date",
            "in_future",
            "invalid_phone",
            "mismatch",
            "before_birth",
            "before_move_in",
            "invalid_credit_code",
            "invalid_document_number",
            "invalid_house_code",
        ];
        let id_rules = samples().into_iter().filter_map(|e| match e {
            Error::Id(id) => Some(id.code()),
            _ => None,
        });
        for code in rules.into_iter().chain(id_rules) {
            assert_ne!(rule_zh(code), "无效", "{code}");
        }
        assert_eq!(rule_zh("a rule of a later build"), "无效");
    }

    /// Synthetic personal values: none may come back in any message.
    const NAME: &str = "测试人3";
    const ID_NUMBER: &str = "110105194912310021";
    const PHONE: &str = "139x0000000";
    const ADDRESS: &str = "合成市演示路\u{7}1号";

    fn bad_registration() -> RegistrationInput {
        serde_json::from_value(serde_json::json!({
            "person": { "name": NAME, "sex": "2", "ethnicity": "01" },
            "document": { "type": "1", "number": ID_NUMBER },
            "household_address": ADDRESS,
            "dwelling": { "house_code": "HC-1", "address": ADDRESS, "housing_type": "2" },
            "moved_in": "2026-10-01",
            "reason_for_stay": "1",
            "occupation": "5",
            "landlord": { "name": NAME, "phone": PHONE }
        }))
        .unwrap()
    }

    fn assert_no_personal_value(text: &str) {
        for value in [
            NAME,
            ID_NUMBER,
            PHONE,
            ADDRESS,
            "测试人",
            "合成市演示路",
            "1949",
        ] {
            assert!(!text.contains(value), "{value:?} in {text:?}");
        }
    }

    #[test]
    fn messages_never_carry_personal_values() {
        let today = day("2026-11-29");
        let errors = validate(&bad_registration(), today).unwrap_err();
        let codes: BTreeSet<&str> = errors.0.iter().map(|issue| issue.code).collect();
        assert!(
            ["id.check_digit", "invalid_character", "invalid_phone"]
                .iter()
                .all(|code| codes.contains(code)),
            "{codes:?}"
        );
        for lang in [Lang::ZhCn, Lang::En] {
            for issue in &errors.0 {
                assert_no_personal_value(&input_issue(issue, lang));
            }
        }
        let mut failures = vec![Error::Validation(errors)];
        for number in [
            ID_NUMBER,
            "11010519491231002",
            "1101051949123100AX",
            "110105194913310021",
            " 110105194912310021测 ",
        ] {
            failures.push(crate::identity::parse(number, today).unwrap_err().into());
        }
        for error in &failures {
            for lang in [Lang::ZhCn, Lang::En] {
                assert_no_personal_value(&error.message(lang));
            }
        }
    }
}
