// Reference CLIP token ids from Hugging Face's tokenizers, for clip_test.go.
//
//   node reference.cjs ENGINE TOKENIZER_JSON[.gz] < strings.json > out.json
//
// ENGINE is "rust" (npm `tokenizers`: the Rust library that Python's
// transformers runs, through its Node binding) or "js" (npm
// `@huggingface/tokenizers`, the pure-JavaScript port). strings.json is a JSON
// list of strings; the output is {"engine", "generated_by", "cases": [{"text", "ids"}]}, ids
// with the special tokens, as encode(text) gives them with no truncation.
// Install the engines with `npm ci` in this folder (package.json pins them).
"use strict";
const fs = require("fs");
const zlib = require("zlib");

async function main() {
  const [engine, path] = process.argv.slice(2);
  let json = fs.readFileSync(path);
  if (path.endsWith(".gz")) json = zlib.gunzipSync(json);
  json = json.toString("utf8");
  const texts = JSON.parse(fs.readFileSync(0, "utf8"));
  let encode, name;
  if (engine === "rust") {
    const { Tokenizer } = require("tokenizers");
    const tok = Tokenizer.fromString(json);
    encode = async (s) => (await tok.encode(s)).getIds();
    name = "tokenizers@" + require("tokenizers/package.json").version;
  } else if (engine === "js") {
    const { Tokenizer } = require("@huggingface/tokenizers");
    const tok = new Tokenizer(JSON.parse(json), {});
    encode = async (s) => tok.encode(s).ids;
    const dir = require("path").join(require.resolve("@huggingface/tokenizers"), "..", "..");
    name = "@huggingface/tokenizers@" + JSON.parse(fs.readFileSync(dir + "/package.json")).version;
  } else {
    throw new Error(`unknown engine ${engine}: want rust or js`);
  }
  const cases = [];
  for (const text of texts) cases.push({ text, ids: Array.from(await encode(text), Number) });
  process.stdout.write(JSON.stringify({ engine: name, generated_by: `node reference.cjs ${engine} ${path} < strings.json`, cases }, null, 0).replace(/\},\{"text"/g, '},\n{"text"') + "\n");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
