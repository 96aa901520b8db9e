#!/usr/bin/env python3
"""Convert pyx12 implementation-guide map XML files into scrub837 grammar JSON (format 1).

Usage:
    python3 tools/grammar_from_pyx12.py --maps DIR --out grammars/          # write the four grammars
    python3 tools/grammar_from_pyx12.py --out grammars/ --check             # self-check written grammars
    python3 tools/grammar_from_pyx12.py --maps DIR --out grammars/ --check  # both

DIR is pyx12's map folder (e.g. .../site-packages/pyx12/map), which holds the maps and dataele.xml.
Stdlib only; output is deterministic (same input -> same bytes). See grammars/README.md for the format.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

FORMAT = 1
DEFAULT_PYX12_VERSION = "4.0.0"

# (grammar name, map file, ST01, GS08/ST03 version)
SPECS = [
    ("837P", "837.5010.X222.A1.xml", "837", "005010X222A1"),
    ("837I", "837Q3.I.5010.X223.A1.xml", "837", "005010X223A2"),
    ("277CA", "277.5010.X214.xml", "277", "005010X214"),
    ("999", "999.5010X231.A1.xml", "999", "005010X231A1"),
]

SOURCE = (
    "derived from pyx12 {pyx12} map {map} (https://github.com/azoner/pyx12, BSD licence) "
    "by tools/grammar_from_pyx12.py"
)

USAGES = ("R", "S", "N")


class MapError(Exception):
    pass


# --------------------------------------------------------------------------- reading


def text(node: ET.Element, tag: str, required: bool = True) -> str | None:
    child = node.find(tag)
    if child is None or child.text is None:
        if required:
            raise MapError(f"<{node.tag} xid={node.get('xid')!r}> has no <{tag}>")
        return None
    return child.text.strip()


def parse_repeat(value: str | None, what: str) -> int | None:
    """'>1' -> None (unbounded); a positive integer otherwise."""
    if value is None:
        return 1
    if value == ">1":
        return None
    if not value.isdigit() or int(value) < 1:
        raise MapError(f"{what}: bad repeat/max_use {value!r}")
    return int(value)


def parse_usage(node: ET.Element) -> str:
    usage = text(node, "usage")
    if usage not in USAGES:
        raise MapError(f"<{node.tag} xid={node.get('xid')!r}>: bad usage {usage!r}")
    return usage


def load_dataele(path: Path) -> dict[str, dict]:
    out = {}
    for d in ET.parse(path).getroot().iter("data_ele"):
        out[d.get("ele_num")] = {
            "type": d.get("data_type"),
            "min_len": int(d.get("min_len")),
            "max_len": int(d.get("max_len")),
        }
    return out


def pos_sorted(node: ET.Element) -> list[ET.Element]:
    """Loop/segment children ordered as pyx12 orders them: stable sort by <pos>."""
    kids = [c for c in node if c.tag in ("loop", "segment")]
    return sorted(kids, key=lambda c: int(text(c, "pos")))


class Converter:
    def __init__(self, dataele: dict[str, dict]):
        self.dataele = dataele
        self.warnings: list[str] = []

    # ---- elements

    def simple(self, el: ET.Element, ref: str) -> dict:
        xid = el.get("xid")
        if xid is not None and xid.replace("-0", "-") != ref:
            self.warnings.append(f"element xid {xid!r} does not match its position {ref!r}")
        data_ele = text(el, "data_ele")
        if data_ele not in self.dataele:
            raise MapError(f"{ref}: data element {data_ele!r} not in dataele.xml")
        de = self.dataele[data_ele]
        out = {
            "ref": ref,
            "name": text(el, "name"),
            "data_ele": data_ele,
            "usage": parse_usage(el),
            "type": text(el, "data_type", False) or de["type"],
            "min_len": int(text(el, "min_len", False) or de["min_len"]),
            "max_len": int(text(el, "max_len", False) or de["max_len"]),
            "repeat": parse_repeat(text(el, "repeat", False), ref),
        }
        vc = el.find("valid_codes")
        if vc is not None:
            codes = [c.text.strip() for c in vc.findall("code") if c.text is not None]
            external = vc.get("external")
            if external is not None:
                if codes:
                    self.warnings.append(f"{ref}: valid_codes has both external={external!r} and codes; codes dropped")
                out["external_codes"] = external
            elif codes:
                out["codes"] = codes
        regex = text(el, "regex", False)
        if regex:
            out["pattern"] = regex
        return out

    @staticmethod
    def placeholder(ref: str) -> dict:
        return {"ref": ref, "name": "", "data_ele": "", "usage": "N", "type": "AN",
                "min_len": 0, "max_len": 0, "repeat": 1}

    def dense(self, parts: list[ET.Element], ref_of, build, where: str) -> list[dict]:
        by_seq: dict[int, ET.Element] = {}
        for p in parts:
            seq = int(text(p, "seq"))
            if seq < 1 or seq in by_seq:
                raise MapError(f"{where}: duplicate or bad seq {seq}")
            by_seq[seq] = p
        out = []
        for seq in range(1, max(by_seq, default=0) + 1):
            ref = ref_of(seq)
            out.append(build(by_seq[seq], ref) if seq in by_seq else self.placeholder(ref))
        return out

    def composite(self, comp: ET.Element, ref: str) -> dict:
        xid = comp.get("xid")
        if xid is not None and xid != ref:
            self.warnings.append(f"composite xid {xid!r} does not match its position {ref!r}")
        comps = [c for c in comp if c.tag == "element"]
        return {
            "ref": ref,
            "name": text(comp, "name"),
            "data_ele": text(comp, "data_ele"),
            "usage": parse_usage(comp),
            "repeat": parse_repeat(text(comp, "repeat", False), ref),
            "components": self.dense(comps, lambda s: f"{ref}-{s}", self.simple, ref),
        }

    # ---- segments and loops

    def segment(self, seg: ET.Element) -> dict:
        sid = seg.get("xid")
        parts = [c for c in seg if c.tag in ("element", "composite")]

        def build(node: ET.Element, ref: str) -> dict:
            return self.composite(node, ref) if node.tag == "composite" else self.simple(node, ref)

        return {
            "id": sid,
            "name": text(seg, "name"),
            "usage": parse_usage(seg),
            "max_use": parse_repeat(text(seg, "max_use"), sid),
            "elements": self.dense(parts, lambda s: f"{sid}{s:02d}", build, sid),
        }

    def children(self, node: ET.Element, skip_segments: tuple[str, ...] = ()) -> list[dict]:
        out = []
        for c in pos_sorted(node):
            if c.tag == "segment":
                if c.get("xid") in skip_segments:
                    continue
                out.append({"segment": self.segment(c)})
            elif c.get("type") == "wrapper":
                out.extend(self.children(c))  # flatten HEADER/DETAIL/FOOTER
            elif c.get("type") in (None, "explicit"):
                out.append({"loop": self.loop(c)})
            else:
                raise MapError(f"loop {c.get('xid')!r}: unknown type {c.get('type')!r}")
        return out

    def loop(self, lp: ET.Element) -> dict:
        lid = lp.get("xid")
        return {
            "id": lid,
            "name": text(lp, "name"),
            "usage": parse_usage(lp),
            "repeat": parse_repeat(text(lp, "repeat"), lid),
            "children": self.children(lp),
        }


def codes_of(root: ET.Element, ref: str) -> list[str]:
    for el in root.iter("element"):
        if el.get("xid") == ref:
            return [c.text.strip() for c in el.iter("code")]
    return []


def convert(map_path: Path, dataele: dict, name: str, txn: str, version: str, pyx12_version: str,
            warnings: list[str]) -> dict:
    root = ET.parse(map_path).getroot()
    st_loops = [lp for lp in root.iter("loop") if lp.get("xid") == "ST_LOOP"]
    if len(st_loops) != 1:
        raise MapError(f"{map_path.name}: expected one ST_LOOP, found {len(st_loops)}")
    st_loop = st_loops[0]
    # Cross-check the requested ST01 / version against what the map itself allows.
    if txn not in codes_of(st_loop, "ST01"):
        raise MapError(f"{map_path.name}: ST01 codes {codes_of(st_loop, 'ST01')} lack {txn!r}")
    gs08 = codes_of(root, "GS08")
    if version not in gs08:
        raise MapError(f"{map_path.name}: GS08 codes {gs08} lack {version!r}")
    st03 = codes_of(st_loop, "ST03")
    if st03 and version not in st03:
        raise MapError(f"{map_path.name}: ST03 codes {st03} lack {version!r}")

    conv = Converter(dataele)
    top = {
        "id": "ST",
        "name": "Transaction Set",
        "usage": "R",
        "repeat": 1,
        "children": conv.children(st_loop, skip_segments=("ST", "SE")),
    }
    warnings.extend(f"{name}: {w}" for w in conv.warnings)
    return {
        "format": FORMAT,
        "name": name,
        "transaction_set": txn,
        "version": version,
        "source": SOURCE.format(pyx12=pyx12_version, map=map_path.name),
        "root": top,
    }


def dump(obj: dict) -> bytes:
    return (json.dumps(obj, indent=1, sort_keys=False, ensure_ascii=False) + "\n").encode("utf-8")


def detect_pyx12_version(maps: Path) -> str | None:
    vfile = maps.parent / "version.py"
    if vfile.is_file():
        m = re.search(r"__version__\s*=\s*['\"]([^'\"]+)['\"]", vfile.read_text(encoding="utf-8"))
        if m:
            return m.group(1)
    return None


def generate(maps: Path, out: Path, pyx12_version: str) -> int:
    detected = detect_pyx12_version(maps)
    if detected is not None and detected != pyx12_version:
        print(f"warning: pyx12 at {maps.parent} is {detected}, source line says {pyx12_version}",
              file=sys.stderr)
    dataele = load_dataele(maps / "dataele.xml")
    out.mkdir(parents=True, exist_ok=True)
    warnings: list[str] = []
    for name, fname, txn, version in SPECS:
        grammar = convert(maps / fname, dataele, name, txn, version, pyx12_version, warnings)
        data = dump(grammar)
        dest = out / f"{name}.json"
        dest.write_bytes(data)
        print(f"wrote {dest} ({len(data)} bytes)")
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    return 0


# --------------------------------------------------------------------------- self-check


def first_codes(seg: dict) -> tuple[str, set[str] | None]:
    """(ref, identifying codes) of a trigger segment; None = not restricted (matches anything)."""
    elements = seg["elements"]
    idx = 2 if seg["id"] == "HL" else 0
    if len(elements) <= idx:
        return (f"{seg['id']}{idx + 1:02d}", None)
    el = elements[idx]
    if "components" in el:  # composite: qualifier is its first component
        if not el["components"]:
            return (el["ref"], None)
        el = el["components"][0]
    return (el["ref"], set(el["codes"]) if "codes" in el else None)


def check_grammar(path: Path) -> tuple[list[str], str]:
    g = json.loads(path.read_text(encoding="utf-8"))
    errors: list[str] = []
    stats = {"loops": 0, "segments": 0, "elements": 0, "components": 0, "placeholders": 0}
    loop_ids: list[str] = []

    def err(msg: str) -> None:
        errors.append(f"{path.name}: {msg}")

    if list(g) != ["format", "name", "transaction_set", "version", "source", "root"]:
        err(f"top-level keys {list(g)}")
    if g.get("format") != FORMAT:
        err(f"format {g.get('format')!r}")

    def check_element(el: dict, ref: str) -> None:
        if el["ref"] != ref:
            err(f"element list not dense: expected {ref}, found {el['ref']}")
        if el["usage"] not in USAGES:
            err(f"{ref}: usage {el['usage']!r}")
        if el["data_ele"] == "":
            stats["placeholders"] += 1

    def check_segment(seg: dict, where: str) -> None:
        stats["segments"] += 1
        if seg["usage"] not in USAGES:
            err(f"{where}/{seg['id']}: usage {seg['usage']!r}")
        for i, el in enumerate(seg["elements"], 1):
            ref = f"{seg['id']}{i:02d}"
            stats["elements"] += 1
            check_element(el, ref)
            for j, comp in enumerate(el.get("components", []), 1):
                stats["components"] += 1
                check_element(comp, f"{ref}-{j}")

    def check_loop(lp: dict, where: str) -> None:
        here = f"{where}/{lp['id']}" if where else lp["id"]
        if lp["usage"] not in USAGES:
            err(f"{here}: usage {lp['usage']!r}")
        kids = lp["children"]
        if not kids or "segment" not in kids[0]:
            err(f"{here}: first child is not a segment (no trigger)")
        triggers: list[tuple[str, str, str, set[str] | None]] = []
        for node in kids:
            if "segment" in node:
                check_segment(node["segment"], here)
            else:
                sub = node["loop"]
                stats["loops"] += 1
                loop_ids.append(sub["id"])
                if sub["children"] and "segment" in sub["children"][0]:
                    trig = sub["children"][0]["segment"]
                    ref, codes = first_codes(trig)
                    triggers.append((sub["id"], trig["id"], ref, codes))
                check_loop(sub, here)
        for i, (a_id, a_seg, a_ref, a_codes) in enumerate(triggers):
            for b_id, b_seg, b_ref, b_codes in triggers[i + 1:]:
                if a_seg != b_seg:
                    continue
                if a_codes is None or b_codes is None:
                    err(f"{here}: sibling loops {a_id} and {b_id} both start with {a_seg} and "
                        f"{a_ref if a_codes is None else b_ref} has no code list to tell them apart")
                elif a_codes & b_codes:
                    err(f"{here}: sibling loops {a_id} and {b_id} both start with {a_seg} with "
                        f"overlapping {a_ref} codes {sorted(a_codes & b_codes)}")

    check_loop(g["root"], "")
    summary = (f"{path.name}: {g['name']} {g['transaction_set']} {g['version']}: "
               f"{stats['loops']} loops, {stats['segments']} segments, {stats['elements']} elements "
               f"(+{stats['components']} components, {stats['placeholders']} placeholders); "
               f"loops: {' '.join(loop_ids)}")
    return errors, summary


def check(out: Path) -> int:
    errors: list[str] = []
    for name, _, _, _ in SPECS:
        e, summary = check_grammar(out / f"{name}.json")
        errors.extend(e)
        print(summary)
    for e in errors:
        print(f"CHECK FAILED: {e}", file=sys.stderr)
    return 1 if errors else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--maps", type=Path, help="pyx12 map folder (holds the map XML files and dataele.xml)")
    ap.add_argument("--out", type=Path, default=Path("grammars"), help="output folder (default: grammars)")
    ap.add_argument("--pyx12-version", default=DEFAULT_PYX12_VERSION,
                    help=f"pyx12 version named in the source line (default {DEFAULT_PYX12_VERSION})")
    ap.add_argument("--check", action="store_true", help="self-check the grammars in --out")
    args = ap.parse_args(argv)
    if args.maps is None and not args.check:
        ap.error("give --maps DIR to generate, and/or --check")
    try:
        if args.maps is not None:
            generate(args.maps, args.out, args.pyx12_version)
    except MapError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.check:
        return check(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
