#!/usr/bin/env python3
"""The scanner's generated hard set: photo-like images of the four production formats under
one degradation per folder, several symbols per photo, and photos with no code.

    pip install zxing-cpp pillow numpy
    python3 core/benches/scan_hardset.py OUT_DIR            # the full set (about 300 images)
    python3 core/benches/scan_hardset.py --small OUT_DIR    # the small subset the tests use

Deterministic: every image comes from its own seeded generator (numpy's PCG64 with a seed made
of the folder and the index), so the same package versions give the same pixels; only the JPEG
folder depends on the JPEG library pillow ships. Nothing here was tuned against a reader: the
severity of each folder's degradation rises evenly from mild to beyond what either reader
reads, and the payloads are the kinds the handhelds scan (identity numbers, signed permit
codes, door-plate links, passport MRZ lines).

Symbols are encoded by zxing-cpp's writer (the PyPI package the benchmark already uses for the
reference reader): it writes all four formats, so no second encoder package is needed. It picks
the smallest Data Matrix, rectangular for some payloads, as a field printer would.

Output: OUT_DIR/FOLDER/NNN-FORMAT.png (or .jpg) and OUT_DIR/manifest.json, a list of
{"file": "FOLDER/NAME", "folder", "formats": [...], "texts": [...]} (texts empty: no code).
"""
import argparse
import base64
import io
import json
import os
import zlib

import numpy as np
import zxingcpp
from PIL import Image, ImageFilter

F = zxingcpp.BarcodeFormat
FORMATS = {
    "qr": F.QRCode,
    "pdf417": F.PDF417,
    "datamatrix": F.DataMatrix,
    "code128": F.Code128,
}
FOLDERS = [
    "blur",
    "contrast",
    "glare",
    "perspective",
    "curved",
    "small",
    "noise",
    "jpeg",
    "inverted",
    "edge",
]
PER_FORMAT = 6  # images per format per degradation folder
MULTI = 12
NOCODE = 24


def rng_for(folder, index):
    return np.random.Generator(np.random.PCG64(zlib.crc32(f"{folder}/{index}".encode())))


# ---------------------------------------------------------------- payloads

def id_number(rng):
    """An 18-character resident identity number with a valid check character."""
    body = "%06d%04d%02d%02d%03d" % (
        rng.integers(110000, 659999), rng.integers(1950, 2010), rng.integers(1, 13),
        rng.integers(1, 29), rng.integers(0, 1000))
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(c) * w for c, w in zip(body, weights)) % 11]
    return body + check


def payload(fmt, rng):
    kind = rng.integers(0, 3)
    if fmt == "qr":
        if kind == 0:
            raw = rng.integers(0, 256, int(rng.integers(110, 190)), dtype=np.uint8).tobytes()
            return "LGTP1." + base64.urlsafe_b64encode(raw).decode().rstrip("=")
        if kind == 1:
            addr = "".join("%%%02X" % b for b in rng.integers(0x80, 0xC0, int(rng.integers(12, 30))))
            return "https://mp.example.gov.cn/q?houseCode=%012d&address=%s" % (
                rng.integers(10**11, 10**12), addr)
        return id_number(rng)
    if fmt == "pdf417":
        letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        name = "".join(rng.choice(list(letters), int(rng.integers(4, 10))))
        given = "".join(rng.choice(list(letters), int(rng.integers(3, 8))))
        line1 = ("P<UTO%s<<%s" % (name, given)).ljust(44, "<")
        line2 = ("E%08d" % rng.integers(0, 10**8)) + "7UTO" + "%06d" % rng.integers(0, 10**6)
        line2 = (line2 + "1M301231" + "<" * 14)[:42] + "02"
        return line1 + line2 if kind else line1 + "\n" + line2
    if fmt == "datamatrix":
        if kind == 0:
            return id_number(rng)
        return "ID:%s;N:%d" % (id_number(rng), rng.integers(1000, 99999))
    return id_number(rng) if kind else "F%09d" % rng.integers(0, 10**9)


def modules(fmt, text):
    """The symbol as a boolean module grid (True = dark), without quiet zone."""
    barcode = zxingcpp.create_barcode(text, FORMATS[fmt])
    grid = np.array(barcode.to_image(scale=1, add_quiet_zones=False)) < 128
    if fmt == "code128":
        grid = grid[:1]  # one row; the bar height is set by the scene
    return grid


# ---------------------------------------------------------------- scene

def homography(src, dst):
    """The 3x3 matrix mapping the four src points to the four dst points."""
    a = []
    for (x, y), (u, v) in zip(src, dst):
        a.append([x, y, 1, 0, 0, 0, -u * x, -u * y, -u])
        a.append([0, 0, 0, x, y, 1, -v * x, -v * y, -v])
    _, _, vt = np.linalg.svd(np.array(a, dtype=float))
    return vt[-1].reshape(3, 3) / vt[-1, -1]


def background(rng, w, h):
    """A table-top-like texture: smooth shading, a few flat shapes, fine grain."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = rng.uniform(60, 170)
    img = base + rng.uniform(-40, 40) * xx / w + rng.uniform(-40, 40) * yy / h
    for _ in range(int(rng.integers(2, 7))):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(20, w / 3)
        img += rng.uniform(-35, 35) * (((xx - cx) ** 2 + (yy - cy) ** 2) < r * r)
    for _ in range(int(rng.integers(0, 6))):  # straight lines: table edges, printed rules
        y0 = rng.uniform(0, h)
        img += rng.uniform(-50, 50) * (np.abs(yy - y0 - (xx - w / 2) * rng.uniform(-0.3, 0.3)) < rng.uniform(1, 4))
    small = rng.normal(0, 12, (h // 8 + 1, w // 8 + 1)).astype(np.float32)
    img += np.kron(small, np.ones((8, 8), np.float32))[:h, :w]
    return img


class Symbol:
    """One code placed on its own card in the photo."""

    def __init__(self, fmt, text, grid, quad_pts, quiet, bar_rows, curve, ink, paper):
        self.fmt, self.text, self.grid = fmt, text, grid
        self.quad_pts, self.quiet, self.bar_rows = quad_pts, quiet, bar_rows
        self.curve, self.ink, self.paper = curve, ink, paper

    def size(self):
        rows, cols = self.grid.shape
        rows = self.bar_rows if self.fmt == "code128" else rows
        return cols + 2 * self.quiet, rows + 2 * self.quiet


def place(rng, w, h, sym_cols, sym_rows, module, angle, tilt, centre):
    """The destination quadrilateral of a sym_cols x sym_rows card: scaled, rotated, tilted."""
    cw, ch = sym_cols * module, sym_rows * module
    pts = np.array([[-cw / 2, -ch / 2], [cw / 2, -ch / 2], [cw / 2, ch / 2], [-cw / 2, ch / 2]])
    # Perspective: shrink one side (the card leans away from the camera).
    if tilt:
        side = rng.integers(0, 4)
        k = 1 - tilt
        if side == 0:
            pts[[0, 1], 0] *= k
        elif side == 1:
            pts[[2, 3], 0] *= k
        elif side == 2:
            pts[[1, 2], 1] *= k
        else:
            pts[[0, 3], 1] *= k
    c, s = np.cos(angle), np.sin(angle)
    pts = pts @ np.array([[c, s], [-s, c]])
    return pts + np.array(centre)


def render(rng, w, h, symbols, supersample=3):
    """The photo: background, then each card and symbol, sampled at supersample^2 points."""
    img = background(rng, w, h)
    n = supersample
    offs = (np.arange(n) + 0.5) / n - 0.5
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    for sym in symbols:
        cols, rows = sym.size()
        src = [(0, 0), (cols, 0), (cols, rows), (0, rows)]
        inv = homography(sym.quad_pts, src)
        lo = np.floor(sym.quad_pts.min(axis=0)).astype(int) - 2
        hi = np.ceil(sym.quad_pts.max(axis=0)).astype(int) + 2
        x0, y0 = max(lo[0], 0), max(lo[1], 0)
        x1, y1 = min(hi[0], w), min(hi[1], h)
        if x1 <= x0 or y1 <= y0:
            continue
        acc = np.zeros((y1 - y0, x1 - x0))
        cover = np.zeros_like(acc)
        for dy in offs:
            for dx in offs:
                px, py = xx[y0:y1, x0:x1] + 0.5 + dx, yy[y0:y1, x0:x1] + 0.5 + dy
                d = inv[2, 0] * px + inv[2, 1] * py + inv[2, 2]
                u = (inv[0, 0] * px + inv[0, 1] * py + inv[0, 2]) / d
                v = (inv[1, 0] * px + inv[1, 1] * py + inv[1, 2]) / d
                if sym.curve:
                    # A card bent round a cylinder, seen from the front: the middle is wide,
                    # the sides are foreshortened and the rows bow.
                    t = np.clip(2 * u / cols - 1, -1, 1)
                    half = sym.curve / 2
                    u = cols * (0.5 + np.arcsin(np.clip(t * np.sin(half), -1, 1)) / sym.curve)
                    v = v + rows * 0.08 * sym.curve * (1 - t * t)
                inside = (u >= 0) & (u < cols) & (v >= 0) & (v < rows)
                gu = np.floor(u - sym.quiet).astype(int)
                gv = np.floor(v - sym.quiet).astype(int)
                grows, gcols = sym.grid.shape
                if sym.fmt == "code128":
                    gv = np.where((gv >= 0) & (gv < sym.bar_rows), 0, -1)
                in_grid = inside & (gu >= 0) & (gu < gcols) & (gv >= 0) & (gv < grows)
                dark = np.zeros_like(in_grid)
                dark[in_grid] = sym.grid[gv[in_grid], gu[in_grid]]
                acc += np.where(dark, sym.ink, sym.paper) * inside
                cover += inside
        region = img[y0:y1, x0:x1]
        frac = cover / (n * n)
        img[y0:y1, x0:x1] = region * (1 - frac) + np.where(cover > 0, acc / np.maximum(cover, 1), 0) * frac
    return img


def finish(img, blur=0.0, noise=0.0, rng=None):
    if blur > 0:
        pil = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
        img = np.asarray(pil.filter(ImageFilter.GaussianBlur(blur)), dtype=np.float64)
    if noise > 0:
        img = img + rng.normal(0, noise, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- folders

def make_symbol(rng, fmt, w, h, module, *, tilt=0.0, curve=0.0, ink=None, paper=None,
                quiet=None, centre=None, angle=None, text=None):
    text = text or payload(fmt, rng)
    grid = modules(fmt, text)
    bar_rows = int(grid.shape[1] * rng.uniform(0.18, 0.3)) if fmt == "code128" else 0
    quiet = quiet if quiet is not None else (10 if fmt == "code128" else int(rng.integers(2, 5)))
    cols = grid.shape[1] + 2 * quiet
    rows = (bar_rows if fmt == "code128" else grid.shape[0]) + 2 * quiet
    angle = angle if angle is not None else np.radians(rng.uniform(-15, 15))
    if centre is None:
        half = 0.55 * module * np.hypot(cols, rows)
        centre = (rng.uniform(min(half, w / 2), max(w - half, w / 2)),
                  rng.uniform(min(half, h / 2), max(h - half, h / 2)))
    ink = ink if ink is not None else rng.uniform(15, 60)
    paper = paper if paper is not None else rng.uniform(190, 245)
    quad = place(rng, w, h, cols, rows, module, angle, tilt, centre)
    return Symbol(fmt, text, grid, quad, quiet, bar_rows, curve, ink, paper)


def canvas(rng):
    return [(800, 600), (1024, 768), (1280, 960), (1600, 1200)][int(rng.integers(0, 4))]


def fit_module(fmt, w, h, rng, lo, hi, text):
    """A module size in [lo, hi] px, capped so the symbol fits in 80 % of the canvas."""
    grid = modules(fmt, text)
    cols = grid.shape[1] + 20
    rows = (grid.shape[1] * 0.3 if fmt == "code128" else grid.shape[0]) + 8
    cap = 0.8 * min(w / cols, h / rows)
    return min(rng.uniform(lo, hi), cap)


def degraded(folder, fmt, i, severity):
    """One image of a degradation folder: (pixels, [symbols], extension)."""
    rng = rng_for(folder, f"{fmt}/{i}")
    w, h = canvas(rng)
    text = payload(fmt, rng)
    module = fit_module(fmt, w, h, rng, 3.0, 6.0, text)
    blur, noise, ext = rng.uniform(0.3, 0.7), rng.uniform(1.5, 4), "png"
    kw = {}
    if folder == "blur":
        blur = module * (0.25 + 0.45 * severity)
    elif folder == "contrast":
        paper = rng.uniform(120, 200)
        kw = dict(paper=paper, ink=paper - (60 - 48 * severity))
    elif folder == "perspective":
        kw = dict(tilt=0.15 + 0.5 * severity, angle=np.radians(rng.uniform(-40, 40)))
    elif folder == "curved":
        kw = dict(curve=0.4 + 1.2 * severity)
    elif folder == "small":
        module = 2.6 - 1.4 * severity
        blur = 0.35
    elif folder == "noise":
        noise = 10 + 30 * severity
    elif folder == "inverted":
        kw = dict(ink=rng.uniform(190, 240), paper=rng.uniform(15, 60))
    elif folder == "edge":
        kw = dict(quiet=0, angle=np.radians(rng.uniform(-4, 4)))
    elif folder == "jpeg":
        ext = "jpg"
    sym = make_symbol(rng, fmt, w, h, module, text=text, **kw)
    if folder == "edge":
        # The symbol's own edge lands two modules (mild) to none (hard) from a frame edge.
        q = sym.quad_pts
        side = int(rng.integers(0, 4))
        gap = module * 2 * (1 - severity)
        if side == 0:
            q[:, 0] += gap - q[:, 0].min()
        elif side == 1:
            q[:, 0] += (w - 1 - gap) - q[:, 0].max()
        elif side == 2:
            q[:, 1] += gap - q[:, 1].min()
        else:
            q[:, 1] += (h - 1 - gap) - q[:, 1].max()
    img = render(rng, w, h, [sym])
    if folder == "glare":
        # A specular highlight over part of the code: a bright blob that saturates.
        yy, xx = np.mgrid[0:h, 0:w]
        cx, cy = sym.quad_pts.mean(axis=0) + rng.uniform(-0.3, 0.3, 2) * np.ptp(sym.quad_pts, axis=0)
        r = np.ptp(sym.quad_pts, axis=0).mean() * (0.15 + 0.3 * severity)
        img = img + (120 + 200 * severity) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
    pixels = finish(img, blur, noise, rng)
    if folder == "jpeg":
        quality = int(round(40 - 34 * severity))
        pixels = jpeg_roundtrip(pixels, quality)
    return pixels, [sym], ext


def jpeg_roundtrip(pixels, quality):
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def multi(i):
    """An ID-document-like photo: a QR and a PDF417 side by side, or other pairs and triples."""
    rng = rng_for("multi", i)
    w, h = (1280, 960) if i % 2 else (1600, 1200)
    sets = [["qr", "pdf417"], ["datamatrix", "code128"], ["qr", "code128", "pdf417"],
            ["qr", "qr"], ["pdf417", "datamatrix"], ["qr", "datamatrix", "code128"]]
    fmts = sets[i % len(sets)]
    angle = np.radians(rng.uniform(-12, 12))
    slots = len(fmts)
    syms = []
    for k, fmt in enumerate(fmts):
        text = payload(fmt, rng)
        slot_w = w / slots
        module = fit_module(fmt, slot_w, h * 0.8, rng, 2.5, 5.0, text)
        centre = (slot_w * (k + 0.5) + rng.uniform(-20, 20), h / 2 + rng.uniform(-h / 6, h / 6))
        syms.append(make_symbol(rng, fmt, w, h, module, text=text, centre=centre, angle=angle,
                                tilt=rng.uniform(0, 0.2)))
    img = render(rng, w, h, syms)
    return finish(img, rng.uniform(0.4, 1.0), rng.uniform(2, 6), rng), syms, "png"


def nocode(i):
    """A photo with no code: texture, printed-text-like stripes, grids, fine patterns."""
    rng = rng_for("nocode", i)
    w, h = canvas(rng)
    img = background(rng, w, h)
    yy, xx = np.mgrid[0:h, 0:w]
    kind = i % 4
    if kind == 0:  # lines of "text": short dark dashes in rows
        for row in range(int(rng.integers(8, 30))):
            y = rng.uniform(0, h)
            x = rng.uniform(0, w / 2)
            for _ in range(int(rng.integers(5, 25))):
                ww = rng.uniform(4, 30)
                img[int(y):int(y) + int(rng.integers(6, 14)), int(x):int(x + ww)] -= rng.uniform(40, 110)
                x += ww + rng.uniform(3, 12)
    elif kind == 1:  # a grid or checkerboard (tiles, fabric)
        p = rng.uniform(6, 40)
        img += rng.uniform(30, 80) * (((xx // p) + (yy // p)) % 2)
    elif kind == 2:  # stripes (blinds, a keyboard edge)
        p = rng.uniform(3, 20)
        img += rng.uniform(30, 90) * (np.sin(xx / p + yy * rng.uniform(-0.2, 0.2)) > 0)
    else:  # random blobs and noise (foliage, gravel)
        img += rng.normal(0, 35, img.shape)
    return finish(img, rng.uniform(0.3, 1.2), rng.uniform(2, 8), rng), [], "png"


def write(out, folder, name, pixels, syms, ext, manifest):
    os.makedirs(os.path.join(out, folder), exist_ok=True)
    path = os.path.join(out, folder, f"{name}.{ext}")
    if isinstance(pixels, bytes):
        with open(path, "wb") as f:
            f.write(pixels)
    else:
        Image.fromarray(pixels).save(path, optimize=True)
    manifest.append({
        "file": f"{folder}/{name}.{ext}",
        "folder": folder,
        "formats": [s.fmt for s in syms],
        "texts": [s.text for s in syms],
    })


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--small", action="store_true",
                    help="two images per format and folder (mild and hard), for the tests")
    args = ap.parse_args()
    manifest = []
    per_format = 2 if args.small else PER_FORMAT
    for folder in FOLDERS:
        for fmt in FORMATS:
            for i in range(per_format):
                # In the small set: the mildest and a middle severity.
                severity = (i / 3) if args.small else i / (PER_FORMAT - 1)
                pixels, syms, ext = degraded(folder, fmt, i, severity)
                write(args.out, folder, f"{i:03d}-{fmt}", pixels, syms, ext, manifest)
    for i in range(4 if args.small else MULTI):
        pixels, syms, ext = multi(i)
        write(args.out, "multi", f"{i:03d}-{'-'.join(s.fmt for s in syms)}", pixels, syms, ext, manifest)
    for i in range(8 if args.small else NOCODE):
        pixels, syms, ext = nocode(i)
        write(args.out, "nocode", f"{i:03d}", pixels, syms, ext, manifest)
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
    print(f"{len(manifest)} images in {args.out}")


if __name__ == "__main__":
    main()
