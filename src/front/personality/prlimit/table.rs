//! `prlimit`'s table of limits, as util-linux prints it: the columns `--output` names
//! (RESOURCE DESCRIPTION SOFT HARD UNITS by default), aligned, or `--raw`; `--noheadings`.

use crate::machine::rlimit::Rlimit;

/// A column of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Column {
    Resource,
    Description,
    Soft,
    Hard,
    Units,
}

impl Column {
    /// The default columns, in order.
    pub(crate) const DEFAULT: [Column; 5] = [
        Column::Resource,
        Column::Description,
        Column::Soft,
        Column::Hard,
        Column::Units,
    ];

    /// The column `name` names (any case), as `--output` takes it.
    pub(crate) fn named(name: &str) -> Option<Column> {
        Self::DEFAULT
            .into_iter()
            .find(|column| column.heading().eq_ignore_ascii_case(name))
    }

    fn heading(self) -> &'static str {
        match self {
            Column::Resource => "RESOURCE",
            Column::Description => "DESCRIPTION",
            Column::Soft => "SOFT",
            Column::Hard => "HARD",
            Column::Units => "UNITS",
        }
    }

    /// Limits are right-aligned, words left-aligned.
    fn right_aligned(self) -> bool {
        matches!(self, Column::Soft | Column::Hard)
    }
}

/// How the table is printed.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    /// The columns, in order.
    pub(crate) columns: Vec<Column>,
    /// `--noheadings`.
    pub(crate) headings: bool,
    /// `--raw`.
    pub(crate) raw: bool,
}

/// One row: a resource and its limits.
pub(crate) struct TableRow {
    /// The resource.
    pub(crate) resource: Rlimit,
    /// Its soft and hard limits.
    pub(crate) limits: (u64, u64),
}

/// The table of `rows` as `layout` says, one line per row (and the headings).
pub(crate) fn render(layout: &Layout, rows: &[TableRow]) -> String {
    let mut lines: Vec<Vec<String>> = Vec::new();
    if layout.headings {
        lines.push(
            layout
                .columns
                .iter()
                .map(|c| c.heading().to_string())
                .collect(),
        );
    }
    for row in rows {
        lines.push(layout.columns.iter().map(|&c| cell(c, row)).collect());
    }
    let widths: Vec<usize> = (0..layout.columns.len())
        .map(|at| lines.iter().map(|line| line[at].len()).max().unwrap_or(0))
        .collect();
    let mut text = String::new();
    for line in &lines {
        let cells: Vec<String> = line
            .iter()
            .zip(&layout.columns)
            .zip(&widths)
            .enumerate()
            .map(|(at, ((cell, column), &width))| {
                if layout.raw {
                    escape(cell)
                } else if column.right_aligned() {
                    format!("{cell:>width$}")
                } else if at + 1 == layout.columns.len() {
                    // The last column is not padded.
                    cell.clone()
                } else {
                    format!("{cell:<width$}")
                }
            })
            .collect();
        text.push_str(&cells.join(" "));
        text.push('\n');
    }
    text
}

fn cell(column: Column, row: &TableRow) -> String {
    let limit = |value: u64| {
        if value == libc::RLIM_INFINITY {
            "unlimited".to_string()
        } else {
            value.to_string()
        }
    };
    match column {
        Column::Resource => row.resource.table_name().to_string(),
        Column::Description => row.resource.description().to_string(),
        Column::Soft => limit(row.limits.0),
        Column::Hard => limit(row.limits.1),
        Column::Units => row.resource.units().to_string(),
    }
}

/// `--raw`: what would split or garble a cell (blanks, controls, backslash) as `\xHH`.
fn escape(cell: &str) -> String {
    cell.bytes()
        .map(|b| {
            if b.is_ascii_graphic() && b != b'\\' {
                char::from(b).to_string()
            } else {
                format!("\\x{b:02x}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::rlimit::RLIMITS;

    fn nofile_and_nice() -> Vec<TableRow> {
        let named = |name| *RLIMITS.iter().find(|r| r.table_name() == name).unwrap();
        vec![
            TableRow {
                resource: named("NOFILE"),
                limits: (20000, 20000),
            },
            TableRow {
                resource: named("NICE"),
                limits: (0, 0),
            },
        ]
    }

    #[test]
    fn columns_align_as_util_linux_aligns_them() {
        let layout = Layout {
            columns: Column::DEFAULT.to_vec(),
            headings: true,
            raw: false,
        };
        assert_eq!(
            render(&layout, &nofile_and_nice()),
            "RESOURCE DESCRIPTION                     SOFT  HARD UNITS\n\
             NOFILE   max number of open files       20000 20000 files\n\
             NICE     max nice prio allowed to raise     0     0 \n"
        );
    }

    #[test]
    fn raw_escapes_blanks_and_output_picks_columns() {
        let layout = Layout {
            columns: Column::DEFAULT.to_vec(),
            headings: false,
            raw: true,
        };
        assert_eq!(
            render(&layout, &nofile_and_nice()[..1]),
            "NOFILE max\\x20number\\x20of\\x20open\\x20files 20000 20000 files\n"
        );
        let layout = Layout {
            columns: vec![Column::Resource, Column::Soft],
            headings: true,
            raw: false,
        };
        assert_eq!(
            render(&layout, &nofile_and_nice()[..1]),
            "RESOURCE  SOFT\nNOFILE   20000\n"
        );
        assert_eq!(Column::named("soft"), Some(Column::Soft));
        assert_eq!(Column::named("foo"), None);
    }
}
