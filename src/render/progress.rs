//! The ingest progress bar: drawn on stderr when it is a terminal, hidden otherwise. Messages
//! (`crate::messages`) suspend it while they print a line.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar on a terminal, nothing otherwise.
pub(crate) fn bar(total: Option<u64>, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = match total {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::new_spinner(),
    };
    pb.set_draw_target(ProgressDrawTarget::stderr());
    let tmpl = if total.is_some() {
        "{spinner} {prefix} [{bar:30}] {pos}/{len} objects, {msg} ({per_sec}, eta {eta})"
    } else {
        "{spinner} {prefix} {pos} objects, {msg} ({per_sec})"
    };
    pb.set_style(
        ProgressStyle::with_template(tmpl)
            .expect("template is valid")
            .progress_chars("=> "),
    );
    pb.set_prefix(what.to_string());
    pb
}
