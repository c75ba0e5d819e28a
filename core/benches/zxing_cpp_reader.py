#!/usr/bin/env python3
"""The zxing-cpp side of the scan benchmark (benches/scan.rs runs it in the same run).

Reads "MODE PATH" lines on stdin (MODE: still, still1 or live); for each, decodes the image REPEATS
times with the four production formats only and prints one JSON line: file, texts (and the
raw bytes as ISO-8859-1 text, for binary payloads) and the median decode time in ms. Only the
read_barcodes call is timed: the image is loaded and converted to 8-bit gray before.
"""
import json
import statistics
import sys
import time

import zxingcpp
from PIL import Image

FORMATS = [zxingcpp.BarcodeFormat.QRCode, zxingcpp.BarcodeFormat.PDF417,
           zxingcpp.BarcodeFormat.DataMatrix, zxingcpp.BarcodeFormat.Code128]
REPEATS = int(sys.argv[1]) if len(sys.argv) > 1 else 3


def main():
    for line in sys.stdin:
        mode, path = line.rstrip("\n").split(" ", 1)
        image = Image.open(path).convert("L")
        buffer = memoryview(image.tobytes()).cast("B", (image.height, image.width))
        # still: zxing-cpp's defaults (rotate, invert, downscale), every symbol; still1: the
        # same, stopping at the first symbol (read_barcode); live: no rotation/inversion.
        harder = mode != "live"
        times, results = [], []
        for _ in range(REPEATS):
            start = time.perf_counter()
            if mode == "still1":
                one = zxingcpp.read_barcode(buffer, formats=FORMATS, try_rotate=True,
                                            try_invert=True)
                results = [one] if one is not None else []
            else:
                results = zxingcpp.read_barcodes(buffer, formats=FORMATS, try_rotate=harder,
                                                 try_invert=harder)
            times.append((time.perf_counter() - start) * 1000.0)
        print(json.dumps({
            "mode": mode,
            "file": path,
            "texts": [r.text for r in results],
            "bytes": [bytes(r.bytes).decode("latin-1") for r in results],
            "ms": statistics.median(times),
            "version": zxingcpp.__version__ if hasattr(zxingcpp, "__version__") else "?",
        }), flush=True)


if __name__ == "__main__":
    main()
