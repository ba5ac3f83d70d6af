#!/usr/bin/env python3
"""Validate the policy-terms evaluation set (dev.jsonl + heldout.jsonl) and the extra sets (../data/train-extra*.jsonl).

Usage: python3 validate.py [DIR]   (DIR defaults to the directory of this script)
Exits non-zero if any check fails. Prints count tables.
"""
import collections
import json
import os
import re
import sys
import unicodedata

HARMFUL_CATS = ["sexual_minors", "violence", "terrorism", "self_harm", "hate",
                "deepfake", "fraud", "ip_infringement"]
BENIGN_CATS = ["benign_" + t for t in ["medical", "historical", "art", "food", "sports", "news",
                                       "children", "public_figures", "words", "languages",
                                       "negative_prompt"]]
FORMS = ["plain", "leetspeak", "spacing", "homoglyph", "runtogether", "misspelling",
         "euphemism", "question", "es", "fr", "de", "zh", "negative_prompt"]
LANGS = ["es", "fr", "de", "zh"]
KEYS = ["id", "prompt", "label", "category", "form"]
MIN_PER_HARMFUL_CAT = 50
MIN_HARMFUL = 440
MIN_BENIGN = 440
MIN_PER_LANG_HARMFUL = 12
PARTS = ["dev", "heldout"]
# Extra labelled prompts (data/train-extra.jsonl, data/train-extra-2.jsonl,
# data/train-extra-3.jsonl and data/train-extra-4.jsonl, written apart from the evaluation set): checked
# item by item like the set, for duplicate ids, and for duplicates of its
# prompts and of each other's, but not counted in its tables.
# train-extra-4 is also checked for its own counts and coverage (EXTRA4_*) and
# gets its own count tables.
EXTRAS = {
    "train-extra": os.path.join("..", "data", "train-extra.jsonl"),
    "train-extra-2": os.path.join("..", "data", "train-extra-2.jsonl"),
    "train-extra-3": os.path.join("..", "data", "train-extra-3.jsonl"),
    "train-extra-4": os.path.join("..", "data", "train-extra-4.jsonl"),
}
# What train-extra-4 must hold: harmful items in every category (more for
# sexual_minors), hard benign items in every benign category, every harmful
# form, each language in harmful items and in benign_languages.
EXTRA4 = "train-extra-4"
EXTRA4_MIN_PER_HARMFUL_CAT = 30
EXTRA4_MIN_SEXUAL_MINORS = 40
EXTRA4_MIN_PER_BENIGN_CAT = 18
EXTRA4_MIN_HARMFUL = 300
EXTRA4_MIN_BENIGN = 240
EXTRA4_MIN_PER_LANG_HARMFUL = 8
EXTRA4_MIN_SM_NEG = 6

errors = []


def err(msg):
    errors.append(msg)


def load(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for ln, line in enumerate(f, 1):
            if not line.strip():
                err(f"{path}:{ln}: blank line")
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                err(f"{path}:{ln}: bad JSON: {e}")
                continue
            keys = list(obj.keys())
            if keys[:5] != KEYS or keys[5:] not in ([], ["negative_prompt"]):
                err(f"{path}:{ln}: keys {keys} not in required order {KEYS} [+ negative_prompt]")
            rows.append((ln, obj))
    return rows


def norm(text):
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"[^\w]+", " ", text).strip()


def check_extra4(rows):
    where = EXTRA4 + ".jsonl"
    by_cat = collections.Counter(o.get("category") for o in rows)
    by_label = collections.Counter(o.get("label") for o in rows)
    for c in HARMFUL_CATS:
        want = EXTRA4_MIN_SEXUAL_MINORS if c == "sexual_minors" else EXTRA4_MIN_PER_HARMFUL_CAT
        if by_cat[c] < want:
            err(f"{where}: category {c}: {by_cat[c]} items < {want}")
    for c in BENIGN_CATS:
        if by_cat[c] < EXTRA4_MIN_PER_BENIGN_CAT:
            err(f"{where}: category {c}: {by_cat[c]} items < {EXTRA4_MIN_PER_BENIGN_CAT}")
    if by_label["harmful"] < EXTRA4_MIN_HARMFUL:
        err(f"{where}: harmful total {by_label['harmful']} < {EXTRA4_MIN_HARMFUL}")
    if by_label["benign"] < EXTRA4_MIN_BENIGN:
        err(f"{where}: benign total {by_label['benign']} < {EXTRA4_MIN_BENIGN}")
    harmful_forms = {o.get("form") for o in rows if o.get("label") == "harmful"}
    for f in FORMS:
        if f not in harmful_forms:
            err(f"{where}: no harmful item in form {f}")
    for lang in LANGS:
        n = sum(1 for o in rows if o.get("form") == lang and o.get("label") == "harmful")
        if n < EXTRA4_MIN_PER_LANG_HARMFUL:
            err(f"{where}: harmful items in {lang}: {n} < {EXTRA4_MIN_PER_LANG_HARMFUL}")
        if not any(o.get("category") == "benign_languages" and o.get("form") == lang for o in rows):
            err(f"{where}: benign_languages has no item in {lang}")
    sm_neg = sum(1 for o in rows if o.get("category") == "sexual_minors" and o.get("form") == "negative_prompt")
    if sm_neg < EXTRA4_MIN_SM_NEG:
        err(f"{where}: sexual_minors negative_prompt items: {sm_neg} < {EXTRA4_MIN_SM_NEG}")


def tables_extra4(rows):
    print(f"{EXTRA4}.jsonl: counts by (label, category)")
    for label, cats in (("harmful", HARMFUL_CATS), ("benign", BENIGN_CATS)):
        for c in cats:
            print(f"  {label:8} {c:24} {sum(1 for o in rows if o.get('category') == c):6}")
        print(f"  {label:8} {'(all)':24} {sum(1 for o in rows if o.get('label') == label):6}")
    print(f"  {'ALL':8} {'':24} {len(rows):6}")
    print()
    print(f"{EXTRA4}.jsonl: counts by form: harmful / benign")
    for f in FORMS:
        hm = sum(1 for o in rows if o.get("form") == f and o.get("label") == "harmful")
        bn = sum(1 for o in rows if o.get("form") == f and o.get("label") == "benign")
        print(f"  {f:16} {hm:5} {bn:5}")
    print()


def main():
    base = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    data = {p: load(os.path.join(base, p + ".jsonl")) for p in PARTS}
    extra = {}
    for name, rel in EXTRAS.items():
        extra_path = os.path.join(base, rel)
        if os.path.exists(extra_path):
            extra[name] = load(extra_path)

    ids = {}
    seen_prompts = {}
    for part, rows in list(data.items()) + list(extra.items()):
        for ln, o in rows:
            where = f"{part}.jsonl:{ln}"
            for k in KEYS:
                if not isinstance(o.get(k), str) or not o.get(k).strip():
                    err(f"{where}: missing/empty {k}")
            if any(not isinstance(o.get(k), str) for k in KEYS):
                continue
            if o["id"] in ids:
                err(f"{where}: duplicate id {o['id']} (also {ids[o['id']]})")
            ids[o["id"]] = where
            if o["label"] not in ("harmful", "benign"):
                err(f"{where}: bad label {o['label']}")
            cats = HARMFUL_CATS if o["label"] == "harmful" else BENIGN_CATS
            if o["category"] not in cats:
                err(f"{where}: category {o['category']} not valid for label {o['label']}")
            if o["form"] not in FORMS:
                err(f"{where}: bad form {o['form']}")
            if o["label"] == "benign" and o["form"] not in ["plain", "negative_prompt"] + LANGS:
                err(f"{where}: benign items use plain / language code / negative_prompt")
            if not re.fullmatch(re.escape(o["category"]) + "-" + re.escape(o["form"]) + r"-\d{3}", o["id"]):
                err(f"{where}: id {o['id']} does not match <category>-<form>-<nnn>")
            has_neg = "negative_prompt" in o
            if has_neg != (o["form"] == "negative_prompt"):
                err(f"{where}: negative_prompt key must be present iff form == negative_prompt")
            if has_neg and (not isinstance(o["negative_prompt"], str) or not o["negative_prompt"].strip()):
                err(f"{where}: empty negative_prompt")
            if o["form"] != "zh":
                n = len(o["prompt"].split())
                if not 3 <= n <= 60:
                    err(f"{where}: prompt has {n} words (want 3..60)")
            key = norm(o["prompt"]) + "||" + norm(o.get("negative_prompt", ""))
            if key in seen_prompts:
                err(f"{where}: duplicate prompt (also {seen_prompts[key]})")
            seen_prompts[key] = where

    all_rows = [o for rows in data.values() for _, o in rows]
    by_cat = collections.Counter(o["category"] for o in all_rows)
    by_label = collections.Counter(o["label"] for o in all_rows)
    for c in HARMFUL_CATS:
        if by_cat[c] < MIN_PER_HARMFUL_CAT:
            err(f"category {c}: {by_cat[c]} items < {MIN_PER_HARMFUL_CAT}")
    for c in BENIGN_CATS:
        if by_cat[c] == 0:
            err(f"category {c}: no items")
    if by_label["harmful"] < MIN_HARMFUL:
        err(f"harmful total {by_label['harmful']} < {MIN_HARMFUL}")
    if by_label["benign"] < MIN_BENIGN:
        err(f"benign total {by_label['benign']} < {MIN_BENIGN}")
    for lang in LANGS:
        n = sum(1 for o in all_rows if o["form"] == lang and o["label"] == "harmful")
        if n < MIN_PER_LANG_HARMFUL:
            err(f"harmful items in {lang}: {n} < {MIN_PER_LANG_HARMFUL}")
    for part, rows in data.items():
        cats = {o["category"] for _, o in rows}
        forms = {o["form"] for _, o in rows}
        for c in HARMFUL_CATS + BENIGN_CATS:
            if c not in cats:
                err(f"{part}: category {c} missing")
        for f in FORMS:
            if f not in forms:
                err(f"{part}: form {f} missing")
    sm_neg = sum(1 for o in all_rows if o["category"] == "sexual_minors" and o["form"] == "negative_prompt")
    if sm_neg < 6:
        err(f"sexual_minors negative_prompt items: {sm_neg} (want ~8)")

    if EXTRA4 in extra:
        check_extra4([o for _, o in extra[EXTRA4]])

    # ---- tables ----
    print("Counts by (label, category): dev / heldout / total")
    print(f"  {'label':8} {'category':24} {'dev':>5} {'held':>5} {'total':>6}")
    for label, cats in (("harmful", HARMFUL_CATS), ("benign", BENIGN_CATS)):
        for c in cats:
            d = sum(1 for _, o in data["dev"] if o["category"] == c)
            h = sum(1 for _, o in data["heldout"] if o["category"] == c)
            print(f"  {label:8} {c:24} {d:5} {h:5} {d + h:6}")
        d = sum(1 for _, o in data["dev"] if o["label"] == label)
        h = sum(1 for _, o in data["heldout"] if o["label"] == label)
        print(f"  {label:8} {'(all)':24} {d:5} {h:5} {d + h:6}")
    d, h = len(data["dev"]), len(data["heldout"])
    print(f"  {'ALL':8} {'':24} {d:5} {h:5} {d + h:6}")
    print()
    print("Counts by form (harmful + benign): dev / heldout / total   [harmful total]")
    for f in FORMS:
        d = sum(1 for _, o in data["dev"] if o["form"] == f)
        h = sum(1 for _, o in data["heldout"] if o["form"] == f)
        hm = sum(1 for o in all_rows if o["form"] == f and o["label"] == "harmful")
        print(f"  {f:16} {d:5} {h:5} {d + h:6}   [{hm}]")
    print()
    if EXTRA4 in extra:
        tables_extra4([o for _, o in extra[EXTRA4]])
    if errors:
        print(f"FAILED: {len(errors)} problem(s)")
        for e in errors:
            print("  " + e)
        return 1
    for part, rows in extra.items():
        print(f"{part}.jsonl: {len(rows)} items checked item by item")
    print("OK: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
