//! A cheap test for "no code here", run before the still-mode ladder.
//!
//! Every symbol of the four formats is a patch of strong edges in at most two directions at a
//! right angle to each other: bars (Code128, PDF417 columns) have one, modules (QR, Data
//! Matrix, PDF417 rows) two. Folded modulo 90 degrees, the edge directions of a patch of code
//! pile up in one narrow range whatever the code's rotation, while the edges of noise, grain,
//! foliage or a face spread over all directions. The test looks for two neighbouring cells of
//! the image whose edges are dense enough and piled up enough, in nearly the same direction (a
//! code big enough to be read spans more than one cell, all of one direction, while code-like
//! cells of a texture or of grain come scattered one by one, or meet at other angles); a photo
//! with none is not searched. The same cells, grouped, locate the patches that may hold a code
//! and their direction ([`candidates`]) for the still ladder's last rung. It is
//! permissive by design (a table edge, printed text or a brick wall passes, and is searched as
//! before): it only spares the expensive rungs on photos that cannot hold a code.
//!
//! Cost: one pass of central differences over every other row, a few ms for a 12 MP photo.

use super::Region;

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

/// Two code-like cells are of one code when their directions differ by at most 10 degrees (a
/// code's direction drifts a little across it under perspective; a code lying on a texture of
/// another direction stays apart from it): cos(4 x 10 degrees).
const MIN_AGREEMENT: f32 = 0.766;

/// Whether two cells' directions ([`direction`]: unit vectors at four times the angle) agree
/// to within [`MIN_AGREEMENT`].
fn agree(a: (f32, f32), b: (f32, f32)) -> bool {
    a.0 * b.0 + a.1 * b.1 >= MIN_AGREEMENT
}

/// tan((k + 1) * 90/BINS degrees) for k in 0..BINS-1, in 1/1024: the bin boundaries.
const TAN_BOUNDS: [i32; BINS - 1] = [204, 424, 684, 1024, 1532, 2472, 5148];

/// Whether two neighbouring cells of the image (side by side, one above the other or
/// diagonal) both look like part of one code: code-like, their edges in nearly the same
/// direction. One such cell alone can be the corner of a table, a window frame or a clump of
/// grain; two of different directions, the meeting of two strands of a texture. Small images
/// are always searched.
pub(crate) fn may_hold_code(pixels: &[u8], width: u32, height: u32) -> bool {
    let (w, h) = (width as usize, height as usize);
    if w <= ALWAYS_SIDE || h <= ALWAYS_SIDE || pixels.len() < w * h {
        return true;
    }
    let cols = w / CELL;
    // The code-like cells of the previous and of this cell row, with their directions.
    let mut above_row: Vec<Option<(f32, f32)>> = vec![None; cols];
    let mut this_row: Vec<Option<(f32, f32)>> = vec![None; cols];
    let mut stats = CellStats::new(cols);
    for cell_row in 0..h / CELL {
        stats.measure(pixels, w, h, cell_row);
        this_row.iter_mut().for_each(|c| *c = None);
        for cell in 0..cols {
            let Some(here) = stats.code_like(pixels, w, h, cell_row, cell) else {
                continue;
            };
            let agrees = |other: &Option<(f32, f32)>| other.is_some_and(|o| agree(o, here));
            let left = cell > 0 && agrees(&this_row[cell - 1]);
            let above = above_row[cell.saturating_sub(1)..(cell + 2).min(cols)]
                .iter()
                .any(agrees);
            if left || above {
                return true;
            }
            this_row[cell] = Some(here);
        }
        std::mem::swap(&mut above_row, &mut this_row);
    }
    false
}

/// A patch of the image that may hold a code: neighbouring code-like cells, at least two.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Candidate {
    /// The patch's box in pixels (whole cells).
    pub bounds: Region,
    /// The direction its edges pile up in, folded into [-45, 45) degrees, in radians: the
    /// angle by which a bar code's bars or a matrix code's module rows are turned from the
    /// image's axes.
    pub angle: f32,
    /// Code-like cells in the patch.
    pub cells: usize,
}

/// The patches of the image that may hold a code, largest first: groups of code-like cells
/// touching each other (side by side, one above the other or diagonal) whose edges pile up
/// in nearly the same direction as the group's first cell's, each with that direction. What
/// [`may_hold_code`] tests for, located.
pub(crate) fn candidates(pixels: &[u8], width: u32, height: u32) -> Vec<Candidate> {
    let (w, h) = (width as usize, height as usize);
    if pixels.len() < w * h || w < 2 * CELL || h < 2 * CELL {
        return Vec::new();
    }
    let (cols, rows) = (w / CELL, h / CELL);
    // Each code-like cell's orientation vector; `None`: not code-like.
    let mut grid: Vec<Option<(f32, f32)>> = vec![None; cols * rows];
    let mut stats = CellStats::new(cols);
    for cell_row in 0..rows {
        stats.measure(pixels, w, h, cell_row);
        for cell in 0..cols {
            grid[cell_row * cols + cell] = stats.code_like(pixels, w, h, cell_row, cell);
        }
    }
    let mut seen = vec![false; cols * rows];
    let mut found = Vec::new();
    let mut stack = Vec::new();
    for start in 0..grid.len() {
        if seen[start] || grid[start].is_none() {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let (mut c0, mut r0, mut c1, mut r1) = (usize::MAX, usize::MAX, 0, 0);
        let (mut sum_c, mut sum_s, mut cells) = (0.0f32, 0.0f32, 0usize);
        while let Some(index) = stack.pop() {
            let (c, r) = (index % cols, index / cols);
            (c0, r0, c1, r1) = (c0.min(c), r0.min(r), c1.max(c), r1.max(r));
            if let Some((cos, sin)) = grid[index] {
                sum_c += cos;
                sum_s += sin;
            }
            cells += 1;
            for dr in -1i64..=1 {
                for dc in -1i64..=1 {
                    let (nc, nr) = (c as i64 + dc, r as i64 + dr);
                    if nc < 0 || nr < 0 || nc >= cols as i64 || nr >= rows as i64 {
                        continue;
                    }
                    let next = nr as usize * cols + nc as usize;
                    // Against the first cell's direction, not the neighbour's: a chain of
                    // small steps would join a code to a texture at another angle.
                    let agrees = match (grid[start], grid[next]) {
                        (Some(a), Some(b)) => agree(a, b),
                        _ => false,
                    };
                    if !seen[next] && agrees {
                        seen[next] = true;
                        stack.push(next);
                    }
                }
            }
        }
        if cells < 2 {
            continue;
        }
        found.push(Candidate {
            bounds: Region {
                x: (c0 * CELL) as u32,
                y: (r0 * CELL) as u32,
                width: ((c1 + 1 - c0) * CELL) as u32,
                height: ((r1 + 1 - r0) * CELL) as u32,
            },
            // The vectors hold four times the angle: a quarter of their mean's angle.
            angle: sum_s.atan2(sum_c) / 4.0,
            cells,
        });
    }
    found.sort_by_key(|c| std::cmp::Reverse(c.cells));
    found
}

/// The edge statistics of one row of cells.
struct CellStats {
    hist: Vec<[u64; BINS]>,
    edges: Vec<usize>,
    sampled: Vec<usize>,
}

impl CellStats {
    fn new(cols: usize) -> Self {
        Self {
            hist: vec![[0; BINS]; cols],
            edges: vec![0; cols],
            sampled: vec![0; cols],
        }
    }

    /// Measures the cells of one cell row over every other pixel row.
    fn measure(&mut self, pixels: &[u8], w: usize, h: usize, cell_row: usize) {
        let cols = self.hist.len();
        self.hist.iter_mut().for_each(|h| *h = [0; BINS]);
        self.edges.iter_mut().for_each(|e| *e = 0);
        self.sampled.iter_mut().for_each(|s| *s = 0);
        let y_start = (cell_row * CELL).max(1);
        let y_end = ((cell_row + 1) * CELL).min(h - 1);
        let x_end = (cols * CELL).min(w - 1);
        for y in (y_start..y_end).step_by(2) {
            let row = &pixels[y * w..(y + 1) * w];
            let above = &pixels[(y - 1) * w..y * w];
            let below = &pixels[(y + 1) * w..(y + 2) * w];
            for cell in 0..cols {
                let (x0, x1) = ((cell * CELL).max(1), ((cell + 1) * CELL).min(x_end));
                if x0 >= x1 {
                    continue;
                }
                self.sampled[cell] += x1 - x0;
                let (edges, weights) = cell_span(
                    &row[x0 - 1..x1 - 1],
                    &row[x0 + 1..x1 + 1],
                    &above[x0..x1],
                    &below[x0..x1],
                );
                self.edges[cell] += edges as usize;
                let hist = &mut self.hist[cell];
                // weights[k]: the edge weight in bins k and above.
                for bin in 0..BINS {
                    let next = if bin + 1 < BINS { weights[bin + 1] } else { 0 };
                    hist[bin] += u64::from(weights[bin] - next);
                }
            }
        }
    }

    /// A cell's direction ([`direction`]) if its edges are dense enough and piled up in one
    /// direction modulo 90 degrees.
    fn code_like(
        &self,
        pixels: &[u8],
        w: usize,
        h: usize,
        cell_row: usize,
        cell: usize,
    ) -> Option<(f32, f32)> {
        let (sampled, edges) = (self.sampled[cell], self.edges[cell]);
        if sampled == 0 || edges * 100 < sampled * MIN_EDGE_PERCENT {
            return None;
        }
        let hist = &self.hist[cell];
        let total: u64 = hist.iter().sum();
        // 0 and 90 degrees are one direction: the window wraps round.
        let peak = (0..BINS)
            .map(|b| hist[b] + hist[(b + 1) % BINS] + hist[(b + BINS - 1) % BINS])
            .max()
            .unwrap_or(0);
        if total == 0 || peak * 100 < total * MIN_PEAK_PERCENT {
            return None;
        }
        Some(direction(pixels, w, h, cell_row, cell))
    }
}

/// The central-difference gradient at `x` of `row` (between its neighbours in the row and in
/// the rows `above` and `below`) and its magnitude |gx| + |gy|, if it is an edge pixel
/// ([`MIN_EDGE`]).
#[inline]
fn edge(above: &[u8], row: &[u8], below: &[u8], x: usize) -> Option<(i32, i32, i32)> {
    let gx = i32::from(row[x + 1]) - i32::from(row[x - 1]);
    let gy = i32::from(below[x]) - i32::from(above[x]);
    let magnitude = gx.abs() + gy.abs();
    (magnitude >= MIN_EDGE).then_some((gx, gy, magnitude))
}

/// The edge pixels of one stretch of a row (the pixels left and right of each, above and
/// below it) and their edge weight (|gx| + |gy|, [`edge`]) in each orientation bin and
/// above: `weights[k]` sums the pixels whose bin is `k` or higher. The bin is the number of
/// [`TAN_BOUNDS`] the folded direction reaches, counted without branching and summed without
/// indexing by it, so that the loop compiles to vector code: it is most of the test's cost.
#[inline]
fn cell_span(left: &[u8], right: &[u8], up: &[u8], down: &[u8]) -> (u32, [u32; BINS]) {
    let mut edges = 0u32;
    let mut weights = [0u32; BINS];
    let bounds = TAN_BOUNDS.map(|t| t as f32);
    for (((&l, &r), &a), &b) in left.iter().zip(right).zip(up).zip(down) {
        let gx = i32::from(r) - i32::from(l);
        let gy = i32::from(b) - i32::from(a);
        let magnitude = gx.abs() + gy.abs();
        let weight = if magnitude >= MIN_EDGE {
            magnitude as u32
        } else {
            0
        };
        edges += u32::from(magnitude >= MIN_EDGE);
        // Fold the direction into [0, 90): a quarter turn maps (gx, gy) to (gy, -gx).
        let (u, v) = if (gx >= 0) == (gy >= 0) {
            (gx.abs(), gy.abs())
        } else {
            (gy.abs(), gx.abs())
        };
        // Exact in f32: both products are integers below 2^24.
        let (u, v) = (u as f32, v as f32 * 1024.0);
        weights[0] += weight;
        for k in 0..BINS - 1 {
            weights[k + 1] += if v >= u * bounds[k] { weight } else { 0 };
        }
    }
    (edges, weights)
}

/// The direction a cell's edges pile up in, as a unit vector at four times their angle:
/// the magnitude-weighted sum of `(gx + i gy)^4 / |g|^4` over its edge pixels (the same
/// pixels [`CellStats::measure`] samples), in which directions a quarter turn apart add up.
/// Computed only for code-like cells: the floating point would double the test's cost if
/// every cell paid it.
fn direction(pixels: &[u8], w: usize, h: usize, cell_row: usize, cell: usize) -> (f32, f32) {
    let (mut c, mut s) = (0.0f32, 0.0f32);
    let y_start = (cell_row * CELL).max(1);
    let y_end = ((cell_row + 1) * CELL).min(h - 1);
    let x_start = (cell * CELL).max(1);
    let x_end = ((cell + 1) * CELL).min(w - 1);
    for y in (y_start..y_end).step_by(2) {
        let row = &pixels[y * w..(y + 1) * w];
        let above = &pixels[(y - 1) * w..y * w];
        let below = &pixels[(y + 1) * w..(y + 2) * w];
        for x in x_start..x_end {
            let Some((gx, gy, magnitude)) = edge(above, row, below, x) else {
                continue;
            };
            let (fx, fy) = (gx as f32, gy as f32);
            let (c2, s2) = (fx * fx - fy * fy, 2.0 * fx * fy);
            let weight = magnitude as f32 / (fx * fx + fy * fy).powi(2);
            c += (c2 * c2 - s2 * s2) * weight;
            s += 2.0 * c2 * s2 * weight;
        }
    }
    let length = (c * c + s * s).sqrt();
    if length > 0.0 {
        (c / length, s / length)
    } else {
        (1.0, 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::{candidates, may_hold_code};

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

    /// A flat grey 640x480 image with a patch of bars 3 px wide turned by `angle` radians
    /// inside the box `(x0, y0)`-`(x1, y1)`.
    fn turned_bars(angle: f32, x0: usize, y0: usize, x1: usize, y1: usize) -> Vec<u8> {
        let (w, h) = (640usize, 480usize);
        let (s, c) = angle.sin_cos();
        let mut pixels = vec![128u8; w * h];
        for y in y0..y1 {
            for x in x0..x1 {
                let phase = (x as f32 * c + y as f32 * s) * std::f32::consts::PI / 3.0;
                pixels[y * w + x] = (125.0 + 95.0 * phase.sin()) as u8;
            }
        }
        pixels
    }

    #[test]
    fn candidates_locate_a_code_like_patch_and_its_direction() {
        for degrees in [-40.0f32, -25.0, 0.0, 10.0, 30.0, 44.0] {
            let pixels = turned_bars(degrees.to_radians(), 200, 150, 400, 300);
            let found = candidates(&pixels, 640, 480);
            assert_eq!(found.len(), 1, "{degrees}: {found:?}");
            let patch = found[0];
            assert!(
                (patch.angle.to_degrees() - degrees).abs() < 3.0,
                "{degrees}: {patch:?}"
            );
            // The patch lies within the bars' box, to a cell, and covers most of it.
            let b = patch.bounds;
            assert!(b.x + 24 >= 200 && b.y + 24 >= 150, "{patch:?}");
            assert!(b.x + b.width <= 424 && b.y + b.height <= 324);
            assert!(b.width >= 150 && b.height >= 100, "{patch:?}");
        }
    }

    #[test]
    fn patches_of_different_directions_stay_apart() {
        // Two patches side by side, touching, 30 degrees apart: two candidates (and perhaps
        // the column of cells where they meet, of a direction in between).
        let mut pixels = turned_bars(0.0, 100, 100, 300, 300);
        let right = turned_bars(30f32.to_radians(), 300, 100, 500, 300);
        for y in 100..300 {
            pixels[y * 640 + 300..y * 640 + 500]
                .copy_from_slice(&right[y * 640 + 300..y * 640 + 500]);
        }
        let found = candidates(&pixels, 640, 480);
        assert!(found.len() >= 2 && found[1].cells >= 60, "{found:?}");
        let mut angles: Vec<f32> = found[..2].iter().map(|c| c.angle.to_degrees()).collect();
        angles.sort_by(f32::total_cmp);
        assert!(
            angles[0].abs() < 3.0 && (angles[1] - 30.0).abs() < 3.0,
            "{angles:?}"
        );
        // Flat grey and noise: none.
        assert!(candidates(&vec![128; 640 * 480], 640, 480).is_empty());
    }

    #[test]
    fn touching_code_like_cells_must_share_a_direction() {
        // Cell (8, 8) with upright bars; its right-hand neighbour with bars of the same
        // direction, or turned 30 degrees (two strands of a weave, say).
        let left = turned_bars(0.0, 192, 192, 216, 216);
        for (degrees, holds) in [(0.0f32, true), (30.0, false)] {
            let right = turned_bars(degrees.to_radians(), 216, 192, 240, 216);
            let mut pixels = left.clone();
            for y in 192..216 {
                pixels[y * 640 + 216..y * 640 + 240]
                    .copy_from_slice(&right[y * 640 + 216..y * 640 + 240]);
            }
            assert_eq!(may_hold_code(&pixels, 640, 480), holds, "{degrees}");
        }
    }

    #[test]
    fn tiny_images_are_always_searched() {
        assert!(may_hold_code(&[0; 160 * 160], 160, 160));
        assert!(may_hold_code(&[], 0, 0));
    }
}
