//! Rasterizes an SVG image to PNG with resvg. Text is drawn with the
//! system's fonts; on a machine without any, the labels are left out (with
//! a warning) and the curves are still drawn.

use anyhow::Context as _;
use resvg::tiny_skia::{Pixmap, Transform};
use resvg::usvg;

/// Pixels per SVG unit: sharp on high-density screens.
pub const SCALE: f32 = 2.0;

/// The image as PNG bytes, `scale` pixels per SVG unit.
pub fn rasterize(svg: &str, scale: f32) -> anyhow::Result<Vec<u8>> {
    let mut options = usvg::Options::default();
    options.fontdb_mut().load_system_fonts();
    if options.fontdb.is_empty() {
        tracing::warn!("no system fonts found: the PNG's labels are left out");
    }
    let tree = usvg::Tree::from_str(svg, &options).context("cannot read the chart's SVG")?;
    let size = tree
        .size()
        .to_int_size()
        .scale_by(scale)
        .context("the chart is too large to rasterize")?;
    let mut pixmap =
        Pixmap::new(size.width(), size.height()).context("the chart is too large to rasterize")?;
    resvg::render(
        &tree,
        Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap.encode_png().context("cannot encode the PNG")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn draws_the_shapes_in_their_colour() {
        let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10">
            <rect width="20" height="10" fill="#ffffff"/>
            <polyline points="0,5 20,5" stroke="#e15759" stroke-width="4" fill="none"/>
            </svg>"##;
        let png = rasterize(svg, 1.0).unwrap();
        let pixmap = Pixmap::decode_png(&png).unwrap();
        assert_eq!((pixmap.width(), pixmap.height()), (20, 10));
        let pixel = pixmap.pixel(10, 5).unwrap();
        assert_eq!(
            (pixel.red(), pixel.green(), pixel.blue()),
            (0xe1, 0x57, 0x59)
        );
    }
}
