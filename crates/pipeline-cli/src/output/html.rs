//! A report as one self-contained HTML page: its sections as tables and a
//! chart as inline SVG. No scripts and nothing loaded from elsewhere (the
//! style sheet is inline), so the file can be archived or mailed as is.
//! maud escapes every piece of text put into the page.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::output::document::{Section, Table};

const STYLE: &str = "\
body { font-family: system-ui, -apple-system, 'Segoe UI', 'DejaVu Sans', sans-serif; \
color: #222; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; line-height: 1.4; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
p.subtitle { color: #666; margin-top: 0; }
table { border-collapse: collapse; font-size: 0.9rem; }
th, td { padding: 0.25rem 0.7rem; text-align: left; border-bottom: 1px solid #eee; }
th { border-bottom: 1px solid #bbb; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
ul.notes { padding-left: 1.2rem; }
figure { margin: 0; }
figure svg { max-width: 100%; height: auto; }
";

/// The page: `title` as its heading, `subtitle` under it, the sections in
/// order, then `chart_svg` (an `<svg>` element) under `chart_title`.
pub fn page(
    title: &str,
    subtitle: &str,
    sections: &[Section],
    chart_title: &str,
    chart_svg: &str,
    extra: Option<Markup>,
) -> String {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="generator" content={ "pipeline " (env!("CARGO_PKG_VERSION")) };
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                main {
                    h1 { (title) }
                    p.subtitle { (subtitle) }
                    @for section in sections {
                        (section_html(section))
                    }
                    section {
                        h2 { (chart_title) }
                        figure { (PreEscaped(chart_svg)) }
                    }
                    @if let Some(extra) = extra {
                        (extra)
                    }
                }
            }
        }
    };
    markup.into_string()
}

fn section_html(section: &Section) -> Markup {
    html! {
        section {
            h2 { (section.title) }
            @if let Some(table) = &section.table {
                (table_html(table))
            }
            @if !section.notes.is_empty() {
                ul.notes {
                    @for note in &section.notes {
                        li { (note) }
                    }
                }
            }
        }
    }
}

fn table_html(table: &Table) -> Markup {
    html! {
        table {
            thead {
                tr {
                    @for cell in &table.header {
                        th scope="col" { (cell) }
                    }
                }
            }
            tbody {
                @for row in &table.rows {
                    tr {
                        @for (index, cell) in row.iter().enumerate() {
                            @if index >= table.text_columns {
                                td.number { (cell) }
                            } @else {
                                td { (cell) }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text_and_inlines_the_chart() {
        let sections = [Section {
            title: "spec <differences>".into(),
            table: Some(Table {
                header: vec!["key".into(), "A".into()],
                rows: vec![vec!["name".into(), "<script>alert(1)</script>".into()]],
                text_columns: 2,
            }),
            notes: vec!["A & B".into()],
        }];
        let page = page(
            "t",
            "s",
            &sections,
            "curves",
            "<svg><polyline/></svg>",
            None,
        );
        assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
        assert!(!page.contains("<script>"), "{page}");
        assert!(
            page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{page}"
        );
        assert!(page.contains("spec &lt;differences&gt;"), "{page}");
        assert!(page.contains("A &amp; B"), "{page}");
        assert!(
            page.contains("<figure><svg><polyline/></svg></figure>"),
            "{page}"
        );
        assert!(
            page.contains("<td>name</td>") && !page.contains("class=\"\""),
            "{page}"
        );
    }
}
