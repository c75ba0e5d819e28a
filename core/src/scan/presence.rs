//! A cheap test for "no code here", run before the still-mode ladder.
//!
//! Every symbol of the four formats is a patch of strong edges in at most two directions at a
//! right angle to each other: bars (Code128, PDF417 columns) have one, modules (QR, Data
//! Matrix, PDF417 rows) two. Folded modulo 90 degrees, the edge directions of a patch of code
//! pile up in one narrow range whatever the code's rotation, while the edges of noise, grain,
//! foliage or a face spread over all directions. The test looks for two neighbouring cells of
//! the image whose edges are dense enough and piled up enough (a code big enough to be read
//! spans more than one cell, while code-like cells of a texture or of grain come scattered one
//! by one); a photo with none is not searched. It is
//! permissive by design (a table edge, printed text or a brick wall passes, and is searched as
//! before): it only spares the expensive rungs on photos that cannot hold a code.
//!
//! Cost: one pass of central differences over every other row, a few ms for a 12 MP photo.

/// Cell side in pixels: a code of 21 modules at 1.5 px fills most of one.
const CELL: usize = 24;
/// An edge pixel: central-difference |gx| + |gy| at least this (a step of about 8 grey levels
/// across a one-pixel blur).
const MIN_EDGE: i32 = 8;
/// Edge pixels a cell needs, in percent of its sampled pixels: a code with 6 px modules has
/// about 30 %, with 12 px modules about 16 %; one straight edge through a cell about 8 %.
/// Codes with larger modules are read by the first rung, which runs before this test.
const MIN_EDGE_PERCENT: usize = 12;
/// Images at most this many pixels a side are always searched: searching them costs less
/// than the test would save.
const ALWAYS_SIDE: usize = 160;
/// Orientation bins over 90 degrees.
const BINS: usize = 8;
/// Share of a cell's edge weight in its best window of three neighbouring bins, in percent.
/// Directions spread evenly give 3/8 (37.5 %); a code at any angle gives 70 % and more.
const MIN_PEAK_PERCENT: u64 = 60;

/// tan((k + 1) * 90/BINS degrees) for k in 0..BINS-1, in 1/1024: the bin boundaries.
const TAN_BOUNDS: [i64; BINS - 1] = [204, 424, 684, 1024, 1532, 2472, 5148];

/// Whether two neighbouring cells of the image (side by side, one above the other or
/// diagonal) both look like part of a code: one such cell alone can be the corner of a table,
/// a window frame or a clump of grain. Small images are always searched.
pub(crate) fn may_hold_code(pixels: &[u8], width: u32, height: u32) -> bool {
    let (w, h) = (width as usize, height as usize);
    if w <= ALWAYS_SIDE || h <= ALWAYS_SIDE || pixels.len() < w * h {
        return true;
    }
    let (cols, rows) = (w / CELL, h / CELL);
    // Which cells of the previous and of this cell row look like code.
    let mut above_row = vec![false; cols];
    let mut this_row = vec![false; cols];
    let mut hist = vec![[0u64; BINS]; cols];
    let mut edges = vec![0usize; cols];
    let mut sampled = vec![0usize; cols];
    for cell_row in 0..rows {
        hist.iter_mut().for_each(|h| *h = [0; BINS]);
        edges.iter_mut().for_each(|e| *e = 0);
        sampled.iter_mut().for_each(|s| *s = 0);
        let y_start = (cell_row * CELL).max(1);
        let y_end = ((cell_row + 1) * CELL).min(h - 1);
        for y in (y_start..y_end).step_by(2) {
            let row = &pixels[y * w..(y + 1) * w];
            let above = &pixels[(y - 1) * w..y * w];
            let below = &pixels[(y + 1) * w..(y + 2) * w];
            for x in 1..(cols * CELL).min(w - 1) {
                let cell = x / CELL;
                sampled[cell] += 1;
                let gx = i32::from(row[x + 1]) - i32::from(row[x - 1]);
                let gy = i32::from(below[x]) - i32::from(above[x]);
                let magnitude = gx.abs() + gy.abs();
                if magnitude < MIN_EDGE {
                    continue;
                }
                edges[cell] += 1;
                // Fold the direction into [0, 90): a quarter turn maps (gx, gy) to (gy, -gx).
                let (u, v) = if (gx >= 0) == (gy >= 0) {
                    (i64::from(gx.abs()), i64::from(gy.abs()))
                } else {
                    (i64::from(gy.abs()), i64::from(gx.abs()))
                };
                let bin = TAN_BOUNDS
                    .iter()
                    .position(|&t| v * 1024 < u * t)
                    .unwrap_or(BINS - 1);
                hist[cell][bin] += magnitude as u64;
            }
        }
        this_row.iter_mut().for_each(|c| *c = false);
        for cell in 0..cols {
            if sampled[cell] == 0 || edges[cell] * 100 < sampled[cell] * MIN_EDGE_PERCENT {
                continue;
            }
            let total: u64 = hist[cell].iter().sum();
            // 0 and 90 degrees are one direction: the window wraps round.
            let peak = (0..BINS)
                .map(|b| {
                    hist[cell][b] + hist[cell][(b + 1) % BINS] + hist[cell][(b + BINS - 1) % BINS]
                })
                .max()
                .unwrap_or(0);
            if total > 0 && peak * 100 >= total * MIN_PEAK_PERCENT {
                let left = cell > 0 && this_row[cell - 1];
                let above = above_row[cell.saturating_sub(1)..(cell + 2).min(cols)]
                    .iter()
                    .any(|&c| c);
                if left || above {
                    return true;
                }
                this_row[cell] = true;
            }
        }
        std::mem::swap(&mut above_row, &mut this_row);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::may_hold_code;

    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn noise_and_flat_images_hold_no_code() {
        let (w, h) = (400usize, 300usize);
        assert!(!may_hold_code(&vec![128; w * h], w as u32, h as u32));
        let mut state = 0x9e37_79b9_7f4a_7c15;
        let noise: Vec<u8> = (0..w * h)
            .map(|_| 60 + (xorshift(&mut state) % 120) as u8)
            .collect();
        assert!(!may_hold_code(&noise, w as u32, h as u32));
    }

    #[test]
    fn bars_and_modules_at_any_angle_may_hold_a_code() {
        let (w, h) = (400usize, 300usize);
        for angle in [0.0f32, 0.3, 0.785, 1.2] {
            let (s, c) = angle.sin_cos();
            // Bars 3 px wide, their edges softened as a lens does (a sine grating).
            let bars: Vec<u8> = (0..w * h)
                .map(|i| {
                    let (x, y) = ((i % w) as f32, (i / w) as f32);
                    let phase = (x * c + y * s) * std::f32::consts::PI / 3.0;
                    (125.0 + 95.0 * phase.sin()) as u8
                })
                .collect();
            assert!(may_hold_code(&bars, w as u32, h as u32), "angle {angle}");
        }
    }

    /// A flat grey image with bars 3 px wide over the given cells (24-px cells, column, row).
    fn bars_in_cells(cells: &[(usize, usize)]) -> (Vec<u8>, u32, u32) {
        let (w, h) = (400usize, 300usize);
        let mut pixels = vec![128u8; w * h];
        for &(cx, cy) in cells {
            for y in cy * 24..(cy + 1) * 24 {
                for x in cx * 24..(cx + 1) * 24 {
                    let phase = x as f32 * std::f32::consts::PI / 3.0;
                    pixels[y * w + x] = (125.0 + 95.0 * phase.sin()) as u8;
                }
            }
        }
        (pixels, w as u32, h as u32)
    }

    #[test]
    fn code_like_cells_must_touch() {
        for cells in [vec![(4, 4)], vec![(2, 2), (8, 8)], vec![(3, 1), (12, 9)]] {
            let (pixels, w, h) = bars_in_cells(&cells);
            assert!(!may_hold_code(&pixels, w, h), "{cells:?}");
        }
        for cells in [
            vec![(4, 4), (5, 4)],
            vec![(4, 4), (4, 5)],
            vec![(4, 4), (5, 5)],
            vec![(5, 4), (4, 5)],
        ] {
            let (pixels, w, h) = bars_in_cells(&cells);
            assert!(may_hold_code(&pixels, w, h), "{cells:?}");
        }
    }

    #[test]
    fn tiny_images_are_always_searched() {
        assert!(may_hold_code(&[0; 160 * 160], 160, 160));
        assert!(may_hold_code(&[], 0, 0));
    }
}
