//! Progress bars for the long operations — `up` of a lab, `down`, `test` —
//! on a terminal only. Piped, in CI or into a log, the same operations
//! print the plain lines they always printed, so their output stays
//! greppable and diffable.

use std::io::{self, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// From this many machines on, `up` folds the per-machine lines into the
/// bar's message: a learner reads six lines, nobody reads five thousand.
pub const FOLD_FROM: usize = 20;

const TEMPLATE: &str = "{spinner} {prefix} [{bar:32}] {pos}/{len} ({elapsed}) {wide_msg}";

/// A bar on stderr when stderr is a terminal; otherwise nothing is drawn
/// and `println` writes plain lines.
#[derive(Debug)]
pub struct Bar(Option<ProgressBar>);

impl Bar {
    pub fn new(total: usize, what: &str) -> Self {
        Self::to(ProgressDrawTarget::stderr(), total, what)
    }

    fn to(target: ProgressDrawTarget, total: usize, what: &str) -> Self {
        let bar = ProgressBar::with_draw_target(Some(total as u64), target);
        if bar.is_hidden() {
            return Self(None);
        }
        let style = ProgressStyle::with_template(TEMPLATE).unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style.progress_chars("=> "));
        bar.set_prefix(what.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        Self(Some(bar))
    }

    /// Whether a bar is drawn (stderr is a terminal).
    pub fn shown(&self) -> bool {
        self.0.is_some()
    }

    pub fn set(&self, done: usize) {
        if let Some(b) = &self.0 {
            b.set_position(done as u64);
        }
    }

    pub fn inc(&self) {
        if let Some(b) = &self.0 {
            b.inc(1);
        }
    }

    pub fn message(&self, what: &str) {
        if let Some(b) = &self.0 {
            b.set_message(what.to_string());
        }
    }

    /// A line above the bar, or just the line when there is no bar.
    pub fn println(&self, out: &mut impl Write, line: &str) -> io::Result<()> {
        match &self.0 {
            Some(b) => b.suspend(|| {
                writeln!(out, "{line}")?;
                out.flush()
            }),
            None => {
                writeln!(out, "{line}")?;
                out.flush()
            }
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_parses() {
        assert!(ProgressStyle::with_template(TEMPLATE).is_ok());
    }

    #[test]
    fn without_a_terminal_lines_stay_plain_lines() {
        let bar = Bar::to(ProgressDrawTarget::hidden(), 3, "building");
        assert!(!bar.shown());
        let mut out = Vec::new();
        bar.set(2);
        bar.message("VM SalesVM");
        bar.println(&mut out, "  [1/3] VM SalesVM").unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "  [1/3] VM SalesVM\n");
    }

    #[test]
    fn on_a_terminal_the_bar_counts_and_lines_still_arrive() {
        let term = indicatif::InMemoryTerm::new(4, 100);
        let bar = Bar::to(ProgressDrawTarget::term_like(Box::new(term.clone())), 4, "building");
        assert!(bar.shown());
        bar.set(3);
        bar.message("VM ResearchVM");
        let mut out = Vec::new();
        bar.println(&mut out, "a warning").unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "a warning\n");
        if let Some(b) = &bar.0 {
            b.tick();
        }
        let screen = term.contents();
        assert!(screen.contains("building"), "{screen}");
        assert!(screen.contains("3/4"), "{screen}");
        assert!(screen.contains("VM ResearchVM"), "{screen}");
    }
}
