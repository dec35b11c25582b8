//! Tables the way `az -o table` prints them (python-tabulate "simple"):
//! left-aligned columns two spaces apart, a dash rule under the header,
//! no trailing spaces.

use std::io::{self, Write};

pub fn write_table(out: &mut impl Write, headers: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    let widths: Vec<usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            rows.iter()
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                .max()
                .unwrap_or(0)
                .max(h.chars().count())
        })
        .collect();
    let line = |cells: Vec<String>| -> String {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            s.push_str(c);
            if i + 1 < cells.len() {
                s.push_str(&" ".repeat(widths[i] - c.chars().count()));
            }
        }
        s.trim_end().to_string()
    };
    writeln!(out, "{}", line(headers.iter().map(|h| h.to_string()).collect()))?;
    writeln!(out, "{}", line(widths.iter().map(|w| "-".repeat(*w)).collect()))?;
    for r in rows {
        writeln!(out, "{}", line(r.clone()))?;
    }
    Ok(())
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
}
