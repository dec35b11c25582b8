//! The counted lines of a long build: one per machine to build, `[i/N] …`,
//! and one per machine built, `built k/N machines`. The daemon writes them
//! to its log and to `up`; `up` reads them back with `parse` to draw a bar
//! on a terminal. Formatting and parsing live together so they cannot drift.

/// A progress line, as `parse` understands it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// Machine `i` of `total` is about to be built; `what` describes it.
    Step { i: usize, total: usize, what: &'a str },
    /// `done` of `total` machines answer.
    Built { done: usize, total: usize },
    /// Anything else: a sentence for the user.
    Text(&'a str),
}

pub fn step(i: usize, total: usize, what: &str) -> String {
    format!("[{i}/{total}] {what}")
}

pub fn built(done: usize, total: usize) -> String {
    format!("built {done}/{total} machines")
}

pub fn parse(line: &str) -> Line<'_> {
    let counted = |s: &str| -> Option<(usize, usize)> {
        let (a, b) = s.split_once('/')?;
        Some((a.parse().ok()?, b.parse().ok()?))
    };
    if let Some((n, what)) = line.strip_prefix('[').and_then(|l| l.split_once("] "))
        && let Some((i, total)) = counted(n)
    {
        return Line::Step { i, total, what };
    }
    if let Some(n) = line.strip_prefix("built ").and_then(|l| l.strip_suffix(" machines"))
        && let Some((done, total)) = counted(n)
    {
        return Line::Built { done, total };
    }
    Line::Text(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_back_as_they_were_written() {
        let s = step(3, 120, "VM SalesVM: namespace vnl-x@SalesVM");
        assert_eq!(
            parse(&s),
            Line::Step {
                i: 3,
                total: 120,
                what: "VM SalesVM: namespace vnl-x@SalesVM"
            }
        );
        assert_eq!(parse(&built(40, 120)), Line::Built { done: 40, total: 120 });
        for text in [
            "[x/2] not counted",
            "built some machines",
            "creating the Cloud Shell",
            "[1/2]no space",
        ] {
            assert_eq!(parse(text), Line::Text(text));
        }
    }
}
