//! Number and table formatting shared by the commands.

use comfy_table::{Cell, CellAlignment, Table, presets};

/// A metric value with 4 significant digits (fixed notation for common ranges).
pub fn number(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let magnitude = value.abs();
    if magnitude == 0.0 {
        "0".into()
    } else if !(1e-3..1e6).contains(&magnitude) {
        format!("{value:.3e}")
    } else {
        let decimals = (3 - magnitude.log10().floor() as i32).clamp(0, 6) as usize;
        format!("{value:.decimals$}")
    }
}

/// A signed difference, e.g. `+12.5` or `-0.031`.
pub fn signed(value: f64) -> String {
    if value >= 0.0 {
        format!("+{}", number(value))
    } else {
        number(value)
    }
}

/// A plain table (no box drawing: it pastes and diffs well), numbers right-aligned.
pub fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table.load_preset(presets::NOTHING);
    table.set_header(header.iter().map(Cell::new));
    table
}

/// Right-aligns every column but the first `left` ones.
pub fn align_numbers(table: &mut Table, left: usize) {
    let columns = table.column_count();
    for index in left..columns {
        if let Some(column) = table.column_mut(index) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
}

/// Renders a table without trailing spaces.
pub fn render(table: &Table) -> String {
    table
        .to_string()
        .lines()
        .map(|l| l.trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A duration in seconds as `850 ms`, `12.3 s` or `4 min 05 s`.
pub fn duration(seconds: f64) -> String {
    if seconds < 1.0 {
        format!("{:.0} ms", seconds * 1000.0)
    } else if seconds < 60.0 {
        format!("{seconds:.1} s")
    } else {
        let whole = seconds.round() as u64;
        format!("{} min {:02} s", whole / 60, whole % 60)
    }
}

/// `512 B`, `12.3 KiB`, `4.0 MiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_four_significant_digits() {
        assert_eq!(number(2890.123), "2890");
        assert_eq!(number(53.6789), "53.68");
        assert_eq!(number(0.4567), "0.4567");
        assert_eq!(number(-0.05), "-0.05000");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(1.5e7), "1.500e7");
        assert_eq!(signed(3.0), "+3.000");
    }

    #[test]
    fn sizes_read_as_binary_units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(5 << 20), "5.0 MiB");
    }
}
