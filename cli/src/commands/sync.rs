//! `lgt enroll`, `lgt sync`, `lgt status`.

use std::ops::ControlFlow;
use std::time::Duration;

use std::path::PathBuf;

use anyhow::Result;
use lgt_core::crypto::StretchParams;
use lgt_core::sync::{ServerPin, SyncAttempt, SyncError, SyncReport, SyncStatus, WatchOptions};
use lgt_core::watchlist::WatchlistPolicy;
use lgt_core::{Error, FieldCore, Lang};
use serde_json::json;

use super::Session;
use crate::output::CliError;
use crate::watchlist::read_public_key;

pub(super) fn enroll(
    ctx: &Session,
    server: &str,
    server_pins: &[ServerPin],
    code: &str,
    watchlist_roots: &[PathBuf],
    allow_test_cost: bool,
) -> Result<()> {
    let roots = watchlist_roots
        .iter()
        .map(|path| read_public_key(path))
        .collect::<Result<Vec<_>>>()?;
    let core = ctx.open()?;
    let enrollment = core.sync_enroll(server, server_pins, code)?;
    if !roots.is_empty() {
        let mut policy = WatchlistPolicy::new(roots);
        if allow_test_cost {
            policy.min_stretch = StretchParams::MINIMUM;
        }
        core.sync_pin_watchlist(&policy)?;
    }
    ctx.out.value(&enrollment, |e| match ctx.lang {
        Lang::ZhCn => format!(
            "已注册为设备 {}（协管员 {}，辖区 {}）",
            e.device_id, e.coordinator, e.district
        ),
        Lang::En => format!(
            "enrolled as device {} (coordinator {}, district {})",
            e.device_id, e.coordinator, e.district
        ),
    })
}

fn report_line(report: &SyncReport, lang: Lang) -> String {
    let recovered = report.recovered.len();
    let mut line = match lang {
        Lang::ZhCn => format!(
            "已同步：{} 个已确认，{} 个冲突，{} 个隔离，拉取 {} 条{}",
            report.acknowledged,
            report.conflicts,
            report.quarantined,
            report.pulled,
            if recovered == 0 {
                String::new()
            } else {
                format!("，恢复 {recovered} 个分区")
            }
        ),
        Lang::En => format!(
            "synced: {} acknowledged, {} conflicts, {} quarantined, {} entries pulled{}",
            report.acknowledged,
            report.conflicts,
            report.quarantined,
            report.pulled,
            if recovered == 0 {
                String::new()
            } else {
                format!(", {recovered} buckets recovered")
            }
        ),
    };
    for info in &report.watchlist_imported {
        line.push_str(&match lang {
            Lang::ZhCn => format!(
                "\n已导入布控名单 {} 版本 {}（{} 条）",
                info.list_id, info.version, info.entry_count
            ),
            Lang::En => format!(
                "\nwatchlist {} version {} imported ({} entries)",
                info.list_id, info.version, info.entry_count
            ),
        });
    }
    for refused in &report.watchlist_refused {
        line.push_str(&lang.pick(
            format!("\n布控名单数据包被拒绝：{refused}"),
            format!("\nwatchlist package refused: {refused}"),
        ));
    }
    for refused in &report.commands_refused {
        line.push_str(&lang.pick(
            format!("\n服务器指令被拒绝：{refused}"),
            format!("\nserver command refused: {refused}"),
        ));
    }
    if report.device_key_rotated {
        line.push_str(lang.pick(
            "\n已按服务器指令更换设备密钥",
            "\ndevice key replaced, as the server ordered",
        ));
    }
    if report.audit_rollback_suspected {
        line.push_str(lang.pick(
            "\n服务器发现本机的审计记录与其保存的不符（从旧副本恢复，或被改写？）：已通知主管",
            "\nthe server found this store's audit trail not matching the one it holds (restored from an older copy, or rewritten?): a supervisor is told",
        ));
    }
    line
}

pub(super) fn sync(ctx: &Session, watch: bool, interval: u64) -> Result<()> {
    let core = ctx.open()?;
    let result = if watch {
        let options = WatchOptions {
            interval: Duration::from_secs(interval),
            ..WatchOptions::default()
        };
        // The watch runs on the core's runtime; its attempts come back here to be printed.
        let (attempts, printed) = std::sync::mpsc::channel();
        let lang = ctx.lang;
        let running = core.sync_watch(options, move |attempt: &SyncAttempt| {
            let line = match &attempt.result {
                Ok(report) => report_line(report, lang),
                Err(e) => match lang {
                    Lang::ZhCn => format!(
                        "同步失败：{} [{}]",
                        lgt_core::messages::sync_error(e, Lang::ZhCn),
                        e.code()
                    ),
                    Lang::En => format!("sync failed ({}): {e}", e.code()),
                },
            };
            let _ = attempts.send((attempt.result.is_ok(), line, attempt.next_in));
            ControlFlow::Continue(())
        });
        // Ends when the watch does (it drops the sender).
        for (ok, line, next_in) in printed {
            let _ = ctx.out.value(
                &json!({
                    "ok": ok,
                    "message": line,
                    "next_in_secs": next_in.as_secs_f64(),
                }),
                |_| {
                    let next = next_in.as_secs_f64();
                    ctx.lang.pick(
                        format!("{line}；{next:.0} 秒后再次尝试"),
                        format!("{line}; next attempt in {next:.0} s"),
                    )
                },
            );
        }
        running.wait().map(|()| None)
    } else {
        core.sync_now().map(Some)
    };
    match result {
        Err(Error::Sync(SyncError::Revoked | SyncError::WipeOrdered)) => wipe_revoked(ctx, core),
        Err(e) => Err(e.into()),
        Ok(Some(report)) if !report.watchlist_imported.is_empty() => {
            // A new list version: earlier registrations are checked against it now.
            let recheck = core.watchlist_recheck()?;
            let mut value = serde_json::to_value(&report)?;
            value["recheck"] = serde_json::to_value(&recheck)?;
            ctx.out.value(&value, |_| match ctx.lang {
                Lang::ZhCn => format!(
                    "{}\n已复核 {} 人：新增 {} 条预警，解除 {} 条",
                    report_line(&report, ctx.lang),
                    recheck.persons,
                    recheck.raised.len(),
                    recheck.cleared.len()
                ),
                Lang::En => format!(
                    "{}\nre-checked {} persons: {} new alerts, {} cleared",
                    report_line(&report, ctx.lang),
                    recheck.persons,
                    recheck.raised.len(),
                    recheck.cleared.len()
                ),
            })
        }
        Ok(Some(report)) => ctx.out.value(&report, |r| report_line(r, ctx.lang)),
        Ok(None) => Ok(()),
    }
}

/// A revoked device, or one a signed command ordered wiped, purges itself at once: key first,
/// then the files.
fn wipe_revoked(ctx: &Session, core: FieldCore) -> Result<()> {
    let keys = ctx.key_file()?;
    core.wipe(&keys)?;
    anyhow::bail!(CliError::new(
        "sync.wiped",
        "本设备已被主管吊销或被指令清除：数据库已清除",
        "this device was revoked or ordered wiped by a supervisor: its store has been wiped",
    ))
}

pub(super) fn status(ctx: &Session) -> Result<()> {
    let status = ctx.open()?.sync_status()?;
    ctx.out.value(&status, |s| human_status(s, ctx.lang))
}

fn human_status(status: &SyncStatus, lang: Lang) -> String {
    let mut lines = vec![match (&status.enrollment, lang) {
        (Some(e), Lang::ZhCn) => format!(
            "设备 {}，服务器 {}（辖区 {}）",
            e.device_id, e.server_url, e.district
        ),
        (Some(e), Lang::En) => format!(
            "device {} at {} (district {})",
            e.device_id, e.server_url, e.district
        ),
        (None, _) => lang.pick("未注册", "not enrolled").to_owned(),
    }];
    let oldest = status.oldest_pending.as_ref();
    lines.push(match lang {
        Lang::ZhCn => format!(
            "队列：{} 个待发送{}",
            status.queue_depth,
            oldest.map_or_else(String::new, |t| format!("，最早入队于 {t}"))
        ),
        Lang::En => format!(
            "queue: {} waiting{}",
            status.queue_depth,
            oldest.map_or_else(String::new, |t| format!(", oldest queued {t}"))
        ),
    });
    let last_success = status
        .last_success
        .as_deref()
        .unwrap_or(lang.pick("从未", "never"));
    lines.push(lang.pick(
        format!("上次成功同步：{last_success}"),
        format!("last success: {last_success}"),
    ));
    if let Some(error) = &status.last_error {
        lines.push(lang.pick(format!("上次错误：{error}"), format!("last error: {error}")));
    }
    for b in &status.buckets {
        lines.push(match lang {
            Lang::ZhCn => format!(
                "分区 {}：游标 {}，{} 条，校验和 {}",
                b.bucket.as_str(),
                b.cursor,
                b.entries,
                b.checksum
            ),
            Lang::En => format!(
                "bucket {}: cursor {}, {} entries, checksum {}",
                b.bucket.as_str(),
                b.cursor,
                b.entries,
                b.checksum
            ),
        });
    }
    let quarantined = status.quarantined.len();
    lines.push(lang.pick(
        format!("{quarantined} 个已隔离"),
        format!("{quarantined} quarantined"),
    ));
    for q in &status.quarantined {
        lines.push(format!(
            "  {} {} {}: {}",
            q.op_id, q.kind, q.record_id, q.reason
        ));
    }
    lines.join("\n")
}
