//! A report as data: titled sections, each a table and a few sentences. A
//! command builds the sections once; they are printed as text here and
//! rendered as HTML by `output::html`, so the terminal and the page show the
//! same tables.

use crate::output::format;

/// A table of already formatted cells.
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// How many leading columns hold words; the rest hold numbers and are
    /// right-aligned.
    pub text_columns: usize,
}

/// A titled part of a report.
pub struct Section {
    pub title: String,
    pub table: Option<Table>,
    /// Sentences printed after the table.
    pub notes: Vec<String>,
}

impl Section {
    /// The section as plain text: its title, the table indented by two
    /// spaces, then the notes.
    pub fn text(&self) -> String {
        let mut out = format!("{}\n", self.title);
        if let Some(table) = &self.table {
            let indent = |cells: &[String]| -> Vec<String> {
                cells
                    .iter()
                    .enumerate()
                    .map(|(index, cell)| match index {
                        0 => format!("  {cell}"),
                        _ => cell.clone(),
                    })
                    .collect()
            };
            let header = indent(&table.header);
            let header: Vec<&str> = header.iter().map(String::as_str).collect();
            let mut rendered = format::table(&header);
            for row in &table.rows {
                rendered.add_row(indent(row));
            }
            format::align_numbers(&mut rendered, table.text_columns);
            out.push_str(&format::render(&rendered));
            out.push('\n');
        }
        for note in &self.notes {
            out.push_str(&format!("  {note}\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_indents_the_table_and_the_notes() {
        let section = Section {
            title: "gaps".into(),
            table: Some(Table {
                header: vec!["metric".into(), "A".into()],
                rows: vec![vec!["loss".into(), "12.5".into()]],
                text_columns: 1,
            }),
            notes: vec!["A: fine".into()],
        };
        let text = section.text();
        assert!(text.starts_with("gaps\n"), "{text}");
        assert!(text.contains("  metric"), "{text}");
        assert!(text.contains("  loss"), "{text}");
        assert!(text.ends_with("  A: fine\n"), "{text}");
    }
}
