#!/usr/bin/env python3
"""Writes the iOS app's Localizable.strings from the Android app's strings, the one source:
values-zh-rCN -> zh-Hans.lproj, values -> en.lproj. Run after changing android/.../res/values*.

    python3 ios/strings-from-android.py
"""
import pathlib
import re
import xml.etree.ElementTree as ET

root = pathlib.Path(__file__).resolve().parent.parent
res = root / "android/app/src/main/res"
out = root / "ios/LgtField/Resources"


def ios_format(text):
    # Android's %1$s / %1$d are Foundation's %1$@ / %1$ld (Swift String and Int arguments).
    text = re.sub(r"%(\d+)\$s", r"%\1$@", text)
    text = re.sub(r"%(\d+)\$d", r"%\1$ld", text)
    return text.replace("\\'", "'").replace('\\"', '"')


for android, ios in (("values-zh-rCN", "zh-Hans.lproj"), ("values", "en.lproj")):
    strings = ET.parse(res / android / "strings.xml").getroot()
    lines = [f"/* Generated from android/app/src/main/res/{android}/strings.xml by ios/strings-from-android.py. */"]
    for string in strings.iter("string"):
        value = ios_format(string.text or "").replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'"{string.get("name")}" = "{value}";')
    (out / ios).mkdir(parents=True, exist_ok=True)
    (out / ios / "Localizable.strings").write_text("\n".join(lines) + "\n", encoding="utf-8")
