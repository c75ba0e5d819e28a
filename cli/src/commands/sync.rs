//! `lgt enroll`, `lgt sync`, `lgt status`.

use std::ops::ControlFlow;
use std::time::Duration;

use std::path::PathBuf;

use anyhow::{Context, Result};
use lgt_core::crypto::{KeyFile, StretchParams};
use lgt_core::sync::{ServerPin, SyncAttempt, SyncError, SyncReport, SyncStatus, WatchOptions};
use lgt_core::watchlist::WatchlistPolicy;
use lgt_core::{Error, FieldCore};
use serde_json::json;

use super::Session;
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
    ctx.out.value(&enrollment, |e| {
        format!(
            "enrolled as device {} (coordinator {}, district {})",
            e.device_id, e.coordinator, e.district
        )
    })
}

fn report_line(report: &SyncReport) -> String {
    let mut line = format!(
        "synced: {} acknowledged, {} conflicts, {} quarantined, {} entries pulled{}",
        report.acknowledged,
        report.conflicts,
        report.quarantined,
        report.pulled,
        if report.recovered.is_empty() {
            String::new()
        } else {
            format!(", {} buckets recovered", report.recovered.len())
        }
    );
    for info in &report.watchlist_imported {
        line.push_str(&format!(
            "\nwatchlist {} version {} imported ({} entries)",
            info.list_id, info.version, info.entry_count
        ));
    }
    for refused in &report.watchlist_refused {
        line.push_str(&format!("\nwatchlist package refused: {refused}"));
    }
    for refused in &report.commands_refused {
        line.push_str(&format!("\nserver command refused: {refused}"));
    }
    if report.device_key_rotated {
        line.push_str("\ndevice key replaced, as the server ordered");
    }
    if report.audit_rollback_suspected {
        line.push_str(
            "\nthe server found this store older than its last sync (restored from a copy?): a supervisor is told",
        );
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
        let running = core.sync_watch(options, move |attempt: &SyncAttempt| {
            let line = match &attempt.result {
                Ok(report) => report_line(report),
                Err(e) => format!("sync failed ({}): {e}", e.code()),
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
                |_| format!("{line}; next attempt in {:.0} s", next_in.as_secs_f64()),
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
            ctx.out.value(&value, |_| {
                format!(
                    "{}\nre-checked {} persons: {} new alerts, {} cleared",
                    report_line(&report),
                    recheck.persons,
                    recheck.raised.len(),
                    recheck.cleared.len()
                )
            })
        }
        Ok(Some(report)) => ctx.out.value(&report, report_line),
        Ok(None) => Ok(()),
    }
}

/// A revoked device, or one a signed command ordered wiped, purges itself at once: key first,
/// then the files.
fn wipe_revoked(ctx: &Session, core: FieldCore) -> Result<()> {
    let keys = KeyFile::open(ctx.key_path()?).context("cannot read the key file")?;
    core.wipe(&keys)?;
    anyhow::bail!(
        "this device was revoked or ordered wiped by a supervisor: its store has been wiped"
    )
}

pub(super) fn status(ctx: &Session) -> Result<()> {
    let status = ctx.open()?.sync_status()?;
    ctx.out.value(&status, human_status)
}

fn human_status(status: &SyncStatus) -> String {
    let mut lines = vec![match &status.enrollment {
        Some(e) => format!(
            "device {} at {} (district {})",
            e.device_id, e.server_url, e.district
        ),
        None => "not enrolled".to_owned(),
    }];
    lines.push(format!(
        "queue: {} waiting{}",
        status.queue_depth,
        status
            .oldest_pending
            .as_ref()
            .map_or_else(String::new, |t| format!(", oldest queued {t}"))
    ));
    lines.push(format!(
        "last success: {}",
        status.last_success.as_deref().unwrap_or("never")
    ));
    if let Some(error) = &status.last_error {
        lines.push(format!("last error: {error}"));
    }
    for b in &status.buckets {
        lines.push(format!(
            "bucket {}: cursor {}, {} entries, checksum {}",
            b.bucket.as_str(),
            b.cursor,
            b.entries,
            b.checksum
        ));
    }
    lines.push(format!("{} quarantined", status.quarantined.len()));
    for q in &status.quarantined {
        lines.push(format!(
            "  {} {} {}: {}",
            q.op_id, q.kind, q.record_id, q.reason
        ));
    }
    lines.join("\n")
}
