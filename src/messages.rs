//! Non-fatal problems, counted and reported in one place.
//!
//! Every error or warning about an object, a stream or a record goes through [`Messages`]: one line on
//! stderr naming the object and the reason (sanitised of terminal escapes), and a count the summary and
//! the exit code are taken from. A progress bar, when shown, is suspended while a line is printed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use indicatif::ProgressBar;

use crate::render::sanitize;

/// Reports problems and counts them.
#[derive(Default)]
pub(crate) struct Messages {
    errors: AtomicU64,
    warnings: AtomicU64,
    progress: Mutex<Option<ProgressBar>>,
}

impl Messages {
    pub(crate) fn new() -> Messages {
        Messages::default()
    }

    /// Route lines around this bar while it is shown.
    pub(crate) fn attach(&self, pb: Option<ProgressBar>) {
        *self.progress.lock().expect("progress lock") = pb;
    }

    fn print(&self, line: String) {
        let pb = self.progress.lock().expect("progress lock").clone();
        match pb {
            Some(pb) if !pb.is_hidden() => pb.suspend(|| eprintln!("{line}")),
            _ => eprintln!("{line}"),
        }
    }

    /// `what` could not be read (whole): it is not marked done and the run's exit code will say so.
    pub(crate) fn error(&self, what: &str, reason: &str) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        self.print(format!(
            "sagetrail: error: {}: {}",
            sanitize(what),
            sanitize(reason)
        ));
    }

    /// Worth knowing, changes nothing.
    pub(crate) fn warn(&self, what: &str, reason: &str) {
        self.warnings.fetch_add(1, Ordering::Relaxed);
        self.print(format!(
            "sagetrail: warning: {}: {}",
            sanitize(what),
            sanitize(reason)
        ));
    }

    pub(crate) fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }
}
