// Writes strings.json, the texts clip_test.go checks against the reference
// (reference.cjs): SegVol's category names alone and in its prompt template,
// with case, spacing and punctuation variants, hand-picked hard cases, and
// seeded random strings over many scripts. Deterministic: rerunning it gives
// the same file.
//
//   node strings.cjs ../../../models/categories.txt > strings.json
"use strict";
const fs = require("fs");

const names = fs
  .readFileSync(process.argv[2], "utf8")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith("#"));

const seen = new Set();
const out = [];
const add = (s) => {
  if (!seen.has(s)) out.push(s);
  seen.add(s);
};
for (const n of names) {
  add(n);
  add(`A computerized tomography of a ${n}.`);
}
// Case, spacing and punctuation variants of every third name.
names.forEach((n, i) => {
  if (i % 3) return;
  add(n.toUpperCase());
  add(n.replace(/\b\w/g, (c) => c.toUpperCase()));
  add(`  ${n.replace(/ /g, "   ")}\t\n`);
  add(`${n}, ${n}; (${n})? ${n}!`);
});

const hard = [
  "", " ", "\t\n\r", "a", "A.", "A computerized tomography of a liver.",
  "it's", "don't", "IT'S", "Don't", "they're", "we've", "I'm", "you'll", "he'd", "it''s", "'s", "s'", "rock'n'roll",
  "o'clock", "it’s a man’s liver", "the patient's left kidney's upper pole",
  "1", "12", "123.45", "3rd", "T12", "L1-L5", "C7 vertebra", "2024-06-01", "10mm", "1,000,000", "½ ¾ ² ³ ٣ ๓ 四",
  "!!!", "...", "?!?", "(liver)", "[kidney]", "{spleen}", "<tag>", "a/b\\c", "x=y+z*2", "@#$%^&*", "~`|", "--", "—–-",
  "“quoted”", "«guillemets»", "naïve café résumé", "Ångström", "São Paulo", "Zürich Straße", "ﬁnal ﬂow", "İstanbul",
  "ΟΔΥΣΣΕΥΣ", "Σ", "aΣ", "Ωmega", "Москва печень", "肝脏", "東京タワー", "간", "كبد", "כבד", "यकृत", "ตับ",
  "e\u0301", "a\u0308o\u0308u\u0308", "\u1100\u1161\u11a8", "Å vs A\u030a", "ｆｕｌｌｗｉｄｔｈ", "\u00a0nbsp\u00a0", "nel\u0085line",
  "line\u2028sep", "ideo\u3000space", "zero\u200bwidth", "bom\ufeffhere", "mongolian\u180esep", "ctrl\u0000\u0001\u007f",
  "😀", "🫀 heart", "👍🏽", "👨‍👩‍👧", "🇩🇪🇫🇷", "liver 🩻 scan", "❤️", "<|startoftext|>", "<|endoftext|>", "<|ENDOFTEXT|>",
  "<|StartOfText|>", "a<|endoftext|>b", "x <|startoftext|> y <|endoftext|> z", "<|endoftext", "|>",
  "multiple     spaces", "tabs\tand\nnewlines\r\nhere", "   leading", "trailing   ", "MiXeD CaSe LiVeR",
  "hepatocellular carcinoma", "pneumothorax", "intervertebral disc", "supercalifragilisticexpialidocious",
  "a".repeat(300), "ab".repeat(200), "liver ".repeat(120), "The quick brown fox jumps over the lazy dog. ".repeat(30),
];
hard.forEach(add);

// Seeded random strings: words from many scripts and symbols, joined by assorted whitespace.
let seed = 20240611;
const rnd = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (a) => a[Math.floor(rnd() * a.length)];
const ranges = [
  [0x21, 0x7e], [0x41, 0x5a], [0x61, 0x7a], [0x30, 0x39], [0xa1, 0x17f], [0x370, 0x3ff], [0x400, 0x4ff],
  [0x590, 0x5ff], [0x600, 0x6ff], [0x900, 0x97f], [0xe00, 0xe7f], [0x1100, 0x11ff], [0x1e00, 0x1eff],
  [0x2000, 0x206f], [0x2100, 0x21ff], [0x300, 0x36f], [0x3040, 0x30ff], [0x4e00, 0x4fff], [0xac00, 0xad00],
  [0xff01, 0xff5e], [0x1f300, 0x1f6ff], [0x1f900, 0x1f9ff],
];
const spaces = [" ", " ", " ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u2003", "\u0085"];
const randWord = () => {
  const [lo, hi] = pick(ranges);
  let w = "";
  const n = 1 + Math.floor(rnd() * 8);
  for (let i = 0; i < n; i++) w += String.fromCodePoint(lo + Math.floor(rnd() * (hi - lo + 1)));
  return w;
};
while (out.length < 1300) {
  const n = 1 + Math.floor(rnd() * 12);
  let s = rnd() < 0.3 ? pick(names) : "";
  for (let i = 0; i < n; i++) s += (s ? pick(spaces) : "") + (rnd() < 0.2 ? pick(["it's", "don't", "I'll", "3", "'", "."]) : randWord());
  add(s);
}
process.stdout.write("[\n" + out.map((s) => JSON.stringify(s)).join(",\n") + "\n]\n");
