//! Tables the way `az -o table` prints them: knack's table output calls
//! python-tabulate with `tablefmt="simple"` and `disable_numparse=True`.
//! Left-aligned columns two spaces apart, each at least two wider than its
//! header (tabulate's `MIN_PADDING`), a dash rule under the header, cells
//! stripped of surrounding whitespace, no trailing spaces, and a cell with
//! line breaks spread over several lines.

use std::io::{self, Write};

/// tabulate's `MIN_PADDING`: a column is this much wider than its header.
const MIN_PADDING: usize = 2;

/// The table, without a final newline (as tabulate returns it); `""` when
/// there are no columns. A row shorter than the headers is padded with
/// empty cells.
pub fn tabulate<H: AsRef<str>>(headers: &[H], rows: &[Vec<String>]) -> String {
    if headers.is_empty() {
        return String::new();
    }
    let headers: Vec<&str> = headers.iter().map(AsRef::as_ref).collect();
    // PRESERVE_WHITESPACE = False; Python's str.strip() also takes the
    // separators \x1c..\x1f.
    let cells: Vec<Vec<&str>> = rows
        .iter()
        .map(|r| {
            (0..headers.len())
                .map(|j| {
                    r.get(j).map_or("", |c| {
                        c.trim_matches(|c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c))
                    })
                })
                .collect()
        })
        .collect();
    let multiline = headers
        .iter()
        .chain(cells.iter().flatten())
        .any(|c| c.contains(['\n', '\r']));
    let lines = |s: &str| -> Vec<String> {
        if !multiline {
            return vec![s.to_string()];
        }
        s.replace("\r\n", "\n")
            .replace('\r', "\n")
            .split('\n')
            .map(String::from)
            .collect()
    };
    let widths: Vec<usize> = (0..headers.len())
        .map(|j| {
            let header = lines(headers[j]).iter().map(|l| width(l)).max().unwrap_or(0) + MIN_PADDING;
            cells
                .iter()
                .flat_map(|r| lines(r[j]))
                .map(|l| width(&l))
                .fold(header, usize::max)
        })
        .collect();
    let render_row = |row: &[&str]| -> Vec<String> {
        let split: Vec<Vec<String>> = row.iter().map(|c| lines(c)).collect();
        (0..split.iter().map(Vec::len).max().unwrap_or(1))
            .map(|i| {
                let parts: Vec<String> = split
                    .iter()
                    .zip(&widths)
                    .map(|(c, w)| {
                        // A cell with fewer lines is padded with blank lines.
                        let s = c.get(i).map_or("", String::as_str);
                        format!("{s}{}", " ".repeat(w.saturating_sub(width(s))))
                    })
                    .collect();
                // tabulate's _build_simple_row strips every line's end.
                parts.join("  ").trim_end().to_string()
            })
            .collect()
    };
    let mut out = render_row(&headers);
    out.push(widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("  "));
    for r in &cells {
        out.extend(render_row(r));
    }
    out.join("\n")
}

/// [`tabulate`] and a newline, as knack writes it.
pub fn write_table(out: &mut impl Write, headers: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    writeln!(out, "{}", tabulate(headers, rows))
}

/// Terminal cell width as wcwidth gives it (common wide and zero-width
/// ranges only).
fn width(s: &str) -> usize {
    s.chars()
        .map(|c| match c as u32 {
            0x300..=0x36f | 0x200b..=0x200f => 0,
            0x1100..=0x115f
            | 0x2e80..=0x303e
            | 0x3041..=0xa4cf
            | 0xac00..=0xd7a3
            | 0xf900..=0xfaff
            | 0xfe30..=0xfe4f
            | 0xff00..=0xff60
            | 0xffe0..=0xffe6
            | 0x1f300..=0x1f64f
            | 0x1f900..=0x1f9ff
            | 0x20000..=0x3fffd => 2,
            _ => 1,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_tabulate_simple() {
        let mut out = Vec::new();
        super::write_table(
            &mut out,
            &["Name", "State"],
            &[vec!["a".into(), "Connected".into()], vec!["longer".into(), "".into()]],
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Name    State\n------  ---------\na       Connected\nlonger\n"
        );
    }

    #[test]
    fn a_column_is_two_wider_than_its_header_and_cells_are_stripped() {
        let t = super::tabulate(&["Source", "Next Hop IP"], &[vec![" Default ".into()]]);
        assert_eq!(t, "Source    Next Hop IP\n--------  -------------\nDefault");
    }

    #[test]
    fn a_cell_with_a_line_break_spans_lines() {
        let t = super::tabulate(&["A", "B"], &[vec!["x\ny".into(), "z".into()]]);
        assert_eq!(t, "A    B\n---  ---\nx    z\ny");
    }
}
